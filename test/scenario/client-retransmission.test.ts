/**
 * Exactly-once under client retransmission (PROTOCOL.md R2, R3, E2). A
 * request retransmitted after it was executed is answered from the reply
 * cache with the original result and is not executed again (the append-log
 * count does not move); a retransmission that arrives while the request is
 * still being agreed on, or delivered and not yet executed, is ignored and
 * the request still executes once; a stale request (lower number than the
 * session's last) is ignored silently, with no reply and no execution.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertExecutedOnce, assertSameHistories, Cluster, prePrepare, req, runSteps, where } from './harness.js';

describe('client retransmission and stale requests', () => {
  it('retransmission after execution is answered from the reply cache; stale requests are ignored', () => {
    const c = new Cluster({ n: 4 });
    runSteps(c, [
      {
        step: 'c1#1 "a" executed everywhere',
        run: (c) => {
          c.submit(req(1, 1, 'a'));
          c.deliverAll();
        },
        expect: ['r0 executed s1 -> "a:1"'],
        check: (c) => {
          for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), ['a']);
          assert.equal(c.repliesTo('c1#1').length, 4);
        },
      },
      {
        step: 'c1 retransmits c1#1: every replica answers from its reply cache',
        run: (c) => {
          c.submit(req(1, 1, 'a'));
          c.deliverAll();
        },
        expect: [
          'c1 -> r0 request c1#1 "a"',
          'r0 -> c1 reply c1#1 "a:1"',
          'c1 -> r3 request c1#1 "a"',
          'r3 -> c1 reply c1#1 "a:1"',
        ],
        absent: [/executes/, /pre-prepare/],
        check: (c) => {
          for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), ['a'], 'not executed again');
          assert.equal(c.repliesTo('c1#1').length, 8);
        },
      },
      {
        step: 'c1#2 "b" executed',
        run: (c) => {
          c.submit(req(1, 2, 'b'));
          c.deliverAll();
        },
        expect: ['r0 -> r1 pre-prepare v0 s2 [c1#2]', 'r1 executed s2 -> "b:2"'],
      },
      {
        step: 'c1#1 arrives again: stale (below the session\'s last number), silently ignored',
        run: (c) => {
          c.submit(req(1, 1, 'a'));
          c.deliverAll();
        },
        check: (c) => {
          // Only the four deliveries; no reply, no rejection, no proposal.
          const lines = c.trace.slice(-4);
          assert.deepEqual(lines, [0, 1, 2, 3].map((r) => `c1 -> r${r} request c1#1 "a"`));
          for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), ['a', 'b']);
          assert.equal(c.repliesTo('c1#1').length, 8);
        },
      },
      {
        step: 'c1#1 with a different operation under the old number: still stale, still ignored',
        run: (c) => {
          c.submit(req(1, 1, 'forged'), [0]);
          c.deliverAll();
        },
        check: (c) => {
          assert.deepEqual(c.trace.slice(-1), ['c1 -> r0 request c1#1 "forged"']);
          assert.deepEqual(c.serviceLog(0), ['a', 'b']);
        },
      },
      {
        step: 'c1#2 retransmitted: cached reply "b:2"',
        run: (c) => {
          c.submit(req(1, 2, 'b'), [2]);
          c.deliverAll();
        },
        expect: ['r2 -> c1 reply c1#2 "b:2"'],
        absent: [/executes/],
      },
    ]);
    assertSameHistories(c);
  });

  it('retransmission while the request is being agreed on: executed once, 4 replies', () => {
    const c = new Cluster({ n: 4 });
    c.submit(req(5, 1, 'x'));
    c.deliverWhere(where({ type: ['request', 'pre-prepare'] }));
    c.submit(req(5, 1, 'x')); // retransmission: pending at every replica (proposed at the primary)
    c.deliverAll();
    for (const r of c.replicas) {
      assertExecutedOnce(c, r);
      assert.deepEqual(c.serviceLog(r), ['x']);
    }
    assert.equal(c.repliesTo('c5#1').length, 4);
    assert.equal(c.proposedBy(0).length, 1, 'the primary did not propose it twice');
  });

  it('retransmission between delivery and execution: ignored (no reply yet), executed once', () => {
    const c = new Cluster({ n: 4 });
    runSteps(c, [
      {
        step: "r2's executor is slow; c6#1 is committed and delivered everywhere",
        run: (c) => {
          c.holdExecution(2);
          c.submit(req(6, 1, 'y'));
          c.deliverAll();
        },
        expect: ['r2 executes s1 [c6#1]'],
        absent: ['r2 -> c6 reply c6#1 "y:1"'],
        check: (c) => assert.deepEqual(c.heldExecutions(2), [1]),
      },
      {
        step: 'c6#1 retransmitted to r2 before its executor answers',
        run: (c) => {
          c.submit(req(6, 1, 'y'), [2]);
          c.deliverAll();
        },
        check: (c) => assert.deepEqual(c.trace.slice(-1), ['c6 -> r2 request c6#1 "y"']),
      },
      {
        step: "r2's executor finishes",
        run: (c) => c.holdExecution(2, false),
        expect: ['r2 executed s1 -> "y:1"', 'r2 -> c6 reply c6#1 "y:1"'],
        check: (c) => {
          assert.deepEqual(c.serviceLog(2), ['y']);
          assert.equal(c.repliesTo('c6#1').length, 4);
        },
      },
    ]);
  });

  it('a batch naming a request twice, and an older one after it, executes it once (exactly-once at delivery)', () => {
    const c = new Cluster({ n: 4 });
    // The primary (here Byzantine, injected) proposes [c7#1, c7#1, c7#0].
    c.inject(0, [1, 2, 3], prePrepare(0, 1, [req(7, 1, 'z'), req(7, 1, 'z'), req(7, 0, 'old')]));
    c.deliverAll();
    assert.ok(c.traceMatching('r1 executes s1 [c7#1]').length === 1);
    for (const r of [1, 2, 3]) {
      assert.deepEqual(c.history(r), [{ seq: 1, requests: ['c7#1'] }], `r${r}`);
      assert.deepEqual(c.serviceLog(r), ['z']);
    }
    assert.equal(c.repliesTo('c7#1').length, 3);
    assert.equal(c.repliesTo('c7#0').length, 0);
  });
});
