/**
 * The log window and the view (PROTOCOL.md N3, N9, N12; VIEW-CHANGE.md C4).
 * Agreement messages for a view other than the current one, for sequence
 * numbers at or below the stable checkpoint, or above stable + logWindow are
 * ignored, and they leave no state behind (no slot is created, so a Byzantine
 * replica cannot grow a replica's log). A PRE-PREPARE naming another view is
 * first checked against that view's primary. The window slides with the
 * stable checkpoint (it slid with delivery before checkpoints existed; the
 * tests use a checkpoint interval small enough that the checkpoint follows
 * delivery closely, and `already-delivered` became `below-window`). Messages with a bad
 * sender (itself, or no such replica) are rejected. A replica that falls more
 * than logWindow behind ignores what lies above its window and stays behind:
 * catching up is the job of checkpoints / state transfer (issue 5).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, commit, prePrepare, prepare, req, runSteps, where } from './harness.js';

describe('log window and views', () => {
  it('ignores other views and sequence numbers outside the window, without keeping state', () => {
    const c = new Cluster({ n: 4, options: { logWindow: 4, pipelineMax: 2, batchRequestsMax: 1, checkpointInterval: 2 } });
    const X = [req(9, 1, 'x')];
    runSteps(c, [
      {
        step: 'at stable checkpoint 0 (window s1..s4): messages for s5, s0 and view 1 reach r1',
        run: (c) => {
          c.inject(0, 1, prePrepare(0, 5, X));
          c.inject(2, 1, prepare(0, 5, X));
          c.inject(2, 1, commit(0, 5, X));
          c.inject(0, 1, prePrepare(0, 0, X));
          c.inject(2, 1, prepare(1, 1, X));
          c.inject(2, 1, commit(1, 1, X));
          c.inject(1, 2, prePrepare(1, 1, X)); // r1 is the primary of view 1, r2 is in view 0
          c.inject(0, 1, prePrepare(1, 1, X)); // r0 is not the primary of view 1
          c.deliverAll();
        },
        expect: [
          'r1 ignores pre-prepare from r0: above-window',
          'r1 ignores prepare from r2: above-window',
          'r1 ignores commit from r2: above-window',
          'r1 ignores pre-prepare from r0: below-window',
          'r1 ignores prepare from r2: future-view',
          'r1 ignores commit from r2: future-view',
          'r2 ignores pre-prepare from r1: future-view',
          'r1 rejects pre-prepare from r0: pre-prepare-not-from-primary',
        ],
        absent: [/executes/, /^r1 -> r\d (prepare|commit)/],
        check: (c) => {
          for (const r of c.replicas) assert.equal(c.replica(r).status().slots, 0, `r${r} kept a slot`);
        },
      },
      {
        step: 's4 (the top of the window) is accepted',
        run: (c) => {
          c.inject(2, 1, prepare(0, 4, X));
          c.deliverAll();
        },
        absent: [/ignores|rejects/],
        check: (c) => assert.equal(c.replica(1).status().slots, 1),
      },
      {
        step: 'four requests are executed (s1..s4); checkpoint s4 becomes stable, the window moves to s5..s8',
        run: (c) => {
          for (let client = 1; client <= 3; client++) c.submit(req(client, 1));
          c.deliverAll();
          // s4 at r1 already holds r2's PREPARE for X; the primary now proposes c4#1 at s4.
          c.submit(req(4, 1));
          c.deliverAll();
        },
        check: (c) => {
          for (const r of c.replicas) assert.equal(c.replica(r).status().lastDelivered, 4, `r${r}`);
          for (const r of c.replicas) assert.equal(c.replica(r).status().stableCheckpoint, 4, `r${r}`);
          // r1 counted r2's early vote for X at s4 for X only; s4 still committed on c4#1.
          assert.deepEqual(c.history(1).at(-1), { seq: 4, requests: ['c4#1'] });
          assert.ok(c.traceMatching('r1 rejects prepare from r2: equivocating-prepare').length === 1);
        },
      },
      {
        step: 'now s4 is delivered and stable, s8 in the window, s9 above it',
        run: (c) => {
          c.inject(2, 1, prepare(0, 4, X));
          c.inject(2, 1, prepare(0, 9, X));
          c.inject(2, 1, prepare(0, 8, X));
          c.deliverAll();
        },
        expect: ['r1 ignores prepare from r2: below-window', 'r1 ignores prepare from r2: above-window'],
        check: (c) => {
          assert.equal(c.rejectionsAt(1).filter((r) => r.reason === 'above-window').length, 4);
          assert.equal(c.replica(1).status().slots, 1, 'only the s8 vote is kept');
        },
      },
    ]);
  });

  it('rejects messages claiming to come from the receiver itself or from no replica', () => {
    const c = new Cluster({ n: 4 });
    c.inject(1, 1, prepare(0, 1, [req(1, 1)]));
    c.inject(7, 1, prepare(0, 1, [req(1, 1)]));
    c.inject(-1, 1, commit(0, 1, [req(1, 1)]));
    c.deliverAll();
    assert.deepEqual(c.traceMatching(/^r1 rejects/), [
      'r1 rejects prepare from r1: bad-sender',
      'r1 rejects prepare from r7: bad-sender',
      'r1 rejects commit from r-1: bad-sender',
    ]);
    assert.equal(c.replica(1).status().slots, 0);
  });

  it('a backup more than logWindow behind ignores what lies above its window and stays behind', () => {
    const c = new Cluster({ n: 4, options: { logWindow: 3, pipelineMax: 3, batchRequestsMax: 1, checkpointInterval: 1 } });
    runSteps(c, [
      {
        step: 'r3 is cut off while s1..s6 are agreed by r0, r1, r2',
        run: (c) => {
          for (let client = 1; client <= 6; client++) c.submit(req(client, 1), [0, 1, 2]);
          c.deliverWhere((e) => e.to !== 3);
        },
        check: (c) => {
          for (const r of [0, 1, 2]) assert.equal(c.history(r).length, 6);
          assert.deepEqual(c.history(3), []);
        },
      },
      {
        step: 'r3 first receives the six PRE-PREPAREs, then the PREPAREs and COMMITs',
        run: (c) => {
          c.deliverWhere(where({ to: 3, type: 'pre-prepare' }));
          c.deliverWhere(where({ to: 3 }));
        },
        expect: [
          'r0 -> r3 pre-prepare v0 s3 [c3#1]',
          'r0 -> r3 pre-prepare v0 s4 [c4#1]',
          'r3 ignores pre-prepare from r0: above-window',
          'r3 ignores pre-prepare from r0: above-window',
          'r3 ignores pre-prepare from r0: above-window',
          'r3 executes s1 [c1#1]',
          'r3 executes s3 [c3#1]',
          // The window has moved to s4..s6, but the PRE-PREPAREs for it are gone.
          'r1 -> r3 prepare v0 s4 [c4#1]',
        ],
        absent: [/^r3 executes s4/, /^r3 -> r\d (prepare|commit) v0 s4/],
        check: (c) => {
          assert.equal(c.replica(3).status().lastDelivered, 3);
          assert.equal(c.history(3).length, 3, 'r3 needs state transfer (issue 5) for s4..s6');
        },
      },
    ]);
  });
});
