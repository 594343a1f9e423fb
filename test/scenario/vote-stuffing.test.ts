/**
 * Repeated votes never make a quorum (ancestor defect 1). With n = 4 and two
 * replicas silent (r2, r3 partitioned away), only r0 (primary) and r1 talk.
 * r1 repeats its PREPARE and COMMIT ten times each, and the primary its
 * COMMIT: every repetition is ignored as `duplicate`, a PREPARE from the
 * primary is rejected as `prepare-from-primary`, and nothing commits, because
 * votes are counted per distinct replica. When r2 comes back and receives the
 * PRE-PREPARE, its single honest vote completes the quorum and s1 executes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, commit, involving, prePrepare, prepare, req, runSteps } from './harness.js';

describe('a backup repeating its votes', () => {
  it('cannot form a quorum alone; one more distinct voter can', () => {
    const c = new Cluster({ n: 4 });
    const batch = [req(1, 1, 'a')];
    const heal = c.blackhole(involving(2, 3));
    runSteps(c, [
      {
        step: 'c1#1 "a" reaches r0 and r1; r2 and r3 are silent',
        run: (c) => {
          c.submit(req(1, 1, 'a'), [0, 1]);
          c.deliverAll();
        },
        expect: [
          'lost r0 -> r2 pre-prepare v0 s1 [c1#1]',
          'r0 -> r1 pre-prepare v0 s1 [c1#1]',
          'lost r1 -> r2 prepare v0 s1 [c1#1]', // traced when sent
          'r1 -> r0 prepare v0 s1 [c1#1]', // traced when delivered
        ],
        absent: [/ commit /, /executes/],
      },
      {
        step: 'r1 repeats its PREPARE 10 times and sends COMMIT 10 times to r0',
        run: (c) => {
          for (let i = 0; i < 10; i++) c.inject(1, 0, prepare(0, 1, batch));
          for (let i = 0; i < 10; i++) c.inject(1, 0, commit(0, 1, batch));
          c.deliverAll();
        },
        expect: ['r0 ignores prepare from r1: duplicate', 'r0 ignores commit from r1: duplicate'],
        absent: [/executes/, /^r0 -> r\d commit/],
        check: (c) => {
          assert.equal(c.traceMatching('r0 ignores prepare from r1: duplicate').length, 10);
          assert.equal(c.traceMatching('r0 ignores commit from r1: duplicate').length, 9, 'the first COMMIT counted once');
        },
      },
      {
        step: 'the primary repeats COMMIT 10 times to r1 and tries to PREPARE',
        run: (c) => {
          for (let i = 0; i < 10; i++) c.inject(0, 1, commit(0, 1, batch));
          c.inject(0, 1, prepare(0, 1, batch));
          c.deliverAll();
        },
        expect: ['r1 ignores commit from r0: duplicate', 'r1 rejects prepare from r0: prepare-from-primary'],
        absent: [/executes/],
        check: (c) => {
          for (const r of c.replicas) assert.deepEqual(c.history(r), []);
          assert.equal(c.replica(0).status().lastDelivered, 0);
          assert.equal(c.replica(1).status().lastDelivered, 0);
        },
      },
      {
        step: 'r2 comes back (r3 stays silent) and gets the PRE-PREPARE and r1\'s PREPARE again',
        run: (c) => {
          heal();
          c.blackhole(involving(3));
          c.inject(0, 2, prePrepare(0, 1, batch));
          c.inject(1, 2, prepare(0, 1, batch));
          c.deliverAll();
        },
        expect: [
          'r2 -> r0 prepare v0 s1 [c1#1]',
          // r0 now has PREPAREs from r1 and r2; its COMMIT quorum is r0, r1 (the COMMIT r1
          // sent earlier, counted once) and r2.
          'r2 -> r0 commit v0 s1 [c1#1]',
          'r0 executes s1 [c1#1]',
          'r2 -> r1 commit v0 s1 [c1#1]',
          'r1 executes s1 [c1#1]',
          'r2 executes s1 [c1#1]',
        ],
        check: (c) => {
          for (const r of [0, 1, 2]) assert.deepEqual(c.history(r), [{ seq: 1, requests: ['c1#1'] }]);
          assert.deepEqual(c.history(3), []);
        },
      },
    ]);
  });
});
