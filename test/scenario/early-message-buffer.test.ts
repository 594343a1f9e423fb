/**
 * The early-message buffer [V9] (docs/VIEW-CHANGE.md): PRE-PREPARE / PREPARE
 * / COMMIT for the view a replica is changing to, arriving before that
 * view's NEW-VIEW, are kept and replayed once the view is installed.
 *
 * The attack. Today the buffer takes any agreement message for the awaited
 * view from any replica, checking neither the sender, nor the signature, nor
 * the window, and it is bounded by a count (4,096 messages), not by bytes and
 * not per sender. One Byzantine NON-primary can therefore park 4,094
 * maximal PRE-PREPAREs (1 GiB of operations with the default batchBytesMax)
 * in a correct replica during a single view change; the rest of the buffer
 * is lost to the legitimate primary's messages.
 *
 * Setup. n = 4, r0 is Byzantine: as the primary of view 0 it withholds its
 * PRE-PREPAREs (otherwise its core runs honestly; the test speaks for it
 * with `inject`). c1#1 waits at every replica, T2 fires, r1 installs view 1
 * and proposes c1#1; the NEW-VIEW to r3 is lost for a while, so r3 has voted
 * for view 1 and is waiting for its NEW-VIEW (it buffers r1's PRE-PREPARE
 * and the others' PREPAREs for s1, legitimately). In view 1, r0 is a
 * non-primary. batchBytesMax = requestBytesMax = 1,024, logWindow 16.
 *
 * Expected: before buffering, the sender and the window are checked (a
 * PRE-PREPARE only from the view's primary, a PREPARE not from it, sequence
 * numbers within the window) and the buffer is bounded per sender and in
 * bytes. Asserted:
 * - r0 floods r3 with 4,000 PRE-PREPAREs for view 1, each a full 1,024-byte
 *   batch: r3's earlyMessageBytes stays within pipelineMax x batchBytesMax
 *   (4,096 bytes: what the primary can have in flight; r0 adds nothing), and
 *   each of r0's PRE-PREPAREs is rejected as `pre-prepare-not-from-primary`
 *   (reject-peer, as N2 in an active view).
 * - r0 floods r3 with PREPAREs and COMMITs for view 1 - 50 different digests
 *   for each slot of the window, and one for each of 500 slots above it: r3
 *   buffers at most 2 x logWindow (32) more messages (one PREPARE and one
 *   COMMIT per slot of the window from one sender); PREPAREs for view 1 from
 *   its primary r1 are rejected as `prepare-from-primary`.
 * - Either way the view still installs at r3 once the NEW-VIEW arrives (V8),
 *   c1#1 executes at r1, r2, r3, and so does a later request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchDigest, checkpoint, Cluster, commit, fastTimers, prePrepare, prepare, prepareOf, req, stateDigestOf, where } from './harness.js';

const options = { ...fastTimers, batchBytesMax: 1024, requestBytesMax: 1024, logWindow: 16, checkpointInterval: 8, pipelineMax: 4 };
const BYZANTINE = 0;
const LIVE = [1, 2, 3];

/** r0 withheld its proposals; r1 installed view 1 and proposed c1#1; r3 voted for view 1 and awaits its NEW-VIEW. Returns the lift of the NEW-VIEW loss. */
function r3AwaitingNewView(): { c: Cluster; deliverNewView: () => void } {
  const c = new Cluster({ n: 4, options, byzantine: [BYZANTINE] });
  // (Its core's own PRE-PREPAREs only: what the test injects for it goes through.)
  c.blockWhere((e) => where({ type: 'pre-prepare', from: BYZANTINE })(e) && e.kind === 'message' && !e.injected);
  const deliverNewView = c.blockWhere(where({ type: 'new-view', to: 3 }));
  c.submit(req(1, 1, 'a'));
  c.runUntil((c) => c.status(1).viewActive && c.status(1).view === 1 && c.status(3).view === 1, 40);
  const s3 = c.status(3);
  assert.deepEqual([s3.view, s3.viewActive], [1, false], 'premise: r3 voted for view 1 and awaits its NEW-VIEW');
  assert.ok(c.traceMatching('r1 -> r3 pre-prepare v1 s1 [c1#1]').length > 0, 'premise: the new primary proposed c1#1 to r3');
  assert.ok(s3.earlyMessages >= 1, 'premise: r3 holds the primary\'s PRE-PREPARE for view 1');
  return { c, deliverNewView };
}

/** The NEW-VIEW reaches r3 (V8: r1 answers its resent VIEW-CHANGE); c1#1, then c2#1, execute at r1..r3. */
function viewStillWorks(c: Cluster, deliverNewView: () => void): void {
  deliverNewView();
  c.runUntil((c) => c.status(3).viewActive, 30);
  assert.equal(c.status(3).view, 1, 'r3 installs view 1');
  c.runUntil((c) => LIVE.every((r) => c.executedRequests(r).includes('c1#1')), 60);
  c.submit(req(2, 1, 'b'));
  c.runUntil((c) => LIVE.every((r) => c.executedRequests(r).includes('c2#1')), 60);
  for (const r of LIVE) assert.deepEqual(c.serviceLog(r), ['a', 'b'], `r${r}`);
  assert.equal(c.status(3).earlyMessages, 0, 'the buffer is empty once the view is installed');
}

