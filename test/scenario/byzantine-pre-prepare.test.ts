/**
 * Forged and equivocating PRE-PREPAREs (PROTOCOL.md N2, N5). A PRE-PREPARE
 * from a replica that is not the primary of the view it names is rejected as
 * `pre-prepare-not-from-primary` and leaves no trace in the log: the real
 * primary's proposal for the same sequence number is accepted afterwards
 * (ancestor defect 2). An equivocating primary that sends batch A to some
 * backups and batch B for the same sequence number to others: every replica
 * keeps the first PRE-PREPARE it saw and rejects the other as
 * `conflicting-pre-prepare`, and no two correct replicas ever execute
 * different batches at that sequence number. Liveness may be lost with an
 * equivocating primary (that is the view change's job, issue 4), so only
 * safety is asserted; a property test tries many splits, extra forged
 * COMMITs from the primary, and delivery orders.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { assertSameHistories, Cluster, commit, prePrepare, req, runSteps, where } from './harness.js';

describe('PRE-PREPARE from a non-primary', () => {
  it('is rejected by everyone, executes nothing, and does not occupy the slot', () => {
    const c = new Cluster({ n: 4 });
    const forged = prePrepare(0, 1, [req(9, 1, 'evil')]);
    runSteps(c, [
      {
        step: 'r1 claims to be the primary of view 0 and sends s1 [c9#1] to r0, r2, r3',
        run: (c) => {
          c.inject(1, [0, 2, 3], forged);
          c.deliverAll();
        },
        expect: [
          'r1 -> r0 pre-prepare v0 s1 [c9#1]',
          'r0 rejects pre-prepare from r1: pre-prepare-not-from-primary',
          'r1 -> r2 pre-prepare v0 s1 [c9#1]',
          'r2 rejects pre-prepare from r1: pre-prepare-not-from-primary',
          'r1 -> r3 pre-prepare v0 s1 [c9#1]',
          'r3 rejects pre-prepare from r1: pre-prepare-not-from-primary',
        ],
        absent: [/^r\d -> r\d prepare /, /executes/],
        check: (c) => {
          for (const r of c.replicas) {
            assert.equal(c.replica(r).status().slots, 0, `r${r} kept state for a forged message`);
            assert.equal(c.rejectionsAt(r).every((x) => x.action === 'reject-peer'), true);
          }
        },
      },
      {
        step: 'r2 also forges s1 for view 1 (r1 is primary of view 1, not r2)',
        run: (c) => {
          c.inject(2, [3], prePrepare(1, 1, [req(9, 1, 'evil')]));
          c.deliverAll();
        },
        expect: ['r3 rejects pre-prepare from r2: pre-prepare-not-from-primary'],
      },
      {
        step: 'the real primary r0 then proposes s1 [c1#1]',
        run: (c) => {
          c.submit(req(1, 1, 'good'));
          c.deliverAll();
        },
        expect: ['r0 -> r2 pre-prepare v0 s1 [c1#1]', 'r2 executes s1 [c1#1]'],
        absent: [/rejects/],
        check: (c) => {
          assertSameHistories(c);
          assert.deepEqual(c.history(0), [{ seq: 1, requests: ['c1#1'] }]);
          for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), ['good']);
        },
      },
    ]);
  });
});

describe('conflicting PRE-PREPAREs from the primary', () => {
  const A = [req(1, 1, 'A')];
  const B = [req(2, 1, 'B')];

  it('A to r1, r2 and B to r3: r3 keeps B, rejects A; r0-r2 execute A; nobody executes B', () => {
    const c = new Cluster({ n: 4 });
    runSteps(c, [
      {
        step: 'c1#1 "A" reaches the primary only; its PRE-PREPARE to r3 is replaced by B (injected first)',
        run: (c) => {
          c.submit(req(1, 1, 'A'), [0]);
          c.deliverWhere(where({ type: 'request' }));
          c.drop(where({ type: 'pre-prepare', to: 3 }));
          c.inject(0, 3, prePrepare(0, 1, B));
          c.deliverWhere(where({ to: 3, type: 'pre-prepare' }));
        },
        expect: ['drop r0 -> r3 pre-prepare v0 s1 [c1#1]', 'r0 -> r3 pre-prepare v0 s1 [c2#1]'],
      },
      {
        step: 'everything else is delivered',
        run: (c) => c.deliverAll(),
        expect: ['r0 -> r1 pre-prepare v0 s1 [c1#1]', 'r3 -> r1 prepare v0 s1 [c2#1]'],
        check: (c) => {
          for (const r of [0, 1, 2]) assert.deepEqual(c.history(r), [{ seq: 1, requests: ['c1#1'] }]);
          assert.deepEqual(c.history(3), [], 'r3 holds B, which can never prepare');
          // r3's PREPARE for B is a vote for another digest: it is counted for B, never for A.
          assert.equal(c.traceMatching('executes s1 [c2#1]').length, 0);
        },
      },
      {
        step: 'the primary sends A to r3 and B to r2 late',
        run: (c) => {
          c.inject(0, 3, prePrepare(0, 1, A));
          c.inject(0, 2, prePrepare(0, 1, B)); // r2 already delivered s1
          c.deliverAll();
        },
        expect: [
          'r3 rejects pre-prepare from r0: conflicting-pre-prepare',
          // Since checkpoints (VIEW-CHANGE.md C4) a delivered slot stays until a stable
          // checkpoint covers it, so B is now recognised as equivocation (it was
          // `already-delivered` when slots were dropped at delivery).
          'r2 rejects pre-prepare from r0: conflicting-pre-prepare',
        ],
        check: (c) => assert.deepEqual(c.history(3), []),
      },
    ]);
  });

  it('the second PRE-PREPARE at a replica that has not delivered yet is conflicting-pre-prepare', () => {
    const c = new Cluster({ n: 4 });
    c.inject(0, 1, prePrepare(0, 1, A));
    c.inject(0, 1, prePrepare(0, 1, B));
    c.inject(0, 1, prePrepare(0, 1, A)); // the same one again: benign duplicate
    c.deliverWhere(where({ to: 1 }));
    assert.deepEqual(c.traceMatching(/^r1 (rejects|ignores)/), [
      'r1 rejects pre-prepare from r0: conflicting-pre-prepare',
      'r1 ignores pre-prepare from r0: duplicate',
    ]);
  });

  it('A to r1 and B to r2, r3: nobody can prepare either, nothing executes', () => {
    const c = new Cluster({ n: 4 });
    c.inject(0, 1, prePrepare(0, 1, A));
    c.inject(0, [2, 3], prePrepare(0, 1, B));
    c.deliverAll();
    // r2 and r3 are prepared on B (2 backup PREPAREs) and COMMIT it, but r0's
    // slot and r1 hold A: 2 COMMITs for B are not a quorum of 3.
    assert.ok(c.traceMatching(/^r2 -> r\d commit v0 s1 \[c2#1\]$/).length > 0);
    for (const r of c.replicas) assert.deepEqual(c.history(r), [], `r${r} executed something`);
  });

  it('property: an equivocating primary never makes two correct backups execute different batches at s1', () => {
    // For each backup: which PRE-PREPARE(s) the primary sends it, in which order, and which COMMITs.
    const perBackup = fc.record({
      prePrepares: fc.constantFrom('A', 'B', 'AB', 'BA', ''),
      commits: fc.constantFrom('', 'A', 'B', 'AB'),
    });
    fc.assert(
      fc.property(
        fc.tuple(perBackup, perBackup, perBackup),
        fc.array(fc.nat(), { maxLength: 200 }),
        (plan, schedule) => {
          const c = new Cluster({ n: 4 });
          // The primary r0 is Byzantine: everything it says is injected, its own core stays idle.
          plan.forEach((p, i) => {
            const backup = i + 1;
            for (const which of p.prePrepares) c.inject(0, backup, prePrepare(0, 1, which === 'A' ? A : B));
            for (const which of p.commits) c.inject(0, backup, commit(0, 1, which === 'A' ? A : B));
          });
          c.deliverByChoices(schedule);
          const executed = [1, 2, 3].map((r) => c.history(r)[0]?.requests.join(',')).filter((x) => x !== undefined);
          assert.ok(new Set(executed).size <= 1, `backups executed different batches at s1: ${executed.join(' / ')}`);
          // And a replica only executes a batch it accepted a PRE-PREPARE for.
          for (const r of [1, 2, 3]) {
            const batch = c.history(r)[0];
            if (batch !== undefined) {
              const label = batch.requests[0] === 'c1#1' ? 'A' : 'B';
              assert.ok(plan[r - 1]?.prePrepares.includes(label));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
