/**
 * A primary that is slow or silent towards some clients only (VIEW-CHANGE.md
 * T1, T2 and the STARVATION_FACTOR rule). n = 4, fastTimers.
 *  - c1's requests never reach r0 (its link drops them) while c2's do: the
 *    backups forward c1#1 after requestTimeoutTicks (T1), r0 proposes it and
 *    it executes in view 0; no view change ever happens.
 *  - A Byzantine r0 (the test speaks for it) that serves c2, one batch per
 *    tick, but never proposes c1#1, though it gets it directly and
 *    forwarded: deliveries keep happening, so the "no progress for
 *    viewChangeTimeoutTicks" rule never fires; at 4 x viewChangeTimeoutTicks
 *    (40) after c1#1 arrived the backups suspect r0 anyway and view 1
 *    executes c1#1.
 *  - A request that only some backups hold is forwarded again to the
 *    primary of the next view (once per view), which proposes it.
 *  - The starvation rule counts from the later of the request's arrival and
 *    the view's installation: a view change that took longer than 40 ticks
 *    does not make the backups abandon the new view at its first tick.
 * The last two are regression tests for bugs fixed in f931220.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, prePrepare, req, runSteps, where, type Envelope } from './harness.js';

const fromClient1ToR0 = (e: Envelope): boolean => e.kind === 'request' && e.to === 0 && e.request.clientId === 1;

describe('a primary that does not hear or serve some clients', () => {
  it("c1's requests do not reach the primary: backups forward them (T1) and it proposes them; no view change", () => {
    const c = new Cluster({ n: 4, options: fastTimers });
    c.blackhole(fromClient1ToR0);
    runSteps(c, [
      {
        step: 'c1#1 and c2#1 to all replicas; c1#1 is lost on its way to r0; c2#1 executes',
        run: (c) => {
          c.submit(req(1, 1, 'one'));
          c.submit(req(2, 1, 'two'));
          c.deliverAll();
        },
        expect: ['lost c1 -> r0 request c1#1 "one"', 'r1 executes s1 [c2#1]'],
        check: (c) => {
          for (const r of [1, 2, 3]) assert.equal(c.status(r).pendingRequests, 1, `r${r} holds c1#1`);
        },
      },
      {
        step: 'ticks 1..5: at tick 5 r1..r3 forward c1#1 to r0, which proposes it; it executes in view 0',
        run: (c) => c.run(5),
        expect: [
          'r1 -> r0 forward c1#1',
          'r2 -> r0 forward c1#1', // already proposed: no second proposal
          'r3 -> r0 forward c1#1',
          'r0 -> r1 pre-prepare v0 s2 [c1#1]',
          'r3 executes s2 [c1#1]',
          'r3 -> c1 reply c1#1 "one:2"',
        ],
        check: (c) => {
          assert.deepEqual(c.proposedBy(0), [1, 2], 'proposed once, although forwarded three times');
          assertSameHistories(c);
        },
      },
      {
        step: '60 more ticks: nothing to suspect',
        run: (c) => c.run(60),
        absent: [/starts view change/, /forward/],
        check: (c) => {
          assert.deepEqual(c.viewEvents, []);
          for (const r of c.replicas) assert.equal(c.status(r).view, 0);
        },
      },
    ]);
  });

  it('a censoring primary that keeps serving others is caught by the starvation rule (4 x viewChangeTimeoutTicks)', () => {
    const c = new Cluster({ n: 4, options: fastTimers, byzantine: [0] });
    c.crash(0); // Byzantine: the test speaks for r0 and never proposes c1#1
    let k = 0;
    /** One tick: r0 serves c2's next request at the next sequence number. */
    const servedTick = (c: Cluster): void => {
      c.tick(1);
      c.deliverAll();
      if (c.viewEvents.length > 0) return;
      k++;
      const w = req(2, k, `w${k}`);
      c.submit(w, [1, 2, 3]);
      c.deliverAll();
      c.inject(0, [1, 2, 3], prePrepare(0, k, [w]));
      c.deliverAll();
    };
    runSteps(c, [
      {
        step: 'c1#1 "censored" reaches the backups (and r0, which ignores it)',
        run: (c) => {
          c.submit(req(1, 1, 'censored'));
          c.deliverAll();
        },
      },
      {
        step: 'ticks 1..39: r0 orders one c2 request per tick; c1#1 is forwarded at tick 5 and ignored',
        run: (c) => {
          for (let t = 0; t < 39; t++) servedTick(c);
        },
        expect: ['lost r1 -> r0 forward c1#1', 'r1 executes s39 [c2#39]'],
        absent: [/starts view change/],
        check: (c) => {
          for (const r of [1, 2, 3]) {
            assert.equal(c.status(r).lastExecuted, 39);
            assert.equal(c.status(r).pendingRequests, 1, 'c1#1 still waits');
          }
        },
      },
      {
        step: 'tick 40 = 4 x 10 ticks after c1#1 arrived: r1..r3 vote for view 1; r1 installs it and executes c1#1',
        run: (c) => servedTick(c),
        expect: [
          'r1 starts view change to v1',
          'r2 starts view change to v1',
          'r3 starts view change to v1',
          'r2 installs v1 (primary r1)',
          /^r1 -> r2 pre-prepare v1 s40 \[c1#1(,c2#\d+)?\]$/,
          'r2 -> c1 reply c1#1 "censored:40" (v1)',
        ],
        check: (c) => {
          for (const r of [1, 2, 3]) assert.equal(c.viewEventTick(r, 'started', 1), 40);
          assertSameHistories(c, [1, 2, 3]);
          assert.ok(c.executedRequests(1).includes('c1#1'));
        },
      },
    ]);
  });

  it('a request is forwarded again to the primary of the new view, which proposes it', () => {
    // n = 4, r0 crashed; c1#1 reaches only r2 and r3 (the client's copy to r1 is lost). View 1
    // installs at tick 10; r2, r3 forward c1#1 to r1, the new primary, requestTimeoutTicks later
    // (T1), and it executes in view 1. (Fixed in f931220: `forwarded` survived the view, nobody
    // told r1, and at tick 20 r2 and r3 deposed the correct r1.)
    const c = new Cluster({ n: 4, options: fastTimers });
    c.crash(0);
    runSteps(c, [
      {
        step: 'c1#1 reaches r2 and r3 only; view 1 installs at tick 10; 20 more ticks',
        run: (c) => {
          c.submit(req(1, 1, 'a'), [2, 3]);
          c.deliverAll();
          c.run(30);
        },
        expect: ['r2 installs v1 (primary r1)', 'r2 -> r1 forward c1#1', 'r1 -> r2 pre-prepare v1 s1 [c1#1]'],
        absent: [/starts view change to v2/],
        check: (c) => assert.deepEqual(c.repliesTo('c1#1').map((r) => r.view), [1, 1, 1]),
      },
    ]);
  });

  it('after a view change longer than 4 x viewChangeTimeoutTicks, the new view gets its time', () => {
    // A backup suspects the primary of a view only after it had viewChangeTimeoutTicks (or the
    // starvation time) in that view: the freshly installed view 2 re-proposes c1#1 and gets to
    // commit it even if that takes a tick. (Fixed in f931220: starvation counted from the
    // request's arrival only (tick 0), so at tick 51 r1 and r3 abandoned view 2 - a livelock once
    // any request had waited 4 x viewChangeTimeoutTicks.)
    const c = new Cluster({ n: 4, options: { ...fastTimers, newViewTimeoutTicks: 40 } });
    c.crash(0);
    c.blackhole(where({ type: 'new-view', from: 1 })); // view 1 fails: r1's NEW-VIEW is lost
    const newView2 = where({ type: 'new-view', view: 2 });
    runSteps(c, [
      {
        step: 'c1#1 to r1..r3 at tick 0; view 1 fails; T4 at tick 50: view 2, whose NEW-VIEW arrives at once',
        run: (c) => {
          c.submit(req(1, 1, 'a'), [1, 2, 3]);
          c.runUntil((c) => c.pending.some(newView2), 100, { deliver: (e) => !newView2(e) });
          c.deliverWhere(newView2);
        },
        expect: ['r2 starts view change to v2', 'r3 installs v2 (primary r2)'],
        check: (c) => {
          for (const r of [1, 2, 3]) assert.equal(c.viewEventTick(r, 'installed', 2), 50, `r${r}`);
        },
      },
      {
        step: "tick 51, with view 2's PRE-PREPARE for c1#1 still in flight; then everything is delivered",
        run: (c) => {
          c.tick(1);
          c.deliverAll();
        },
        absent: [/starts view change to v3/],
        check: (c) => assert.deepEqual(c.repliesTo('c1#1').map((r) => r.view), [2, 2, 2]),
      },
    ]);
  });
});
