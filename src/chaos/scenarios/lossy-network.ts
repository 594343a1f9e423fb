/**
 * `lossy-network`: a middlebox on every link (client to replica, replica to
 * replica) corrupts bytes, duplicates chunks, cuts connections and stalls
 * them, for `durationSec` of client load, with every replica up. TLS turns
 * each fault into a dead connection; the network layer must notice (at once
 * on a TLS error, within the idle timeout on a stall) and redial, and the
 * protocol must retransmit what was lost, so that throughput dips and never
 * stops: the run passes only if every 5-second window has acknowledgements,
 * every invocation in flight at the end completes (faults still on), and the
 * runner's checks hold (nothing acknowledged lost, equal replica states).
 *
 * The fault rate is given per second over all links (`faultsPerSec`) and
 * turned into per-byte and per-chunk probabilities from the traffic measured
 * just before, so that a faster or slower machine sees about as many faults.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { AckWindows, waitUntilElapsed } from '../ack-windows.js';
import type { MiddleboxCounts, MiddleboxFaults } from '../middlebox.js';
import type { NetworkReport, Scenario, ScenarioContext, ScenarioOutcome } from '../types.js';

/** Every window this long must have acknowledgements. */
export const LOSSY_WINDOW_MS = 5_000;
/** Load under faults unless `--duration` says otherwise: a few minutes. */
export const LOSSY_DEFAULT_DURATION_SEC = 180;
/** Bound on the load's first acknowledgement, before any fault. */
const FIRST_ACK_TIMEOUT_MS = 15_000;
/** Clean load before the traffic is measured: throughput ramps up over the first second or two. */
const WARM_UP_MS = 2_000;
/** Clean traffic measured to turn fault rates into probabilities. */
const MEASURE_MS = 2_000;
/**
 * Bound on the invocations in flight at the end completing, faults still on:
 * a stalled link takes the idle timeout (3 s) and a redial to replace, then a
 * retransmission (600 ms at most with the chaos client), several times over
 * if faults keep hitting the same request.
 */
const DRAIN_TIMEOUT_MS = 15_000;
/** How `faultsPerSec` is shared between the kinds of fault. */
export const FAULT_MIX = Object.freeze({ corrupt: 0.5, duplicate: 0.2, cut: 0.2, stall: 0.1 });
/** Progress on stderr every this many windows. */
const SAY_EVERY_WINDOWS = 6;

const since = (now: MiddleboxCounts, before: MiddleboxCounts): MiddleboxCounts => {
  const out: Record<string, number> = {};
  for (const key of Object.keys(now) as (keyof MiddleboxCounts)[]) out[key] = now[key] - before[key];
  return out as unknown as MiddleboxCounts;
};

/** Probabilities that give about `faultsPerSec` faults a second over traffic of `bytesPerSec` in `chunksPerSec` chunks. */
export function faultProbabilities(faultsPerSec: number, bytesPerSec: number, chunksPerSec: number): MiddleboxFaults {
  const p = (share: number, per: number): number => (per > 0 ? Math.min(1, (faultsPerSec * share) / per) : 0);
  return {
    corruptByteProbability: p(FAULT_MIX.corrupt, bytesPerSec),
    duplicateChunkProbability: p(FAULT_MIX.duplicate, chunksPerSec),
    cutChunkProbability: p(FAULT_MIX.cut, chunksPerSec),
    stallChunkProbability: p(FAULT_MIX.stall, chunksPerSec),
  };
}

