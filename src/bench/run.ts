/**
 * `bafomet bench`: the throughput and latency of the replicated bench
 * service under a closed-loop (or open-loop) load from client processes,
 * in the spirit of BFT-SMaRt's ThroughputLatency, and with `--baseline` the
 * same load on the unreplicated server right after, in the same run
 * (docs/BENCHMARKS.md). One target at a time, so the two never share the
 * machine's cores.
 */
import type { ProtocolOptions } from '../core/options.js';
import type { LogLevel } from '../log.js';
import type { ExecutorKind } from '../runtime/replica.js';
import { BaselineTarget } from './baseline-target.js';
import { ClusterTarget } from './cluster-target.js';
import { measureTarget, type LoadPlan, type Progress } from './measure.js';
import type { BenchReport } from './report.js';

export interface BenchOptions {
  /** Replica processes (f is the most they tolerate). */
  readonly replicas: number;
  /** Sessions over every client process. */
  readonly clients: number;
  /** Client processes; default one per 100 clients, at least one. */
  readonly clientProcesses?: number;
  /** Open loop at this many requests per second over every client process; undefined: closed loop. */
  readonly rate?: number;
  readonly requestBytes: number;
  readonly replyBytes: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  readonly durable: boolean;
  readonly readOnly: boolean;
  readonly baseline: boolean;
  /** Protocol options over the defaults, for every replica. */
  readonly protocol?: Partial<ProtocolOptions>;
  /** Where every replica runs the service; default a worker thread. */
  readonly executor?: ExecutorKind;
  readonly logLevel?: LogLevel;
  /** Write a V8 CPU profile of every process started (replicas, clients, baseline server) into this folder. */
  readonly cpuProfileDir?: string;
}

/** Clients one client process runs by default. */
export const CLIENTS_PER_PROCESS = 100;

/** The default `--client-processes` for `clients`. */
export function defaultClientProcesses(clients: number): number {
  return Math.max(1, Math.ceil(clients / CLIENTS_PER_PROCESS));
}

/** Runs the benchmark; `say` gets the lines about what it does, `progress` the live line. */
export async function runBench(options: BenchOptions, say: (line: string) => void, progress: Progress): Promise<BenchReport> {
  const nodeArgs = options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`];
  const plan: LoadPlan = {
    nodeArgs,
    clients: options.clients,
    clientProcesses: options.clientProcesses ?? defaultClientProcesses(options.clients),
    requestBytes: options.requestBytes,
    replyBytes: options.replyBytes,
    warmupSec: options.warmupSec,
    durationSec: options.durationSec,
    readOnly: options.readOnly,
    ...(options.rate === undefined ? {} : { rate: options.rate }),
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
  };
  const load = `${plan.clients} ${plan.rate === undefined ? 'closed-loop clients' : `sessions, open loop at ${plan.rate} req/s,`} in ${plan.clientProcesses} client process${plan.clientProcesses > 1 ? 'es' : ''}`;
  say(`starting ${options.replicas} replica processes on 127.0.0.1${options.durable ? ', each with a data directory' : ', in memory'} ...`);
  const cluster = await ClusterTarget.start({
    replicas: options.replicas,
    replyBytes: options.replyBytes,
    durable: options.durable,
    nodeArgs,
    ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
    ...(options.executor === undefined ? {} : { executor: options.executor }),
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
  });
  let replicated;
  try {
    say(`cluster up (n=${options.replicas}, f=${cluster.f}); ${load}: ${plan.warmupSec} s warm-up, ${plan.durationSec} s measured`);
    replicated = await measureTarget(cluster, plan, progress);
  } finally {
    await cluster.stop();
  }
  let baseline;
  if (options.baseline) {
    say('starting the baseline server (one process, no replication) ...');
    const server = await BaselineTarget.start({ replyBytes: options.replyBytes, nodeArgs, ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }) });
    try {
      say(`baseline server up; the same load`);
      baseline = await measureTarget(server, plan, progress);
    } finally {
      await server.stop();
    }
  }
  return {
    replicas: options.replicas,
    f: cluster.f,
    clients: options.clients,
    rate: options.rate ?? null,
    requestBytes: options.requestBytes,
    replyBytes: options.replyBytes,
    durable: options.durable,
    readOnly: options.readOnly,
    executor: options.executor ?? 'worker',
    protocol: options.protocol ?? {},
    warmupSec: options.warmupSec,
    ...replicated,
    ...(baseline === undefined ? {} : { baseline }),
  };
}
