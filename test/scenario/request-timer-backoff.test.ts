/**
 * T2, the timer with which a replica suspects the primary, must back off
 * (docs/VIEW-CHANGE.md T2, T4).
 *
 * The attack (or plain bad luck): a network whose every hop takes a fixed,
 * bounded d ticks, with d above about half of viewChangeTimeoutTicks. No
 * message is lost, no replica is faulty. A request reaches the replicas at
 * d; the PRE-PREPARE takes d, the PREPAREs d, the COMMITs d, so a batch
 * commits about 3d after the request arrived (2d after a view is installed
 * with the request pending). T2 fires viewChangeTimeoutTicks after the
 * request arrived or after the last delivery (the view's installation
 * counts as progress), so for 2d >= viewChangeTimeoutTicks every view is
 * abandoned before its first batch commits. Only the NEW-VIEW timer (T4)
 * doubles with failed views; T2 stays at viewChangeTimeoutTicks, so the next
 * view fails the same way, forever: today, with viewChangeTimeoutTicks = 10
 * and d = 5, 6 or 8, nothing ever executes and every replica installs
 * hundreds of views.
 *
 * Expected: T2 doubles with each view change that brings no execution, is
 * capped (like T4) and comes back down once views work again (see the note
 * below), so after a few views the timeout exceeds the round trip and the
 * requests execute. Here:
 * n = 4, the harness's fastTimers (requestTimeoutTicks 5,
 * viewChangeTimeoutTicks 10, newViewTimeoutTicks 20, viewChangeResendTicks
 * 8; consistent by protocolOptionsProblem), every envelope delivered exactly
 * d ticks after it was sent (`Cluster.aged`), four closed-loop clients of
 * three requests each that retransmit an unanswered request every 40 ticks
 * (as ClientCore does, without its backoff). Within 3,000 ticks every
 * request must complete (f + 1 matching replies, what a client needs) and
 * every replica must have executed all twelve, in the same order, with at
 * most 12 views installed at any replica.
 *
 * Note for the fix: T2 must not fall back to its base length on the first
 * delivery. A primary installs its view d ticks before its backups and times
 * its own proposals too, so with a T2 that is back at 10 (or at 20 after one
 * failed view) it leaves a view a round trip before its backups would have:
 * with d = 8 a prototype that reset T2 on every delivery finished the
 * requests at three replicas and left the fourth alone in the next view for
 * good (VIEW-CHANGE.md, known limits). This test requires all four.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertExecutedOnce, assertSameHistories, Cluster, fastTimers, req } from './harness.js';

const CLIENTS = 4;
const REQUESTS_PER_CLIENT = 3;
const RETRANSMIT_TICKS = 40;
const TICKS_MAX = 3000;
const VIEWS_MAX = 12;

/** Whether f + 1 distinct replicas sent the same result for `label` (what a client accepts). */
function completed(c: Cluster, label: string): boolean {
  const byResult = new Map<string, Set<number>>();
  for (const reply of c.repliesTo(label)) {
    const from = byResult.get(reply.result) ?? new Set<number>();
    from.add(reply.from);
    byResult.set(reply.result, from);
  }
  return [...byResult.values()].some((from) => from.size >= c.f + 1);
}

interface Outcome {
  readonly executed: number[];
  readonly views: number[];
  readonly ticks: number;
}

/**
 * Runs the closed-loop clients over a network with per-hop delay `d` until
 * every replica executed every request or `TICKS_MAX` ticks passed.
 */
function runWithHopDelay(d: number): { c: Cluster; outcome: Outcome } {
  const c = new Cluster({ n: 4, options: fastTimers });
  const total = CLIENTS * REQUESTS_PER_CLIENT;
  // Per client: number of its outstanding request and the tick it was last sent.
  const clients = Array.from({ length: CLIENTS }, (_, k) => ({ id: k + 1, no: 1, sentAt: 0, done: false }));
  for (const client of clients) c.submit(req(client.id, client.no));
  const allExecuted = (): boolean => c.replicas.every((r) => c.executedRequests(r).length === total);
  let ticks = 0;
  while (ticks < TICKS_MAX && !allExecuted()) {
    c.run(1, { deliver: c.aged(d) });
    ticks++;
    for (const client of clients) {
      if (client.done) continue;
      if (completed(c, `c${client.id}#${client.no}`)) {
        if (client.no === REQUESTS_PER_CLIENT) {
          client.done = true;
          continue;
        }
        client.no++;
        client.sentAt = c.now;
        c.submit(req(client.id, client.no));
      } else if (c.now - client.sentAt >= RETRANSMIT_TICKS) {
        client.sentAt = c.now;
        c.submit(req(client.id, client.no)); // retransmission
      }
    }
  }
  const outcome = {
    executed: c.replicas.map((r) => c.executedRequests(r).length),
    views: c.replicas.map((r) => c.status(r).viewChanges),
    ticks,
  };
  return { c, outcome };
}

describe('T2 backs off when views fail without executing (fixed per-hop delay)', () => {
  for (const d of [5, 6, 8]) {
    it(`hop delay ${d} ticks, viewChangeTimeoutTicks 10: every request completes and is executed by every replica within ${TICKS_MAX} ticks, in at most ${VIEWS_MAX} views`, () => {
      const { c, outcome } = runWithHopDelay(d);
      const total = CLIENTS * REQUESTS_PER_CLIENT;
      const labels = Array.from({ length: CLIENTS * REQUESTS_PER_CLIENT }, (_, i) => `c${(i % CLIENTS) + 1}#${Math.floor(i / CLIENTS) + 1}`);
      const done = labels.filter((label) => completed(c, label)).length;
      const summary = `after ${outcome.ticks} ticks: requests executed per replica [${outcome.executed.join(',')}], views installed per replica [${outcome.views.join(',')}]`;
      assert.equal(done, total, `requests completed (f + 1 matching replies) ${summary}`);
      assert.deepEqual(outcome.executed, c.replicas.map(() => total), `every replica executed all ${total} requests; ${summary}`);
      assert.ok(outcome.views.every((v) => v <= VIEWS_MAX), `at most ${VIEWS_MAX} views installed per replica; ${summary}`);
      assertSameHistories(c);
      for (const r of c.replicas) assertExecutedOnce(c, r);
    });
  }

  it('control: with a hop delay of 2 ticks every replica executes every request in view 0', () => {
    const { c, outcome } = runWithHopDelay(2);
    const total = CLIENTS * REQUESTS_PER_CLIENT;
    assert.deepEqual(outcome.executed, c.replicas.map(() => total));
    assert.deepEqual(outcome.views, [0, 0, 0, 0]);
    assertSameHistories(c);
  });
});
