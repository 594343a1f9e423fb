/**
 * A replica that never saw the quorum making its own checkpoint stable learns
 * it (docs/VIEW-CHANGE.md C6, docs/STATE-TRANSFER.md S7; simulator seed 8221,
 * docs/SIMULATOR.md finding 12).
 *
 * The run. n = 4, a checkpoint every 4 batches, a window of 8. r3 is cut off
 * while s1..s4 execute, and every CHECKPOINT to r2 is lost: r0 and r1 make
 * checkpoint 4 stable (their votes and r2's), r2 executed s4 and signed
 * checkpoint 4 but holds only its own vote, so its stable checkpoint stays
 * the genesis one and it names that one in its summaries. Then r1 crashes
 * for good and the network heals. Nobody resends a CHECKPOINT once it is
 * stable, so only r0 names checkpoint 4, one namer where state transfer
 * needs f + 1 (S7), and the log before 4 is gone at r0: r3 can take neither
 * the image nor the log. Without r3 no later checkpoint becomes stable and
 * r2's window, still (0, 8], closes. Here the primary timer (T2, 100
 * ticks) rescues the run: a view change's NEW-VIEW carries r0's certificate.
 * In seed 8221 no view change came (the replicas behind hold T2 off while
 * catching up) and 20 of 147 requests completed. Before the fix this run
 * needed two view changes.
 *
 * Expected: r2's resent CHECKPOINT of 4 (C5) tells r0 that r2 lacks the
 * certificate; r0 sends it (C6), r2 adopts it (S7), names checkpoint 4
 * with its image, and r3 catches up from r0 and r2. Asserted: r0, r2 and
 * r3 execute all 12 requests within 1,000 ticks, in view 0, and agree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, fastTimers, involving, req, where } from './harness.js';

const options = { ...fastTimers, viewChangeTimeoutTicks: 100, checkpointInterval: 4, logWindow: 8, batchRequestsMax: 1, pipelineMax: 4, chunkBytes: 16 };
const ALIVE = [0, 2, 3];
const REQUESTS = 12;

/** r2 misses the quorums of the first `missed` checkpoints (every 4 batches), r3 is cut off, then r1 crashes for good. */
function run(missed: number): { c: Cluster; total: number; ticks: number } {
  const c = new Cluster({ n: 4, options });
  const healR3 = c.blackhole(involving(3));
  const checkpointsToR2 = c.blockWhere(where({ type: 'checkpoint', to: 2 }));
  const first = 4 * missed;
  for (let client = 1; client <= first; client++) {
    c.submit(req(client, 1), [0, 1, 2]);
    c.deliverAll();
  }
  assert.deepEqual(
    c.replicas.map((r) => [c.status(r).lastDelivered, c.status(r).stableCheckpoint]),
    [[first, first], [first, first], [first, 0], [0, 0]],
    `premise: checkpoint ${first} is stable at r0 and r1; r2 delivered s${first} without seeing a quorum; r3 was cut off`,
  );
  c.crash(1);
  healR3();
  checkpointsToR2();
  const total = first + 8;
  for (let client = first + 1; client <= total; client++) c.submit(req(client, 1), ALIVE);
  const ticks = c.runUpTo(() => ALIVE.every((r) => c.serviceLog(r).length === total), 1000);
  return { c, total, ticks };
}

function assertCaughtUp({ c, total, ticks }: { c: Cluster; total: number; ticks: number }): void {
  assert.deepEqual(
    ALIVE.map((r) => c.serviceLog(r).length),
    ALIVE.map(() => total),
    `r0, r2, r3 execute all ${total} requests within 1000 ticks; after ${ticks} ticks stable checkpoints ` +
      `[${c.replicas.map((r) => c.status(r).stableCheckpoint).join(',')}]`,
  );
  assert.deepEqual(ALIVE.map((r) => c.status(r).view), [0, 0, 0], 'no view change was needed');
  for (const r of ALIVE) assert.deepEqual(c.serviceLog(r), c.serviceLog(0));
}

describe('a replica that missed the quorum of its own checkpoint', () => {
  it('learns that it is stable from a replica that has the certificate, so the replica behind can fetch it', () => {
    assertCaughtUp(run(1));
  });

  it('also when it resends two such CHECKPOINTs in turn (4, 8, 4, ...): each is answered on its second arrival', () => {
    // (A first version of C6 answered only the same sequence number twice in a row: two view changes here.)
    assertCaughtUp(run(2));
  });
});
