/**
 * The normal case's retransmission (docs/VIEW-CHANGE.md R7) backs off on a
 * network slower than its period (simulator seed 5926, docs/SIMULATOR.md
 * finding 11).
 *
 * The run. n = 7, no fault, no loss: every envelope arrives exactly d = 24
 * ticks after it was sent (`Cluster.aged`), three times the resend period
 * (viewChangeResendTicks 8). T2 is out of the way (viewChangeTimeoutTicks
 * 2,000). Seven requests, one per batch, pipelineMax 1, so a batch commits
 * about 3d after its PRE-PREPARE and every resend round before that finds
 * the log stalled. With a fixed period each round resends every replica's
 * part of the waiting slot before the first copies arrived, and each
 * repeated vote is answered by the receivers' own part (R8): before the fix
 * the replicas sent 33 times the agreement messages of the same run on a
 * network with 1-tick hops (19,200 against 588); at n = 10 this is what
 * filled seed 5926 with duplicates until it hit the simulator's event cap.
 * After it, 2,016 (3.4 times).
 *
 * Expected: each resend of a slot's votes doubles the wait before the next
 * one for that slot (up to 8 periods), while a slot resent for the first
 * time waits one period, so a fresh loss is repaired as fast as before.
 * Asserted: every replica executes all seven requests within 3,000 ticks in
 * view 0, sending at most 4 times the messages of the fast run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, req, where } from './harness.js';

const options = { ...fastTimers, viewChangeTimeoutTicks: 2000, newViewTimeoutTicks: 4000, batchRequestsMax: 1, pipelineMax: 1 };
const REQUESTS = 7;
const HOP = 24;

/** Runs the requests over a network with per-hop delay `hop`; returns the cluster and the agreement messages sent. */
function run(hop: number): { c: Cluster; sent: number; ticks: number } {
  const c = new Cluster({ n: 7, options });
  for (let client = 1; client <= REQUESTS; client++) c.submit(req(client, 1));
  const done = (): boolean => c.replicas.every((r) => c.executedRequests(r).length === REQUESTS);
  let ticks = 0;
  while (ticks < 3000 && !done()) {
    c.run(1, { deliver: c.aged(hop) });
    ticks++;
  }
  const agreement = new Set(['pre-prepare', 'prepare', 'commit']);
  return { c, sent: c.sent.filter((s) => agreement.has(s.message.type)).length, ticks };
}

describe('R7 backs off on a network slower than its period', () => {
  it(`hop delay ${HOP} ticks, resend period 8: everything executes in view 0 with at most 4 times the messages of a fast network`, () => {
    const fast = run(1);
    const slow = run(HOP);
    const summary = `after ${slow.ticks} ticks: executed [${slow.c.replicas.map((r) => slow.c.executedRequests(r).length).join(',')}], ${slow.sent} agreement messages sent (fast network: ${fast.sent})`;
    assert.ok(slow.c.replicas.every((r) => slow.c.executedRequests(r).length === REQUESTS), summary);
    assert.deepEqual(slow.c.replicas.map((r) => slow.c.status(r).view), slow.c.replicas.map(() => 0), summary);
    assert.ok(slow.sent <= 4 * fast.sent, summary);
    assertSameHistories(slow.c);
  });
});

/**
 * The backoff must not outlive the stall that caused it (found by review): a
 * first version doubled one period shared by every slot, never reset it on
 * a view change and halved it once per round. A Byzantine primary that
 * stalls a slot until T2 removes it left the correct replicas in view 1 with
 * a period of 120 ticks against T2's 100, and one lost COMMIT then deposed
 * the correct primary of view 1 (at loss times 0-60 ticks after it
 * installed). Per slot, a fresh loss is repaired at the base period.
 *
 * n = 4, default timers, one request per batch and one every 5 ticks. r0
 * (primary of view 0, Byzantine) sends its PRE-PREPAREs to r1 and r2 only
 * and never COMMITs, then nothing from view 1 on. In view 1, the first copy
 * of r2's COMMIT of the next slot to r1 is lost `gap` ticks after r1
 * installs the view. Asserted: no replica starts a view change past view 1
 * within 900 ticks, and r1..r3 agree.
 */
function byzantinePrimaryThenOneLoss(gap: number): Cluster {
  const c = new Cluster({ n: 4, options: { pipelineMax: 4, batchRequestsMax: 1 }, byzantine: [0] });
  c.blockWhere((e) => e.kind === 'message' && e.from === 0 && (e.message.type === 'commit' || (e.message.type === 'pre-prepare' && e.to === 3)));
  c.blockWhere((e) => e.kind === 'message' && e.from === 0 && c.status(1).view >= 1);
  let client = 1;
  let installedAt: number | undefined;
  let lost: number | undefined;
  for (let t = 0; t < 900; t++) {
    if (t % 5 === 0) c.submit(req(client++, 1));
    if (installedAt === undefined && c.status(1).view === 1 && c.status(1).viewActive) installedAt = c.now;
    if (installedAt !== undefined && lost === undefined && c.now >= installedAt + gap) {
      const seq = c.status(1).lastDelivered + 1;
      lost = seq;
      let dropped = false;
      c.blockWhere((e) => {
        if (dropped || !where({ type: 'commit', from: 2, to: 1, seq, view: 1 })(e)) return false;
        dropped = true; // only the first copy: a resent one goes through
        return true;
      });
    }
    c.run(1);
  }
  assert.ok(installedAt !== undefined, 'premise: view 1 was installed at r1');
  return c;
}

describe('R7 backoff does not outlive its stall', () => {
  for (const gap of [0, 10, 20, 40, 60]) {
    it(`after a Byzantine primary is removed, one lost COMMIT ${gap} ticks into view 1 does not depose its correct primary`, () => {
      const c = byzantinePrimaryThenOneLoss(gap);
      const later = c.viewEvents.filter((e) => e.kind === 'started' && e.view >= 2).map((e) => `r${e.replica}->v${e.view}@${e.tick}`);
      assert.deepEqual(later, [], 'view changes past view 1');
      assertSameHistories(c, [1, 2, 3]);
      assert.ok(c.serviceLog(1).length > 100, `r1 executed ${c.serviceLog(1).length} requests`);
    });
  }
});

