/**
 * Batches other replicas say they delivered, for a replica catching up on
 * the log after its last delivered batch (docs/STATE-TRANSFER.md S15). A
 * correct replica names only batches it delivered, and a sequence number
 * commits one batch, so f + 1 replicas naming the same digest prove it.
 *
 * Bounded: only sequence numbers in (lastDelivered, lastDelivered + span]
 * are kept, one vote per replica each, with the batch of each distinct
 * digest named (at most one per voter).
 */
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type { Request } from './messages.js';
import type { SeqNo } from './ordering.js';
import { VoteSet, type VoteOutcome } from './quorum.js';

interface SeqVotes {
  readonly votes: VoteSet<Digest>;
  readonly batches: { digest: Digest; requests: readonly Request[] }[];
}

export class LogVotes {
  private readonly bySeq = new Map<SeqNo, SeqVotes>();

  constructor(private readonly span: number) {}

  /** Records `from`'s claim that it delivered `requests` (digest `digest`) at `seq`, if `seq` is in reach. */
  add(lastDelivered: SeqNo, from: ReplicaId, seq: SeqNo, digest: Digest, requests: readonly Request[]): VoteOutcome | 'out-of-reach' {
    if (seq <= lastDelivered || seq > lastDelivered + this.span) return 'out-of-reach';
    let entry = this.bySeq.get(seq);
    if (entry === undefined) {
      entry = { votes: new VoteSet(bytesEqual), batches: [] };
      this.bySeq.set(seq, entry);
    }
    const outcome = entry.votes.add(from, digest);
    if (outcome === 'new' && !entry.batches.some((b) => bytesEqual(b.digest, digest))) entry.batches.push({ digest, requests });
    return outcome;
  }

  /** The batch at `seq` named by at least `weak` replicas, if any. */
  proven(seq: SeqNo, weak: number): { digest: Digest; requests: readonly Request[] } | undefined {
    const entry = this.bySeq.get(seq);
    return entry?.batches.find((b) => entry.votes.count(b.digest) >= weak);
  }

  /** Forgets every sequence number at or below `seq`. */
  dropUpTo(seq: SeqNo): void {
    for (const s of this.bySeq.keys()) if (s <= seq) this.bySeq.delete(s);
  }
}
