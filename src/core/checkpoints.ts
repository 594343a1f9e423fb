/**
 * CHECKPOINT votes above the stable checkpoint (docs/VIEW-CHANGE.md C1-C4).
 * One vote per replica per sequence number; a checkpoint is stable when a
 * quorum signed the same state digest. Bounded: the core only records
 * sequence numbers that are multiples of the interval inside the window, so
 * at most logWindow / checkpointInterval entries of n votes each.
 */
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type { CheckpointCertificate, Signature } from './messages.js';
import type { SeqNo } from './ordering.js';
import { VoteSet, type VoteOutcome } from './quorum.js';

interface Votes {
  readonly digests: VoteSet<Digest>;
  readonly signatures: Map<ReplicaId, Signature>;
}

export class CheckpointVotes {
  private readonly bySeq = new Map<SeqNo, Votes>();

  add(seq: SeqNo, from: ReplicaId, digest: Digest, signature: Signature): VoteOutcome {
    let votes = this.bySeq.get(seq);
    if (votes === undefined) {
      votes = { digests: new VoteSet(bytesEqual), signatures: new Map() };
      this.bySeq.set(seq, votes);
    }
    const outcome = votes.digests.add(from, digest);
    if (outcome === 'new') votes.signatures.set(from, signature);
    return outcome;
  }

  /** The certificate for (seq, digest) if a quorum signed it. */
  stable(seq: SeqNo, digest: Digest, quorum: number): CheckpointCertificate | undefined {
    const votes = this.bySeq.get(seq);
    if (votes === undefined) return undefined;
    const voters = votes.digests.voters(digest);
    if (voters.length < quorum) return undefined;
    const signatures = voters.slice(0, quorum).map((replica) => ({ replica, signature: votes.signatures.get(replica) as Signature }));
    return { seq, stateDigest: digest, signatures };
  }

  /** Forgets `voter`'s votes above `seq` (its own, cast from a state it found diverged). */
  dropVotesAbove(seq: SeqNo, voter: ReplicaId): void {
    for (const [s, votes] of this.bySeq) {
      if (s <= seq) continue;
      votes.digests.remove(voter);
      votes.signatures.delete(voter);
    }
  }

  /** Forgets every sequence number at or below `seq`. */
  dropUpTo(seq: SeqNo): void {
    for (const s of this.bySeq.keys()) if (s <= seq) this.bySeq.delete(s);
  }
}
