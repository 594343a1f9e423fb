/**
 * `bafomet soak` (`npm run soak`): a long run that shows memory stays flat.
 * A local cluster of replica processes executes `requests` requests of the
 * kv load (runKvLoad: each session checks its reads against its writes)
 * while every replica process's resident set size (VmRSS of
 * /proc/<pid>/status) and its protocol status (slots in its log, pending
 * requests) are sampled every `sampleMs`. After a warm-up share of the
 * samples, the median RSS of the second half must be within `tolerancePct`
 * of the first half's, for every replica: the log, the reply cache and the
 * checkpoint images are bounded by checkpoints, so nothing should grow with
 * the number of requests. The 95th percentile, the maximum and the JS heap
 * of each half are reported beside it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { runKvLoad } from '../cluster/kv-load.js';
import { nearestRankPercentile } from '../cluster/latency.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import type { LogLevel } from '../log.js';
import { Client } from '../runtime/client.js';
import { resolveProtocolOptions } from '../runtime/protocol-options.js';
import kvService, { type KvReply, type KvRequest } from '../services/kv.js';
import { protocolForInterval } from './protocol.js';
import { settle } from './verify.js';

export interface SoakOptions {
  /** Requests to execute (acknowledged by f + 1 replicas). */
  readonly requests: number;
  /** Client sessions, each in a closed loop. */
  readonly clients: number;
  readonly replicas: number;
  /** Period of the RSS and status samples. */
  readonly sampleMs: number;
  /** Share of the samples (from the start) left out of the verdict: JIT, caches filling, the log reaching its window. */
  readonly warmupShare: number;
  /** The median RSS of the second half may exceed the first half's by this much, in percent. */
  readonly tolerancePct: number;
  /** Checkpoint interval; undefined: the default. */
  readonly checkpointInterval: number | undefined;
  /** Bound on the whole load; the run fails if it passes. */
  readonly timeoutMs: number;
  readonly logLevel: LogLevel;
}

export const defaultSoakOptions: SoakOptions = {
  requests: 1_000_000,
  clients: 32,
  replicas: 4,
  sampleMs: 1000,
  warmupShare: 0.2,
  tolerancePct: 10,
  checkpointInterval: undefined,
  timeoutMs: 3_600_000,
  logLevel: 'error',
};

/** Samples kept at most (a day at one per second); later ones are counted, not kept. */
const SAMPLES_MAX = 86_400;
/** Progress on stderr at most this often. */
const PROGRESS_MS = 10_000;
/** Fewest samples after the warm-up for a verdict: two halves of two. */
const VERDICT_SAMPLES_MIN = 4;
const MB = 1024 * 1024;

export interface SoakReplicaSummary {
  readonly id: number;
  readonly pid: number;
  /** RSS of the first sample, MiB. */
  readonly firstMB: number;
  /** RSS of the first sample after the warm-up, MiB. */
  readonly warmMB: number;
  /**
   * Median RSS of the first and second halves after the warm-up, MiB: the
   * level the process sits at. Transient peaks (up to +30 MiB for a few
   * samples, at any time of a run) land in either half by chance, so the
   * verdict does not use the highest samples; they are reported beside it.
   */
  readonly firstHalfMedianMB: number;
  readonly secondHalfMedianMB: number;
  /** (secondHalfMedian − firstHalfMedian) / firstHalfMedian, percent: what the verdict holds to the tolerance. */
  readonly growthPct: number;
  /** 95th percentile and highest RSS of each half, MiB. */
  readonly firstHalfP95MB: number;
  readonly secondHalfP95MB: number;
  readonly firstHalfMaxMB: number;
  readonly secondHalfMaxMB: number;
  /** Median JS heap in use (main thread) of each half, MiB: a leak of JS objects on the protocol loop shows here. */
  readonly firstHalfHeapMB: number;
  readonly secondHalfHeapMB: number;
  /** Highest RSS of the whole run, MiB. */
  readonly maxMB: number;
  /** Most slots in its log and most pending requests in any sample. */
  readonly slotsMax: number;
  readonly pendingMax: number;
}

