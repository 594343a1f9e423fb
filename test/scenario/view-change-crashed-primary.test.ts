/**
 * A crashed primary (n = 4, f = 1): r0 is down from the start, so client
 * requests reach only r1..r3. Timers (fastTimers): after requestTimeoutTicks
 * (5) each backup forwards its pending requests to the primary, once (T1;
 * lost here); after viewChangeTimeoutTicks (10) each backup votes for view 1
 * with a VIEW-CHANGE (T2, V1). r1, the primary of view 1, has a quorum (its
 * own and r2's, r3's) and sends NEW-VIEW (V5) with nothing to re-propose;
 * every backup checks it (V6) and installs view 1 (V7). The pending requests
 * are then proposed by r1, committed and executed in view 1, and the clients
 * get 2f + 1 = 3 replies carrying view 1. The service goes on in view 1
 * without r0.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, req, runSteps } from './harness.js';

describe('crashed primary', () => {
  it('backups forward, time out, change to view 1, and the pending requests execute there', () => {
    const c = new Cluster({ n: 4, options: fastTimers });
    c.crash(0);
    runSteps(c, [
      {
        step: 'c1#1 "a" and c2#1 "b" reach r1..r3 only (r0 is down)',
        run: (c) => {
          c.submit(req(1, 1, 'a'), [1, 2, 3]);
          c.submit(req(2, 1, 'b'), [1, 2, 3]);
          c.deliverAll();
        },
        absent: [/pre-prepare/],
        check: (c) => {
          for (const r of [1, 2, 3]) assert.equal(c.status(r).pendingRequests, 2, `r${r}`);
        },
      },
      {
        step: 'ticks 1..5: at requestTimeoutTicks (5) each backup forwards both requests to r0, once',
        run: (c) => c.run(5),
        expect: ['lost r1 -> r0 forward c1#1', 'lost r1 -> r0 forward c2#1', 'lost r2 -> r0 forward c1#1', 'lost r3 -> r0 forward c2#1'],
        absent: [/starts view change/],
        check: (c) => {
          assert.deepEqual(
            c.sentBy(1, 'forward').map((s) => s.tick),
            [5, 5],
          );
        },
      },
      {
        step: 'ticks 6..9: nothing (a request is forwarded only once)',
        run: (c) => c.run(4),
        absent: [/forward/, /starts view change/],
      },
      {
        step: 'tick 10 (viewChangeTimeoutTicks): VIEW-CHANGE(1) from r1..r3, NEW-VIEW from r1, s1 commits in view 1',
        run: (c) => c.run(1),
        expect: [
          'r1 starts view change to v1',
          'r2 starts view change to v1',
          'r3 starts view change to v1',
          'r2 -> r1 view-change v1 C=s0 P=[]',
          'r3 -> r1 view-change v1 C=s0 P=[]',
          'r1 installs v1 (primary r1)',
          'r1 -> r2 new-view v1 V=[r1,r2,r3] O=[]',
          'r2 installs v1 (primary r1)',
          'r1 -> r3 new-view v1 V=[r1,r2,r3] O=[]',
          'r3 installs v1 (primary r1)',
          'r1 -> r2 pre-prepare v1 s1 [c1#1,c2#1]',
          'r2 executes s1 [c1#1,c2#1]',
          'r2 -> c1 reply c1#1 "a:1" (v1)',
          'r2 -> c2 reply c2#1 "b:2" (v1)',
        ],
        absent: [/rejects/],
        check: (c) => {
          for (const r of [1, 2, 3]) {
            const s = c.status(r);
            assert.deepEqual(
              { view: s.view, primary: s.primary, viewActive: s.viewActive, viewChanges: s.viewChanges, pending: s.pendingRequests },
              { view: 1, primary: 1, viewActive: true, viewChanges: 1, pending: 0 },
              `r${r}`,
            );
            assert.equal(c.viewEventTick(r, 'started', 1), 10);
            assert.equal(c.viewEventTick(r, 'installed', 1), 10);
          }
          assertSameHistories(c, [1, 2, 3]);
          assert.deepEqual(c.history(1), [{ seq: 1, requests: ['c1#1', 'c2#1'] }]);
          for (const label of ['c1#1', 'c2#1']) {
            const replies = c.repliesTo(label);
            assert.deepEqual(replies.map((r) => r.from).sort(), [1, 2, 3]);
            assert.ok(replies.every((r) => r.view === 1), `${label} replies carry view 1`);
          }
        },
      },
      {
        step: 'the service goes on in view 1 without r0',
        run: (c) => {
          c.submit(req(3, 1, 'c'));
          c.run(1);
        },
        expect: ['lost c3 -> r0 request c3#1 "c"', 'r1 -> r3 pre-prepare v1 s2 [c3#1]', 'r3 -> c3 reply c3#1 "c:3" (v1)'],
        absent: [/starts view change/],
        check: (c) => {
          assertSameHistories(c, [1, 2, 3]);
          assert.equal(c.status(1).view, 1);
        },
      },
    ]);
  });
});
