/**
 * One measured run against one target: start the client processes, run the
 * load through the warm-up, open the measured window in every client
 * process and read the servers' counters, close it after the duration and
 * read them again, stop the clients, check the servers' states. The figures
 * (report.ts) come only from inside the window: latencies merged from every
 * client process's histogram, CPU and batch counts as differences of the two
 * readings.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { LogLevel } from '../log.js';
import { ChildChannel } from './child-channel.js';
import { LatencyHistogram } from './histogram.js';
import type { ClientCommandName, ClientWindow } from './protocol.js';
import { round, type TargetFigures } from './report.js';
import type { BenchTarget, TargetSample } from './target.js';

const CLIENT_MAIN = fileURLToPath(new URL('./client-main.js', import.meta.url));
/** Bound on a client process's start (keys, connections begun) and on its stop. */
const CLIENT_START_TIMEOUT_MS = 30_000;
const CLIENT_STOP_TIMEOUT_MS = 10_000;
/** How often the progress line asks the client processes for their counts. */
const PROGRESS_MS = 500;
/** Bound on a progress answer: a late one only skips a line. */
const PROGRESS_ANSWER_MS = 2_000;

/** The load, the same for every target of a run. */
export interface LoadPlan {
  /** Sessions over every client process. */
  readonly clients: number;
  readonly clientProcesses: number;
  /** Open-loop requests per second over every client process; undefined: closed loop. */
  readonly rate?: number;
  readonly requestBytes: number;
  readonly replyBytes: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  readonly readOnly: boolean;
  readonly logLevel?: LogLevel;
  /** Node.js options of every process started (`--cpu-prof`). */
  readonly nodeArgs: readonly string[];
}

/** Where the progress line goes: `line` replaces the last one on a terminal. */
export interface Progress {
  line(text: string): void;
  /** The progress is over: end the line. */
  done(): void;
}

/** `total` split over `parts` as evenly as whole numbers allow, the larger shares first. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

export async function measureTarget(target: BenchTarget, plan: LoadPlan, progress: Progress): Promise<TargetFigures> {
  const sessions = split(plan.clients, plan.clientProcesses);
  const clients = await startClients(target, plan, sessions);
  let windows: ClientWindow[];
  let before: TargetSample;
  let after: TargetSample;
  let durationSec: number;
  try {
    await Promise.all(clients.map((c) => c.ask('start')));
    const startedAt = performance.now();
    const reporter = reportProgress(target, plan, clients, startedAt, progress);
    try {
      await delay(plan.warmupSec * 1000);
      // Clients first, then the servers: the servers' window is then inside the clients' by an IPC round trip at each end.
      await Promise.all(clients.map((c) => c.ask('measure')));
      before = await target.sample();
      const measuredAt = performance.now();
      await delay(plan.durationSec * 1000);
      after = await target.sample();
      windows = await Promise.all(clients.map((c) => c.ask<ClientWindow>('report')));
      durationSec = (performance.now() - measuredAt) / 1000;
    } finally {
      reporter.stop();
      progress.done();
    }
  } finally {
    await Promise.all(clients.map((c) => c.stop(CLIENT_STOP_TIMEOUT_MS)));
  }
  const statesEqual = await target.settledStatesEqual();
  return figures(windows, sessions, before, after, durationSec, statesEqual);
}

async function startClients(target: BenchTarget, plan: LoadPlan, sessions: readonly number[]): Promise<ChildChannel<ClientCommandName>[]> {
  const started = await Promise.allSettled(
    sessions.map((count, i) => {
      const args = ['--config', target.configPath, '--sessions', String(count), '--request-bytes', String(plan.requestBytes), '--reply-bytes', String(plan.replyBytes)];
      if (plan.rate !== undefined) args.push('--rate', String((plan.rate * count) / plan.clients));
      if (plan.readOnly) args.push('--read-only');
      if (plan.logLevel !== undefined) args.push('--log-level', plan.logLevel);
      return ChildChannel.spawn<ClientCommandName>(`client process ${i}`, CLIENT_MAIN, args, CLIENT_START_TIMEOUT_MS, plan.nodeArgs);
    }),
  );
  const clients = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(clients.map((c) => c.kill()));
    throw failed.reason;
  }
  return clients;
}

/** A progress line every {@link PROGRESS_MS}: phase, elapsed, requests and the rate since the last line. */
function reportProgress(
  target: BenchTarget,
  plan: LoadPlan,
  clients: readonly ChildChannel<ClientCommandName>[],
  startedAt: number,
  progress: Progress,
): { stop(): void } {
  let busy = false;
  let last = { at: startedAt, completed: 0 };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all(clients.map((c) => c.ask<{ completed: number }>('progress', PROGRESS_ANSWER_MS)))
      .then((answers) => {
        const now = performance.now();
        const completed = answers.reduce((sum, a) => sum + a.completed, 0);
        const seconds = (now - startedAt) / 1000;
        const phase =
          seconds < plan.warmupSec
            ? `warm-up ${seconds.toFixed(1)}/${plan.warmupSec} s`
            : `measuring ${Math.min(seconds - plan.warmupSec, plan.durationSec).toFixed(1)}/${plan.durationSec} s`;
        const rate = ((completed - last.completed) * 1000) / Math.max(now - last.at, 1);
        last = { at: now, completed };
        progress.line(`  ${target.kind}: ${phase}  ${completed} requests  ${Math.round(rate)} ops/s`);
      })
      .catch(() => {}) // a client process that does not answer in time fails the run where it is asked to measure or report
      .finally(() => (busy = false));
  }, PROGRESS_MS);
  return { stop: () => clearInterval(timer) };
}

function figures(
  windows: readonly ClientWindow[],
  sessions: readonly number[],
  before: TargetSample,
  after: TargetSample,
  durationSec: number,
  statesEqual: boolean,
): TargetFigures {
  const latency = new LatencyHistogram();
  const errors: Record<string, number> = {};
  for (const w of windows) {
    latency.merge(w.latency);
    for (const [name, count] of Object.entries(w.errors)) errors[name] = (errors[name] ?? 0) + count;
  }
  const batches = after.batches - before.batches;
  const rateOf = (w: ClientWindow): number => (w.elapsedMs > 0 ? (w.requests * 1000) / w.elapsedMs : 0);
  return {
    durationSec: round(durationSec, 3),
    requests: windows.reduce((sum, w) => sum + w.requests, 0),
    opsPerSec: round(windows.reduce((sum, w) => sum + rateOf(w), 0), 1),
    latencyMs: {
      p50: round(latency.percentile(50), 3),
      p90: round(latency.percentile(90), 3),
      p99: round(latency.percentile(99), 3),
      max: round(latency.maxMs, 3),
      mean: round(latency.meanMs, 3),
    },
    batchMean: batches > 0 ? round((after.requests - before.requests) / batches, 2) : 0,
    cpuSeconds: {
      servers: after.cpuMicros.map((us, i) => round((us - (before.cpuMicros[i] ?? 0)) / 1e6, 3)),
      clients: windows.map((w) => round(w.cpuSeconds, 3)),
    },
    errors,
    wrongReplies: windows.reduce((sum, w) => sum + w.wrongReplies, 0),
    statesEqual,
    view: after.view,
    clientProcesses: windows.map((w, i) => ({ sessions: sessions[i] as number, requests: w.requests, opsPerSec: round(rateOf(w), 1), cpuSeconds: round(w.cpuSeconds, 3) })),
  };
}
