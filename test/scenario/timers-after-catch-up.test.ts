/**
 * The request timers (T1, T2) after a long checkpoint transfer ends: the
 * primary gets a whole T2 from the end of the hold-off, not from the arrival
 * of a request that waited here during the transfer (docs/VIEW-CHANGE.md T1,
 * T2; docs/STATE-TRANSFER.md S5, S12; an adversarial review).
 *
 * While a checkpoint is fetched, T1 and T2 are held off (S5): a replica
 * behind says nothing about the primary by its own waiting requests. T2's
 * starvation part (4 x T2) counts from max(the request's arrival, the view's
 * install), and installing the checkpoint resets only the other part. So a
 * request that arrived during a transfer longer than 4 x T2 starved the
 * moment the hold-off ended: on the tick after the install, before the
 * LOG-ENTRIES asked for at install could arrive, the replica voted a correct
 * primary out.
 *
 * The run. n = 4, fastTimers (T1 = 5, T2 = 10, starvation 40), a checkpoint
 * every 4 batches, a window of 8, one request per batch, 16-byte chunks. r3
 * is cut off while s1..s12 are ordered (checkpoint 12 stable at r0..r2),
 * then the network heals and c13#1 (sent to r0..r2) is ordered at s13: r3
 * hears of s13 from f + 1 replicas, far above its window (S4 b), and starts
 * fetching checkpoint 12. Every CHUNK to r3 is lost for 45 ticks (> 4 x
 * T2; with the fetch's timeouts backing off, r3 installs 67 ticks
 * after the request below reached it). Then every message takes one tick
 * (`aged(1)`), so the LOG-ENTRIES r3 asks for at install (S12, S13) arrive
 * two ticks after it.
 *
 * 1. At the start of the transfer c14#1 is sent to every replica: r0..r2
 *    order it at s14 while r3 still fetches; r3 holds it. Before the fix:
 *    "r3 installs checkpoint s12", on the next tick "r3 starts view change
 *    to v1", then it executes s13 and s14 from the log.
 * 2. At the start of the transfer c14#1 is sent to r3 only (a Byzantine
 *    client, or one whose other links fail). When the hold-off ends, T1
 *    forwards it to the primary; before the fix starvation fired in the
 *    same tick (the tick after the install), before the FORWARD even
 *    reached the primary, and r3 then refused r0's PRE-PREPARE of it as
 *    from an old view.
 *
 * Expected: r3 catches up (executes s13 and s14, agrees with the others),
 * case 2's request is ordered after r0 receives r3's FORWARD, and nobody
 * changes view: r3 sends no VIEW-CHANGE, every replica stays active in view
 * 0, also for 2 x 4 x T2 ticks after r3 caught up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, fastTimers, involving, req, where } from './harness.js';

const options = { ...fastTimers, checkpointInterval: 4, logWindow: 8, batchRequestsMax: 1, pipelineMax: 4, chunkBytes: 16 };
const T2 = options.viewChangeTimeoutTicks;
const STARVATION = 4 * T2;
/** Ticks every CHUNK to r3 is lost: longer than the starvation timeout. */
const CHUNKS_LOST_TICKS = 45;
/** r3 transferring and still holding c14#1 (both cases). */
const REQUEST = 'c14#1';

const delivered = (c: Cluster): number[] => c.replicas.map((r) => c.status(r).lastDelivered);
const installLines = (c: Cluster): string[] => c.traceMatching(/^r3 installs checkpoint/);

/**
 * r3 cut off while s1..s12 are ordered; healed, it learns of s13 and starts
 * fetching checkpoint 12, whose chunks to it are lost until `chunksToR3()`.
 */
