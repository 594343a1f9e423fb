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
 * After it, 1,602 (2.7 times).
 *
 * Expected: a round that finds the log stalled doubles R7's period (up to
 * 8 times), a round that finds it moving halves it. Asserted: every replica
 * executes all seven requests within 3,000 ticks in view 0, sending at most
 * 3 times the messages of the fast run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, req } from './harness.js';

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
  it(`hop delay ${HOP} ticks, resend period 8: everything executes in view 0 with at most 3 times the messages of a fast network`, () => {
    const fast = run(1);
    const slow = run(HOP);
    const summary = `after ${slow.ticks} ticks: executed [${slow.c.replicas.map((r) => slow.c.executedRequests(r).length).join(',')}], ${slow.sent} agreement messages sent (fast network: ${fast.sent})`;
    assert.ok(slow.c.replicas.every((r) => slow.c.executedRequests(r).length === REQUESTS), summary);
    assert.deepEqual(slow.c.replicas.map((r) => slow.c.status(r).view), slow.c.replicas.map(() => 0), summary);
    assert.ok(slow.sent <= 3 * fast.sent, summary);
    assertSameHistories(slow.c);
  });
});
