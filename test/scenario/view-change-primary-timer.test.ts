/**
 * The primary times its own pending requests too (VIEW-CHANGE.md T2). n = 4,
 * r3 crashed. r1 alone timed out into view 1 (a request only it had; its
 * forward lost), so view 0 has r0 and r2 only: c2#1, sent to r0 alone,
 * cannot commit, and r2 has nothing pending to time. Only r0 can notice:
 * it votes for view 1, and with r1 that is f + 1 VIEW-CHANGEs ahead of r2,
 * which joins; view 1 installs with r0, r1, r2 and both requests execute
 * (r0 forwards c2#1 to r1, T1).
 * (Found by the simulator, seed 2115 of generator 2: a primary that never
 * suspected itself left the replicas split between views for good.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, req, runSteps, where } from './harness.js';

describe("the primary's own request timer", () => {
  it('a primary whose proposal cannot commit votes for the next view, and reunites replicas split between views', () => {
    const c = new Cluster({ n: 4, options: fastTimers });
    c.crash(3);
    runSteps(c, [
      {
        step: 'c1#1 reaches r1 only; 10 ticks pass at r1 alone; its forward is lost; it votes for view 1',
        run: (c) => {
          c.submit(req(1, 1, 'x'), [1]);
          c.deliverAll();
          c.tick(10, [1]);
          c.drop(where({ type: 'forward' }));
          c.deliverAll();
        },
        expect: ['r1 starts view change to v1'],
        check: (c) => assert.deepEqual([0, 1, 2].map((r) => c.status(r).view), [0, 1, 0]),
      },
      {
        step: 'c2#1 reaches r0 only: r0 proposes it, r2 prepares, r1 ignores view 0; nothing commits',
        run: (c) => {
          c.submit(req(2, 1, 'y'), [0]);
          c.deliverAll();
        },
        expect: ['r1 ignores pre-prepare from r0: old-view', 'r0 -> r2 pre-prepare v0 s1 [c2#1]', 'r2 -> r0 prepare v0 s1 [c2#1]'],
        absent: [/executes/],
      },
      {
        step: 'r0 times out on its own proposal and votes for view 1; r2 joins (f + 1 ahead); view 1 executes both requests',
        run: (c) => {
          c.runUntil((c) => [0, 1, 2].every((r) => c.history(r).length === 2), 60);
        },
        expect: [
          'r0 starts view change to v1',
          'r2 starts view change to v1',
          'r1 -> r0 new-view v1 V=[r1,r0,r2] O=[]', // s1 never prepared: nothing to carry over
          'r0 installs v1 (primary r1)',
        ],
        check: (c) => {
          assertSameHistories(c, [0, 1, 2]);
          assert.deepEqual(c.executedRequests(0).sort(), ['c1#1', 'c2#1']);
        },
      },
    ]);
  });
});
