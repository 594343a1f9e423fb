/**
 * Quorum arithmetic (src/core/quorum.ts) and vote counting by distinct voter
 * (VoteSet, ancestor defect 1: votes were counted without recording who voted,
 * so one replica repeating its vote could make a quorum alone).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantViolation } from '../../src/core/assert.js';
import { bytesEqual, replicaId } from '../../src/core/ids.js';
import { maxFaults, quorumSizes, VoteSet } from '../../src/core/quorum.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('quorumSizes', () => {
  it('gives 2f+1 / f+1 for n = 3f+1', () => {
    const table: [n: number, f: number, quorum: number, weak: number][] = [
      [4, 1, 3, 2],
      [7, 2, 5, 3],
      [10, 3, 7, 4],
      [13, 4, 9, 5],
    ];
    for (const [n, f, quorum, weak] of table) {
      assert.deepEqual(quorumSizes(n, f), { n, f, quorum, weak }, `n=${n} f=${f}`);
      assert.equal(maxFaults(n), f, `maxFaults(${n})`);
    }
  });

  it('handles n > 3f+1 and f = 0', () => {
    assert.equal(quorumSizes(1, 0).quorum, 1);
    assert.equal(quorumSizes(5, 1).quorum, 4); // ceil(7/2)
    assert.equal(quorumSizes(6, 1).quorum, 4); // ceil(8/2)
    assert.equal(quorumSizes(10, 1).quorum, 6);
  });

  it('asserts when n < 3f+1 or f is not a natural number', () => {
    const bad: [number, number][] = [
      [3, 1],
      [6, 2],
      [9, 3],
      [12, 4],
      [0, 0],
      [4, -1],
      [4, 0.5],
      [4.5, 1],
    ];
    for (const [n, f] of bad) {
      assert.throws(() => quorumSizes(n, f), InvariantViolation, `n=${n} f=${f}`);
    }
  });

  it('property: two quorums intersect in >= f+1 replicas, and a quorum of correct replicas exists', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (f, extra) => {
          const n = 3 * f + 1 + extra;
          const { quorum } = quorumSizes(n, f);
          // Two sets of `quorum` out of n overlap in at least 2q - n members.
          assert.ok(2 * quorum - n >= f + 1, `n=${n} f=${f} q=${quorum}: overlap ${2 * quorum - n}`);
          // Liveness: the n - f correct replicas can form a quorum alone.
          assert.ok(quorum <= n - f, `n=${n} f=${f} q=${quorum} > n-f`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('brute force for small n: every pair of quorums shares >= f+1 members', () => {
    for (let n = 1; n <= 9; n++) {
      for (let f = 0; 3 * f + 1 <= n; f++) {
        const { quorum } = quorumSizes(n, f);
        const sets: number[] = [];
        for (let mask = 0; mask < 1 << n; mask++) if (popcount(mask) === quorum) sets.push(mask);
        let min = n;
        for (const a of sets) for (const b of sets) min = Math.min(min, popcount(a & b));
        assert.ok(min >= f + 1, `n=${n} f=${f}: two quorums share only ${min}`);
      }
    }
  });
});

function popcount(x: number): number {
  let c = 0;
  for (; x !== 0; x &= x - 1) c++;
  return c;
}

describe('VoteSet', () => {
  it('a replica repeating its vote 10 times counts once (ancestor defect 1)', () => {
    const votes = new VoteSet<Uint8Array>(bytesEqual);
    assert.equal(votes.add(replicaId(1), bytes(7)), 'new');
    for (let i = 0; i < 10; i++) assert.equal(votes.add(replicaId(1), bytes(7)), 'duplicate');
    assert.equal(votes.count(bytes(7)), 1);
    assert.equal(votes.size, 1);
    assert.equal(votes.add(replicaId(2), bytes(7)), 'new');
    assert.equal(votes.count(bytes(7)), 2);
  });

  it('reports equivocation, keeps the first vote and never counts the voter twice', () => {
    const votes = new VoteSet<Uint8Array>(bytesEqual);
    votes.add(replicaId(3), bytes(1));
    assert.equal(votes.add(replicaId(3), bytes(2)), 'equivocation');
    assert.equal(votes.add(replicaId(3), bytes(2)), 'equivocation');
    assert.equal(votes.count(bytes(1)), 1, 'first vote stays');
    assert.equal(votes.count(bytes(2)), 0, 'second vote not counted');
    assert.equal(votes.size, 1);
    assert.ok(votes.has(replicaId(3)));
    assert.ok(!votes.has(replicaId(4)));
  });

  it('counts by value equality, not identity', () => {
    const votes = new VoteSet<Uint8Array>(bytesEqual);
    votes.add(replicaId(0), bytes(1, 2, 3));
    votes.add(replicaId(1), bytes(1, 2, 3));
    votes.add(replicaId(2), bytes(1, 2));
    assert.equal(votes.count(bytes(1, 2, 3)), 2);
    assert.equal(votes.count(bytes(1, 2)), 1);
    assert.equal(votes.count(bytes()), 0);
  });

  it('property: count(v) = distinct voters whose FIRST vote was v', () => {
    const voteArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 2 })), {
      maxLength: 80,
    });
    fc.assert(
      fc.property(voteArb, (sequence) => {
        const votes = new VoteSet<Uint8Array>(bytesEqual);
        const first = new Map<number, number>();
        for (const [voter, value] of sequence) {
          const result = votes.add(replicaId(voter), bytes(value));
          const expected = !first.has(voter) ? 'new' : first.get(voter) === value ? 'duplicate' : 'equivocation';
          assert.equal(result, expected);
          if (!first.has(voter)) first.set(voter, value);
        }
        for (let value = 0; value <= 2; value++) {
          const expected = [...first.values()].filter((v) => v === value).length;
          assert.equal(votes.count(bytes(value)), expected);
        }
        assert.equal(votes.size, first.size);
      }),
      { numRuns: 500 },
    );
  });
});
