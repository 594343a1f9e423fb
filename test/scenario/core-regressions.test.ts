/**
 * Regression tests for defects the scenario tests found in src/core. Each
 * failed against the core as first reviewed and passes since the fix noted
 * with it; each states the expected behaviour (from docs/PROTOCOL.md or the
 * module's own documentation) and what used to happen instead.
 *
 * BUG 1 (replica.ts onPrePrepare, PROTOCOL.md N4 before N5): the conflict
 *   check ran before the digest check, so a PRE-PREPARE that repeats the
 *   accepted digest with a DIFFERENT batch (H(B) != d, provable misbehaviour
 *   of the primary) was ignored as a benign `duplicate` instead of being
 *   rejected as `batch-digest-mismatch` (reject-peer). Safety is not affected
 *   (the first PRE-PREPARE stays), but the evidence is lost.
 *   Fixed: the digest check now precedes the conflict check (and no slot is
 *   created for a rejected PRE-PREPARE).
 *
 * BUG 2 (pending-requests.ts add, via replica.ts onRequest R5): a session's
 *   next request (#2) that reaches the primary while the session's previous
 *   request (#1) is proposed there but not yet delivered was answered 'stale'
 *   and silently dropped (no rejection effect). The client legitimately sends
 *   #2 as soon as f + 1 replicas answered #1, which can happen before the
 *   primary delivers #1. The backups kept #2 pending; the primary did not
 *   propose it until the client's retransmission timer fires, and once the
 *   view change times pending requests (issue 4) the backups would suspect
 *   a correct primary. PendingRequests already keeps `unproposed` and
 *   `proposed` separately and `ordered()` only drops entries numbered <= the
 *   ordered one, so #2 could simply wait in `unproposed`.
 *   Fixed: PendingRequests.add lets #2 wait as unproposed.
 *
 * BUG 3 (replica.ts constructor / options.ts): limits that must agree were not
 *   validated. With requestBytesMax > batchBytesMax the primary accepted a
 *   request (R4), proposed it alone (takeBatch always takes one) and every
 *   correct backup rejected the batch as `batch-too-large` - a correct primary
 *   was reported as faulty and the request never executed. With
 *   batchRequestsMax = 0 the primary proposed empty batches (rejected as
 *   `empty-batch`) until its pipeline was full, and nothing ever executed.
 *   Fixed: protocolOptionsProblem (options.ts), asserted by the constructor.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantViolation } from '../../src/core/assert.js';
import type { ProtocolOptions } from '../../src/core/options.js';
import { batchDigest, Cluster, prePrepare, req, where } from './harness.js';

describe('src/core regressions', () => {
  it('BUG 1 (fixed): a PRE-PREPARE with the accepted digest but another batch is rejected as batch-digest-mismatch, not ignored as duplicate', () => {
    const c = new Cluster({ n: 4 });
    const A = [req(1, 1, 'A')];
    const B = [req(2, 1, 'B')];
    c.inject(0, 1, prePrepare(0, 1, A));
    c.inject(0, 1, prePrepare(0, 1, B, batchDigest(A))); // digest of A, requests of B
    c.deliverWhere(where({ to: 1 }));
    // Before the fix: 'r1 ignores pre-prepare from r0: duplicate'.
    assert.deepEqual(c.traceMatching(/^r1 (rejects|ignores) pre-prepare/), [
      'r1 rejects pre-prepare from r0: batch-digest-mismatch',
    ]);
  });

  it("BUG 2 (fixed): a session's next request reaching the primary before it delivered the previous one is not dropped", () => {
    const c = new Cluster({ n: 4 });
    // c1#1 commits at r1, r2, r3 (3 >= f + 1 replies: the client is done with it)
    // while the COMMITs to the primary are still in flight.
    c.submit(req(1, 1, 'a'));
    c.deliverWhere((e) => !(e.to === 0 && e.kind === 'message' && e.message.type === 'commit'));
    assert.equal(c.repliesTo('c1#1').length, 3);
    assert.deepEqual(c.history(0), []);
    // The client sends c1#2; then the primary's COMMITs arrive. No retransmission.
    c.submit(req(1, 2, 'b'));
    c.deliverWhere(where({ type: 'request' }));
    c.deliverAll();
    // Observed before the fix: r0 had nothing pending and never proposed c1#2; r1..r3 held it pending.
    assert.deepEqual(
      c.replicas.map((r) => c.replica(r).status().pendingRequests),
      [0, 0, 0, 0],
      'pending requests per replica after quiescence',
    );
    for (const r of c.replicas) assert.deepEqual(c.executedRequests(r), ['c1#1', 'c1#2'], `r${r}`);
  });

  /** A configuration must either be refused by the core or work. */
  function refusedOrWorks(options: Partial<ProtocolOptions>, operation: string): void {
    let c: Cluster;
    try {
      c = new Cluster({ n: 4, options });
    } catch (error) {
      assert.ok(error instanceof InvariantViolation, `constructor threw ${String(error)}`);
      return; // refused: fine
    }
    c.submit(req(1, 1, operation));
    c.deliverAll();
    assert.deepEqual(c.traceMatching(/rejects pre-prepare/), [], 'correct primary reported as faulty');
    for (const r of c.replicas) assert.deepEqual(c.executedRequests(r), ['c1#1'], `r${r}`);
  }

  it('BUG 3a (fixed): requestBytesMax > batchBytesMax is refused (it made backups reject a legal request as batch-too-large)', () => {
    // Before the fix: r1..r3 'rejects pre-prepare from r0: batch-too-large', nothing executed.
    refusedOrWorks({ requestBytesMax: 100, batchBytesMax: 50 }, 'x'.repeat(80));
  });

  it('BUG 3b (fixed): batchRequestsMax = 0 is refused (the primary proposed only empty batches)', () => {
    // Before the fix: 'r1 rejects pre-prepare from r0: empty-batch' for s1..s8, nothing executed.
    refusedOrWorks({ batchRequestsMax: 0 }, 'x');
  });
});
