/**
 * A replica that holds a stable checkpoint certificate without its image
 * still sends the certificate (docs/STATE-TRANSFER.md S6-S7,
 * docs/VIEW-CHANGE.md C6; simulator seed 4012, docs/SIMULATOR.md finding 20).
 *
 * The run. n = 7 (f = 2, quorum 5, f + 1 = 3), a checkpoint every 4
 * batches, a window of 8, T2 at 100 ticks. r0 (the primary) and r3 are
 * Byzantine in one way: they never tell r1, r2 and r4 about a checkpoint
 * (their CHECKPOINTs and STATE-SUMMARYs to them are lost, all run long);
 * otherwise they follow the protocol. While r0..r4 order s1..s4, r5 and
 * r6 are cut off from everything but CHECKPOINTs: they see five votes for
 * checkpoint 4 and make it stable without having executed anything, so
 * they hold its certificate without its image; r0 and r3 make it stable
 * with their image; r1, r2 and r4 executed s4 and hold its image but see
 * three votes, so their stable checkpoint stays the genesis one. Then the
 * network heals and clients send s5..s12 to everybody.
 *
 * r5 and r6 must fetch an image, which needs f + 1 replicas naming it: only
 * r0 and r3 do, r1, r2 and r4 name the genesis checkpoint; LOG-ENTRIES
 * below their stable checkpoint are of no use. At checkpoint 8 the same
 * split repeats, and from s9 on r1, r2 and r4 cannot follow r0 (above
 * their window (0, 8]) nor make a checkpoint stable without r5 and r6.
 * They ask the others for their state (S4-S5), and C5 resends their
 * CHECKPOINTs; before the fix r5 and r6 answered neither (`no-image`):
 * each side waited for the other.
 *
 * Expected: r5 and r6 answer with the certificate and an empty manifest;
 * r1, r2 and r4 adopt it (they delivered up to it) and name it with their
 * own image; r5 and r6 fetch it from them and catch up. Asserted: the five
 * correct replicas execute all 12 requests within 300 ticks, in view 0,
 * and agree (with r0 and r3 too); every request has f + 1 matching replies
 * from correct replicas. With the old rule (`answersWithoutImage` false),
 * r5 and r6 are still behind after 1,000 ticks, holding a stable
 * certificate above what they delivered (at tick 101 T2 brings
 * view 1, whose NEW-VIEW carries checkpoint 8: r1, r2 and r4 move on and
 * serve it, but the split recurs at checkpoint 12, and r5 and r6 stay at
 * s8 with a stable s12 whose image they cannot get).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecisionPoints } from '../../src/core/decision-points.js';
import { Cluster, fastTimers, req, where, type Envelope } from './harness.js';

const options = { ...fastTimers, viewChangeTimeoutTicks: 100, checkpointInterval: 4, logWindow: 8, batchRequestsMax: 1, pipelineMax: 4, chunkBytes: 16 };
const CORRECT = [1, 2, 4, 5, 6];
const BEHIND = [5, 6];
const REQUESTS = 12;

/** A stable certificate is sent only with its image, as before finding 20. */
class ImagelessSilence extends DecisionPoints {
  override answersWithoutImage(): boolean {
    return false;
  }
}

/** Everything to or from r5 and r6 but CHECKPOINTs. */
const cutOffButCheckpoints = (e: Envelope): boolean =>
  (BEHIND.includes(e.to) || (e.kind === 'message' && BEHIND.includes(e.from))) && !(e.kind === 'message' && e.message.type === 'checkpoint');

function run(oldRule: boolean, bound: number): { c: Cluster; ticks: number } {
  const c = new Cluster({ n: 7, options, byzantine: [0, 3], decisions: oldRule ? (rules) => new ImagelessSilence(rules) : undefined });
  c.blockWhere(where({ type: ['checkpoint', 'state-summary'], from: [0, 3], to: [1, 2, 4] }));
  const heal = c.blockWhere(cutOffButCheckpoints);
  for (let client = 1; client <= 4; client++) {
    c.submit(req(client, 1), [0, 1, 2, 3, 4]);
    c.deliverAll();
  }
  assert.deepEqual(
    c.replicas.map((r) => [c.status(r).lastDelivered, c.status(r).stableCheckpoint]),
    [[4, 4], [4, 0], [4, 0], [4, 4], [4, 0], [0, 4], [0, 4]],
    'premise: checkpoint 4 is stable at r0, r3 (with its image) and at r5, r6 (without: they executed nothing); r1, r2, r4 executed s4 without seeing a quorum',
  );
  for (const r of BEHIND) assert.equal(c.checkpointManifest(r, 4), undefined, `premise: r${r} holds no image of checkpoint 4`);
  heal();
  for (let client = 5; client <= REQUESTS; client++) c.submit(req(client, 1));
  const ticks = c.runUpTo(() => CORRECT.every((r) => c.serviceLog(r).length === REQUESTS), bound);
  return { c, ticks };
}

const state = (c: Cluster): string =>
  c.replicas.map((r) => `r${r} delivered s${c.status(r).lastDelivered} stable s${c.status(r).stableCheckpoint}`).join(', ');

describe('a stable checkpoint split by CHECKPOINTs sent to some replicas only', () => {
  it('is healed: the replicas holding the certificate without its image send it, the ones holding the image adopt it and serve it', () => {
    const { c, ticks } = run(false, 300);
    assert.deepEqual(
      CORRECT.map((r) => c.serviceLog(r).length),
      CORRECT.map(() => REQUESTS),
      `the correct replicas execute all ${REQUESTS} requests within 300 ticks; after ${ticks} ticks: ${state(c)}`,
    );
    assert.deepEqual(c.replicas.map((r) => c.status(r).view), [0, 0, 0, 0, 0, 0, 0], 'no view change was needed');
    assert.ok(
      c.traceMatching(/^r[56] -> r[124] state-summary v0 C=s[1-9]\d* st:\w+ chunks=0 /).length > 0,
      'r5 or r6 sent a stable certificate without an image',
    );
    for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), c.serviceLog(1), `r${r} and r1 agree`);
    for (let client = 1; client <= REQUESTS; client++) {
      const label = `c${client}#1`;
      const replies = c.repliesTo(label).filter((reply) => CORRECT.includes(reply.from));
      assert.equal(new Set(replies.map((reply) => reply.result)).size, 1, `${label}: one result`);
      assert.ok(new Set(replies.map((reply) => reply.from)).size >= 3, `${label}: replies from f + 1 correct replicas`);
    }
  });

  it('with the old rule (a certificate only with its image) r5 and r6 never catch up', () => {
    const { c } = run(true, 1000);
    for (const r of BEHIND) {
      assert.ok(c.serviceLog(r).length < REQUESTS, `r${r} is still behind after 1,000 ticks: ${state(c)}`);
      assert.ok(c.status(r).stableCheckpoint > c.status(r).lastDelivered, `r${r} holds a stable certificate above what it delivered: ${state(c)}`);
    }
    assert.ok(c.rejectionsAt(5).some((x) => x.messageType === 'state-query' && x.reason === 'no-image'), 'r5 did not answer: no image');
  });
});
