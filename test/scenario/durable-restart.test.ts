/**
 * Restarts from the journal (docs/DURABILITY.md D1-D14), n = 4. Each case
 * runs twice: with the journal (`durable`, what a replica with a data
 * directory does) it must hold; without it (`amnesic`, what every replica
 * did before durability) the same steps break it, which shows the case can
 * fail and why the journal is needed:
 * - a restarted backup never PREPAREs a second batch at a (view, seq) it
 *   PREPAREd before, whatever an equivocating primary sends [D1, D12];
 * - a restarted primary never proposes a second batch at a sequence number
 *   it proposed before [D1, D12];
 * - a power cut of the whole cluster loses nothing executed, and a client's
 *   retransmission still gets its cached reply [D7, D11, D14];
 * - rolling restarts of f + 1 replicas keep the certificates of a batch one
 *   replica executed, so a view change cannot fill its slot with another
 *   batch [D2, D12] (the safety hole of the issue).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, commit, fastTimers, involving, prepare, prePrepare, req, viewChange, where } from './harness.js';

const A = req(1, 1, 'A');
const B = req(2, 1, 'B');

describe('a replica that lost its data rejoins without voting (D15)', () => {
  it('it does not PREPARE B at (v0, s1) after PREPAREing A there, and votes again once the log moved a window on', () => {
    const c = new Cluster({ n: 4, options: { ...fastTimers, checkpointInterval: 2, logWindow: 4 } });
    const unblock = c.blockWhere(where({ type: 'pre-prepare', from: 0, to: [2, 3] }));
    c.submit(A, [0]);
    c.deliverAll();
    assert.ok(c.trace.includes('r1 -> r2 prepare v0 s1 [c1#1]'));
    unblock();
    c.restart(1, 'rejoin');
    assert.equal(c.status(1).voting, false);
    // r0 turns Byzantine for a moment: the same (v0, s1) with B, to r1 only.
    c.inject(0, 1, prePrepare(0, 1, [B], undefined, 0));
    c.deliverAll();
    assert.equal(c.trace.includes('r1 -> r2 prepare v0 s1 [c2#1]'), false, 'r1 PREPAREd B at (v0, s1)');
    // The others order requests without r1 until the stable checkpoint is a log window (4) past the first r1 learns.
    for (let k = 3; k <= 14 && !c.status(1).voting; k++) {
      c.submit(req(k, 1));
      c.run(fastTimers.viewChangeResendTicks + 1);
    }
    assert.equal(c.status(1).voting, true, `r1 votes again (stable ${c.status(1).stableCheckpoint})`);
    const sent = c.sent.length;
    c.submit(req(20, 1));
    c.run(2);
    assert.ok(c.sent.slice(sent).some((s) => s.from === 1 && s.message.type === 'prepare'), 'r1 PREPAREs again');
    assertSameHistories(c, [0, 2, 3]);
  });
});

describe('restart from the journal', () => {
  for (const mode of ['durable', 'amnesic'] as const) {
    it(`${mode}: a backup that PREPAREd A at (v0, s1) and restarted ${mode === 'durable' ? 'refuses' : 'PREPAREs'} B at (v0, s1)`, () => {
      const c = new Cluster({ n: 4, options: fastTimers, byzantine: [0] });
      c.crash(0);
      c.submit(A, [1]);
      c.submit(B, [1]);
      c.inject(0, 1, prePrepare(0, 1, [A]));
      c.deliverAll();
      assert.ok(c.trace.includes('r1 -> r2 prepare v0 s1 [c1#1]'));
      c.restart(1, mode);
      c.inject(0, 1, prePrepare(0, 1, [B]));
      c.deliverAll();
      const contradicted = c.trace.includes('r1 -> r2 prepare v0 s1 [c2#1]');
      if (mode === 'durable') {
        assert.equal(contradicted, false, 'r1 contradicted its own PREPARE');
        assert.ok(c.rejectionsAt(1).some((r) => r.reason === 'conflicting-pre-prepare'));
      } else {
        assert.equal(contradicted, true, 'without its journal r1 PREPAREs both');
      }
    });

    it(`${mode}: a primary that proposed A at s1 and restarted ${mode === 'durable' ? 'proposes B at s2' : 'proposes B at s1 too'}`, () => {
      const c = new Cluster({ n: 4, options: fastTimers });
      const unblock = c.blockWhere(where({ type: 'pre-prepare', from: 0 }));
      c.submit(A, [0]);
      c.deliverAll();
      assert.ok(c.trace.includes('drop r0 -> r1 pre-prepare v0 s1 [c1#1]'));
      c.restart(0, mode);
      unblock();
      c.submit(B, [0]);
      c.deliverAll();
      const twice = c.trace.includes('r0 -> r1 pre-prepare v0 s1 [c2#1]');
      if (mode === 'amnesic') {
        assert.equal(twice, true, 'without its journal r0 proposes a second batch at s1');
        return;
      }
      assert.equal(twice, false, 'r0 proposed a second batch at s1');
      assert.ok(c.trace.includes('r0 -> r1 pre-prepare v0 s2 [c2#1]'));
      c.run(fastTimers.viewChangeResendTicks + 1); // R7 resends the PRE-PREPARE of s1 the block swallowed
      assertSameHistories(c);
      assert.deepEqual(c.history(1), [
        { seq: 1, requests: ['c1#1'] },
        { seq: 2, requests: ['c2#1'] },
      ]);
    });

    it(`${mode}: a power cut of the whole cluster ${mode === 'durable' ? 'loses nothing executed' : 'loses the state'}`, () => {
      const c = new Cluster({ n: 4, options: { ...fastTimers, checkpointInterval: 2, logWindow: 8 } });
      for (let k = 1; k <= 5; k++) {
        c.submit(req(k, 1, `op${k}`));
        c.deliverAll();
      }
      for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), ['op1', 'op2', 'op3', 'op4', 'op5']);
      assert.equal(c.status(0).stableCheckpoint, 4);
      for (const r of c.replicas) c.restart(r, mode);
      const retransmitted = c.replies.length;
      const resume = (): void => {
        c.run(2);
        c.submit(req(5, 1, 'op5')); // a client whose reply was lost in the power cut asks again
        c.submit(req(6, 1, 'op6'));
        c.run(2);
      };
      if (mode === 'amnesic') {
        assert.throws(resume, /SAFETY: r0 executes \[c5#1\] at s1/, 'without journals op5 runs again, at s1, on an empty state');
        return;
      }
      resume();
      const replies = c.replies.slice(retransmitted);
      for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), ['op1', 'op2', 'op3', 'op4', 'op5', 'op6']);
      assert.ok(replies.some((r) => r.request === 'c5#1' && r.result === 'op5:5'), 'the cached reply of op5');
      assert.ok(replies.some((r) => r.request === 'c6#1' && r.result === 'op6:6'));
      assertSameHistories(c);
    });

    it(`${mode}: rolling restarts of f + 1 replicas ${mode === 'durable' ? 'keep' : 'lose'} the certificates of a batch one replica executed`, () => {
      const c = new Cluster({ n: 4, options: fastTimers });
      // X prepares at r1..r3 (never at r0: its PREPAREs are lost) and commits only at r3.
      const unblockPrepares = c.blockWhere(where({ type: 'prepare', to: 0 }));
      const unblockCommits = c.blockWhere(where({ type: 'commit', to: [0, 1, 2] }));
      const X = req(1, 1, 'X');
      c.submit(X);
      c.deliverAll();
      assert.deepEqual(c.history(3), [{ seq: 1, requests: ['c1#1'] }]);
      assert.deepEqual(c.history(1), []);
      unblockPrepares();
      unblockCommits();
      // r1 and r2 lose power one after the other; r3 is cut off; r0's proposals are lost: a view change.
      c.restart(1, mode);
      c.restart(2, mode);
      c.blackhole(involving(3));
      c.blockWhere(where({ type: 'pre-prepare', from: 0, view: 0 }));
      c.submit(req(2, 1, 'Y'), [0, 1, 2]);
      const run = (): void => {
        c.runUntil((c) => [0, 1, 2].every((r) => c.history(r).length >= 2), 200, { replicas: [0, 1, 2] });
      };
      if (mode === 'amnesic') {
        assert.throws(run, /SAFETY/, 'without journals the new view fills s1 with another batch');
        return;
      }
      run();
      assert.ok(c.status(1).view >= 1, 'Y was ordered in a later view');
      for (const r of [0, 1, 2]) assert.deepEqual(c.history(r)[0], { seq: 1, requests: ['c1#1'] }, `r${r} executes X at s1, as r3 did`);
    });
  }
});

/**
 * Found by an adversarial review: a replica counts its own COMMIT, executes
 * and replies before its prepared record (D2) is synced. Had the reply gone
 * out at once, a power cut before the sync would erase the certificate at
 * the one correct replica besides the (then partitioned) primary that had
 * it, while the client, with a Byzantine replica's matching reply, holds
 * f + 1 replies: a view change without either then puts another batch at
 * s1. Replies wait for the sync (D10): the client never sees X acknowledged.
 * n = 4, r3 Byzantine (the test speaks for it), r1's disk syncs only when told.
 */
