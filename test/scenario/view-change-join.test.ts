/**
 * The join rule (VIEW-CHANGE.md V2). A replica that alone suspects the
 * primary does not change the view: n = 4, c1#1 reaches r1..r3 but not the
 * primary, and only r3's clock runs (the others see no time pass); r3's
 * forward is lost, it times out and votes for view 1, and stays there, not
 * active, ignoring view-0 traffic (`old-view`), while r0, r1, r2 keep the
 * VIEW-CHANGE and go on executing in view 0 (one vote is not f + 1). When r2
 * also times out, r0 and r1 hold f + 1 = 2 VIEW-CHANGEs for view 1 from
 * others and join; view 1 installs everywhere; what r3 missed in view 0
 * (c2#1, prepared at r0..r2) reaches it through the NEW-VIEW, and c1#1 is
 * proposed by r1.
 * The join rule needs f + 1 suspicious replicas: with one replica crashed and the COMMITs of a batch lost
 * on their way to all but one backup, only one replica suspects; what
 * completes the batch is retransmission (R7, R8), not a view change
 * (regression, fixed in f931220).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, req, runSteps, where } from './harness.js';

describe('joining a view change', () => {
  it('one replica timing out alone does not change the view; f + 1 VIEW-CHANGEs make the others join', () => {
    const c = new Cluster({ n: 4, options: fastTimers });
    runSteps(c, [
      {
        step: 'c1#1 reaches r1..r3 only; 10 ticks pass at r3 alone; its forward to r0 is lost; it votes for view 1',
        run: (c) => {
          c.submit(req(1, 1, 'x'), [1, 2, 3]);
          c.deliverAll();
          c.tick(10, [3]);
          c.drop(where({ type: 'forward' }));
          c.deliverAll();
        },
        expect: [
          'r3 starts view change to v1',
          'drop r3 -> r0 forward c1#1',
          'r3 -> r0 view-change v1 C=s0 P=[]',
          'r3 -> r1 view-change v1 C=s0 P=[]',
          'r3 -> r2 view-change v1 C=s0 P=[]',
        ],
        absent: [/^r[012] starts view change/, /new-view/],
        check: (c) => {
          assert.deepEqual({ view: c.status(3).view, active: c.status(3).viewActive }, { view: 1, active: false });
          for (const r of [0, 1, 2]) assert.deepEqual({ view: c.status(r).view, active: c.status(r).viewActive }, { view: 0, active: true });
        },
      },
      {
        step: 'c2#1 "y" from another client: r0, r1, r2 execute it in view 0; r3 ignores view-0 messages',
        run: (c) => {
          c.submit(req(2, 1, 'y'));
          c.deliverAll();
        },
        expect: ['r3 ignores pre-prepare from r0: old-view', 'r0 executes s1 [c2#1]', 'r2 -> c2 reply c2#1 "y:1"'],
        absent: [/^r3 executes/, /starts view change/],
        check: (c) => {
          assertSameHistories(c, [0, 1, 2]);
          assert.deepEqual(c.history(3), []);
          assert.equal(c.status(3).view, 1);
        },
      },
      {
        step: 'r3 keeps resending its VIEW-CHANGE (T3) but stays alone',
        run: (c) => {
          c.tick(16, [3]);
          c.deliverAll();
        },
        expect: ['r3 -> r0 view-change v1 C=s0 P=[]', 'r0 ignores view-change from r3: duplicate'],
        absent: [/^r[012] starts view change/],
        check: (c) => assert.equal(c.status(0).view, 0),
      },
      {
        step: '10 ticks at r2 alone: its forward is lost, it votes for view 1; r0 and r1 now hold 2 = f + 1 votes and join',
        run: (c) => {
          c.tick(10, [2]);
          c.drop(where({ type: 'forward' }));
          c.deliverAll();
        },
        expect: [
          'r2 starts view change to v1',
          'r2 -> r0 view-change v1 C=s0 P=[s1:v0[c2#1]]',
          'r0 starts view change to v1',
          'r2 -> r1 view-change v1 C=s0 P=[s1:v0[c2#1]]',
          'r1 starts view change to v1',
          /^r1 -> r3 new-view v1 V=\[r1,r\d,r\d\] O=\[s1\[c2#1\]\]$/,
          'r3 installs v1 (primary r1)',
          'r1 -> r3 pre-prepare v1 s2 [c1#1]',
          'r3 executes s1 [c2#1]',
          'r3 executes s2 [c1#1]',
        ],
        check: (c) => {
          for (const r of c.replicas) {
            assert.deepEqual({ view: c.status(r).view, active: c.status(r).viewActive }, { view: 1, active: true }, `r${r}`);
          }
          assertSameHistories(c);
          assert.deepEqual(c.executedRequests(0), ['c2#1', 'c1#1']);
        },
      },
    ]);
  });

  it('COMMITs lost to all but one backup, one replica crashed: retransmission completes the batch', () => {
    // n = 4, r1 crashed. A prepares at r0, r2, r3; its COMMITs reach only r3, which executes it
    // and answers the client (1 reply; the client needs f + 1 = 2). r3 has nothing pending, so
    // at most r0 and r2 could suspect, and retransmission comes first. At tick 8
    // r0 and r2, stalled, resend their part of s1 (R7); r3, which committed s1, answers each
    // with its COMMIT (R8), and r0 and r2 execute A in view 0, before r2's timeout (tick 10).
    // (Fixed in f931220: nothing retransmitted; after 300 ticks r0 and r2 had executed nothing.)
    const c = new Cluster({ n: 4, options: fastTimers });
    c.crash(1);
    c.submit(req(1, 1, 'A'), [0, 2, 3]);
    c.deliverWhere(where({ type: ['request', 'pre-prepare', 'prepare'] }));
    c.deliverWhere(where({ type: 'commit', to: 3 }));
    c.drop(where({ type: 'commit' }));
    assert.deepEqual(c.history(3), [{ seq: 1, requests: ['c1#1'] }]);
    assert.equal(c.runUntil((c) => [0, 2].every((r) => c.history(r).length === 1), 300), 8, 'r0 and r2 execute A at tick 8');
    assert.deepEqual(c.traceMatching(/^r3 -> r[02] commit v0 s1/), ['r3 -> r0 commit v0 s1 [c1#1]', 'r3 -> r2 commit v0 s1 [c1#1]'], "r3's answers (R8)");
    c.run(300);
    assert.deepEqual(
      [0, 2, 3].map((r) => c.executedRequests(r)),
      [['c1#1'], ['c1#1'], ['c1#1']],
      'executed once by r0, r2, r3 after 300 more ticks',
    );
    assert.deepEqual(c.viewEvents, [], 'no view change');
    assert.deepEqual(c.sent.filter((s) => s.tick > 8), [], 'nothing sent once everybody delivered s1');
  });
});
