/**
 * Lost view-change messages (VIEW-CHANGE.md T3, V8). n = 4, r0 crashed,
 * c1#1 pending at r1..r3, fastTimers (resend every 8 ticks).
 *  - T3: the first round of VIEW-CHANGEs (tick 10) is lost entirely; each
 *    replica resends its own at tick 18 and view 1 installs then.
 *  - V8: r1's NEW-VIEW to r3 is lost; r3 stays in view 1, not active, and
 *    resends its VIEW-CHANGE at tick 18; r1, primary of the view it names,
 *    answers with its NEW-VIEW and r3 installs view 1.
 *  - V9: what r3 received for view 1 before its NEW-VIEW (r1's PRE-PREPARE
 *    of the pending request, r2's PREPARE) is buffered and replayed once it
 *    installs the view, so with r0 down the three others (exactly a quorum)
 *    commit the request in view 1: after a NEW-VIEW that was only late, at
 *    once; after one that was lost, at tick 18 through V8 (regression, fixed
 *    in f931220: these messages were ignored as `view-changing` and it took
 *    view 2 to execute the request).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, req, runSteps, where } from './harness.js';

/** r0 crashed, c1#1 pending at r1..r3, ticks 1..9 done; tick 10 (the view change) is the caller's. */
function crashedPrimary(): Cluster {
  const c = new Cluster({ n: 4, options: fastTimers });
  c.crash(0);
  c.submit(req(1, 1, 'a'), [1, 2, 3]);
  c.deliverAll();
  c.run(9);
  return c;
}

const activeIn = (c: Cluster, v: number, replicas: readonly number[]): boolean =>
  replicas.every((r) => c.status(r).view === v && c.status(r).viewActive);

