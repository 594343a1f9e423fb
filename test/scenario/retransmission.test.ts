/**
 * Retransmission in the normal case (VIEW-CHANGE.md R7, R8). n = 4.
 *  - R7: every viewChangeResendTicks, a replica that delivered nothing since
 *    the previous round resends its part (PRE-PREPARE as primary, else its
 *    PREPARE; its COMMIT if sent) of the next pipelineMax undelivered slots.
 *    COMMITs lost once (all of them, for three pipelined slots) are resent at
 *    tick 8 and the slots complete in view 0, before any backup suspects the
 *    primary (tick 10); afterwards the replicas fall silent.
 *  - R8: a repeated PREPARE / COMMIT for a slot committed here is answered
 *    with this replica's part, at most once per peer, slot and round, so two
 *    replicas that both committed the slot do not echo each other forever:
 *    one repeated vote costs a bounded number of messages, and a cluster
 *    whose delivery is held back (executeBacklogMax reached, every replica
 *    resending each round) sends the same bounded number of messages every
 *    round, quiet between rounds.
 * BUG (replica.ts resendRound / onTick, default timers): R7 counts a slot as
 * stalled only after a whole round without any delivery, so a loss right
 * after a delivery is resent 1 to 2 rounds later - up to
 * 2 x viewChangeResendTicks = viewChangeTimeoutTicks with the defaults - and
 * at the boundary the retransmission and T2 come in the same tick.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, commit, fastTimers, req, runSteps, where } from './harness.js';

describe('retransmission of agreement messages (R7)', () => {
  it('COMMITs lost once are resent at the next round and three pipelined slots complete without a view change', () => {
    const c = new Cluster({ n: 4, options: { ...fastTimers, batchRequestsMax: 1, pipelineMax: 4 } });
    runSteps(c, [
      {
        step: 'A, B, C at s1..s3 prepare everywhere; every COMMIT is dropped (once)',
        run: (c) => {
          for (const [i, op] of ['A', 'B', 'C'].entries()) c.submit(req(i + 1, 1, op));
          c.deliverWhere(where({ type: ['request', 'pre-prepare', 'prepare'] }));
          c.drop(where({ type: 'commit' }));
        },
        expect: ['drop r0 -> r1 commit v0 s1 [c1#1]', 'drop r3 -> r2 commit v0 s3 [c3#1]'],
        absent: [/executes/],
        check: (c) => assert.equal(c.traceMatching(/^drop .* commit v0/).length, 36, '4 replicas x 3 others x 3 slots'),
      },
      {
        step: 'ticks 1..7: no retransmission yet (the backups forward the pending requests at tick 5, T1)',
        run: (c) => c.run(7),
        absent: [/ commit /, /pre-prepare/, /prepare/, /executes/, /starts view change/],
      },
      {
        step: 'tick 8: every replica resends its part of s1..s3 (R7); the COMMITs complete them everywhere',
        run: (c) => c.run(1),
        expect: [
          'r0 -> r1 pre-prepare v0 s1 [c1#1]',
          'r1 ignores pre-prepare from r0: duplicate',
          'r0 -> r1 commit v0 s1 [c1#1]',
          'r0 -> r1 pre-prepare v0 s3 [c3#1]',
          'r0 -> r1 commit v0 s3 [c3#1]',
          'r1 -> r0 prepare v0 s1 [c1#1]',
          'r0 ignores prepare from r1: duplicate',
          'r1 -> r0 commit v0 s1 [c1#1]',
          /^r\d executes s3 \[c3#1\]$/,
        ],
        absent: [/rejects/, /starts view change/],
        check: (c) => {
          assertSameHistories(c);
          for (const r of c.replicas) assert.deepEqual(c.executedRequests(r), ['c1#1', 'c2#1', 'c3#1'], `r${r}`);
          assert.deepEqual(c.proposedBy(0), [1, 2, 3], 'resending is not proposing again');
          // 36 resent by R7 (4 replicas x 3 slots x 3 others); the rest are R8 answers to resent
          // votes that reached a replica after the slot had committed there.
          const commits = c.sent.filter((s) => s.tick === 8 && s.message.type === 'commit').length;
          assert.ok(commits >= 36 && commits <= 72, `${commits} COMMITs sent at tick 8`);
        },
      },
      {
        step: '50 more ticks: nothing is undelivered, nobody resends or suspects',
        run: (c) => c.run(50),
        absent: [/^r\d -> r\d/, /starts view change/],
        check: (c) => {
          assert.deepEqual(c.viewEvents, []);
          assert.deepEqual(c.sent.filter((s) => s.tick > 8), []);
        },
      },
    ]);
  });

  it('BUG: with the default timers a COMMIT lost in the tick of a retransmission round is resent only at the view-change timeout', () => {
    // Default options: viewChangeResendTicks 50, viewChangeTimeoutTicks 100. s1 is delivered in
    // tick 0 (the initial round's tick, after it); s2 prepares in the same tick and all its
    // COMMITs are lost once.
    // Expected (R7: "lost messages cannot stall the log while the network works"): s2's COMMITs
    // are resent before the backups' T2 fires, and s2 completes in view 0.
    // Observed: replica.ts resendRound (`stalled = lastDelivered === deliveredAtLastResend`)
    // skips the round at tick 50, since s1 was delivered after the round at tick 0; the round
    // at tick 100 resends s2, but onTick runs T2 in the same call (`waited = 100 - 0 >= 100`), so
    // r1..r3 (then r0, joining) start a view change to view 1 before the retransmission lands.
    // The same loss one tick later is resent at tick 100 and completes in view 0 (T2 at 101);
    // with fastTimers (resend 8, timeout 10) most such losses end in a view change. Fix (one of):
    // resend the slots that were already undelivered at the previous round whatever was
    // delivered since; or require viewChangeTimeoutTicks > 2 x viewChangeResendTicks (options.ts)
    // and leave T2 a tick after a resend.
    const c = new Cluster({ n: 4 });
    c.submit(req(1, 1, 'a'));
    c.deliverAll();
    c.submit(req(2, 1, 'b'));
    c.deliverWhere(where({ type: ['request', 'pre-prepare', 'prepare'] }));
    c.drop(where({ type: 'commit' }));
    c.runUntil((c) => c.replicas.every((r) => c.history(r).length === 2), 300);
    assert.deepEqual(c.viewEvents.map((e) => `r${e.replica} ${e.kind} v${e.view} at ${e.tick}`), [], 'view changes');
  });
});

describe('answers to repeated votes (R8)', () => {
  /** s1 (c1#1) committed and delivered at all four replicas; nothing pending. */
  function committedEverywhere(): Cluster {
    const c = new Cluster({ n: 4, options: fastTimers });
    c.submit(req(1, 1, 'a'));
    c.deliverAll();
    for (const r of c.replicas) assert.equal(c.status(r).lastDelivered, 1);
    return c;
  }

  it('a repeated COMMIT between two replicas that both committed the slot: one answer each way, then quiet', () => {
    const c = committedEverywhere();
    const batch = [req(1, 1, 'a')];
    runSteps(c, [
      {
        step: 'r1 repeats its COMMIT for s1 to r2',
        run: (c) => {
          const before = c.deliveries;
          c.inject(1, 2, commit(0, 1, batch));
          c.deliverAll(20); // fails if the two replicas kept echoing
          assert.equal(c.deliveries - before, 5, 'the repetition, r2 answering r1 (2), r1 answering r2 (2)');
        },
        expect: [
          'r1 -> r2 commit v0 s1 [c1#1]',
          'r2 ignores commit from r1: duplicate',
          'r2 -> r1 prepare v0 s1 [c1#1]', // R8: r2 sends r1 its part of s1
          'r1 ignores prepare from r2: duplicate',
          'r2 -> r1 commit v0 s1 [c1#1]',
          'r1 -> r2 prepare v0 s1 [c1#1]', // r1 takes r2's repetition for a retransmission, once
          'r2 ignores prepare from r1: duplicate', // r2 already answered r1 this round: silence
          'r1 -> r2 commit v0 s1 [c1#1]',
          'r2 ignores commit from r1: duplicate',
        ],
        absent: [/^r[03]/, /-> r[03]/],
      },
      {
        step: 'repeated again in each of the next 7 ticks: ignored without answer (once per round)',
        run: (c) => {
          for (let t = 0; t < 7; t++) {
            c.tick(1);
            c.inject(1, 2, commit(0, 1, batch));
            c.deliverAll(20);
          }
        },
        absent: [/^r2 -> r1/],
        check: (c) => assert.equal(c.traceMatching('r2 ignores commit from r1: duplicate').length, 9),
      },
      {
        step: 'tick 8 (a round later): the repetition is answered again, as before',
        run: (c) => {
          c.tick(1);
          const before = c.deliveries;
          c.inject(1, 2, commit(0, 1, batch));
          c.deliverAll(20);
          assert.equal(c.deliveries - before, 5);
        },
        expect: ['r2 -> r1 prepare v0 s1 [c1#1]', 'r2 -> r1 commit v0 s1 [c1#1]', 'r1 -> r2 prepare v0 s1 [c1#1]'],
      },
    ]);
  });

  it('every replica resending a committed, undelivered slot: a bounded, constant number of messages per round, rounds backing off', () => {
    // executeBacklogMax 1 and every executor held: s1 is delivered (not executed), s2 commits
    // everywhere but cannot be delivered, so every replica is stalled and resends its part of s2
    // each round (R7), and every copy reaches a replica that committed s2 (R8). Timers: resend
    // every 8 ticks, no view change for a long time.
    const options = {
      executeBacklogMax: 1,
      batchRequestsMax: 1,
      viewChangeResendTicks: 8,
      requestTimeoutTicks: 5_000,
      viewChangeTimeoutTicks: 10_000,
    };
    const c = new Cluster({ n: 4, options });
    for (const r of c.replicas) c.holdExecution(r);
    c.submit(req(1, 1, 'a'));
    c.submit(req(2, 1, 'b'));
    c.deliverAll();
    for (const r of c.replicas) {
      assert.deepEqual({ delivered: c.status(r).lastDelivered, held: c.heldExecutions(r) }, { delivered: 1, held: [1] }, `r${r}`);
    }
    const perTick: number[] = [];
    for (let t = 1; t <= 80; t++) {
      const before = c.deliveries;
      c.tick(1);
      c.deliverAll(1_000); // fails if answers kept answering each other
      perTick.push(c.deliveries - before);
    }
    const rounds = perTick.flatMap((count, i) => (count > 0 ? [`${i + 1}:${count}`] : []));
    // Round 8 sees the delivery of s1 (not stalled); from round 16 on every round is the same, and each
    // finds the log stalled, so the period doubles (16, 32, 64 ticks; R7).
    const perRound = perTick[15] ?? 0;
    // 24 resent (4 replicas x 2 messages x 3 others, R7) + 24 answers (each replica answers each
    // other one once with its 2 messages, R8); the answers to answers stay unanswered.
    assert.equal(perRound, 48, 'messages per round');
    assert.deepEqual(rounds, [16, 32, 64].map((t) => `${t}:${perRound}`), 'ticks with traffic : deliveries');
    assert.deepEqual(c.viewEvents, []);
    // Execution resumes: s2 is delivered everywhere and the resending stops.
    for (const r of c.replicas) c.holdExecution(r, false);
    c.run(40);
    assertSameHistories(c);
    for (const r of c.replicas) assert.deepEqual(c.executedRequests(r), ['c1#1', 'c2#1'], `r${r}`);
    assert.deepEqual(c.sent.filter((s) => s.tick > 80), [], 'quiet once nothing is undelivered');
  });
});
