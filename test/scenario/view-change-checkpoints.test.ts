/**
 * A view change across stable checkpoints (VIEW-CHANGE.md V1, V5 min-s, V7),
 * checkpointInterval 4, logWindow 8, one request per batch. The losses these
 * scenarios need (CHECKPOINTs to one replica, view-0 COMMITs) are persistent
 * (`blockWhere`): the core retransmits (C5, R7, R8).
 *  - A backup that missed the CHECKPOINTs of s4 (stable 0; its VIEW-CHANGE
 *    carries s1..s5) and replicas stable at s4 (theirs carry s5 only): the
 *    NEW-VIEW starts from the highest checkpoint, s4 (min-s), re-proposes
 *    only s5, and the lagging backup adopts checkpoint s4 when it installs
 *    the view (its slots s1..s4 go).
 *  - When the new primary is the one behind, it adopts min-s while
 *    installing and proposes only after the NEW-VIEW's PRE-PREPAREs.
 *  - A replica stable above the NEW-VIEW's min-s keeps no slot at or below
 *    its own stable checkpoint.
 * The last two are regression tests for bugs fixed in f931220.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, fastTimers, req, runSteps, where, type Envelope } from './harness.js';

const options = { ...fastTimers, checkpointInterval: 4, logWindow: 8, batchRequestsMax: 1 };
/** CHECKPOINTs to `to` (of `seq`), and the certificates C6 would send it instead (STATE-SUMMARYs). */
const checkpointTo = (to: number, seq?: number) => (e: Envelope): boolean =>
  e.kind === 'message' &&
  e.to === to &&
  ((e.message.type === 'checkpoint' && (seq === undefined || e.message.seq === seq)) ||
    (e.message.type === 'state-summary' && (seq === undefined || e.message.checkpoint.seq === seq)));

