/** LogVotes (src/core/log-votes.ts): a delivered batch is proven by f + 1 matching claims (docs/STATE-TRANSFER.md S15). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replicaId } from '../../src/core/ids.js';
import { LogVotes } from '../../src/core/log-votes.js';
import { seqNo } from '../../src/core/ordering.js';
import { batchDigest, req } from '../scenario/harness.js';

const A = [req(1, 1, 'a')];
const B = [req(2, 1, 'b')];

describe('LogVotes', () => {
  it('proves a batch once f + 1 distinct replicas name it, not before', () => {
    const votes = new LogVotes(4);
    assert.equal(votes.add(seqNo(0), replicaId(1), seqNo(1), batchDigest(A), A), 'new');
    assert.equal(votes.add(seqNo(0), replicaId(2), seqNo(1), batchDigest(B), B), 'new');
    assert.equal(votes.proven(seqNo(1), 2), undefined, 'one voice each');
    assert.equal(votes.add(seqNo(0), replicaId(1), seqNo(1), batchDigest(A), A), 'duplicate');
    assert.equal(votes.proven(seqNo(1), 2), undefined, 'a repeated claim counts once');
    votes.add(seqNo(0), replicaId(3), seqNo(1), batchDigest(A), A);
    assert.deepEqual(votes.proven(seqNo(1), 2)?.requests, A);
  });

  it('refuses a replica naming two batches for one sequence number, and claims out of reach', () => {
    const votes = new LogVotes(2);
    votes.add(seqNo(0), replicaId(1), seqNo(1), batchDigest(A), A);
    assert.equal(votes.add(seqNo(0), replicaId(1), seqNo(1), batchDigest(B), B), 'equivocation');
    assert.equal(votes.add(seqNo(0), replicaId(1), seqNo(3), batchDigest(A), A), 'out-of-reach');
    assert.equal(votes.add(seqNo(1), replicaId(1), seqNo(1), batchDigest(A), A), 'out-of-reach', 'already delivered');
  });

  it('forgets what it no longer needs', () => {
    const votes = new LogVotes(4);
    votes.add(seqNo(0), replicaId(1), seqNo(1), batchDigest(A), A);
    votes.add(seqNo(0), replicaId(2), seqNo(1), batchDigest(A), A);
    votes.dropUpTo(seqNo(1));
    assert.equal(votes.proven(seqNo(1), 2), undefined);
  });
});
