/**
 * The core's cryptography on a real replica: SHA-256 digests of batches,
 * checkpoint manifests and chunks, and Ed25519 signatures (node:crypto)
 * over the wire codec's canonical statement encoding, checked against the
 * public keys in the cluster config; clients' request signatures
 * (src/runtime/request-signatures.ts).
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { chunkDigest } from '../checkpoint/chunks.js';
import { manifestDigest } from '../checkpoint/manifest-digest.js';
import type { ClusterConfig } from '../config.js';
import type { CoreCrypto } from '../core/crypto.js';
import type { ReplicaId } from '../core/ids.js';
import { SIGNATURE_BYTES, type Request, type Signature, type Statement } from '../core/messages.js';
import type { NodeIdentity } from '../net/identity.js';
import { encodeBatch, encodeStatement } from '../wire/codec.js';
import { requestVerifier } from './request-signatures.js';

function publicKeyObject(base64: string): KeyObject {
  const x = Buffer.from(base64, 'base64').toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

export function replicaCrypto(identity: NodeIdentity, config: ClusterConfig): CoreCrypto {
  const keys = config.replicas.map((r) => publicKeyObject(r.publicKey));
  return {
    batchDigest: (requests: readonly Request[]) => createHash('sha256').update(encodeBatch(requests)).digest(),
    manifestDigest,
    chunkDigest,
    verifyRequest: requestVerifier(),
    sign: (statement: Statement): Signature => sign(null, encodeStatement(statement), identity.privateKey),
    verify: (signer: ReplicaId, statement: Statement, signature: Signature): boolean => {
      const key = keys[signer];
      if (key === undefined || signature.length !== SIGNATURE_BYTES) return false;
      try {
        return verify(null, encodeStatement(statement), key, signature);
      } catch {
        return false; // malformed input is an invalid signature, never an exception
      }
    },
  };
}