describe('view change across checkpoints', () => {
  it('the NEW-VIEW starts from the highest checkpoint; a backup that missed it adopts it', () => {
    const c = new Cluster({ n: 4, options });
    runSteps(c, [
      {
        step: 's1..s4 execute everywhere; the CHECKPOINTs to r3 are lost, for good (r3 stays at stable 0)',
        run: (c) => {
          c.blockWhere(checkpointTo(3, 4));
          for (let client = 1; client <= 4; client++) c.submit(req(client, 1));
          c.deliverAll();
        },
        check: (c) => {
          assert.deepEqual(c.replicas.map((r) => c.status(r).stableCheckpoint), [4, 4, 4, 0]);
          assert.deepEqual(c.replicas.map((r) => c.status(r).slots), [0, 0, 0, 4]);
        },
      },
      {
        step: 'A prepares at s5 everywhere, commits nowhere (view-0 COMMITs lost for good); r0 crashes; view change at tick 10',
        run: (c) => {
          c.submit(req(5, 1, 'A'));
          c.blockWhere(where({ type: 'commit', view: 0 }));
          c.deliverAll();
          c.crash(0);
          c.run(10);
        },
        expect: [
          'r1 -> r2 view-change v1 C=s4 P=[s5:v0[c5#1]]',
          'r3 -> r1 view-change v1 C=s0 P=[s1:v0[c1#1],s2:v0[c2#1],s3:v0[c3#1],s4:v0[c4#1],s5:v0[c5#1]]',
          'r1 -> r3 new-view v1 V=[r1,r2,r3] O=[s5[c5#1]]',
          'r3 stable checkpoint s4',
          'r3 installs v1 (primary r1)',
          'r3 executes s5 [c5#1]',
        ],
        absent: [/rejects/, /^r\d executes s[1-4] /],
        check: (c) => {
          for (const r of [1, 2, 3]) assert.equal(c.status(r).stableCheckpoint, 4, `r${r}`);
          assertSameHistories(c, [1, 2, 3]);
          assert.equal(c.status(3).slots, 1, 'r3 dropped s1..s4');
        },
      },
    ]);
  });

  it('a new primary that adopts min-s while installing proposes only after the NEW-VIEW is in place', () => {
    // r1 proposes its pending X only after the NEW-VIEW's s5, i.e. at s6, once; no backup
    // rejects anything; X executes in view 1. (Fixed in f931220: adopting the checkpoint inside
    // installView called propose() before O was accepted; r1 proposed X at s5 and s6 and the
    // backups rejected them as conflicting-pre-prepare.)
    const c = new Cluster({ n: 4, options });
    const X = req(9, 1, 'X');
    const A = req(5, 1, 'A');
    runSteps(c, [
      {
        step: 's1..s4 execute everywhere; the CHECKPOINTs to r1 are lost, for good (r1 stays at stable 0)',
        run: (c) => {
          c.blockWhere(checkpointTo(1, 4));
          for (let client = 1; client <= 4; client++) c.submit(req(client, 1));
          c.deliverAll();
        },
        check: (c) => assert.deepEqual(c.replicas.map((r) => c.status(r).stableCheckpoint), [4, 0, 4, 4]),
      },
      {
        step: 'X reaches r1..r3 (not r0); then A reaches all and prepares at s5, commits nowhere (view-0 COMMITs lost for good); r0 crashes',
        run: (c) => {
          c.submit(X, [1, 2, 3]);
          c.deliverAll();
          c.blockWhere(where({ type: 'commit', view: 0 }));
          c.submit(A);
          c.deliverAll();
          c.crash(0);
        },
      },
      {
        step: 'tick 10: view 1; r1 (stable 0) adopts s4 from the VIEW-CHANGEs of r2, r3',
        run: (c) => c.run(10),
        expect: ['r1 -> r2 new-view v1 V=[r1,r2,r3] O=[s5[c5#1]]', 'r2 installs v1 (primary r1)', 'r2 executes s5 [c5#1]'],
        absent: [/rejects pre-prepare from r1/, /^r1 -> r\d pre-prepare v1 s5 \[c9#1\]/],
        check: (c) => {
          assert.deepEqual(
            c.proposalsOf(1).map((p) => `v${p.view} s${p.seq}`),
            ['v1 s6'],
            'PRE-PREPAREs r1 broadcast outside its NEW-VIEW',
          );
          for (const r of [1, 2, 3]) assert.deepEqual(c.executedRequests(r).slice(-2), ['c5#1', 'c9#1'], `r${r}`);
        },
      },
    ]);
  });

  it('a replica stable above the NEW-VIEW checkpoint keeps no slot below its window', () => {
    // n = 7: s1..s8 execute; the CHECKPOINTs of s8 reach only r6 (stable 8; the others stay at 4,
    // their C5 retransmissions lost as well, and r6's C6 answers with the certificate). r0 crashes; r1's NEW-VIEW uses r1..r5 (checkpoint
    // s4) and re-proposes s5..s8. Slots live in (stable, stable + logWindow]: r6 skips the
    // NEW-VIEW's entries at or below its own stable checkpoint s8. (Fixed in f931220: installView
    // created slots s5..s8 at r6.)
    const c = new Cluster({ n: 7, options });
    const checkpoint8 = (e: Envelope): boolean => e.kind === 'message' && e.message.type === 'checkpoint' && e.message.seq === 8;
    const certificateFrom6 = (e: Envelope): boolean => e.kind === 'message' && e.message.type === 'state-summary' && e.from === 6;
    c.blockWhere((e) => (checkpoint8(e) && e.to !== 6) || certificateFrom6(e));
    for (let client = 1; client <= 8; client++) c.submit(req(client, 1));
    c.deliverAll();
    assert.deepEqual(c.replicas.map((r) => c.status(r).stableCheckpoint), [4, 4, 4, 4, 4, 4, 8]);
    c.crash(0);
    c.submit(req(20, 1, 'next'));
    c.deliverAll();
    c.run(10);
    assert.ok(c.traceMatching('r1 -> r6 new-view v1 V=[r1,r2,r3,r4,r5] O=[s5[c5#1],s6[c6#1],s7[c7#1],s8[c8#1]]').length > 0);
    assert.deepEqual(c.history(6).at(-1), { seq: 9, requests: ['c20#1'] });
    assert.equal(c.status(6).stableCheckpoint, 8);
    assert.equal(c.status(6).slots, 1, 'r6 slots (only s9 is above its stable checkpoint)');
  });
});
