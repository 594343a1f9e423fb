/**
 * Ed25519 node identities. A node's public key is its identity on the wire:
 * TLS certificates are self-signed and only their public key matters.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { SESSIONS_PER_CLIENT_KEY } from '../core/ids.js';
import { selfSignedCertificatePem } from './self-signed-certificate.js';

/** Bytes in a raw Ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32;

/** A node's Ed25519 key pair. */
export interface NodeIdentity {
  readonly privateKey: KeyObject;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** PEM certificate and private key for `node:tls`. */
export interface TlsCredentials {
  readonly certPem: string;
  readonly keyPem: string;
}



/** Subject and issuer of every certificate: only the key in it identifies a node. */
const CERT_COMMON_NAME = 'bafomet';
/** Nobody checks certificate validity (only the key is compared), so make it long. */
const CERT_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000;
/** Tolerate peers whose clocks are behind ours. */
const CERT_BACKDATE_MS = 24 * 3600 * 1000;

const credentialsCache = new WeakMap<NodeIdentity, Promise<TlsCredentials>>();

/** The raw public key of an Ed25519 key object, or undefined for any other key type. */
export function rawEd25519PublicKey(key: KeyObject): Uint8Array | undefined {
  if (key.asymmetricKeyType !== 'ed25519') return undefined;
  const { x } = key.export({ format: 'jwk' });
  if (x === undefined) return undefined;
  const raw = Buffer.from(x, 'base64url');
  return raw.length === PUBLIC_KEY_BYTES ? raw : undefined;
}

function identityOf(privateKey: KeyObject): NodeIdentity | undefined {
  const publicKey = rawEd25519PublicKey(createPublicKey(privateKey));
  return publicKey === undefined ? undefined : Object.freeze({ privateKey, publicKey });
}

/** Generates a fresh Ed25519 identity. */
export function generateIdentity(): NodeIdentity {
  const identity = identityOf(generateKeyPairSync('ed25519').privateKey);
  if (identity === undefined) throw new Error('node:crypto generated a malformed Ed25519 key');
  return identity;
}

/** The identity's public key in base64, as written in the cluster config. */
export function publicKeyBase64(identity: NodeIdentity): string {
  return Buffer.from(identity.publicKey).toString('base64');
}

/**
 * Writes the private key as PKCS#8 PEM with file mode 0600. Refuses to
 * overwrite an existing file, so a key is never lost by accident.
 */
export async function savePrivateKey(path: string, identity: NodeIdentity): Promise<void> {
  const pem = identity.privateKey.export({ format: 'pem', type: 'pkcs8' });
  await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
}

/**
 * Reads an identity written by {@link savePrivateKey}.
 *
 * @throws ConfigError (field = path) if the file is unreadable or not an Ed25519 private key.
 */
export async function loadIdentity(path: string): Promise<NodeIdentity> {
  let identity: NodeIdentity | undefined;
  try {
    identity = identityOf(createPrivateKey(await readFile(path)));
  } catch (error) {
    throw new ConfigError(path, `cannot load private key: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (identity === undefined) throw new ConfigError(path, 'not an Ed25519 private key');
  return identity;
}

/**
 * A self-signed certificate (self-signed-certificate.ts, built with
 * node:crypto alone) and the PKCS#8 key. Async so a failure is a rejection
 * that {@link tlsCredentials} does not cache.
 */
async function createCredentials(identity: NodeIdentity): Promise<TlsCredentials> {
  const now = Date.now();
  const certPem = selfSignedCertificatePem({
    privateKey: identity.privateKey,
    commonName: CERT_COMMON_NAME,
    notBefore: new Date(now - CERT_BACKDATE_MS),
    notAfter: new Date(now + CERT_LIFETIME_MS),
  });
  return Object.freeze({
    certPem,
    keyPem: identity.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  });
}

/** The identity's self-signed TLS certificate and key, created once per identity. */
export function tlsCredentials(identity: NodeIdentity): Promise<TlsCredentials> {
  let credentials = credentialsCache.get(identity);
  if (credentials === undefined) {
    credentials = createCredentials(identity);
    credentialsCache.set(identity, credentials);
    // Let a later call retry instead of caching the failure.
    credentials.catch(() => credentialsCache.delete(identity));
  }
  return credentials;
}

/**
 * The first client id owned by a client key: the high 37 bits of
 * SHA-256(publicKey), shifted left 16. All ids stay below 2^53.
 */
export function clientIdBase(publicKeyRaw: Uint8Array): number {
  const digest = createHash('sha256').update(publicKeyRaw).digest();
  // 40 bits fit exactly in a double; drop 3 to keep 37.
  const high37 = Math.floor(digest.readUIntBE(0, 5) / 8);
  return high37 * SESSIONS_PER_CLIENT_KEY;
}

/** True if `clientId` is one of the sessions of the key whose base is `base`. */
export function ownsClientId(base: number, clientId: number): boolean {
  return Number.isInteger(clientId) && clientId >= base && clientId < base + SESSIONS_PER_CLIENT_KEY;
}
