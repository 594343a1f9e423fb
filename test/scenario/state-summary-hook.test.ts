/**
 * One replica must not start or steer a state transfer (docs/STATE-TRANSFER.md
 * S4-S15).
 *
 * The attack. n = 4, r1 is Byzantine ("the liar"); r0, r2, r3 are correct.
 * The liar is a real replica that took part in everything so far: it holds a
 * genuine stable checkpoint certificate for s4 (signed by r0, r1, r2, the
 * very CHECKPOINTs they sent) and the image's manifest, whose digest is the
 * certificate's state digest. From then on it never serves a chunk and
 * withholds its own CHECKPOINTs (from r3 all along, from everybody above s4)
 * and its view-change traffic (VIEW-CHANGE, and NEW-VIEW as a primary);
 * otherwise its core runs honestly.
 *
 * The victim, r3, is only slightly behind: the PRE-PREPARE of s4 is delayed
 * to it, so it delivered s1..s3 while the others executed s4 and made
 * checkpoint 4 stable (r3 saw only two CHECKPOINTs for s4, so it has no
 * stable certificate and does not know that it is behind). Now the liar
 * sends r3 a STATE-SUMMARY r3 never asked for, naming checkpoint 4. It passes
 * every check of S7, and today r3 takes it as its transfer target with the
 * liar as the only source: it stops delivering (even once the delayed
 * PRE-PREPARE arrives and s4 commits), would ignore LOG-ENTRIES and does not
 * ask for them, sends no STATE-QUERY (it is not "behind") and, being in a
 * transfer, holds off T2. Its chunk requests all go to the liar, which never
 * answers. r0 and r2 execute up to the window (s12), but checkpoint 8 needs
 * a third CHECKPOINT (r3 cannot execute, the liar withholds), so the window
 * never moves and the views churn for good. (Once traffic above its window
 * makes r3 "behind", its STATE-QUERYs bring r0's and r2's summaries too, but
 * the liar's names a higher genuine checkpoint - it got the others'
 * CHECKPOINTs - and r3 keeps targeting that one, from the liar alone.) Today,
 * after 3,000 ticks r0, r2 have executed 12 of 20 requests, r3 3, and every
 * correct replica installed 21 views; all 3,008 chunk requests went to r1.
 *
 * Expected: a state transfer is never started or steered by one replica, it
 * widens its sources when it stalls, and it does not block delivery from
 * the log when the log proves what comes next. Asserted: r0, r2 and r3 each
 * execute all 20 requests within 3,000 ticks, with at most 2 views
 * installed, and agree. The control run (no summary, the liar withholding
 * the same way) executes all 20 in view 0: the summary alone makes the
 * difference.
 *
 * A second case: the steering. r3 is cut off while s1..s16 execute, so it
 * is far behind and legitimately asks for summaries (S4 b, S5). The liar
 * answers with its genuine certificate for a checkpoint only it holds as
 * stable (it got the others' CHECKPOINTs, they never got its own), above the
 * one r0 and r2 name; today r3 targets that one with the liar as its only
 * source and never catches up, though r0 and r2 serve checkpoint 12 and the
 * log after it. Asserted: within 1,000 ticks r3 has caught up at least to
 * what was executed while it was cut off (16 entries, the same as r0's).
 * The control run (the liar's summaries lost) does.
 *
 * Options as in state-transfer.test.ts: a checkpoint every 4 batches, a
 * window of 8, one request per batch, pipelineMax 4, 16-byte chunks, the
 * harness's fast timers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckpointMessage, ReplicaMessage, StateSummaryMessage } from '../../src/core/messages.js';
import {
  checkpointCertificate,
  Cluster,
  type Envelope,
  fakeCrypto,
  fastTimers,
  involving,
  req,
  where,
} from './harness.js';

const options = { ...fastTimers, checkpointInterval: 4, logWindow: 8, batchRequestsMax: 1, pipelineMax: 4, chunkBytes: 16 };
const LIAR = 1;
const CORRECT = [0, 2, 3];
const REQUESTS = 20;

const fromLiar = (types: readonly ReplicaMessage['type'][]) => (e: Envelope): boolean =>
  e.kind === 'message' && e.from === LIAR && types.includes(e.message.type);

function describeRun(c: Cluster): string {
  const chunkRequests = c.traceMatching(/^r3 -> r\d chunk-request /);
  const servers = [...new Set(chunkRequests.map((line) => line.slice(6, 8)))].sort();
  return (
    `service log length per replica [${c.replicas.map((r) => c.serviceLog(r).length).join(',')}], ` +
    `views installed [${c.replicas.map((r) => c.status(r).viewChanges).join(',')}], ` +
    `stable checkpoints [${c.replicas.map((r) => c.status(r).stableCheckpoint).join(',')}], ` +
    `r3 sent ${chunkRequests.length} chunk requests (to ${servers.join(',') || 'nobody'}), ` +
    `${c.traceMatching(/^r3 -> r\d state-query/).length} state queries, ` +
    `ignored ${c.traceMatching(/^r3 ignores log-entries/).length} LOG-ENTRIES`
  );
}

/** The listed replicas hold the same service state (histories may differ: a replica may install a checkpoint instead of executing). */
function assertSameServiceLogs(c: Cluster, replicas: readonly number[]): void {
  for (const r of replicas) assert.deepEqual(c.serviceLog(r), c.serviceLog(replicas[0] as number), `r${r} and r${replicas[0]} hold different service states`);
}

