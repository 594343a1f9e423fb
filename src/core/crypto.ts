/**
 * The cryptography the core needs, injected so that the core stays pure and
 * the simulator can model it: batch digests, and signatures on the
 * statements that travel between replicas as evidence (docs/DESIGN.md,
 * "Signatures"). Implementations must be deterministic and must never throw
 * on malformed input: `verify` answers false.
 */
import type { Digest, ReplicaId } from './ids.js';
import type { CheckpointManifest, Request, Signature, Statement } from './messages.js';

export interface CoreCrypto {
  /** Digest of a batch's canonical encoding. */
  batchDigest(requests: readonly Request[]): Digest;
  /** A checkpoint's state digest: the digest of its manifest's canonical encoding (docs/STATE-TRANSFER.md). */
  manifestDigest(manifest: CheckpointManifest): Digest;
  /** Digest of one chunk of a checkpoint image. */
  chunkDigest(bytes: Uint8Array): Digest;
  /** This replica's signature on `statement`. */
  sign(statement: Statement): Signature;
  /** Whether `signature` is replica `signer`'s on `statement`. */
  verify(signer: ReplicaId, statement: Statement, signature: Signature): boolean;
}
