/**
 * The core's cryptography on a real replica: SHA-256 digests of batches,
 * checkpoint manifests and chunks, and Ed25519 signatures (libsodium,
 * src/runtime/ed25519.ts) over the wire codec's canonical statement encoding, checked against the
 * public keys in the cluster config; clients' request signatures
 * (src/runtime/request-signatures.ts).
 */
import { createHash } from 'node:crypto';
import { chunkDigest } from '../checkpoint/chunks.js';
import { manifestDigest } from '../checkpoint/manifest-digest.js';
import type { ClusterConfig } from '../config.js';
import type { CoreCrypto } from '../core/crypto.js';
import type { ReplicaId } from '../core/ids.js';
import type { Request, Signature, Statement } from '../core/messages.js';
import type { NodeIdentity } from '../net/identity.js';
import { encodeBatch, encodeStatement } from '../wire/codec.js';
import { ed25519Signer, ed25519Verify } from './ed25519.js';
import { requestVerifier } from './request-signatures.js';

export function replicaCrypto(identity: NodeIdentity, config: ClusterConfig): CoreCrypto {
  const keys = config.replicas.map((r) => Buffer.from(r.publicKey, 'base64'));
  const signer = ed25519Signer(identity);
  return {
    batchDigest: (requests: readonly Request[]) => createHash('sha256').update(encodeBatch(requests)).digest(),
    manifestDigest,
    chunkDigest,
    verifyRequest: requestVerifier(),
    sign: (statement: Statement): Signature => signer(encodeStatement(statement)),
    verify: (replica: ReplicaId, statement: Statement, signature: Signature): boolean => {
      const key = keys[replica];
      return key !== undefined && ed25519Verify(key, encodeStatement(statement), signature);
    },
  };
}