/** The unsolicited-summary attack (`withSummary`) or its control run. */
function slightlyBehind(withSummary: boolean): Cluster {
  const c = new Cluster({ n: 4, options, byzantine: [LIAR] });
  // The liar withholds its chunks and view-change traffic, its CHECKPOINTs from r3, and every CHECKPOINT above s4.
  c.blockWhere(fromLiar(['chunk', 'view-change', 'new-view']));
  c.blockWhere((e) => fromLiar(['checkpoint'])(e) && ((e as { message: CheckpointMessage }).message.seq > 4 || e.to === 3));
  // s1..s4; the PRE-PREPARE of s4 to r3 is delayed (held in the queue).
  const delayed = where({ type: 'pre-prepare', seq: 4, to: 3 });
  for (let client = 1; client <= 4; client++) c.submit(req(client, 1));
  c.deliverWhere((e) => !delayed(e));
  assert.deepEqual(
    c.replicas.map((r) => [c.status(r).lastDelivered, c.status(r).stableCheckpoint]),
    [[4, 4], [4, 4], [4, 4], [3, 0]],
    'premise: checkpoint 4 is stable at r0..r2; r3 delivered s3 and knows of no stable checkpoint',
  );
  assert.equal(c.pending.filter(delayed).length, 1, 'premise: the PRE-PREPARE of s4 to r3 is still in flight');

  if (withSummary) {
    // What the liar holds: checkpoint 4's manifest and its quorum certificate - the same signatures as the CHECKPOINTs r0..r2 sent.
    const manifest = c.checkpointManifest(LIAR, 4);
    assert.ok(manifest !== undefined, 'premise: the liar keeps the image of checkpoint 4');
    const stateDigest = fakeCrypto(LIAR).manifestDigest(manifest);
    for (const r of [0, 2]) {
      const sent = c.sentBy(r, 'checkpoint').find((s) => s.message.type === 'checkpoint' && s.message.seq === 4)?.message as CheckpointMessage;
      assert.deepEqual(sent.stateDigest, stateDigest, `premise: r${r} signed checkpoint 4 with the manifest's digest`);
    }
    const status = c.status(LIAR);
    const summary: StateSummaryMessage = {
      type: 'state-summary',
      view: status.view,
      viewActive: status.viewActive,
      checkpoint: checkpointCertificate(4, stateDigest, [0, 1, 2]),
      manifest,
      lastDelivered: status.lastDelivered,
    };
    c.inject(LIAR, 3, summary);
    c.deliverWhere((e) => !delayed(e));
    assert.deepEqual(c.traceMatching(/^r3 -> r\d state-query/), [], 'premise: r3 never asked for a summary');
    // (A fix may refuse it for being unsolicited; what matters is that it is no forgery.)
    assert.deepEqual(
      c.traceMatching(/^r3 rejects state-summary from r1: (bad-checkpoint-certificate|manifest-)/),
      [],
      'premise: the summary passes every check of S7',
    );
  }
  c.deliverAll(); // the delayed PRE-PREPARE arrives
  for (let client = 5; client <= REQUESTS; client++) c.submit(req(client, 1));
  return c;
}