export interface SoakReport {
  /** `flat`: every replica within the tolerance; `growing`: some replica beyond it; `unknown`: too few samples or the run failed. */
  readonly verdict: 'flat' | 'growing' | 'unknown';
  readonly passed: boolean;
  readonly failures: readonly string[];
  readonly replicas: number;
  readonly clients: number;
  readonly requests: number;
  readonly completed: number;
  readonly wrongReplies: number;
  readonly opsPerSec: number;
  readonly checkpointInterval: number;
  readonly logWindow: number;
  readonly sampleMs: number;
  readonly samples: number;
  readonly warmupSamples: number;
  readonly tolerancePct: number;
  readonly perReplica: readonly SoakReplicaSummary[];
  /** Whether every replica reported the same state digest after the same last batch at the end. */
  readonly statesEqual: boolean;
  /** The samples: ms since the load started, requests completed by then, and per replica id its RSS and JS heap in use, MiB. */
  readonly series: { readonly tMs: number[]; readonly requests: number[]; readonly rssMB: Record<string, number[]>; readonly heapMB: Record<string, number[]> };
  readonly elapsedMs: number;
  readonly error?: string;
}

/** VmRSS of process `pid` in bytes, from /proc (Linux). */
async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

interface Sample {
  readonly tMs: number;
  readonly requests: number;
  /** Per replica, in id order. */
  readonly rss: readonly number[];
  /** Its main thread's JS heap in use (process.memoryUsage().heapUsed). */
  readonly heap: readonly number[];
  readonly slots: readonly number[];
  readonly pending: readonly number[];
}

/** The `p`-th percentile (nearest rank) of `values`, 0 for none. */
function percentile(values: readonly number[], p: number): number {
  return nearestRankPercentile([...values].sort((a, b) => a - b), p);
}

/** Per-replica summary and verdict of `samples` after `warmup` of them. */
export function soakVerdict(
  samples: readonly Sample[],
  warmup: number,
  tolerancePct: number,
  ids: readonly number[],
  pids: readonly number[],
): { verdict: SoakReport['verdict']; perReplica: SoakReplicaSummary[] } {
  const post = samples.slice(warmup);
  const half = Math.floor(post.length / 2);
  const halves = [post.slice(0, half), post.slice(half)] as const;
  const of = (list: readonly Sample[], r: number, field: 'rss' | 'heap' | 'slots' | 'pending'): number[] => list.map((s) => s[field][r] as number);
  const mb = (bytes: number): number => round1(bytes / MB);
  const perReplica = ids.map((id, r) => {
    const [first, second] = halves.map((h) => of(h, r, 'rss')) as [number[], number[]];
    const [heapFirst, heapSecond] = halves.map((h) => of(h, r, 'heap')) as [number[], number[]];
    const medianFirst = percentile(first, 50);
    const medianSecond = percentile(second, 50);
    return {
      id,
      pid: pids[r] as number,
      firstMB: mb(samples[0]?.rss[r] ?? 0),
      warmMB: mb(post[0]?.rss[r] ?? 0),
      firstHalfMedianMB: mb(medianFirst),
      secondHalfMedianMB: mb(medianSecond),
      growthPct: medianFirst > 0 ? round1(((medianSecond - medianFirst) / medianFirst) * 100) : 0,
      firstHalfP95MB: mb(percentile(first, 95)),
      secondHalfP95MB: mb(percentile(second, 95)),
      firstHalfMaxMB: mb(Math.max(0, ...first)),
      secondHalfMaxMB: mb(Math.max(0, ...second)),
      firstHalfHeapMB: mb(percentile(heapFirst, 50)),
      secondHalfHeapMB: mb(percentile(heapSecond, 50)),
      maxMB: mb(Math.max(0, ...of(samples, r, 'rss'))),
      slotsMax: Math.max(0, ...of(samples, r, 'slots')),
      pendingMax: Math.max(0, ...of(samples, r, 'pending')),
    };
  });
  const verdict = post.length < VERDICT_SAMPLES_MIN ? 'unknown' : perReplica.every((p) => p.growthPct <= tolerancePct) ? 'flat' : 'growing';
  return { verdict, perReplica };
}