function r3FetchingCheckpoint12(): { c: Cluster; chunksToR3: () => void } {
  const c = new Cluster({ n: 4, options });
  const heal = c.blackhole(involving(3));
  for (let client = 1; client <= 12; client++) {
    c.submit(req(client, 1), [0, 1, 2]);
    c.deliverAll();
  }
  heal();
  assert.deepEqual(
    c.replicas.map((r) => [c.status(r).lastDelivered, c.status(r).stableCheckpoint]),
    [[12, 12], [12, 12], [12, 12], [0, 0]],
    'premise: checkpoint 12 is stable at r0..r2; r3 was cut off',
  );
  const chunksToR3 = c.blockWhere(where({ type: 'chunk', to: 3 }));
  c.submit(req(13, 1), [0, 1, 2]);
  c.deliverAll();
  assert.deepEqual(delivered(c), [13, 13, 13, 0], 'premise: s13 ordered by r0..r2 with r3 listening');
  c.runUpTo(() => c.traceMatching(/^r3 -> r\d chunk-request s12 #/).length > 0, 10);
  assert.ok(c.traceMatching(/^r\d -> r3 state-summary v0 C=s12 /).length >= 2, 'premise: f + 1 replicas name checkpoint 12 to r3');
  assert.ok(c.traceMatching(/^r3 -> r\d chunk-request s12 #/).length > 0, 'premise: r3 fetches checkpoint 12 (its transfer target)');
  assert.equal(c.status(3).pendingRequests, 0, 'premise: nothing waits at r3 yet');
  return { c, chunksToR3 };
}

/**
 * With r3's transfer under way: `send` sends c14#1, the chunks to r3 stay
 * lost for CHUNKS_LOST_TICKS, then every message takes a tick until r3
 * installs checkpoint 12 (`duringTransfer` checks the premises just before
 * the chunks come through). Returns the tick of the install.
 */
function longTransfer(c: Cluster, chunksToR3: () => void, send: () => void, duringTransfer: () => void): number {
  const arrived = c.now;
  send();
  c.deliverAll();
  assert.ok(c.traceMatching(`c14 -> r3 request ${REQUEST}`).length === 1, `premise: ${REQUEST} reached r3 during its transfer`);
  c.run(CHUNKS_LOST_TICKS);
  assert.deepEqual(installLines(c), [], 'premise: r3 is still fetching');
  assert.ok(c.traceMatching(/^drop r\d -> r3 chunk s12 #/).length > 0, 'premise: chunks of checkpoint 12 were sent to r3 and lost');
  assert.equal(c.status(3).lastDelivered, 0, 'premise: r3 is still at s0');
  assert.equal(c.status(3).pendingRequests, 1, `premise: ${REQUEST} waits at r3`);
  assert.deepEqual(c.viewEvents, [], 'premise: the transfer held r3 timers off, nobody changed view so far');
  duringTransfer();
  chunksToR3();
  c.runUpTo(() => installLines(c).length > 0, 200, { deliver: c.aged(1) });
  assert.deepEqual(installLines(c), ['r3 installs checkpoint s12 (12 entries)'], 'premise: r3 installs checkpoint 12');
  const held = c.now - arrived;
  assert.ok(held > STARVATION, `premise: r3 held ${REQUEST} ${held} ticks before installing, more than 4 x T2 = ${STARVATION}`);
  assert.equal(c.status(3).lastDelivered, 12, 'premise: at install, s13.. are still to come from the log');
  assert.equal(c.status(3).pendingRequests, 1, `premise: ${REQUEST} still waits at r3 (not in checkpoint 12)`);
  return c.now;
}

/**
 * Runs until r0..r3 executed `total` batches (bounded), then 2 x 4 x T2 more
 * ticks; asserts nobody changed view and everybody agrees.
 */
function assertCaughtUpWithoutViewChange(c: Cluster, total: number, installedAt: number): void {
  const ticks = c.runUpTo(() => c.replicas.every((r) => c.status(r).lastExecuted === total), 50, { deliver: c.aged(1) });
  const story = (): string => {
    const events = c.viewEvents.map((e) => `r${e.replica} ${e.kind} v${e.view} at tick ${e.tick} (install + ${e.tick - installedAt})`);
    const after = c.trace.slice(c.trace.indexOf('r3 installs checkpoint s12 (12 entries)'));
    const lines = after.filter((line) => line.startsWith('r3 ') || / -> r3 (log-entries|pre-prepare)/.test(line) || line.includes('forward'));
    return `view events: ${events.join('; ') || 'none'}; r3 from the install on:\n  ${lines.slice(0, 30).join('\n  ')}`;
  };
  const own = c.sentBy(3, 'view-change');
  assert.equal(own.length, 0, `r3 sends no VIEW-CHANGE (it sent ${own.length}, first at tick ${own[0]?.tick}); ${story()}`);
  assert.deepEqual(
    c.replicas.map((r) => c.status(r).lastExecuted),
    c.replicas.map(() => total),
    `every replica executes s1..s${total} within 50 ticks of the install (after ${ticks}: delivered [${delivered(c).join(',')}]); ${story()}`,
  );
  c.run(2 * STARVATION, { deliver: c.aged(1) });
  assert.equal(c.viewEvents.length, 0, `nobody starts or installs a view change; ${story()}`);
  assert.deepEqual(
    c.replicas.map((r) => [c.status(r).view, c.status(r).viewActive]),
    c.replicas.map(() => [0, true]),
    'every replica stays active in view 0',
  );
  for (const r of c.replicas) assert.deepEqual(c.serviceLog(r), c.serviceLog(0), `r${r} and r0 agree`);
  assert.equal(c.status(3).pendingRequests, 0, 'nothing waits at r3');
}

describe('request timers after a checkpoint transfer longer than 4 x T2', () => {
  it('a request the others ordered after the fetched checkpoint does not make r3 suspect the primary before the log arrives', () => {
    const { c, chunksToR3 } = r3FetchingCheckpoint12();
    const installedAt = longTransfer(
      c,
      chunksToR3,
      () => c.submit(req(14, 1)),
      () => {
        assert.deepEqual(delivered(c), [14, 14, 14, 0], `premise: r0..r2 ordered ${REQUEST} while r3 still transfers`);
        assert.deepEqual(c.traceMatching(/^r0 executes s14 /), ['r0 executes s14 [c14#1]'], `premise: ${REQUEST} is s14`);
      },
    );
    assertCaughtUpWithoutViewChange(c, 14, installedAt);
    assert.ok(c.traceMatching(/^r\d -> r3 log-entries \[s13\[c13#1\],s14\[c14#1\]/).length >= 2, 'r3 took s13 and s14 from f + 1 LOG-ENTRIES');
  });

  it('a request sent to r3 only is forwarded when the hold-off ends and the primary gets a full T2 to order it', () => {
    const { c, chunksToR3 } = r3FetchingCheckpoint12();
    const installedAt = longTransfer(
      c,
      chunksToR3,
      () => c.submit(req(14, 1), [3]),
      () => {
        assert.deepEqual(delivered(c), [13, 13, 13, 0], `premise: only r3 knows ${REQUEST}, the others are idle at s13`);
        assert.deepEqual(c.traceMatching(/forward c14#1/), [], `premise: r3 does not forward ${REQUEST} while transferring (T1 held off)`);
      },
    );
    assert.deepEqual(c.traceMatching(/forward c14#1/), [], `premise: nor before installing`);
    assertCaughtUpWithoutViewChange(c, 14, installedAt);
    assert.ok(c.traceMatching(`r3 -> r0 forward ${REQUEST}`).length >= 1, `r0 (the primary) receives r3's FORWARD of ${REQUEST}`);
    const forwardedAt = c.sentBy(3, 'forward')[0]?.tick ?? Number.NaN;
    assert.ok(
      forwardedAt > installedAt && forwardedAt <= installedAt + options.requestTimeoutTicks,
      `T1 forwards ${REQUEST} once the hold-off ends (install at tick ${installedAt}, forward at ${forwardedAt})`,
    );
    assert.deepEqual(
      c.traceMatching(/^r\d executes s14 /).sort(),
      c.replicas.map((r) => `r${r} executes s14 [c14#1]`),
      `${REQUEST} is ordered at s14, everywhere`,
    );
  });
});