describe('the early-message buffer [V9] checks the sender and the window, and is bounded per sender and in bytes', () => {
  it('a non-primary flooding PRE-PREPAREs for the awaited view is rejected and parks no bytes', () => {
    const { c, deliverNewView } = r3AwaitingNewView();
    const bound = options.pipelineMax * options.batchBytesMax;
    const before = c.status(3);
    assert.ok(before.earlyMessageBytes <= bound, `premise: ${before.earlyMessageBytes} legitimate bytes`);

    const FLOOD = 4000;
    const operation = 'x'.repeat(options.batchBytesMax);
    for (let i = 0; i < FLOOD; i++) c.inject(BYZANTINE, 3, prePrepare(1, (i % 200) + 1, [req(100 + i, 1, operation)]));
    c.deliverAll();
    assert.equal(c.traceMatching(/^r0 -> r3 pre-prepare v1 /).length, FLOOD, 'premise: the flood reached r3');
    assert.equal(c.status(3).viewActive, false, 'premise: r3 still awaits the NEW-VIEW');

    const after = c.status(3);
    assert.ok(
      after.earlyMessageBytes <= bound,
      `r3 holds ${after.earlyMessageBytes} bytes of operations in ${after.earlyMessages} early messages ` +
        `(${before.earlyMessageBytes} bytes in ${before.earlyMessages} before r0's flood of ${FLOOD} PRE-PREPAREs); ` +
        `bound pipelineMax x batchBytesMax = ${bound}`,
    );
    const rejected = c.rejectionsAt(3).filter((r) => r.from === `r${BYZANTINE}` && r.messageType === 'pre-prepare');
    assert.equal(
      rejected.filter((r) => r.action === 'reject-peer' && r.reason === 'pre-prepare-not-from-primary').length,
      FLOOD,
      `each of r0's PRE-PREPAREs rejected as pre-prepare-not-from-primary before the NEW-VIEW; got ${rejected.length} rejections ` +
        `(${[...new Set(rejected.map((r) => `${r.action}:${r.reason}`))].join(', ') || 'none'})`,
    );
    viewStillWorks(c, deliverNewView);
  });

  it('one sender flooding PREPAREs and COMMITs for the awaited view fills at most its share; the primary\'s PREPAREs are rejected', () => {
    const { c, deliverNewView } = r3AwaitingNewView();
    const before = c.status(3);
    let sent = 0;
    // In the window: 50 different digests for each slot, a PREPARE and a COMMIT each.
    for (let s = 1; s <= options.logWindow; s++) {
      for (let k = 0; k < 50; k++) {
        const junk = [req(900 + k, s, `junk${k}`)];
        c.inject(BYZANTINE, 3, prepare(1, s, junk));
        c.inject(BYZANTINE, 3, commit(1, s, junk));
        sent += 2;
      }
    }
    // Above the window.
    for (let s = options.logWindow + 1; s <= options.logWindow + 500; s++) {
      const junk = [req(999, s, 'junk')];
      c.inject(BYZANTINE, 3, prepare(1, s, junk));
      c.inject(BYZANTINE, 3, commit(1, s, junk));
      sent += 2;
    }
    c.deliverAll();
    assert.equal(c.status(3).viewActive, false, 'premise: r3 still awaits the NEW-VIEW');
    const after = c.status(3);
    const bound = 2 * options.logWindow;
    assert.ok(
      after.earlyMessages - before.earlyMessages <= bound,
      `r0's ${sent} PREPAREs / COMMITs for view 1 added ${after.earlyMessages - before.earlyMessages} early messages at r3 ` +
        `(${before.earlyMessages} before, ${after.earlyMessages} after); bound 2 x logWindow = ${bound} per sender`,
    );

    // PREPAREs for view 1 from its primary: never valid (N9), never buffered.
    const fromPrimary = [1, 2, 3, 4, 5].map((s) => prepareOf(1, s, batchDigest([req(1, 1, 'a')])));
    for (const m of fromPrimary) c.inject(1, 3, m);
    c.deliverAll();
    const rejected = c.rejectionsAt(3).filter((r) => r.from === 'r1' && r.messageType === 'prepare');
    assert.equal(
      rejected.filter((r) => r.reason === 'prepare-from-primary').length,
      fromPrimary.length,
      `PREPAREs from view 1's primary rejected as prepare-from-primary before the NEW-VIEW; early messages now ${c.status(3).earlyMessages}`,
    );
    viewStillWorks(c, deliverNewView);
  });

  it('what falls below the window when a checkpoint becomes stable meanwhile is dropped, so the bound holds for the new window', () => {
    // Simulator seed 4872: a replica awaiting a NEW-VIEW kept the primary's PRE-PREPAREs of the old
    // window after a checkpoint moved it, and took those of the new window too (150 bytes, bound 128).
    const { c } = r3AwaitingNewView();
    const bound = options.logWindow * options.batchBytesMax;
    const operation = 'y'.repeat(options.batchBytesMax);
    const propose = (from: number, to: number): void => {
      for (let s = from; s <= to; s++) c.inject(1, 3, prePrepare(1, s, [req(200 + s, 1, operation)]));
      c.deliverAll();
    };
    propose(2, options.logWindow);
    assert.ok(c.status(3).earlyMessageBytes > (options.logWindow - 2) * options.batchBytesMax, 'premise: the window (0, 16] is held full');
    // Checkpoint 8 becomes stable at r3 (three matching CHECKPOINTs) while it still awaits the NEW-VIEW.
    const digest = stateDigestOf(['a']);
    for (const signer of [0, 1, 2]) c.inject(signer, 3, checkpoint(options.checkpointInterval, digest, signer));
    c.deliverAll();
    assert.deepEqual([c.status(3).stableCheckpoint, c.status(3).viewActive], [options.checkpointInterval, false], 'premise: the window moved to (8, 24]');
    propose(options.logWindow + 1, options.logWindow + options.checkpointInterval);
    const after = c.status(3);
    assert.ok(
      after.earlyMessageBytes <= bound,
      `r3 holds ${after.earlyMessageBytes} bytes in ${after.earlyMessages} early messages; bound logWindow x batchBytesMax = ${bound}`,
    );
  });
});

