/**
 * A Byzantine primary of the new view (VIEW-CHANGE.md V3, V4, V6, T4).
 * n = 4; r1, the primary of view 1, is Byzantine: its core is silenced
 * (`crash`) and the test speaks for it with `inject`, signing only as r1.
 * Batch A prepared at s1 in view 0 at r0, r2, r3 and committed nowhere (its
 * COMMITs are lost, retransmissions (R7) included, until view 1 is reached);
 * r2 and r3 time out, r0 joins them (f + 1 VIEW-CHANGEs), and r0, r2, r3
 * wait for r1's NEW-VIEW. The backups recompute the NEW-VIEW from its
 * VIEW-CHANGEs and refuse:
 *  (a) one that drops A's certificate (no PRE-PREPARE at s1, a null request
 *      or another batch there): `new-view-wrong-pre-prepares`; they then
 *      time out (T4, newViewTimeoutTicks after the quorum) to view 2, whose
 *      primary r2 is correct, and A executes at s1 in view 2;
 *  (b) one with fewer than a quorum of VIEW-CHANGEs, or the same replica's
 *      twice: `new-view-without-quorum`, `new-view-bad-view-changes`;
 *  (c) one containing a VIEW-CHANGE r1 forged for r3 (signed by r1, or a
 *      bad signature): `new-view-bad-view-change`;
 *  (d) a VIEW-CHANGE (for view 2) from r1 carrying a certificate for another
 *      batch at s1 with a higher, fake view (r1's own PRE-PREPARE as primary
 *      of view 1 with forged PREPAREs, or PREPAREs that include the primary),
 *      or one from a view not below the new view: `view-change-bad-certificate`
 *      / `view-change-certificate-from-future`, so it cannot outbid A;
 *  (e) one whose VIEW-CHANGEs were emptied of their certificates, their
 *      genuine signatures kept: `new-view-bad-view-change`, so (f) a batch
 *      committed at one correct replica cannot be replaced through it.
 * (e) and (f) are regression tests: before f931220 a VIEW-CHANGE inside a
 * NEW-VIEW whose signature a backup already held was not checked again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertSameHistories,
  badSignature,
  Cluster,
  fastTimers,
  honestPrePrepares,
  newView,
  prePrepare,
  preparedCertificate,
  req,
  runSteps,
  tampered,
  viewChange,
  where,
} from './harness.js';

const A = req(1, 1, 'A');
const B = req(2, 1, 'B');

/**
 * A prepared at s1 at r0, r2, r3 (v0), committed nowhere: the view-0 COMMITs
 * are lost, and so are their retransmissions at tick 8 (R7); r0, r2, r3
 * moved to view 1 at tick 10 and wait for r1. The network then heals.
 */
function preparedThenViewChange(): Cluster {
  const c = new Cluster({ n: 4, options: fastTimers });
  c.crash(1); // Byzantine: only the test speaks for r1
  c.submit(A, [0, 2, 3]);
  c.deliverWhere(where({ type: ['request', 'pre-prepare', 'prepare'] }));
  const heal = c.blockWhere(where({ type: 'commit', view: 0 }));
  c.run(10);
  heal();
  assert.ok(c.traceMatching('drop r2 -> r0 commit v0 s1 [c1#1]').length >= 2, 'the COMMIT and its retransmission were lost');
  for (const r of [0, 2, 3]) {
    assert.deepEqual({ view: c.status(r).view, active: c.status(r).viewActive }, { view: 1, active: false }, `r${r}`);
    assert.deepEqual(c.history(r), [], `r${r} executed nothing`);
  }
  return c;
}

const viewChangesFor1 = (c: Cluster) => [0, 2, 3].map((r) => c.viewChangeOf(r, 1));