async function run(context: ScenarioContext): Promise<ScenarioOutcome> {
  const { load, options, say, network } = context;
  if (network === undefined) throw new Error('lossy-network runs only with middleboxes on its links');
  if (!(await load.waitForAcks(1, FIRST_ACK_TIMEOUT_MS))) {
    throw new Error(`the load got no reply within ${FIRST_ACK_TIMEOUT_MS} ms, before any fault`);
  }
  await delay(WARM_UP_MS);
  const measuredFrom = network.counts();
  const measureStart = performance.now();
  await delay(MEASURE_MS);
  const measured = since(network.counts(), measuredFrom);
  const measuredSec = (performance.now() - measureStart) / 1000;
  const bytesPerSec = Math.round(measured.bytesForwarded / measuredSec);
  const chunksPerSec = Math.round(measured.chunks / measuredSec);
  const probabilities = faultProbabilities(options.faultsPerSec, bytesPerSec, chunksPerSec);
  say(
    `clean traffic ${(bytesPerSec / 1e6).toFixed(2)} MB/s in ${chunksPerSec} chunks/s over ${network.links.length} links; ` +
      `about ${options.faultsPerSec} faults/s for ${options.durationSec} s (corrupt ${probabilities.corruptByteProbability.toExponential(2)}/byte, ` +
      `duplicate ${probabilities.duplicateChunkProbability.toExponential(2)}, cut ${probabilities.cutChunkProbability.toExponential(2)}, ` +
      `stall ${probabilities.stallChunkProbability.toExponential(2)}/chunk)`,
  );

  const faultsFrom = network.counts();
  const start = performance.now();
  network.setFaults(probabilities);
  network.events.startOver(start);
  network.startTimeline(start);
  const windows = new AckWindows(start, LOSSY_WINDOW_MS);
  let invocationMsMax = 0;
  const unsubscribe = load.subscribe((ack) => {
    windows.record(ack.at, ack.sentAt);
    invocationMsMax = Math.max(invocationMsMax, ack.at - ack.sentAt);
  });
  const progress = setInterval(() => {
    const { acksPerWindow, longestStallMs } = windows.summary(performance.now());
    const recent = acksPerWindow.slice(-SAY_EVERY_WINDOWS);
    const counts = since(network.counts(), faultsFrom);
    say(
      `${acksPerWindow.length} windows: last ${recent.join(', ')} acks; longest stall ${longestStallMs} ms; ` +
        `faults: ${counts.corruptedBytes} corrupted bytes, ${counts.duplicatedChunks} duplicated chunks, ${counts.cuts} cuts, ${counts.stalls} stalls`,
    );
  }, LOSSY_WINDOW_MS * SAY_EVERY_WINDOWS);
  let incomplete: number;
  let drainMs: number;
  try {
    await waitUntilElapsed(start, options.durationSec * 1000);
    const faultyEnd = performance.now();
    windows.end(faultyEnd);
    // Faults stay on: an invocation caught by a dead link must still complete.
    incomplete = await load.drain(DRAIN_TIMEOUT_MS);
    drainMs = Math.round(performance.now() - faultyEnd);
  } finally {
    clearInterval(progress);
    unsubscribe();
  }
  const faultsInjected = since(network.counts(), faultsFrom);
  // The checks after this (read-back, settling) measure the replicas, not the network.
  network.quiet();

  const summary = windows.summary(performance.now());
  const failures: string[] = [];
  if (summary.acksPerWindow.length === 0) failures.push(`no full ${LOSSY_WINDOW_MS} ms window of load (duration ${options.durationSec} s)`);
  const empty = summary.acksPerWindow.flatMap((acks, i) => (acks === 0 ? [i] : []));
  if (empty.length > 0) {
    failures.push(`${empty.length} of ${summary.acksPerWindow.length} windows of ${LOSSY_WINDOW_MS} ms without an acknowledgement (windows ${empty.join(', ')}; longest stall ${summary.longestStallMs} ms at ${summary.longestStallAtMs} ms)`);
  }
  if (incomplete > 0) failures.push(`${incomplete} invocations in flight at the end not acknowledged within ${DRAIN_TIMEOUT_MS} ms`);
  const report: NetworkReport = {
    seed: options.seed ?? 0,
    middleboxes: network.links.length,
    faultyMs: Math.round(options.durationSec * 1000),
    bytesPerSec,
    chunksPerSec,
    faultProbabilities: probabilities,
    faultsInjected,
    ...summary,
    invocationMsMax: Math.round(invocationMsMax * 10) / 10,
    invocationsIncomplete: incomplete,
    drainMs,
    ...network.events.summary(),
    faultTimeline: network.faultTimeline(),
  };
  say(
    `faulty load over: ${summary.acksPerWindow.length} windows, min ${summary.acksPerWindowMin} / median ${summary.acksPerWindowMedian} acks, ` +
      `longest stall ${summary.longestStallMs} ms; ${incomplete} invocations incomplete after ${drainMs} ms; ${report.disconnections} disconnections logged`,
  );
  return { faults: [], failures, network: report };
}

/** The `lossy-network` scenario (file comment). */
export const lossyNetwork: Scenario = {
  name: 'lossy-network',
  description: 'a middlebox on every link corrupts, duplicates, cuts and stalls; every 5 s window must have acknowledgements and no acknowledged write may be lost',
  requiresViewChange: false,
  defaultDurationSec: LOSSY_DEFAULT_DURATION_SEC,
  interposesNetwork: true,
  run,
};
