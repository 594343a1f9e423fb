/**
 * Safety across views (VIEW-CHANGE.md V1, V4-V7 and the safety argument).
 * What prepared in view 0 keeps its sequence number and its batch in view 1:
 *
 * 1. n = 4, r0 proposes A..D at s1..s4. s1 commits only at r1 (its COMMITs
 *    reach r1 alone), s2 and s4 prepare everywhere but commit nowhere, s3's
 *    PRE-PREPARE reaches only r3 so it prepares nowhere (the view-0 COMMITs
 *    stay lost while ticks pass, retransmissions included). r0 crashes. The
 *    VIEW-CHANGEs carry certificates for s1, s2, s4; the NEW-VIEW re-proposes
 *    A at s1, B at s2, D at s4 and a null request (empty batch) at s3. Every
 *    correct replica executes A at s1 (r1 does not execute it again), skips
 *    s3 the same way, and C, which lost its slot, is proposed again at s5.
 * 2. n = 7 (quorum 5): A commits only at r6, and r6's VIEW-CHANGE is not among
 *    the quorum the new primary r1 picks (its own and the lowest-numbered
 *    others, r2..r5). Quorum intersection still brings A's certificate in
 *    (from r3..r5, which prepared it), so A stays at s1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, req, runSteps, where } from './harness.js';

describe('safety across views', () => {
  it('committed-at-one, prepared, and unprepared slots: same batch per seq everywhere, null request at the gap', () => {
    const c = new Cluster({ n: 4, options: { ...fastTimers, batchRequestsMax: 1, pipelineMax: 4 } });
    const requests = ['A', 'B', 'C', 'D'].map((op, i) => req(i + 1, 1, op));
    runSteps(c, [
      {
        step: 'A, B, C, D reach every replica; r0 proposes them at s1..s4',
        run: (c) => {
          for (const r of requests) c.submit(r);
          c.deliverWhere(where({ type: 'request' }));
        },
        check: (c) => assert.deepEqual(c.proposedBy(0), [1, 2, 3, 4]),
      },
      {
        step: "s3's PRE-PREPARE reaches only r3; PRE-PREPAREs and PREPAREs delivered: s1, s2, s4 prepare everywhere, s3 nowhere",
        run: (c) => {
          c.drop(where({ type: 'pre-prepare', seq: 3, to: [1, 2] }));
          c.deliverWhere(where({ type: ['pre-prepare', 'prepare'] }));
        },
        expect: ['drop r0 -> r1 pre-prepare v0 s3 [c3#1]', 'r3 -> r1 prepare v0 s3 [c3#1]'],
        check: (c) => {
          const commitSeqs = new Set(c.pending.filter(where({ type: 'commit' })).map((e) => (e.kind === 'message' && e.message.type === 'commit' ? e.message.seq : 0)));
          assert.deepEqual([...commitSeqs].sort(), [1, 2, 4]);
        },
      },
      {
        step: "s1's COMMITs reach r1 only: r1 executes A; every other view-0 COMMIT is lost, retransmissions (R7, R8) included",
        run: (c) => {
          c.deliverWhere(where({ type: 'commit', seq: 1, to: 1 }));
          c.blockWhere(where({ type: 'commit', view: 0 }));
        },
        expect: ['r1 executes s1 [c1#1]', 'r1 -> c1 reply c1#1 "A:1"'],
        check: (c) => {
          assert.deepEqual(c.history(1), [{ seq: 1, requests: ['c1#1'] }]);
          for (const r of [0, 2, 3]) assert.deepEqual(c.history(r), [], `r${r}`);
        },
      },
      {
        step: 'r0 crashes; at tick 10 r1..r3 move to view 1 with their certificates; NEW-VIEW re-proposes s1, s2, s4 and a null request at s3',
        run: (c) => {
          c.crash(0);
          c.run(10);
        },
        expect: [
          'r1 starts view change to v1',
          'r2 -> r1 view-change v1 C=s0 P=[s1:v0[c1#1],s2:v0[c2#1],s4:v0[c4#1]]',
          'r1 -> r2 new-view v1 V=[r1,r2,r3] O=[s1[c1#1],s2[c2#1],s3 null,s4[c4#1]]',
          'r2 installs v1 (primary r1)',
          'r1 -> r2 pre-prepare v1 s5 [c3#1]', // C lost its slot; r1 proposes it after max-s
          'r2 executes s1 [c1#1]',
          'r2 executes s2 [c2#1]',
          'r2 executes s3 []',
          'r2 executes s4 [c4#1]',
          'r2 executes s5 [c3#1]',
        ],
        absent: [/^r1 executes s1 /, /rejects/],
        check: (c) => {
          assertSameHistories(c, [1, 2, 3]);
          assert.deepEqual(c.history(2), [
            { seq: 1, requests: ['c1#1'] },
            { seq: 2, requests: ['c2#1'] },
            { seq: 3, requests: [] },
            { seq: 4, requests: ['c4#1'] },
            { seq: 5, requests: ['c3#1'] },
          ]);
          for (const r of [1, 2, 3]) assert.deepEqual(c.serviceLog(r), ['A', 'B', 'D', 'C'], `r${r}`);
          // A was answered in view 0 by r1 and in view 1 by r2, r3: the same result.
          assert.deepEqual(
            c.repliesTo('c1#1').map((r) => `r${r.from} v${r.view} ${r.result}`),
            ['r1 v0 A:1', 'r2 v1 A:1', 'r3 v1 A:1'],
          );
          assert.ok(c.repliesTo('c3#1').every((r) => r.result === 'C:4'));
        },
      },
    ]);
  });

  it('n = 7: a batch committed only at a replica outside the NEW-VIEW quorum survives through quorum intersection', () => {
    const c = new Cluster({ n: 7, options: fastTimers });
    runSteps(c, [
      {
        step: 'A reaches everyone; its PRE-PREPARE misses r1 and r2; r3..r6 and r0 prepare it',
        run: (c) => {
          c.submit(req(1, 1, 'A'));
          c.deliverWhere(where({ type: 'request' }));
          c.drop(where({ type: 'pre-prepare', to: [1, 2] }));
          c.deliverWhere(where({ type: ['pre-prepare', 'prepare'] }));
        },
        check: (c) => {
          const committers = new Set(c.pending.filter(where({ type: 'commit' })).map((e) => (e.kind === 'message' ? e.from : -1)));
          assert.deepEqual([...committers].sort(), [0, 3, 4, 5, 6], 'prepared at r0, r3..r6');
        },
      },
      {
        step: 'the COMMITs reach r6 only: r6 executes A; r0 crashes',
        run: (c) => {
          c.deliverWhere(where({ type: 'commit', to: 6 }));
          c.crash(0);
        },
        expect: ['r6 executes s1 [c1#1]'],
      },
      {
        step: 'tick 10: r1..r5 time out, r6 joins; r1 picks its own and r2..r5 VIEW-CHANGEs (not r6)',
        run: (c) => c.run(10),
        expect: [
          'r3 -> r1 view-change v1 C=s0 P=[s1:v0[c1#1]]',
          'r6 starts view change to v1',
          'r1 -> r6 new-view v1 V=[r1,r2,r3,r4,r5] O=[s1[c1#1]]',
          'r6 installs v1 (primary r1)',
          'r1 executes s1 [c1#1]',
          'r2 executes s1 [c1#1]',
        ],
        absent: [/^r6 executes s1/, /rejects/],
        check: (c) => {
          assertSameHistories(c, [1, 2, 3, 4, 5, 6]);
          assert.deepEqual(c.history(6), [{ seq: 1, requests: ['c1#1'] }]);
        },
      },
    ]);
  });
});
