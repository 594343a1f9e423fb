/**
 * A replica whose state diverges repairs itself (docs/STATE-TRANSFER.md S16).
 *
 * A non-deterministic service, a bit flip or a bug can leave one replica's
 * state different from the others' although it executed the same batches.
 * Before, it noticed nothing: its checkpoint digest lost the vote, it ran on
 * with the wrong state, answered clients from it (outvoted, but wrong) and
 * could no longer serve its image. Now, when the checkpoint a quorum
 * certified differs from its own at the same sequence number, it says so
 * (`diverged`), fetches the certified image from the others and executes
 * its log after it again.
 *
 * n = 4, a checkpoint every 4 batches, one request per batch. After s2, one
 * entry is slipped into r3's service state (what a non-deterministic
 * `update` would do). Asserted: at checkpoint 4 r3 reports the divergence,
 * and after the next requests every replica holds the same service state;
 * no view change was needed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, fastTimers, req } from './harness.js';

const options = { ...fastTimers, viewChangeTimeoutTicks: 200, checkpointInterval: 4, logWindow: 8, batchRequestsMax: 1, pipelineMax: 4, chunkBytes: 16 };

describe('a replica whose state diverged', () => {
  it('notices at the next certified checkpoint and repairs itself by state transfer', () => {
    const c = new Cluster({ n: 4, options });
    for (let client = 1; client <= 2; client++) {
      c.submit(req(client, 1));
      c.deliverAll();
    }
    c.corruptState(3, 'bit flip');
    assert.notDeepEqual(c.serviceLog(3), c.serviceLog(0), 'premise: r3 holds another state');
    for (let client = 3; client <= 10; client++) {
      c.submit(req(client, 1));
      c.deliverAll();
    }
    // (Checkpoint 8 may also be certified before the repair is done: said again, not repaired twice.)
    const reports = c.traceMatching(/^r\d diverged/);
    assert.equal(reports[0], 'r3 diverged at s4');
    assert.ok(reports.every((line) => line.startsWith('r3 ')), reports.join('; '));
    const ticks = c.runUntil((cl) => cl.replicas.every((r) => cl.serviceLog(r).length === 10 && cl.status(r).lastExecuted === 10), 1000);
    for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), c.serviceLog(0), `r${r} after ${ticks} ticks`);
    assert.equal(c.status(3).stableCheckpoint, 8);
    assert.deepEqual(c.viewEvents, []);
    assert.equal(c.traceMatching(/^r\d diverged/).length, reports.length, 'repaired: no divergence after');
  });
});
