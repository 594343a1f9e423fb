/**
 * Deterministic, test-only cryptography for the replica core (CoreCrypto).
 *
 * - Batch digest: SHA-256 over
 *     u32 count, then per request: u64 clientId, u64 requestNo, u32 length, bytes
 *   (big-endian). Deterministic and injective, which is all the core relies on.
 * - Signatures: replica i has a secret (SHA-256 of a fixed seed and i, never
 *   handed to the core). Its signature on a statement is the first 64 bytes of
 *   SHA-512(secret_i || canonical JSON of the statement), where the canonical
 *   JSON sorts object keys and writes byte arrays as `"hex:..."`. `verify`
 *   recomputes it. Within the harness this is unforgeable: a test can sign as
 *   replica i only through {@link signAs}, which is how a Byzantine replica
 *   signs as itself, or how a test deliberately builds evidence a quorum
 *   signed. {@link badSignature} is a well-formed (64 bytes) signature that
 *   verifies for nobody.
 * - Client requests: test/support/signed-requests.ts signs and checks them.
 */
import { createHash } from 'node:crypto';
import type { CoreCrypto } from '../../src/core/crypto.js';
import type { Digest, ReplicaId } from '../../src/core/ids.js';
import { SIGNATURE_BYTES, type Request, type Signature, type Statement } from '../../src/core/messages.js';
import { verifyTestRequest } from '../support/signed-requests.js';

const SEED = 'bafomet scenario harness secret';

const secrets = new Map<number, Buffer>();

function secretOf(replica: number): Buffer {
  let secret = secrets.get(replica);
  if (secret === undefined) {
    secret = createHash('sha256').update(`${SEED}/${replica}`).digest();
    secrets.set(replica, secret);
  }
  return secret;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Canonical JSON: sorted keys, byte arrays as "hex:..". Deterministic whatever the key order of the input. */
export function canonicalJson(value: unknown): string {
  if (value instanceof Uint8Array) return JSON.stringify(`hex:${hex(value)}`);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The bytes a signature covers: the statement's canonical JSON. */
export function encodeStatement(statement: Statement): string {
  return canonicalJson(statement);
}

/** Replica `replica`'s signature on `statement` (a test speaking for that replica). */
export function signAs(replica: number, statement: Statement): Signature {
  const mac = createHash('sha512').update(secretOf(replica)).update(encodeStatement(statement)).digest();
  return new Uint8Array(mac.subarray(0, SIGNATURE_BYTES));
}

/** A signature of the right length that is nobody's signature on anything. */
export function badSignature(): Signature {
  return new Uint8Array(SIGNATURE_BYTES).fill(0xbd);
}

function sha256Batch(requests: readonly Request[]): Digest {
  const hash = createHash('sha256');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(requests.length);
  hash.update(head);
  for (const r of requests) {
    const fixed = Buffer.alloc(20);
    fixed.writeBigUInt64BE(BigInt(r.clientId), 0);
    fixed.writeBigUInt64BE(BigInt(r.requestNo), 8);
    fixed.writeUInt32BE(r.operation.length, 16);
    hash.update(fixed);
    hash.update(r.operation);
  }
  return new Uint8Array(hash.digest());
}

/** Digest (hex) -> label of every batch digested so far, for readable trace lines. */
const knownDigests = new Map<string, string>();

export const requestLabel = (r: Request): string => `c${r.clientId}#${r.requestNo}`;
export const batchLabel = (rs: readonly Request[]): string => `[${rs.map(requestLabel).join(',')}]`;

/** The test-only batch digest (see the module comment); remembers the batch's label. */
export function batchDigest(requests: readonly Request[]): Digest {
  const digest = sha256Batch(requests);
  knownDigests.set(hex(digest), batchLabel(requests));
  return digest;
}

/** The batch label a digest names (`[c1#1]`), or `d:<hex8>` if no batch with that digest was seen. */
export function digestName(digest: Digest): string {
  return knownDigests.get(hex(digest)) ?? `d:${hex(digest).slice(0, 8)}`;
}

/** Whether `signature` is `signer`'s on `statement`. Never throws. */
export function verifySignature(signer: number, statement: Statement, signature: Signature): boolean {
  try {
    if (!Number.isSafeInteger(signer) || signer < 0) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
    const expected = signAs(signer, statement);
    for (let i = 0; i < SIGNATURE_BYTES; i++) if (expected[i] !== signature[i]) return false;
    return true;
  } catch {
    return false;
  }
}

/** The CoreCrypto of replica `self`: signs with its own secret, verifies anybody's. */
export function fakeCrypto(self: number): CoreCrypto {
  return {
    batchDigest,
    manifestDigest: (manifest) => new Uint8Array(createHash('sha256').update(`manifest:${canonicalJson(manifest)}`).digest()),
    chunkDigest: (bytes) => new Uint8Array(createHash('sha256').update(bytes).digest()),
    sign: (statement) => signAs(self, statement),
    verify: (signer: ReplicaId, statement, signature) => verifySignature(signer, statement, signature),
    verifyRequest: verifyTestRequest,
  };
}
