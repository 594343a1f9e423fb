/**
 * The cryptography the core needs, injected so that the core stays pure and
 * the simulator can model it: batch digests, and signatures on the
 * statements that travel between replicas as evidence (docs/DESIGN.md,
 * "Signatures"), and the clients' signatures on their requests (docs/DESIGN.md,
 * "Client authentication"). Implementations must be deterministic and must
 * never throw on malformed input: `verify` and `verifyRequest` answer false.
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
  /**
   * Whether `request` is its client's: `request.clientKey` owns
   * `request.clientId` (the id's high 37 bits derive from SHA-256 of the key,
   * src/net/identity.ts) and `request.signature` is that key's signature on
   * the request's statement. The expensive check ([A2]): the core calls it
   * at most once per request it has not seen before (src/core/request-auth.ts).
   */
  verifyRequest(request: Request): boolean;
}