/** Runs the soak end to end; everything it starts is stopped before it returns. */
export async function runSoak(partial: Partial<SoakOptions> = {}, say: (line: string) => void = (line) => void process.stderr.write(`soak: ${line}\n`)): Promise<SoakReport> {
  const options: SoakOptions = { ...defaultSoakOptions, ...partial };
  const overrides = options.checkpointInterval === undefined ? {} : protocolForInterval(options.checkpointInterval);
  const protocol = resolveProtocolOptions(overrides);
  const protocolOption = Object.keys(overrides).length > 0 ? { protocol: overrides } : {};
  const started = performance.now();
  say(`starting ${options.replicas} replica processes (kv, checkpoint every ${protocol.checkpointInterval} batches, log window ${protocol.logWindow})`);
  const cluster = await LocalCluster.start({ replicas: options.replicas, service: 'kv', logLevel: options.logLevel, ...protocolOption });
  let client: Client<KvRequest, KvReply> | undefined;
  const samples: Sample[] = [];
  let samplesTaken = 0;
  let error: string | undefined;
  const ids = cluster.running;
  const pids = ids.map((id) => cluster.pid(id));
  let completed = 0;
  let wrong = 0;
  let loadMs = 0;
  let statesEqual = false;
  try {
    client = await Client.connect({ config: cluster.config, service: kvService, sessions: options.clients, ...protocolOption });
    const loadStart = performance.now();
    let loadDone = false;
    let timedOut = false;
    const deadline = loadStart + options.timeoutMs;
    say(`${options.clients} client sessions; ${options.requests} requests; RSS sampled every ${options.sampleMs} ms`);
    // The sampler runs beside the load until it ends; a failed read ends the run (a replica died).
    const sampler = (async () => {
      let lastProgress = loadStart;
      while (!loadDone) {
        const at = performance.now();
        const [rss, statuses, memory] = await Promise.all([
          Promise.all(pids.map(rssBytes)),
          Promise.all(ids.map((id) => cluster.status(id))),
          Promise.all(ids.map((id) => cluster.memory(id))),
        ]);
        samplesTaken++;
        if (samples.length < SAMPLES_MAX) {
          samples.push({
            tMs: Math.round(at - loadStart),
            requests: completed,
            rss,
            heap: memory.map((m) => m.heapUsed),
            slots: statuses.map((s) => s.slots),
            pending: statuses.map((s) => s.pendingRequests),
          });
        }
        if (at - lastProgress >= PROGRESS_MS) {
          lastProgress = at;
          say(`${completed} requests, ${Math.round(completed / ((at - loadStart) / 1000))}/s, RSS ${rss.map((b) => Math.round(b / MB)).join(' / ')} MiB`);
        }
        if (at > deadline) timedOut = true;
        await delay(Math.max(0, options.sampleMs - (performance.now() - at)));
      }
    })();
    const stopWhen = (): boolean => completed >= options.requests || timedOut;
    const load = runKvLoad(client, options.clients, stopWhen, (c) => (completed = c));
    let result: Awaited<typeof load>;
    try {
      result = await Promise.race([load, sampler.then(() => Promise.reject(new Error('sampler stopped')))]);
    } catch (e) {
      timedOut = true; // stops the sessions
      throw e;
    } finally {
      loadDone = true;
      await sampler.catch(() => undefined);
    }
    completed = result.completed;
    wrong = result.wrong;
    loadMs = result.elapsedMs;
    if (timedOut) error = `${completed} of ${options.requests} requests within ${options.timeoutMs} ms`;
    const settled = await settle(cluster, 30_000);
    statesEqual = settled.settled && settled.digestsEqual;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  } finally {
    await client?.close();
    await cluster.stop();
  }
  const warmupSamples = Math.floor(samples.length * options.warmupShare);
  const { verdict: measured, perReplica } = soakVerdict(samples, warmupSamples, options.tolerancePct, ids, pids);
  const verdict = error === undefined ? measured : 'unknown';
  const failures: string[] = [];
  if (error !== undefined) failures.push(error);
  if (wrong > 0) failures.push(`${wrong} wrong replies`);
  if (!statesEqual) failures.push('replica state digests differ or did not settle');
  if (verdict === 'growing') failures.push(`RSS grew beyond ${options.tolerancePct} % after the warm-up: ${perReplica.filter((p) => p.growthPct > options.tolerancePct).map((p) => `replica ${p.id} +${p.growthPct} %`).join(', ')}`);
  if (verdict === 'unknown' && error === undefined) failures.push(`too few samples after the warm-up (${samples.length - warmupSamples})`);
  const rssMB: Record<string, number[]> = {};
  const heapMB: Record<string, number[]> = {};
  ids.forEach((id, r) => {
    rssMB[String(id)] = samples.map((s) => round1((s.rss[r] as number) / MB));
    heapMB[String(id)] = samples.map((s) => round1((s.heap[r] as number) / MB));
  });
  return {
    verdict,
    passed: failures.length === 0,
    failures,
    replicas: options.replicas,
    clients: options.clients,
    requests: options.requests,
    completed,
    wrongReplies: wrong,
    opsPerSec: loadMs > 0 ? round1(completed / (loadMs / 1000)) : 0,
    checkpointInterval: protocol.checkpointInterval,
    logWindow: protocol.logWindow,
    sampleMs: options.sampleMs,
    samples: samplesTaken,
    warmupSamples,
    tolerancePct: options.tolerancePct,
    perReplica,
    statesEqual,
    series: { tMs: samples.map((s) => s.tMs), requests: samples.map((s) => s.requests), rssMB, heapMB },
    elapsedMs: Math.round(performance.now() - started),
    ...(error === undefined ? {} : { error }),
  };
}

