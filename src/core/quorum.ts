/**
 * Quorum arithmetic for a group of n replicas tolerating f Byzantine faults,
 * n >= 3f + 1. Any two quorums of size ceil((n + f + 1) / 2) intersect in at
 * least f + 1 replicas, hence in one correct replica (for n = 3f + 1 this is
 * the classic 2f + 1).
 */
import { assert } from './assert.js';
import type { ReplicaId } from './ids.js';

export interface QuorumSizes {
  readonly n: number;
  readonly f: number;
  /** Votes needed to prepare, commit, install a view or stabilise a checkpoint. */
  readonly quorum: number;
  /** f + 1: enough that at least one correct replica vouches. */
  readonly weak: number;
}

export function quorumSizes(n: number, f: number): QuorumSizes {
  assert(Number.isInteger(f) && f >= 0, `bad f ${f}`);
  assert(Number.isInteger(n) && n >= 3 * f + 1, `n=${n} cannot tolerate f=${f}`);
  return { n, f, quorum: Math.ceil((n + f + 1) / 2), weak: f + 1 };
}

/** Largest f that n replicas tolerate. */
export function maxFaults(n: number): number {
  return Math.floor((n - 1) / 3);
}

/**
 * Votes of distinct replicas for one value each (ancestor defect 1: votes were
 * counted without recording who voted). The first vote of a replica is kept; a
 * later different vote from the same replica is reported as equivocation.
 */
export type VoteOutcome = 'new' | 'duplicate' | 'equivocation';

export class VoteSet<V> {
  private readonly votes = new Map<ReplicaId, V>();

  constructor(private readonly equal: (a: V, b: V) => boolean) {}

  /** Records `voter`'s vote. Returns 'new', 'duplicate' or 'equivocation'. */
  add(voter: ReplicaId, value: V): VoteOutcome {
    const previous = this.votes.get(voter);
    if (previous === undefined) {
      this.votes.set(voter, value);
      return 'new';
    }
    return this.equal(previous, value) ? 'duplicate' : 'equivocation';
  }

  /** Forgets `voter`'s vote (it proved invalid). */
  remove(voter: ReplicaId): void {
    this.votes.delete(voter);
  }

  /** The replicas that voted for `value`, in the order they voted. */
  voters(value: V): ReplicaId[] {
    const out: ReplicaId[] = [];
    for (const [voter, v] of this.votes) if (this.equal(v, value)) out.push(voter);
    return out;
  }

  /** Number of distinct replicas that voted for `value`. */
  count(value: V): number {
    let total = 0;
    for (const v of this.votes.values()) if (this.equal(v, value)) total++;
    return total;
  }

  /** Every replica that voted, whatever for, in the order they voted. */
  allVoters(): ReplicaId[] {
    return [...this.votes.keys()];
  }

  /** The most votes any one value has (0 with none). */
  mostVotes(): number {
    let most = 0;
    for (const v of this.votes.values()) most = Math.max(most, this.count(v));
    return most;
  }

  has(voter: ReplicaId): boolean {
    return this.votes.has(voter);
  }

  get size(): number {
    return this.votes.size;
  }
}
