/**
 * An equivocating primary, then the view change (PROTOCOL.md N5,
 * VIEW-CHANGE.md V1-V7). n = 4; r0 is Byzantine (its core is silenced, the
 * test speaks for it). At s1 it sends batch A to r1 and batch B to r2 and r3,
 * and helps B commit at r2 with its own COMMIT. r2 executes B; r1 holds A,
 * which can never prepare. The backups time out and change to view 1: the
 * certificates of r2 and r3 carry B, so r1's NEW-VIEW re-proposes B at s1;
 * r1 drops its A (its slot enters the new view) and executes B, r2 does not
 * execute it again, and A is proposed afresh at s2. The service continues in
 * view 1. A property then tries random splits of A / B PRE-PREPAREs and
 * Byzantine COMMITs with random delivery orders: no two correct replicas
 * ever execute different batches at a sequence number (checked by the
 * harness after every execution), and after the view change every correct
 * replica has executed both A and B exactly once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { assertExecutedOnce, assertSameHistories, Cluster, commit, fastTimers, prePrepare, req, runSteps } from './harness.js';

const A = req(1, 1, 'A');
const B = req(2, 1, 'B');

describe('an equivocating primary', () => {
  it('A to r1, B to r2 and r3: B executes at s1 everywhere after the view change, A at s2', () => {
    const c = new Cluster({ n: 4, options: fastTimers, byzantine: [0] });
    c.crash(0);
    runSteps(c, [
      {
        step: 'the clients send A and B to r1..r3; r0 sends PRE-PREPARE s1 A to r1, B to r2 and r3, and COMMIT s1 B to r2',
        run: (c) => {
          c.submit(A, [1, 2, 3]);
          c.submit(B, [1, 2, 3]);
          c.inject(0, 1, prePrepare(0, 1, [A]));
          c.inject(0, [2, 3], prePrepare(0, 1, [B]));
          c.inject(0, 2, commit(0, 1, [B]));
          c.deliverAll();
        },
        expect: ['r2 -> r1 prepare v0 s1 [c2#1]', 'r2 executes s1 [c2#1]'],
        absent: [/executes s1 \[c1#1\]/],
        check: (c) => {
          assert.deepEqual(c.history(1), [], 'r1 holds A, which cannot prepare');
          assert.deepEqual(c.history(2), [{ seq: 1, requests: ['c2#1'] }]);
          assert.deepEqual(c.history(3), [], 'r3 prepared B but has only 2 COMMITs');
        },
      },
      {
        step: 'tick 10: r1..r3 change to view 1; the certificates (r2, r3) carry B; NEW-VIEW re-proposes B at s1',
        run: (c) => c.run(10),
        expect: [
          'r1 -> r2 view-change v1 C=s0 P=[]',
          'r2 -> r1 view-change v1 C=s0 P=[s1:v0[c2#1]]',
          'r1 -> r2 new-view v1 V=[r1,r2,r3] O=[s1[c2#1]]',
          'r1 -> r2 pre-prepare v1 s2 [c1#1]',
          'r1 executes s1 [c2#1]',
          'r3 executes s1 [c2#1]',
          'r3 executes s2 [c1#1]',
        ],
        absent: [/^r2 executes s1/, /executes s\d \[c1#1,/],
        check: (c) => {
          assertSameHistories(c, [1, 2, 3]);
          assert.deepEqual(c.history(1), [
            { seq: 1, requests: ['c2#1'] },
            { seq: 2, requests: ['c1#1'] },
          ]);
        },
      },
      {
        step: 'the service continues in view 1',
        run: (c) => {
          c.submit(req(3, 1, 'C'), [1, 2, 3]);
          c.run(1);
        },
        expect: ['r1 -> r3 pre-prepare v1 s3 [c3#1]', 'r3 -> c3 reply c3#1 "C:3" (v1)'],
        check: (c) => {
          assertSameHistories(c, [1, 2, 3]);
          for (const r of [1, 2, 3]) assert.deepEqual(c.serviceLog(r), ['B', 'A', 'C']);
        },
      },
    ]);
  });

  it('property: random equivocation and schedules never split correct replicas; the view change restores service', () => {
    const perBackup = fc.record({
      prePrepares: fc.constantFrom('A', 'B', 'AB', 'BA', ''),
      commits: fc.constantFrom('', 'A', 'B', 'AB'),
    });
    fc.assert(
      fc.property(fc.tuple(perBackup, perBackup, perBackup), fc.array(fc.nat(), { maxLength: 120 }), (plan, schedule) => {
        const c = new Cluster({ n: 4, options: fastTimers, byzantine: [0] });
        c.crash(0);
        c.submit(A, [1, 2, 3]);
        c.submit(B, [1, 2, 3]);
        plan.forEach((p, i) => {
          for (const which of p.prePrepares) c.inject(0, i + 1, prePrepare(0, 1, [which === 'A' ? A : B]));
          for (const which of p.commits) c.inject(0, i + 1, commit(0, 1, [which === 'A' ? A : B]));
        });
        c.deliverByChoices(schedule); // the harness fails on any disagreement at a sequence number
        c.runUntil((c) => [1, 2, 3].every((r) => c.executedRequests(r).length === 2), 200);
        for (const r of [1, 2, 3]) {
          assertExecutedOnce(c, r);
          assert.deepEqual([...c.executedRequests(r)].sort(), ['c1#1', 'c2#1']);
        }
        assertSameHistories(c, [1, 2, 3]);
      }),
      { numRuns: 60 },
    );
  });
});
