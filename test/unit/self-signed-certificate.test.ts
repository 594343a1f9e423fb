/**
 * The hand-written DER encoder of src/net/self-signed-certificate.ts, the
 * TLS credentials built with it, and that importing the package changes no
 * globals (issue 14: it used to install reflect-metadata's polyfill).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { generateIdentity, tlsCredentials, type NodeIdentity } from '../../src/net/identity.js';
import {
  derLength,
  derOid,
  derTime,
  derUnsignedInteger,
  selfSignedCertificateDer,
  selfSignedCertificatePem,
  SERIAL_BYTES,
} from '../../src/net/self-signed-certificate.js';
import { peerPublicKey, secureContextOptions } from '../../src/net/tls-socket.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
/** SubjectPublicKeyInfo DER of a key, or of a private key's public half. */
const spkiHex = (key: KeyObject): string => hex((key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' }));
/** An instant as X.509 keeps it: whole seconds. */
const toSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

function certificate(identity: NodeIdentity, notBefore: Date, notAfter: Date): X509Certificate {
  return new X509Certificate(selfSignedCertificatePem({ privateKey: identity.privateKey, commonName: 'bafomet', notBefore, notAfter }));
}

describe('DER helpers', () => {
  it('encodes lengths in short form below 128 and in the fewest long-form octets above', () => {
    assert.equal(hex(derLength(0)), '00');
    assert.equal(hex(derLength(127)), '7f');
    assert.equal(hex(derLength(128)), '8180');
    assert.equal(hex(derLength(255)), '81ff');
    assert.equal(hex(derLength(256)), '820100');
    assert.equal(hex(derLength(65_535)), '82ffff');
    assert.equal(hex(derLength(65_536)), '83010000');
    assert.throws(() => derLength(-1), RangeError);
    assert.throws(() => derLength(1.5), RangeError);
  });

  it('encodes non-negative integers minimally, with a zero octet before a set top bit', () => {
    assert.equal(hex(derUnsignedInteger(Uint8Array.of(2))), '020102');
    assert.equal(hex(derUnsignedInteger(Uint8Array.of(0))), '020100');
    assert.equal(hex(derUnsignedInteger(new Uint8Array(0))), '020100');
    assert.equal(hex(derUnsignedInteger(Uint8Array.of(0, 0, 0x7f))), '02017f');
    assert.equal(hex(derUnsignedInteger(Uint8Array.of(0x80))), '02020080');
    assert.equal(hex(derUnsignedInteger(Uint8Array.of(0, 0xff, 1))), '020300ff01');
  });

  it('encodes object identifiers, multi-octet arcs included', () => {
    assert.equal(hex(derOid('1.3.101.112')), '06032b6570'); // id-Ed25519
    assert.equal(hex(derOid('2.5.4.3')), '0603550403'); // id-at-commonName
    assert.equal(hex(derOid('1.2.840.113549.1.1.11')), '06092a864886f70d01010b'); // sha256WithRSAEncryption
    assert.equal(hex(derOid('2.999.3')), '0603883703'); // X.690 8.19.5's example
    for (const bad of ['', '1', '3.1', '1.40', '1.2.x', '1.02', '1..2']) assert.throws(() => derOid(bad), RangeError, bad);
  });

  it('writes UTCTime for 1950 through 2049 and GeneralizedTime otherwise, in whole UTC seconds', () => {
    const time = (iso: string): string => {
      const der = derTime(new Date(iso));
      return `${hex(der.subarray(0, 2))} ${Buffer.from(der.subarray(2)).toString('ascii')}`;
    };
    assert.equal(time('2049-12-31T23:59:59.999Z'), '170d 491231235959Z');
    assert.equal(time('2050-01-01T00:00:00Z'), '180f 20500101000000Z');
    assert.equal(time('1950-01-01T00:00:00Z'), '170d 500101000000Z');
    assert.equal(time('1949-12-31T23:59:59Z'), '180f 19491231235959Z');
    assert.equal(time('2026-03-04T05:06:07.890+02:00'), '170d 260304030607Z');
    assert.throws(() => derTime(new Date(NaN)), RangeError);
    assert.throws(() => derTime(new Date('+010000-01-01T00:00:00Z')), RangeError);
  });
});

describe('self-signed certificate', () => {
  it('parses, names CN=bafomet, holds the key, is self-issued and verifies', () => {
    const identity = generateIdentity();
    const notBefore = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
    const notAfter = new Date(Date.UTC(2035, 6, 8, 9, 10, 11, 12));
    const cert = certificate(identity, notBefore, notAfter);
    assert.equal(cert.subject, 'CN=bafomet');
    assert.equal(cert.issuer, 'CN=bafomet');
    assert.equal(Date.parse(cert.validFrom), toSecond(notBefore.getTime()));
    assert.equal(Date.parse(cert.validTo), toSecond(notAfter.getTime()));
    assert.equal(cert.publicKey.asymmetricKeyType, 'ed25519');
    assert.equal(spkiHex(cert.publicKey), spkiHex(identity.privateKey));
    assert.ok(cert.checkIssued(cert));
    assert.ok(cert.verify(cert.publicKey));
    assert.ok(!cert.verify(generateKeyPairSync('ed25519').publicKey), 'verifies against another key');
    assert.equal(cert.ca, false);
    // The PEM is the DER: a v3 certificate whose length needs the long form.
    assert.equal(cert.raw[0], 0x30);
    assert.equal(cert.raw[1], 0x81);
    assert.equal(cert.raw.length, 3 + cert.raw[2]!);
  });

  it('draws a fresh positive serial of 16 bytes each time', () => {
    const identity = generateIdentity();
    const when = [new Date(Date.UTC(2025, 0, 1)), new Date(Date.UTC(2026, 0, 1))] as const;
    const serials = Array.from({ length: 8 }, () => certificate(identity, ...when).serialNumber);
    assert.equal(new Set(serials).size, serials.length);
    for (const serial of serials) {
      assert.equal(serial.length, SERIAL_BYTES * 2, serial);
      assert.ok(Number.parseInt(serial[0]!, 16) < 8, `serial ${serial} is negative`);
    }
  });

  it('keeps validity dates past 2049 and before 1950 (GeneralizedTime)', () => {
    const identity = generateIdentity();
    const notBefore = new Date(Date.UTC(1949, 11, 31, 23, 59, 59));
    const notAfter = new Date(Date.UTC(2050, 0, 1, 0, 0, 1));
    const cert = certificate(identity, notBefore, notAfter);
    assert.equal(Date.parse(cert.validFrom), notBefore.getTime());
    assert.equal(Date.parse(cert.validTo), notAfter.getTime());
    assert.ok(cert.verify(cert.publicKey));
  });

  it('signs with Ed25519 private keys only, and checks the common name', () => {
    const when = { notBefore: new Date(0), notAfter: new Date(1) };
    const ed25519 = generateKeyPairSync('ed25519');
    assert.throws(() => selfSignedCertificateDer({ privateKey: ed25519.publicKey, commonName: 'bafomet', ...when }), TypeError);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.throws(() => selfSignedCertificateDer({ privateKey: ec.privateKey, commonName: 'bafomet', ...when }), TypeError);
    assert.throws(() => selfSignedCertificateDer({ privateKey: ed25519.privateKey, commonName: '', ...when }), RangeError);
    assert.throws(() => selfSignedCertificateDer({ privateKey: ed25519.privateKey, commonName: 'x'.repeat(65), ...when }), RangeError);
    const cert = new X509Certificate(selfSignedCertificatePem({ privateKey: ed25519.privateKey, commonName: 'réplica ✓', ...when }));
    assert.equal(cert.subject, 'CN=réplica ✓');
  });

  it('is what tlsCredentials gives an identity: its key, valid now, one per identity', async () => {
    const identity = generateIdentity();
    const credentials = await tlsCredentials(identity);
    const cert = new X509Certificate(credentials.certPem);
    assert.equal(cert.subject, 'CN=bafomet');
    assert.equal(spkiHex(cert.publicKey), spkiHex(identity.privateKey));
    assert.ok(cert.checkPrivateKey(identity.privateKey));
    const now = Date.now();
    assert.ok(Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo), `${cert.validFrom} - ${cert.validTo}`);
    assert.equal(await tlsCredentials(identity), credentials);
    const other = new X509Certificate((await tlsCredentials(generateIdentity())).certPem);
    assert.notEqual(other.serialNumber, cert.serialNumber);
  });

  it('carries a mutual TLS 1.3 handshake in which each end sees the other key', async () => {
    const serverIdentity = generateIdentity();
    const clientIdentity = generateIdentity();
    const server = createServer({
      ...secureContextOptions(await tlsCredentials(serverIdentity)),
      requestCert: true,
      rejectUnauthorized: false,
    });
    const accepted = new Promise<TLSSocket>((resolve) => server.once('secureConnection', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const client = connect({
        host: '127.0.0.1',
        port,
        ...secureContextOptions(await tlsCredentials(clientIdentity)),
        rejectUnauthorized: false,
      });
      try {
        await new Promise<void>((resolve, reject) => {
          client.once('secureConnect', resolve);
          client.once('error', reject);
        });
        const serverSide = await accepted;
        assert.equal(client.getProtocol(), 'TLSv1.3');
        assert.deepEqual(peerPublicKey(client), Buffer.from(serverIdentity.publicKey));
        assert.deepEqual(peerPublicKey(serverSide), Buffer.from(clientIdentity.publicKey));
        serverSide.destroy();
      } finally {
        client.destroy();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('package entry', () => {
  it('adds no own property to globalThis or Reflect when imported', async () => {
    // A fresh process: this one has imported the sources already.
    const script = `
      const names = (target) => Reflect.ownKeys(target).map(String);
      const globalsBefore = names(globalThis);
      const reflectBefore = names(Reflect);
      await import(process.argv[1]);
      console.log(JSON.stringify({
        globals: names(globalThis).filter((name) => !globalsBefore.includes(name)),
        reflect: names(Reflect).filter((name) => !reflectBefore.includes(name)),
        metadata: typeof Reflect.metadata,
        defineMetadata: typeof Reflect.defineMetadata,
      }));
    `;
    const entry = new URL('../../src/index.js', import.meta.url).href;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, entry], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(stdout), { globals: [], reflect: [], metadata: 'undefined', defineMetadata: 'undefined' });
  });
});