/** The steering attack (`liarAnswers`) or its control run (the liar's summaries are lost). */
function farBehind(liarAnswers: boolean): Cluster {
  const c = new Cluster({ n: 4, options, byzantine: [LIAR] });
  c.blockWhere(fromLiar(['chunk', 'view-change', 'new-view']));
  c.blockWhere((e) => fromLiar(['checkpoint'])(e) && (e as { message: CheckpointMessage }).message.seq > 12);
  if (!liarAnswers) c.blockWhere(fromLiar(['state-summary']));
  const heal = c.blackhole(involving(3));
  for (let client = 1; client <= 16; client++) {
    c.submit(req(client, 1), [0, 1, 2]);
    c.deliverAll();
  }
  heal();
  assert.deepEqual(
    c.replicas.map((r) => [c.status(r).lastExecuted, c.status(r).stableCheckpoint]),
    [[16, 12], [16, 16], [16, 12], [0, 0]],
    'premise: r0, r2 hold checkpoint 12 as stable, the liar also 16 (it got their CHECKPOINTs, they never got its own); r3 was cut off',
  );
  for (let client = 17; client <= REQUESTS; client++) c.submit(req(client, 1));
  return c;
}

describe('an unsolicited or lone STATE-SUMMARY does not hook a correct replica', () => {
  it('a replica one batch behind, sent a valid summary it never asked for by a replica that then serves nothing, still executes everything', () => {
    const c = slightlyBehind(true);
    const ticks = c.runUpTo(() => CORRECT.every((r) => c.serviceLog(r).length === REQUESTS), 3000);
    assert.deepEqual(
      CORRECT.map((r) => c.serviceLog(r).length),
      CORRECT.map(() => REQUESTS),
      `r0, r2, r3 execute all ${REQUESTS} requests within 3000 ticks; after ${ticks} ticks: ${describeRun(c)}`,
    );
    assert.ok(CORRECT.every((r) => c.status(r).viewChanges <= 2), `at most 2 views installed: ${describeRun(c)}`);
    assertSameServiceLogs(c, CORRECT);
  });

  it('control: without the summary the same run executes everything in view 0', () => {
    const c = slightlyBehind(false);
    const ticks = c.runUpTo(() => CORRECT.every((r) => c.serviceLog(r).length === REQUESTS), 3000);
    assert.deepEqual(CORRECT.map((r) => c.serviceLog(r).length), CORRECT.map(() => REQUESTS), `after ${ticks} ticks: ${describeRun(c)}`);
    assert.deepEqual(CORRECT.map((r) => c.status(r).viewChanges), [0, 0, 0]);
    assertSameServiceLogs(c, CORRECT);
  });

  it("a replica far behind is not steered by the one replica naming a higher checkpoint that it then never serves", () => {
    const c = farBehind(true);
    const ticks = c.runUpTo(() => c.serviceLog(3).length >= 16, 1000);
    assert.ok(c.serviceLog(3).length >= 16, `r3 caught up to the 16 requests executed while it was cut off within 1000 ticks; after ${ticks} ticks: ${describeRun(c)}`);
    assert.deepEqual(c.serviceLog(3).slice(0, 16), c.serviceLog(0).slice(0, 16));
  });

  it("control: with the liar's summaries lost, the replica far behind catches up from r0 and r2", () => {
    const c = farBehind(false);
    const ticks = c.runUpTo(() => c.serviceLog(3).length >= 16, 1000);
    assert.ok(c.serviceLog(3).length >= 16, `after ${ticks} ticks: ${describeRun(c)}`);
    assert.deepEqual(c.serviceLog(3).slice(0, 16), c.serviceLog(0).slice(0, 16));
  });

  it('a replica that caught up from the log learns the later stable checkpoints from summaries, and keeps up', () => {
    // After installing checkpoint 12 r3 delivers s13..s20 from LOG-ENTRIES; the CHECKPOINTs of 16 and 20
    // came while they were above its window and are not resent once stable. Unless a summary's proven
    // checkpoint at or below what it delivered becomes its stable one, its window stays at (12, 20]
    // and it can never accept s21.
    const c = farBehind(false);
    const ticks = c.runUpTo(() => c.serviceLog(3).length >= REQUESTS, 1000);
    assert.equal(c.serviceLog(3).length, REQUESTS, `after ${ticks} ticks: ${describeRun(c)}`);
    for (let client = REQUESTS + 1; client <= REQUESTS + 8; client++) c.submit(req(client, 1));
    const more = c.runUpTo(() => CORRECT.every((r) => c.serviceLog(r).length === REQUESTS + 8), 1000);
    assert.deepEqual(
      CORRECT.map((r) => c.serviceLog(r).length),
      CORRECT.map(() => REQUESTS + 8),
      `every correct replica executes the next requests too; after ${more} more ticks: ${describeRun(c)}`,
    );
    assertSameServiceLogs(c, CORRECT);
  });
});
