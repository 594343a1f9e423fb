/**
 * The protocol rules at which a single broken line would break safety or
 * liveness, gathered in one class so that the simulator's mutants
 * (src/sim/mutants.ts) can replace exactly one rule and show that a checker
 * catches it. The core's modules ask these questions instead of answering
 * them inline; a real replica uses this class as it is.
 */
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type { CheckpointCertificate, PrePrepareMessage, ViewChangeMessage } from './messages.js';
import type { MessageLog } from './message-log.js';
import { next, type SeqNo, type View } from './ordering.js';
import type { VoteOutcome, VoteSet } from './quorum.js';
import { checkpointCertificateValid, decideNewView, primaryOf, type NewViewDecision, type ViewChangeRules } from './view-change.js';

export class DecisionPoints {
  constructor(protected readonly rules: ViewChangeRules) {}

  /** Votes needed to prepare (with the PRE-PREPARE) and to commit [N11, N13]. */
  quorum(): number {
    return this.rules.sizes.quorum;
  }

  /** VIEW-CHANGEs needed to install a view [V5-V6]. */
  viewChangeQuorum(): number {
    return this.rules.sizes.quorum;
  }

  /** What a new view starts with, from its VIEW-CHANGEs [V5-V6]. */
  newViewDecision(viewChanges: readonly ViewChangeMessage[]): NewViewDecision {
    return decideNewView(viewChanges, this.rules);
  }

  /** Whether `from` may send the PRE-PREPARE of view `v` [N2]. */
  mayPrePrepare(from: ReplicaId, v: View): boolean {
    return from === primaryOf(v, this.rules.sizes.n);
  }

  /** Whether the PRE-PREPARE's digest is its batch's [N4]. */
  digestMatches(m: PrePrepareMessage): boolean {
    return bytesEqual(this.rules.crypto.batchDigest(m.requests), m.digest);
  }

  /** Records `from`'s vote: one per replica [N10]. */
  recordVote(votes: VoteSet<Digest>, from: ReplicaId, digest: Digest): VoteOutcome {
    return votes.add(from, digest);
  }

  /** Whether a checkpoint certificate from another replica carries a quorum of valid signatures [S7]. */
  checkpointProven(checkpoint: CheckpointCertificate): boolean {
    return checkpointCertificateValid(checkpoint, this.rules);
  }

  /** Whether a fetched chunk has the digest its manifest names [S10]. */
  chunkMatches(bytes: Uint8Array, expected: Digest): boolean {
    return bytesEqual(this.rules.crypto.chunkDigest(bytes), expected);
  }

  /** The sequence number to deliver next, if it is decided: strictly the next one [E1]. */
  nextDeliverable(log: MessageLog): SeqNo | undefined {
    const s = next(log.lastDelivered);
    const slot = log.get(s);
    return slot !== undefined && (slot.committed || slot.proven !== undefined) && !slot.delivered ? s : undefined;
  }
}
