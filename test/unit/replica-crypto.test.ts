import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ClusterConfig } from '../../src/config.js';
import { replicaId } from '../../src/core/ids.js';
import type { CheckpointManifest } from '../../src/core/messages.js';
import type { SeqNo } from '../../src/core/ordering.js';
import { generateIdentity, publicKeyBase64 } from '../../src/net/identity.js';
import { replicaCrypto } from '../../src/runtime/replica-crypto.js';
import { encodeManifest } from '../../src/wire/codec.js';

const identities = [generateIdentity(), generateIdentity()];
const config: ClusterConfig = {
  f: 0,
  replicas: identities.map((identity, id) => ({ id, host: '127.0.0.1', port: 1, publicKey: publicKeyBase64(identity) })),
};
const crypto = replicaCrypto(identities[0]!, config);
const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
};
const manifest: CheckpointManifest = {
  chunkBytes: 1024,
  clientTableBytes: 100,
  serviceStateBytes: 2000,
  chunkDigests: [1, 2, 3].map((fill) => new Uint8Array(32).fill(fill)),
};

describe('replica crypto: checkpoint digests', () => {
  it('digests a manifest as SHA-256 of its domain prefix and canonical encoding', () => {
    const prefix = new TextEncoder().encode('bafomet/checkpoint-manifest/v1');
    assert.deepEqual(new Uint8Array(crypto.manifestDigest(manifest)), sha256(prefix, encodeManifest(manifest)));
    assert.notDeepEqual(new Uint8Array(crypto.manifestDigest(manifest)), sha256(encodeManifest(manifest)), 'the prefix counts');
  });

  it('gives every field of the manifest a say in its digest', () => {
    const variants: CheckpointManifest[] = [
      { ...manifest, chunkBytes: 1025 },
      { ...manifest, clientTableBytes: 101 },
      { ...manifest, serviceStateBytes: 1999 },
      // The same chunks, the boundary between the parts moved.
      { ...manifest, clientTableBytes: 1124, serviceStateBytes: 976 },
      { ...manifest, chunkDigests: [...manifest.chunkDigests].reverse() },
      { ...manifest, chunkDigests: manifest.chunkDigests.slice(1) },
    ];
    const digests = [manifest, ...variants].map((m) => Buffer.from(crypto.manifestDigest(m)).toString('hex'));
    assert.equal(new Set(digests).size, digests.length);
  });

  it('digests a chunk as SHA-256 of its bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assert.deepEqual(new Uint8Array(crypto.chunkDigest(bytes)), sha256(bytes));
      }),
      { numRuns: 100 },
    );
  });

  it('signs checkpoints on manifest digests that the other replicas verify', () => {
    const statement = { kind: 'checkpoint' as const, seq: 64 as SeqNo, stateDigest: crypto.manifestDigest(manifest) };
    const signature = crypto.sign(statement);
    const other = replicaCrypto(identities[1]!, config);
    assert.equal(other.verify(replicaId(0), statement, signature), true);
    const altered = { ...statement, stateDigest: other.manifestDigest({ ...manifest, serviceStateBytes: 1 }) };
    assert.equal(other.verify(replicaId(0), altered, signature), false);
  });
});