describe('a reply waits for the records it depends on (D10)', () => {
  for (const repliesWait of [true, false]) {
    it(`${repliesWait ? 'replies after the sync' : 'replies before the sync (the old rule)'}: ${repliesWait ? 'nothing acknowledged is lost' : 'an acknowledged request is lost'}`, () => {
      const c = new Cluster({ n: 4, options: fastTimers, byzantine: [3] });
      c.blackhole(involving(3));
      c.holdSyncs(1, repliesWait);
      const X = req(1, 1, 'X');
      const unblock = c.blockWhere(where({ type: 'pre-prepare', to: 2 }));
      c.submit(X, [0]);
      c.deliverWhere(where({ type: 'request' }));
      c.deliverWhere(where({ type: 'pre-prepare', to: 1 }));
      c.sync(1); // r1's PRE-PREPARE record: its PREPARE goes out
      c.deliverWhere(where({ type: 'prepare', from: 1, to: 0 }));
      c.inject(3, 0, prepare(0, 1, [X]));
      c.deliverWhere(where({ type: 'prepare', from: 3, to: 0 }));
      c.deliverWhere(where({ type: 'commit', from: 0, to: 1 }));
      c.inject(3, 1, commit(0, 1, [X]));
      c.deliverWhere(where({ type: 'commit', from: 3, to: 1 }));
      c.inject(3, 1, prepare(0, 1, [X])); // r1 prepares and commits in one step, its prepared record unsynced
      c.deliverWhere(where({ type: 'prepare', from: 3, to: 1 }));
      assert.deepEqual(c.history(1), [{ seq: 1, requests: ['c1#1'] }]);
      const fromCorrect = c.replies.filter((r) => r.request === 'c1#1' && r.from !== 3).length;
      const acknowledged = fromCorrect + 1 >= 2; // r3 sends its matching reply too
      assert.equal(acknowledged, !repliesWait);
      c.restart(1); // power cut before the sync
      c.syncAtOnce(1);
      unblock();
      c.blackhole(involving(0));
      c.submit(req(2, 1, 'Y'), [1, 2]);
      c.inject(3, [1, 2], viewChange({ newView: 1, replica: 3 }));
      c.runUntil((c) => c.status(2).view === 1 && c.status(2).viewActive, 300, { replicas: [1, 2] });
      c.inject(3, [1, 2], prepare(1, 1, [req(2, 1, 'Y')]));
      c.inject(3, [1, 2], commit(1, 1, [req(2, 1, 'Y')]));
      c.runUntil((c) => c.history(2).length >= 1, 300, { replicas: [1, 2] });
      // Y at s1 is harmless only if no client was told X was decided there (asserted above).
      assert.deepEqual(c.history(2)[0], { seq: 1, requests: ['c2#1'] }, 'the new view put Y at s1');
    });
  }
});