/** The report as one JSON line, or a human summary with the series thinned to at most 20 rows. */
export function formatSoakReport(report: SoakReport, json: boolean): string {
  if (json) return JSON.stringify(report) + '\n';
  const ids = Object.keys(report.series.rssMB);
  const rows = report.series.tMs.length;
  const step = Math.max(1, Math.ceil(rows / 20));
  const lines = [
    `soak                 ${report.verdict.toUpperCase()} (${report.passed ? 'passed' : 'FAILED'}); tolerance ${report.tolerancePct} % after ${report.warmupSamples} warm-up samples of ${report.samples}`,
    `requests             ${report.completed} of ${report.requests}, ${report.opsPerSec}/s, ${report.wrongReplies} wrong; states ${report.statesEqual ? 'equal' : 'NOT equal'}`,
    `protocol             checkpoint every ${report.checkpointInterval} batches, log window ${report.logWindow}`,
    ...report.perReplica.map(
      (p) =>
        `replica ${p.id} (pid ${p.pid})   RSS ${p.firstMB} MiB at start, ${p.warmMB} after warm-up; halves: median ${p.firstHalfMedianMB} / ${p.secondHalfMedianMB} (${p.growthPct >= 0 ? '+' : ''}${p.growthPct} %), p95 ${p.firstHalfP95MB} / ${p.secondHalfP95MB}, max ${p.firstHalfMaxMB} / ${p.secondHalfMaxMB}, heap ${p.firstHalfHeapMB} / ${p.secondHalfHeapMB}; log slots <= ${p.slotsMax}, pending <= ${p.pendingMax}`,
    ),
    `t (s)     requests   ${ids.map((id) => `rss${id} MiB`.padStart(10)).join('')}`,
    ...report.series.tMs.flatMap((t, i) =>
      i % step === 0 || i === rows - 1
        ? [`${(t / 1000).toFixed(1).padStart(5)} ${String(report.series.requests[i]).padStart(12)}   ${ids.map((id) => String(report.series.rssMB[id]?.[i]).padStart(10)).join('')}`]
        : [],
    ),
    ...report.failures.map((f) => `  failure: ${f}`),
  ];
  return lines.join('\n') + '\n';
}
