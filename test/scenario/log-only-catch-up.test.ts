/**
 * Replicas restarted behind the only correct replica ahead of them catch up
 * through a view change (docs/STATE-TRANSFER.md S5, docs/VIEW-CHANGE.md T2;
 * simulator seeds 3305 and 9756, docs/SIMULATOR.md findings 21 and 19).
 *
 * The run. n = 4, one request per batch, the default pipeline (4) and
 * checkpoint interval (64, so no checkpoint is involved). While r0 orders
 * s1..s4, r2 gets none of its PRE-PREPAREs and r1 none of the COMMITs: r0,
 * r1 and r3 commit (r0 and r3 deliver), r1 prepared them but delivered
 * nothing, r2 knows nothing of them. Then a power cut: r0 restarts from
 * its journal, r3 stays down for good (the one fault). With r1 and r2
 * voting, r0 orders s5..s8 (clients 5-8 sent to r0 only), r1 and r2 commit
 * them but cannot deliver them past the gap. Then r1 and r2 lose power too
 * and restart from their journals, behind (`recovering`), and the clients
 * of s5..s8 retransmit to r0, r1 and r2, and two new clients come.
 *
 * Only r0 can give r1 and r2 s1..s4: LOG-ENTRIES need f + 1 = 2 matching
 * senders, r0 resends votes only for slots above what it delivered (R7),
 * and it answers retransmitted votes (R8) only for slots committed since
 * its restart, which s1..s4 are not (only r1's COMMIT comes back). r0's
 * summaries show it 8 ahead, more than a pipeline, so r1 and r2 stay
 * behind. Before the fix a replica behind held T2 off: r1 and r2 never
 * suspected r0, and c5..c10 never had more than r0's reply.
 *
 * Expected: T2 holds off only while a checkpoint above what the replica
 * delivered is involved; here only log entries are missing, so r1 and r2
 * suspect r0 and view 1's NEW-VIEW re-proposes s1..s8 from r0's and r1's
 * prepared certificates. Asserted: r0, r1 and r2 execute all 10 requests
 * within 200 ticks, in view 1, and agree; every client has f + 1 matching
 * replies. With the old rule (`logCatchUpHoldsRequestTimer`) the same run
 * stays in view 0 with r1 and r2 at s0 for 1,000 ticks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecisionPoints } from '../../src/core/decision-points.js';
import { Cluster, fastTimers, req, where } from './harness.js';

const options = { ...fastTimers, batchRequestsMax: 1 };
const ALIVE = [0, 1, 2];
const REQUESTS = 10;

/** T2 held off while behind by log entries only, as before findings 19 and 21. */
class PatientLogCatchUp extends DecisionPoints {
  override logCatchUpHoldsRequestTimer(): boolean {
    return true;
  }
}

const delivered = (c: Cluster): number[] => c.replicas.map((r) => c.status(r).lastDelivered);

function run(oldRule: boolean, bound: number): { c: Cluster; ticks: number } {
  const c = new Cluster({ n: 4, options, decisions: oldRule ? (rules) => new PatientLogCatchUp(rules) : undefined });
  const prePreparesToR2 = c.blockWhere(where({ type: 'pre-prepare', to: 2 }));
  const commitsToR1 = c.blockWhere(where({ type: 'commit', to: 1 }));
  for (let client = 1; client <= 4; client++) {
    c.submit(req(client, 1));
    c.deliverAll();
  }
  assert.deepEqual(delivered(c), [4, 0, 0, 4], 'premise: r0 and r3 delivered s1..s4, r1 and r2 nothing');
  assert.equal(c.traceMatching(/^r1 -> r0 commit v0 s\d/).length, 4, 'premise: r1 prepared s1..s4 (its COMMITs went out)');
  assert.equal(c.traceMatching(/^r2 -> r\d (prepare|commit) /).length, 0, 'premise: r2 voted for none of them');

  // A power cut: r0 comes back from its journal, r3 never does.
  c.restart(0);
  c.crash(3);
  prePreparesToR2();
  commitsToR1();
  for (let client = 5; client <= 8; client++) {
    c.submit(req(client, 1), [0]);
    c.deliverAll();
  }
  assert.deepEqual(delivered(c), [8, 0, 0, 4], 'premise: r0 delivered s5..s8 with r1 and r2 voting; r1 and r2 are stuck at the gap');
  c.restart(1);
  c.restart(2);
  for (let client = 5; client <= REQUESTS; client++) c.submit(req(client, 1), ALIVE);
  const ticks = c.runUpTo(() => ALIVE.every((r) => c.serviceLog(r).length === REQUESTS), bound);
  return { c, ticks };
}

describe('replicas restarted behind the only correct replica that holds the log', () => {
  it('time the primary (T2) and catch up through a view change that re-proposes the batches only r0 holds', () => {
    const { c, ticks } = run(false, 200);
    assert.deepEqual(
      ALIVE.map((r) => c.serviceLog(r).length),
      ALIVE.map(() => REQUESTS),
      `r0, r1, r2 execute all ${REQUESTS} requests within 200 ticks; after ${ticks} ticks delivered [${delivered(c).join(',')}]`,
    );
    assert.deepEqual(ALIVE.map((r) => c.status(r).view), [1, 1, 1], 'through view 1');
    assert.ok(
      c.traceMatching(/^r1 -> r2 new-view v1 .* O=\[s1\[c1#1\],s2\[c2#1\],s3\[c3#1\],s4\[c4#1\],/).length > 0,
      'view 1 re-proposes s1..s4 from the prepared certificates',
    );
    for (const r of ALIVE) assert.deepEqual(c.serviceLog(r), c.serviceLog(0), `r${r} and r0 agree`);
    for (let client = 1; client <= REQUESTS; client++) {
      const label = `c${client}#1`;
      const results = new Set(c.repliesTo(label).map((reply) => reply.result));
      const from = new Set(c.repliesTo(label).map((reply) => reply.from));
      assert.equal(results.size, 1, `${label}: one result`);
      assert.ok(from.size >= 2, `${label}: replies from f + 1 replicas (got ${[...from].map((r) => `r${r}`).join(',')})`);
    }
  });

  it('with the old rule (T2 held off while behind by log entries) r1 and r2 never catch up', () => {
    const { c } = run(true, 1000);
    assert.deepEqual(delivered(c).slice(0, 3), [REQUESTS, 0, 0], 'r1 and r2 are still at s0 after 1,000 ticks');
    assert.deepEqual(ALIVE.map((r) => c.status(r).view), [0, 0, 0], 'nobody suspected r0');
    for (let client = 5; client <= REQUESTS; client++) {
      assert.deepEqual(new Set(c.repliesTo(`c${client}#1`).map((reply) => reply.from)), new Set([0]), `c${client}#1 has r0's reply only`);
    }
  });
});
