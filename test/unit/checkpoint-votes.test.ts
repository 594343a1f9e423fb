/**
 * CheckpointVotes (src/core/checkpoints.ts, docs/VIEW-CHANGE.md C3-C4): one
 * vote per replica per sequence number, equivocation reported, a certificate
 * once a quorum signed the same digest (with exactly a quorum of those
 * signatures), and garbage collection at or below a stable checkpoint.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckpointVotes } from '../../src/core/checkpoints.js';
import { replicaId } from '../../src/core/ids.js';
import { seqNo } from '../../src/core/ordering.js';
import { signAs, stateDigestOf } from '../scenario/harness.js';

const D = stateDigestOf(['d']);
const E = stateDigestOf(['e']);
const vote = (votes: CheckpointVotes, s: number, r: number, d = D) =>
  votes.add(seqNo(s), replicaId(r), d, signAs(r, { kind: 'checkpoint', seq: seqNo(s), stateDigest: d }));

describe('CheckpointVotes', () => {
  it('one vote per replica: new, duplicate, equivocation (the first vote stays)', () => {
    const votes = new CheckpointVotes();
    assert.equal(vote(votes, 4, 1), 'new');
    assert.equal(vote(votes, 4, 1), 'duplicate');
    assert.equal(vote(votes, 4, 1, E), 'equivocation');
    assert.equal(vote(votes, 8, 1, E), 'new', 'another sequence number is another vote');
    vote(votes, 4, 2);
    vote(votes, 4, 3);
    assert.deepEqual(votes.stable(seqNo(4), D, 3)?.signatures.map((s) => s.replica), [1, 2, 3]);
    assert.equal(votes.stable(seqNo(4), E, 1), undefined, "r1's equivocating vote was not recorded");
  });

  it('a certificate needs a quorum on the same digest, and carries exactly a quorum of valid signatures', () => {
    const votes = new CheckpointVotes();
    vote(votes, 4, 0);
    vote(votes, 4, 1, E);
    vote(votes, 4, 2);
    assert.equal(votes.stable(seqNo(4), D, 3), undefined);
    vote(votes, 4, 3);
    const cert = votes.stable(seqNo(4), D, 3);
    assert.ok(cert !== undefined);
    assert.deepEqual({ seq: cert.seq, voters: cert.signatures.map((s) => s.replica) }, { seq: 4, voters: [0, 2, 3] });
    for (const s of cert.signatures) {
      assert.deepEqual(s.signature, signAs(s.replica, { kind: 'checkpoint', seq: seqNo(4), stateDigest: D }));
    }
    assert.equal(votes.stable(seqNo(8), D, 1), undefined, 'no votes at s8');
  });

  it('dropUpTo forgets every sequence number at or below it', () => {
    const votes = new CheckpointVotes();
    for (const s of [4, 8, 12]) for (const r of [0, 1, 2]) vote(votes, s, r);
    votes.dropUpTo(seqNo(8));
    assert.equal(votes.stable(seqNo(4), D, 3), undefined);
    assert.equal(votes.stable(seqNo(8), D, 3), undefined);
    assert.ok(votes.stable(seqNo(12), D, 3) !== undefined);
    assert.equal(vote(votes, 8, 0), 'new', 'a dropped sequence number starts afresh (the core refuses it as below-window)');
  });
});
