/**
 * Late messages of an old view (PROTOCOL.md N3, VIEW-CHANGE.md V1, V7).
 * n = 4, all replicas up, but r0's links are slow: its view-0 PRE-PREPARE for
 * c1#1 stays in the network, and so does its retransmission (R7, tick 8).
 * The backups time out, r0 joins them, view 1
 * installs and c1#1 executes at s1 in view 1. Then the old PRE-PREPARE
 * arrives, and so do a PREPARE and a COMMIT of view 0 (replayed by the
 * test): every replica ignores them as `old-view`, keeps no state for them
 * and executes nothing again. Old VIEW-CHANGEs and NEW-VIEWs are ignored
 * the same way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertSameHistories,
  Cluster,
  commit,
  fastTimers,
  honestPrePrepares,
  newView,
  prepare,
  req,
  runSteps,
  type Envelope,
} from './harness.js';

const heldFromR0 = (e: Envelope): boolean =>
  e.kind === 'message' && e.from === 0 && (e.message.type === 'pre-prepare' || e.message.type === 'commit') && e.message.view === 0;

describe('late messages of an old view', () => {
  it('PRE-PREPARE / PREPARE / COMMIT of view 0 arriving after view 1 is installed are ignored as old-view', () => {
    const c = new Cluster({ n: 4, options: fastTimers });
    const X = [req(1, 1, 'x')];
    let sentBefore = 0;
    runSteps(c, [
      {
        step: "c1#1 to all; r0 proposes it at s1 but its PRE-PREPAREs stay in the network; view 1 installs",
        run: (c) => {
          c.submit(X[0] as ReturnType<typeof req>);
          c.runUntil((c) => c.replicas.every((r) => c.status(r).view === 1 && c.status(r).viewActive && c.history(r).length === 1), 40, {
            deliver: (e) => !heldFromR0(e),
          });
        },
        expect: ['r0 starts view change to v1', 'r1 starts view change to v1', 'r0 installs v1 (primary r1)', 'r1 -> r0 pre-prepare v1 s1 [c1#1]', 'r0 executes s1 [c1#1]'],
        check: (c) => {
          assertSameHistories(c);
          const held = c.pending.filter(heldFromR0).map((e) => c.describe(e));
          // Three PRE-PREPAREs sent at tick 0, and the same three again from r0's R7 round at tick 8.
          assert.deepEqual(held, [1, 2, 3, 1, 2, 3].map((r) => `r0 -> r${r} pre-prepare v0 s1 [c1#1]`), 'still in flight');
        },
      },
      {
        step: 'the view-0 PRE-PREPAREs arrive; r2 replays a PREPARE and a COMMIT of view 0 to r1 and r3',
        run: (c) => {
          sentBefore = c.sent.length;
          c.inject(2, [1, 3], prepare(0, 1, X));
          c.inject(2, [1, 3], commit(0, 1, X));
          c.deliverAll();
        },
        expect: [
          'r0 -> r1 pre-prepare v0 s1 [c1#1]',
          'r1 ignores pre-prepare from r0: old-view',
          'r2 ignores pre-prepare from r0: old-view',
          'r3 ignores pre-prepare from r0: old-view',
          'r1 ignores prepare from r2: old-view',
          'r3 ignores commit from r2: old-view',
        ],
        absent: [/executes/, /rejects/],
        check: (c) => {
          assert.equal(c.sent.length, sentBefore, 'no replica sent anything in answer');
          assertSameHistories(c);
          for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), ['x']);
        },
      },
      {
        step: "r3's VIEW-CHANGE(1) and r1's NEW-VIEW(1) replayed to r2 after the fact: old-view",
        run: (c) => {
          const vcs = [1, 2, 3].map((r) => c.viewChangeOf(r, 1));
          c.injectRaw(3, 2, c.viewChangeOf(3, 1));
          c.injectRaw(1, 2, newView(1, vcs, honestPrePrepares(1, vcs, 4)));
          c.deliverAll();
        },
        expect: ['r2 ignores view-change from r3: old-view', 'r2 ignores new-view from r1: old-view'],
        absent: [/installs/, /executes/],
        check: (c) => assert.equal(c.status(2).viewChanges, 1),
      },
    ]);
  });
});
