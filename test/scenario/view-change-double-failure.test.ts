/**
 * A view change during a view change (VIEW-CHANGE.md T3, T4). n = 7, f = 2:
 * r0 and r1 are crashed, so the primary of view 1 is dead too. r2..r6 vote
 * for view 1 at tick 10 and see a quorum at once; nobody sends its NEW-VIEW,
 * so newViewTimeoutTicks (20) later, at tick 30, T4 moves them to view 2,
 * whose primary r2 installs it and the pending request executes there.
 * Backoff: when view 2 fails as well (r2's NEW-VIEW is lost; r2 itself
 * installs view 2, the others do not), the wait before view 3 doubles: 40
 * ticks, so view 3 starts at tick 70. failedViews resets when a batch is
 * delivered: after the request executes in view 3, a later failed view (4,
 * its NEW-VIEW lost too) is abandoned after 20 ticks again, not 80.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, req, runSteps, where } from './harness.js';

const live = [2, 3, 4, 5, 6];
const installed = (c: Cluster, v: number, replicas = live): boolean =>
  replicas.every((r) => c.status(r).view === v && c.status(r).viewActive);

describe('view change during a view change (n = 7, primaries of views 0 and 1 crashed)', () => {
  it('T4 fires newViewTimeoutTicks after the quorum; view 2 installs and the request executes', () => {
    const c = new Cluster({ n: 7, options: fastTimers });
    c.crash(0);
    c.crash(1);
    runSteps(c, [
      {
        step: 'c1#1 reaches r2..r6; tick 10: VIEW-CHANGE(1) from all five, a quorum, but r1 is down',
        run: (c) => {
          c.submit(req(1, 1, 'a'));
          c.deliverAll();
          c.run(10);
        },
        expect: ['r2 starts view change to v1', 'r6 starts view change to v1', 'r2 -> r6 view-change v1 C=s0 P=[]'],
        absent: [/new-view/],
      },
      {
        step: 'ticks 11..29: no NEW-VIEW; each replica resends its VIEW-CHANGE every 8 ticks (T3)',
        run: (c) => c.run(19),
        expect: ['r2 -> r3 view-change v1 C=s0 P=[]', 'r3 ignores view-change from r2: duplicate'],
        absent: [/starts view change/, /new-view/],
        check: (c) => {
          assert.deepEqual(
            [...new Set(c.sentBy(2, 'view-change').map((s) => s.tick))],
            [10, 18, 26],
          );
        },
      },
      {
        step: 'tick 30: T4 (20 ticks after the quorum at tick 10): VIEW-CHANGE(2); r2 sends NEW-VIEW; the request executes in view 2',
        run: (c) => c.run(1),
        expect: [
          'r2 starts view change to v2',
          'r2 -> r3 new-view v2 V=[r2,r3,r4,r5,r6] O=[]',
          'r3 installs v2 (primary r2)',
          'r2 -> r3 pre-prepare v2 s1 [c1#1]',
          'r6 -> c1 reply c1#1 "a:1" (v2)',
        ],
        check: (c) => {
          for (const r of live) {
            assert.equal(c.viewEventTick(r, 'started', 2), 30, `r${r}`);
            assert.equal(c.viewEventTick(r, 'installed', 2), 30, `r${r}`);
          }
          assert.ok(installed(c, 2));
          assertSameHistories(c, live);
          assert.deepEqual(c.executedRequests(2), ['c1#1']);
        },
      },
    ]);
  });

  it('backoff: the second failed view waits twice as long; failedViews resets after a delivery', () => {
    const c = new Cluster({ n: 7, options: fastTimers });
    c.crash(0);
    c.crash(1);
    let healNewView2 = (): void => {};
    runSteps(c, [
      {
        step: "c1#1 to all; r2's NEW-VIEW for view 2 will be lost; run until view 3 is installed",
        run: (c) => {
          healNewView2 = c.blackhole(where({ type: 'new-view', from: 2 }));
          c.submit(req(1, 1, 'a'));
          c.deliverAll();
          c.runUntil((c) => installed(c, 3), 200);
        },
        expect: [
          'r2 starts view change to v2',
          'lost r2 -> r3 new-view v2 V=[r2,r3,r4,r5,r6] O=[]',
          'r2 installs v2 (primary r2)',
          'r2 starts view change to v3', // r2's own proposal of c1#1 made no progress in view 2 [T2]
          'r3 starts view change to v3',
          'r3 -> r2 new-view v3 V=[r3,r2,r4,r5,r6] O=[]',
          'r4 executes s1 [c1#1]',
        ],
        check: (c) => {
          const started = (v: number): number | undefined => c.viewEventTick(4, 'started', v);
          assert.deepEqual([started(1), started(2), started(3)], [10, 30, 70]);
          assert.equal((started(2) ?? 0) - (started(1) ?? 0), 20, 'first attempt: newViewTimeoutTicks');
          assert.equal((started(3) ?? 0) - (started(2) ?? 0), 40, 'second attempt: twice as long');
          assertSameHistories(c, live);
          assert.deepEqual(c.repliesTo('c1#1').map((r) => r.view), [3, 3, 3, 3, 3]);
        },
      },
      {
        step: "a batch was delivered (failedViews := 0). c2#1 reaches all but r3 (primary of view 3), forwards to r3 are lost; r4's NEW-VIEW for view 4 is lost too",
        run: (c) => {
          healNewView2();
          c.blackhole(where({ type: 'forward', to: 3 }));
          c.blackhole(where({ type: 'new-view', from: 4 }));
          c.submit(req(2, 1, 'b'), [2, 4, 5, 6]);
          c.runUntil((c) => installed(c, 5), 200);
        },
        expect: [
          'r4 starts view change to v4',
          'r3 starts view change to v4',
          // s1 is below no stable checkpoint yet (interval 64): its view-3 certificate is carried and re-proposed.
          /^lost r4 -> r2 new-view v4 V=\[r4,r\d,r\d,r\d,r\d\] O=\[s1\[c1#1\]\]$/,
          'r2 starts view change to v5',
          /^r5 -> r2 new-view v5 V=\[r5,r\d,r\d,r\d,r\d\] O=\[s1\[c1#1\]\]$/,
          'r2 executes s2 [c2#1]',
        ],
        check: (c) => {
          const v4 = c.viewEventTick(2, 'started', 4) ?? NaN;
          const v5 = c.viewEventTick(2, 'started', 5) ?? NaN;
          assert.equal(v5 - v4, 20, `view 4 abandoned after ${v5 - v4} ticks: failedViews was reset (80 if not)`);
          assertSameHistories(c, live);
        },
      },
    ]);
  });
});