describe('a Byzantine primary of the new view', () => {
  it('(a) a NEW-VIEW that drops a prepared certificate is refused; T4 moves to view 2, where A executes at s1', () => {
    const c = preparedThenViewChange();
    const vcs = viewChangesFor1(c);
    runSteps(c, [
      {
        step: "the VIEW-CHANGEs of r0, r2, r3 all carry A's certificate",
        run: () => {},
        check: () => {
          for (const vc of vcs) assert.deepEqual(vc.prepared.map((p) => c.digestName(p.prePrepare.digest)), ['[c1#1]']);
          assert.deepEqual(honestPrePrepares(1, vcs, 4).map((pp) => pp.seq), [1]);
        },
      },
      {
        step: 'r1 sends NEW-VIEWs with those VIEW-CHANGEs but O = [], O = [null at s1], O = [B at s1]',
        run: (c) => {
          c.inject(1, [0, 2, 3], newView(1, vcs, []));
          c.inject(1, [0, 2, 3], newView(1, vcs, [prePrepare(1, 1, [], undefined, 1)]));
          c.inject(1, [0, 2, 3], newView(1, vcs, [prePrepare(1, 1, [B], undefined, 1)]));
          c.deliverAll();
        },
        expect: [
          'r1 -> r0 new-view v1 V=[r0,r2,r3] O=[]',
          'r0 rejects new-view from r1: new-view-wrong-pre-prepares',
          'r1 -> r0 new-view v1 V=[r0,r2,r3] O=[s1 null]',
          'r0 rejects new-view from r1: new-view-wrong-pre-prepares',
          'r1 -> r0 new-view v1 V=[r0,r2,r3] O=[s1[c2#1]]',
          'r0 rejects new-view from r1: new-view-wrong-pre-prepares',
        ],
        absent: [/installs/],
        check: (c) => {
          assert.equal(c.rejections.filter((r) => r.reason === 'new-view-wrong-pre-prepares').length, 9);
        },
      },
      {
        step: 'T4: newViewTimeoutTicks (20) after the quorum of VIEW-CHANGEs (tick 10), everybody moves to view 2; r2 installs it',
        run: (c) => c.runUntil((c) => [0, 2, 3].every((r) => c.status(r).view === 2 && c.status(r).viewActive), 40),
        expect: [
          'r0 starts view change to v2',
          'r2 -> r0 new-view v2 V=[r2,r0,r3] O=[s1[c1#1]]',
          'r0 installs v2 (primary r2)',
          'r0 executes s1 [c1#1]',
          'r0 -> c1 reply c1#1 "A:1" (v2)',
        ],
        check: (c) => {
          for (const r of [0, 2, 3]) assert.equal(c.viewEventTick(r, 'started', 2), 30, `r${r} T4 at 10 + 20`);
          assertSameHistories(c, [0, 2, 3]);
          assert.deepEqual(c.history(0), [{ seq: 1, requests: ['c1#1'] }]);
        },
      },
    ]);
  });

  it('(b) a NEW-VIEW with fewer than a quorum of VIEW-CHANGEs, or one replica twice, is refused', () => {
    const c = preparedThenViewChange();
    const [vc0, vc2, vc3] = viewChangesFor1(c);
    assert.ok(vc0 !== undefined && vc2 !== undefined && vc3 !== undefined);
    runSteps(c, [
      {
        step: 'NEW-VIEW(1) with [r2, r3] (2 < quorum 3), with [r2, r2, r3], and one sent by r2 instead of r1',
        run: (c) => {
          c.inject(1, [0, 2, 3], newView(1, [vc2, vc3], honestPrePrepares(1, [vc2, vc3], 4, {}, 1)));
          c.inject(1, [0, 2, 3], newView(1, [vc2, vc2, vc3], honestPrePrepares(1, [vc2, vc3], 4, {}, 1)));
          c.inject(2, [0, 3], newView(1, [vc0, vc2, vc3], honestPrePrepares(1, [vc0, vc2, vc3], 4, {}, 1)));
          c.deliverAll();
        },
        expect: [
          'r0 rejects new-view from r1: new-view-without-quorum',
          'r0 rejects new-view from r1: new-view-bad-view-changes',
          'r0 rejects new-view from r2: new-view-not-from-primary',
        ],
        absent: [/installs/],
        check: (c) => {
          for (const r of [0, 2, 3]) assert.equal(c.status(r).viewActive, false);
        },
      },
    ]);
  });

  it('(c) a NEW-VIEW containing a forged VIEW-CHANGE is refused', () => {
    const c = preparedThenViewChange();
    const [vc0, vc2, vc3] = viewChangesFor1(c);
    assert.ok(vc0 !== undefined && vc2 !== undefined && vc3 !== undefined);
    // r1 makes up a VIEW-CHANGE "of r3" without A's certificate: it cannot sign as r3.
    const signedByR1 = viewChange({ newView: 1, replica: 3, signer: 1 });
    const badSig = { ...viewChange({ newView: 1, replica: 3 }), signature: badSignature() };
    runSteps(c, [
      {
        step: 'NEW-VIEW(1) with [r0, r2, forged r3] whose O fits the forged evidence; r3 itself also receives it',
        run: (c) => {
          for (const forged of [signedByR1, badSig]) {
            // The forged VIEW-CHANGE stands in for r3's; O is what the forged set implies.
            const vcs = [vc0, vc2, forged];
            c.inject(1, [0, 2, 3], newView(1, vcs, honestPrePrepares(1, vcs, 4, {}, 1)));
          }
          c.deliverAll();
        },
        expect: [
          'r0 rejects new-view from r1: new-view-bad-view-change',
          'r2 rejects new-view from r1: new-view-bad-view-change',
          'r3 rejects new-view from r1: new-view-bad-view-change',
          'r0 rejects new-view from r1: new-view-bad-view-change',
        ],
        absent: [/installs/],
      },
    ]);
  });

  it('(d) a VIEW-CHANGE with a forged higher-view certificate is rejected and cannot outbid the real one', () => {
    const c = preparedThenViewChange();
    // r1 is the primary of view 1: it CAN sign a view-1 PRE-PREPARE for B at s1; it cannot sign r2's or r3's PREPAREs.
    const forgedPrepares = preparedCertificate({ view: 1, seq: 1, requests: [B], n: 4, prepares: [2, 3], forged: [2, 3] });
    const primaryAmongPrepares = preparedCertificate({ view: 1, seq: 1, requests: [B], n: 4, prepares: [1, 0] });
    const fromFuture = preparedCertificate({ view: 2, seq: 1, requests: [B], n: 4, prepares: [0, 3], primarySigner: 2 });
    runSteps(c, [
      {
        step: 'before T4, r1 sends VIEW-CHANGE(2) with: forged PREPAREs; PREPAREs including the primary of view 1; a certificate of view 2',
        run: (c) => {
          c.run(5);
          c.inject(1, [0, 2, 3], viewChange({ newView: 2, replica: 1, prepared: [forgedPrepares] }));
          c.inject(1, [0, 2, 3], viewChange({ newView: 2, replica: 1, prepared: [primaryAmongPrepares] }));
          c.inject(1, [0, 2, 3], viewChange({ newView: 2, replica: 1, prepared: [fromFuture] }));
          c.deliverAll();
        },
        expect: [
          'r1 -> r2 view-change v2 C=s0 P=[s1:v1[c2#1]]',
          'r2 rejects view-change from r1: view-change-bad-certificate',
          'r2 rejects view-change from r1: view-change-bad-certificate',
          'r1 -> r2 view-change v2 C=s0 P=[s1:v2[c2#1]]',
          'r2 rejects view-change from r1: view-change-certificate-from-future',
        ],
        absent: [/starts view change to v2/],
      },
      {
        step: "T4 at tick 30: view 2; r2's NEW-VIEW keeps A (view 0) at s1",
        run: (c) => c.runUntil((c) => [0, 2, 3].every((r) => c.status(r).view === 2 && c.status(r).viewActive), 40),
        expect: ['r2 -> r3 new-view v2 V=[r2,r0,r3] O=[s1[c1#1]]', 'r3 executes s1 [c1#1]'],
        absent: [/executes s1 \[c2#1\]/],
        check: (c) => {
          assertSameHistories(c, [0, 2, 3]);
          assert.deepEqual(c.serviceLog(3), ['A']);
        },
      },
    ]);
  });

  it('(e) a NEW-VIEW whose VIEW-CHANGEs had their certificates stripped (signatures kept) is refused', () => {
    // V6: every VIEW-CHANGE inside a NEW-VIEW passes V3-V4, so a body that no longer matches its
    // signature is refused. (Fixed in f931220: checkNewView skipped the check for a VIEW-CHANGE
    // whose signature bytes it already held, and installed view 1 with O = [].)
    const c = preparedThenViewChange();
    const stripped = viewChangesFor1(c).map((vc) => tampered(vc, { prepared: [] }));
    runSteps(c, [
      {
        step: 'r1 sends NEW-VIEW(1) with the three VIEW-CHANGEs emptied of their certificates, and O = []',
        run: (c) => {
          c.inject(1, [0, 2, 3], newView(1, stripped, []));
          c.deliverAll();
        },
        expect: [
          'r0 rejects new-view from r1: new-view-bad-view-change',
          'r2 rejects new-view from r1: new-view-bad-view-change',
          'r3 rejects new-view from r1: new-view-bad-view-change',
        ],
        absent: [/installs v1/],
      },
    ]);
  });

  it('(f) ... so the Byzantine primary cannot replace a batch committed at a correct replica (safety)', () => {
    // A commits at r3 only. r0 (whose own proposal is stuck) and r2 time out [T2]; r1 adds its
    // own (valid) VIEW-CHANGE so r3 joins (f + 1). r1's NEW-VIEW strips A's certificates and is refused, so its PRE-PREPARE
    // (v1, s1, B) never counts; T4 moves everybody to view 2, whose primary r2 re-proposes A at
    // s1. (Fixed in f931220: the stripped NEW-VIEW was installed and r0, r2 executed B at s1
    // where r3 had executed A - the harness's SAFETY check failed.)
    const c = new Cluster({ n: 4, options: fastTimers });
    c.crash(1);
    const heal = c.blockWhere(where({ type: 'commit', view: 0, to: [0, 2] }));
    runSteps(c, [
      {
        step: "A prepares at r0, r2, r3; its COMMITs reach only r3, which executes it; r0's and r2's stay lost",
        run: (c) => {
          c.submit(A, [0, 2, 3]);
          c.deliverAll();
        },
        expect: ['r3 executes s1 [c1#1]'],
        check: (c) => {
          assert.deepEqual([0, 2].map((r) => c.history(r).length), [0, 0]);
        },
      },
      {
        step: 'r0 and r2 time out (tick 10; the R7 / R8 retransmissions of tick 8 were lost too); r1 sends its own VIEW-CHANGE(1); r3 joins',
        run: (c) => {
          c.run(10);
          heal();
          c.inject(1, [0, 2, 3], viewChange({ newView: 1, replica: 1 }));
          c.deliverAll();
        },
        expect: ['drop r3 -> r0 commit v0 s1 [c1#1]' /* r3 answers r0's retransmission (R8): lost */, 'r0 starts view change to v1', 'r2 starts view change to v1', 'r3 starts view change to v1'],
        check: (c) => assert.deepEqual([0, 2].map((r) => c.history(r).length), [0, 0]),
      },
      {
        step: 'r1 sends the stripped NEW-VIEW, then PRE-PREPARE(v1, s1, B): refused, and B never executes',
        run: (c) => {
          const stripped = [0, 2, 3].map((r) => tampered(c.viewChangeOf(r, 1), { prepared: [] }));
          c.inject(1, [0, 2, 3], newView(1, stripped, []));
          c.inject(1, [0, 2, 3], prePrepare(1, 1, [B]));
          c.deliverAll();
        },
        expect: ['r0 rejects new-view from r1: new-view-bad-view-change', 'r3 rejects new-view from r1: new-view-bad-view-change'],
        absent: [/installs v1/, /executes s1 \[c2#1\]/],
      },
      {
        step: 'T4: view 2, whose primary r2 re-proposes A at s1; r0 and r2 execute it, r3 does not execute it again',
        run: (c) => c.runUntil((c) => [0, 2, 3].every((r) => c.status(r).view === 2 && c.status(r).viewActive && c.history(r).length === 1), 60),
        expect: [/^r2 -> r3 new-view v2 V=\[r2,r\d,r\d\] O=\[s1\[c1#1\]\]$/, 'r0 executes s1 [c1#1]'],
        absent: [/executes s1 \[c2#1\]/, /^r3 executes/],
        check: (c) => {
          assertSameHistories(c, [0, 2, 3]);
          for (const r of [0, 2, 3]) assert.deepEqual(c.history(r), [{ seq: 1, requests: ['c1#1'] }], `r${r} at s1`);
        },
      },
    ]);
  });
});