describe('lost view-change messages', () => {
  it('T3: the whole first round of VIEW-CHANGEs is lost; the resent ones complete the change', () => {
    const c = crashedPrimary();
    runSteps(c, [
      {
        step: 'tick 10: r1..r3 vote for view 1; every VIEW-CHANGE is dropped',
        run: (c) => {
          c.tick(1);
          c.drop(where({ type: 'view-change' }));
          c.deliverAll();
        },
        expect: ['r1 starts view change to v1', 'drop r1 -> r2 view-change v1 C=s0 P=[]', 'drop r3 -> r1 view-change v1 C=s0 P=[]'],
        absent: [/new-view/, /installs/],
      },
      {
        step: 'ticks 11..17: nothing',
        run: (c) => c.run(7),
        absent: [/view-change/, /installs/],
      },
      {
        step: 'tick 18 (10 + viewChangeResendTicks): the VIEW-CHANGEs are resent; view 1 installs; c1#1 executes',
        run: (c) => c.run(1),
        expect: ['r2 -> r1 view-change v1 C=s0 P=[]', 'r1 -> r2 new-view v1 V=[r1,r2,r3] O=[]', 'r2 installs v1 (primary r1)', 'r3 executes s1 [c1#1]'],
        check: (c) => {
          assert.ok(activeIn(c, 1, [1, 2, 3]));
          for (const r of [1, 2, 3]) assert.equal(c.viewEventTick(r, 'installed', 1), 18, `r${r}`);
          assertSameHistories(c, [1, 2, 3]);
          assert.deepEqual(c.executedRequests(1), ['c1#1']);
        },
      },
    ]);
  });

  it('V8: a replica that missed the NEW-VIEW gets it again when it resends its VIEW-CHANGE', () => {
    const c = crashedPrimary();
    runSteps(c, [
      {
        step: "tick 10: view change; r1's NEW-VIEW to r3 is dropped",
        run: (c) => {
          c.tick(1);
          c.deliverWhere((e) => !where({ type: 'new-view', to: 3 })(e));
          c.drop(where({ type: 'new-view', to: 3 }));
          c.deliverAll();
        },
        expect: ['r2 installs v1 (primary r1)', 'drop r1 -> r3 new-view v1 V=[r1,r2,r3] O=[]'],
        check: (c) => {
          assert.ok(activeIn(c, 1, [1, 2]));
          assert.deepEqual({ view: c.status(3).view, active: c.status(3).viewActive }, { view: 1, active: false });
        },
      },
      {
        step: 'tick 18: r3 resends its VIEW-CHANGE; r1 answers with its NEW-VIEW; r3 installs view 1',
        run: (c) => c.run(8),
        expect: [
          'r3 -> r1 view-change v1 C=s0 P=[]',
          'r1 ignores view-change from r3: old-view',
          'r1 -> r3 new-view v1 V=[r1,r2,r3] O=[]',
          'r3 installs v1 (primary r1)',
        ],
        check: (c) => {
          assert.ok(activeIn(c, 1, [1, 2, 3]));
          assert.equal(c.viewEventTick(3, 'installed', 1), 18);
        },
      },
    ]);
  });

  it("V9: the PRE-PREPARE and PREPARE of view 1 that reach r3 before view 1's NEW-VIEW are replayed after it", () => {
    const c = crashedPrimary();
    const newViewTo3 = where({ type: 'new-view', to: 3 });
    runSteps(c, [
      {
        step: "tick 10: view change; r1's NEW-VIEW to r3 is slow: r2 installs view 1 and r3 gets r1's PRE-PREPARE and r2's PREPARE of view 1 first",
        run: (c) => {
          c.tick(1);
          c.deliverWhere((e) => !newViewTo3(e));
        },
        expect: [
          'r2 installs v1 (primary r1)',
          'r1 -> r3 pre-prepare v1 s1 [c1#1]',
          'r2 -> r3 prepare v1 s1 [c1#1]',
        ],
        absent: [/^r3 (ignores|rejects)/, /^r3 -> r\d (prepare|commit)/, /executes/],
        check: (c) => {
          assert.deepEqual({ view: c.status(3).view, active: c.status(3).viewActive, slots: c.status(3).slots }, { view: 1, active: false, slots: 0 });
          // Only the NEW-VIEW is in flight: with r0 down, s1 cannot prepare at r1 and r2 without r3's PREPARE.
          assert.deepEqual(c.pending.map((e) => c.describe(e)), ['r1 -> r3 new-view v1 V=[r1,r2,r3] O=[]']);
        },
      },
      {
        step: 'the NEW-VIEW arrives: r3 installs view 1, replays both, PREPAREs s1; c1#1 commits and executes at once (tick 10)',
        run: (c) => c.deliverAll(),
        expect: [
          'r1 -> r3 new-view v1 V=[r1,r2,r3] O=[]',
          'r3 installs v1 (primary r1)',
          'r3 -> r1 prepare v1 s1 [c1#1]',
          'r3 -> r2 commit v1 s1 [c1#1]',
          'r3 executes s1 [c1#1]',
        ],
        absent: [/ignores|rejects/],
        check: (c) => {
          assert.ok(activeIn(c, 1, [1, 2, 3]));
          assertSameHistories(c, [1, 2, 3]);
          assert.deepEqual(c.repliesTo('c1#1').map((r) => `r${r.from} v${r.view}`).sort(), ['r1 v1', 'r2 v1', 'r3 v1']);
          assert.equal(c.now, 10);
        },
      },
    ]);
  });

  it('after installing view 1 through V8, the PRE-PREPARE / PREPARE it received early are replayed (V9); no second view change', () => {
    // Once r3 has installed view 1 (tick 18) the pending c1#1 commits in view 1 (r1, r2, r3 are
    // exactly a quorum). (Fixed in f931220: r3 had ignored r1's PRE-PREPARE v1 s1 and r2's
    // PREPARE v1 s1 as `view-changing`, and at tick 20 r2 and r3 moved to view 2.)
    const c = crashedPrimary();
    c.tick(1);
    c.deliverWhere((e) => !where({ type: 'new-view', to: 3 })(e));
    c.drop(where({ type: 'new-view', to: 3 }));
    c.deliverAll();
    runSteps(c, [
      {
        step: 'ticks 11..40',
        run: (c) => c.run(30),
        expect: ['r3 installs v1 (primary r1)'],
        absent: [/starts view change to v2/],
        check: (c) => {
          for (const r of [1, 2, 3]) assert.deepEqual(c.repliesTo('c1#1').filter((x) => x.from === r).map((x) => x.view), [1], `r${r} replied in view 1`);
        },
      },
    ]);
  });
});
