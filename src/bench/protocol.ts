/**
 * What the benchmark's parent and its child processes (client processes,
 * client-main.ts; the baseline server, baseline-main.ts) say to each other:
 * JSON lines, commands on the child's stdin and answers on its stdout, as
 * the replicas' control channel (src/cluster/control.ts) does. A child
 * writes one ready line first, answers each command with the command's
 * `id`, and stops (a client process: its load, then its client) and exits
 * when its stdin closes, so it never outlives the parent.
 */
import type { HistogramJson } from './histogram.js';

/** The first line of every bench child. */
export interface BenchReadyLine {
  readonly event: 'ready';
  readonly pid: number;
}

/** Commands of a client process. */
export type ClientCommandName =
  /** Start the load (warm-up begins). */
  | 'start'
  /** Begin the measured window: forget what was recorded so far. */
  | 'measure'
  /** Requests completed since start (for the progress line). */
  | 'progress'
  /** End the measured window and answer with {@link ClientWindow}; the load goes on until stdin closes. */
  | 'report';

/** Commands of the baseline server process. */
export type BaselineCommandName =
  /** {@link CpuAnswer}-shaped: the process's CPU time. */
  | 'cpu'
  /** {@link BaselineCounts}. */
  | 'counts'
  /** The service state digest, as a replica's `digest`. */
  | 'digest';

export interface BenchCommand<Name extends string> {
  readonly id: number;
  readonly cmd: Name;
}

/** What one client process measured in its window. */
export interface ClientWindow {
  /** Requests completed (a reply quorum) inside the window. */
  readonly requests: number;
  /** Invocations that rejected inside the window, by error name (TimeoutError, OverloadedError, ...). */
  readonly errors: Readonly<Record<string, number>>;
  /** Replies that were not `replyBytes` long. */
  readonly wrongReplies: number;
  /** The window's length by this process's clock, ms. */
  readonly elapsedMs: number;
  /** Latency of the requests completed inside the window. */
  readonly latency: HistogramJson;
  /** This process's CPU time inside the window (process.cpuUsage(), user + system), seconds. */
  readonly cpuSeconds: number;
}

/** Counters of the baseline server, as a replica's status has them. */
export interface BaselineCounts {
  /** Batches handed to the executor. */
  readonly batchesDelivered: number;
  readonly requestsExecuted: number;
  /** Client request signatures verified, and those that failed. */
  readonly requestSignaturesVerified: number;
  readonly forgedRequestsRejected: number;
}

/** An answer: the command's id and either its result's fields or an error. */
export type BenchAnswer = { readonly id: number } & ({ readonly error: string } | Readonly<Record<string, unknown>>);
