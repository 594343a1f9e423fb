/**
 * Exactly-once must survive the client table's bound (PROTOCOL.md R2, R3,
 * E2; docs/SIMULATOR.md finding 4).
 *
 * The attack. The client table remembers at most clientSessionsMax sessions
 * and today evicts the least recently used one when a new session is ordered
 * (client-table.ts). A session it evicted is forgotten entirely: a late
 * retransmission of that session's last request is new again, so it is
 * ordered and executed a second time - at every replica, the same way, so
 * no agreement check notices. Any client key may open many sessions, so an
 * attacker can force evictions at will (the simulator found it with
 * clientSessionsMax = 3 without trying: 82 of 150 seeds). The same hole lets
 * a Byzantine primary re-propose an evicted session's old request.
 *
 * Setup. n = 4, clientSessionsMax = 2. Sessions c1, c2, c3 each send their
 * first request in turn (whether c3's is executed or refused is up to the
 * fix: refusing new sessions while the table is full, or evicting in a
 * replicated way and refusing the evicted session's old requests, are both
 * fine). Then c1#1 comes again.
 *
 * Expected (and asserted, nothing more): a correct replica never executes a
 * request twice, and the cluster keeps executing other sessions' requests
 * (c2's next request executes at every correct replica).
 * - a late retransmission of c1#1 reaches every replica;
 * - the primary (Byzantine) orders c1#1, c2#1, c3#1 and then c1#1 again at
 *   the next sequence number.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, fastTimers, prePrepare, req } from './harness.js';

const options = { ...fastTimers, clientSessionsMax: 2 };

/** How often each request label appears in replica r's execution, for the ones that appear more than once. */
function executedTwice(c: Cluster, r: number): string[] {
  const counts = new Map<string, number>();
  for (const label of c.executedRequests(r)) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([label, n]) => `${label} x${n}`);
}

function assertNeverTwice(c: Cluster, replicas: readonly number[]): void {
  for (const r of replicas) {
    const twice = executedTwice(c, r);
    assert.deepEqual(
      twice,
      [],
      `r${r} executed a request more than once: ${twice.join(', ')}; its batches: ${c
        .history(r)
        .map((b) => `s${b.seq}[${b.requests.join(',')}]`)
        .join(' ')}; service log: ${JSON.stringify(c.serviceLog(r))}`,
    );
    assert.ok(c.serviceLog(r).filter((op) => op === 'op1.1').length <= 1, `r${r} applied c1#1's operation once at most`);
  }
}

describe('exactly-once when the client table is full (clientSessionsMax = 2)', () => {
  it('a late retransmission of a request whose session was evicted is not executed again', () => {
    const c = new Cluster({ n: 4, options });
    for (const client of [1, 2, 3]) {
      c.submit(req(client, 1));
      c.deliverAll();
    }
    assert.deepEqual(c.executedRequests(0).slice(0, 2), ['c1#1', 'c2#1'], 'premise: c1#1 and c2#1 executed');

    c.submit(req(1, 1)); // the late retransmission, to every replica
    c.deliverAll();
    c.run(30); // whatever timers the fix relies on
    assertNeverTwice(c, c.replicas);

    // Other sessions go on.
    c.submit(req(2, 2));
    c.runUntil((c) => c.replicas.every((r) => c.executedRequests(r).includes('c2#2')), 300);
    assertNeverTwice(c, c.replicas);
  });

  it('a new session at a full table is refused at delivery: not executed, answered by every replica', () => {
    const c = new Cluster({ n: 4, options });
    for (const client of [1, 2, 3]) {
      c.submit(req(client, 1));
      c.deliverAll();
    }
    for (const r of c.replicas) assert.ok(!c.executedRequests(r).includes('c3#1'), `r${r} did not execute c3#1`);
    // The append-log service never answers with an empty result: these are the refusals.
    assert.deepEqual(
      c.repliesTo('c3#1').map((reply) => `r${reply.from}:${reply.result}`).sort(),
      c.replicas.map((r) => `r${r}:`),
    );
    assert.equal(c.status(0).pendingRequests, 0, 'and pending dropped it');
  });

  it('a Byzantine primary re-proposing an evicted session\'s request does not get it executed again', () => {
    const c = new Cluster({ n: 4, options, byzantine: [0] });
    const correct = [1, 2, 3];
    // The primary orders c1#1, c2#1, c3#1, then c1#1 again; r1..r3 commit without it.
    const batches = [[req(1, 1)], [req(2, 1)], [req(3, 1)], [req(1, 1)]];
    batches.forEach((requests, i) => c.inject(0, correct, prePrepare(0, i + 1, requests)));
    c.deliverAll();
    for (const r of correct) assert.equal(c.status(r).lastDelivered, 4, `premise: r${r} delivered s1..s4`);
    assertNeverTwice(c, correct);

    // Other sessions go on.
    c.inject(0, correct, prePrepare(0, 5, [req(2, 2)]));
    c.deliverAll();
    for (const r of correct) assert.ok(c.executedRequests(r).includes('c2#2'), `r${r} executes c2#2`);
    assertNeverTwice(c, correct);
  });
});
