/**
 * What `bafomet bench` reports: the figures of one measured window
 * ({@link TargetFigures}) for the replicated cluster and, with `--baseline`,
 * for the unreplicated server; as a table for people and as one JSON object
 * (docs/BENCHMARKS.md lists its fields).
 */
import type { ProtocolOptions } from '../core/options.js';
import type { ExecutorKind } from '../runtime/replica.js';

/** Latency percentiles over every request completed in the window, all client processes together, ms. */
export interface LatencyFigures {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** One client process's share of a window. */
export interface ClientProcessFigures {
  readonly sessions: number;
  readonly requests: number;
  readonly opsPerSec: number;
  readonly cpuSeconds: number;
}

/** The figures of one target's measured window. */
export interface TargetFigures {
  /** The window's length, seconds (the parent's clock). */
  readonly durationSec: number;
  /** Requests completed in the window: the sum of the client processes' `requests`. */
  readonly requests: number;
  /** Requests per second: the sum of each client process's requests over its own window. */
  readonly opsPerSec: number;
  readonly latencyMs: LatencyFigures;
  /** Mean requests per batch executed in the window, over every server process. */
  readonly batchMean: number;
  /** CPU seconds in the window of each server process (replicas by id; the baseline's one) and each client process. */
  readonly cpuSeconds: { readonly servers: readonly number[]; readonly clients: readonly number[] };
  /** Invocations that rejected in the window, by error name; empty when none did. */
  readonly errors: Readonly<Record<string, number>>;
  /** Replies of the wrong size. */
  readonly wrongReplies: number;
  /** Whether the server processes ended with equal state digests (always true for the baseline's one). */
  readonly statesEqual: boolean;
  /** The highest view a server process was in at the end (0 for the baseline). */
  readonly view: number;
  readonly clientProcesses: readonly ClientProcessFigures[];
}

/** The whole report; the replicated figures at the top level, as a chart script expects them. */
export interface BenchReport extends TargetFigures {
  readonly replicas: number;
  readonly f: number;
  /** Closed-loop sessions (or, with `rate`, the sessions an open loop may use at once), over every client process. */
  readonly clients: number;
  /** Requests per second of the open loop, or null in the closed loop. */
  readonly rate: number | null;
  readonly requestBytes: number;
  readonly replyBytes: number;
  readonly durable: boolean;
  readonly readOnly: boolean;
  /** Where the replicas ran the service. */
  readonly executor: ExecutorKind;
  /** Protocol options given over the defaults (`--protocol`). */
  readonly protocol: Partial<ProtocolOptions>;
  readonly warmupSec: number;
  /** The unreplicated server under the same load, with `--baseline`. */
  readonly baseline?: TargetFigures;
}

/** `x` rounded to `digits` decimals. */
export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** Whether the run shows something wrong (not slow): exit code 1 then. */
export function benchFailed(report: BenchReport): boolean {
  const broken = (t: TargetFigures): boolean => t.requests === 0 || t.wrongReplies > 0 || !t.statesEqual;
  return broken(report) || (report.baseline !== undefined && broken(report.baseline));
}

/** The report as a table, one column per target. */
export function formatTable(report: BenchReport): string {
  const targets: [string, TargetFigures][] = [[`replicated (n=${report.replicas}, f=${report.f})`, report]];
  if (report.baseline !== undefined) targets.push(['baseline (1 process)', report.baseline]);
  const load = report.rate === null ? `${report.clients} closed-loop clients` : `open loop at ${report.rate} req/s over ${report.clients} sessions`;
  const sum = (xs: readonly number[]): number => round(xs.reduce((a, b) => a + b, 0));
  const rows: [string, (t: TargetFigures) => string][] = [
    ['throughput (ops/s)', (t) => String(t.opsPerSec)],
    ['latency p50 (ms)', (t) => String(t.latencyMs.p50)],
    ['latency p90 (ms)', (t) => String(t.latencyMs.p90)],
    ['latency p99 (ms)', (t) => String(t.latencyMs.p99)],
    ['latency max (ms)', (t) => String(t.latencyMs.max)],
    ['requests', (t) => String(t.requests)],
    ['batch mean (requests)', (t) => String(t.batchMean)],
    ['cpu s, servers', (t) => `${sum(t.cpuSeconds.servers)} (${t.cpuSeconds.servers.join(' / ')})`],
    ['cpu s, clients', (t) => `${sum(t.cpuSeconds.clients)} (${t.cpuSeconds.clients.join(' / ')})`],
    ['errors', (t) => (Object.keys(t.errors).length === 0 ? '0' : Object.entries(t.errors).map(([k, v]) => `${k} ${v}`).join(', '))],
    ['wrong replies', (t) => String(t.wrongReplies)],
    ['states equal', (t) => String(t.statesEqual)],
  ];
  const header = ['', ...targets.map(([name]) => name)];
  const body = rows.map(([label, cell]) => [label, ...targets.map(([, t]) => cell(t))]);
  const widths = header.map((_, c) => Math.max(...[header, ...body].map((row) => (row[c] as string).length)));
  const line = (row: string[]): string => row.map((cell, c) => cell.padEnd(widths[c] as number)).join('  ').trimEnd();
  const title =
    `${load}, requests ${report.requestBytes} B, replies ${report.replyBytes} B, ` +
    `${report.durationSec} s measured after ${report.warmupSec} s warm-up${report.durable ? ', durable replicas' : ''}`;
  return [title, line(header), ...body.map(line)].join('\n') + '\n';
}
