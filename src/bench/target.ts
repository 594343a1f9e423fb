/**
 * What the benchmark measures a load against: the replicated cluster
 * (cluster-target.ts) or the unreplicated baseline server
 * (baseline-target.ts). Both are server processes on this host that the
 * ordinary client reaches through a cluster config file.
 */

/** A reading of the server processes' counters, taken at both ends of the measured window. */
export interface TargetSample {
  /** CPU time (user + system) of each server process since it started, microseconds, by replica id. */
  readonly cpuMicros: readonly number[];
  /** Batches delivered for execution, summed over the server processes. */
  readonly batches: number;
  /** Requests in those batches, summed over the server processes. */
  readonly requests: number;
  /** The highest view a server process is in (0 for the baseline). */
  readonly view: number;
}

export interface BenchTarget {
  /** `replicated` or `baseline`: the progress line and errors name it. */
  readonly kind: 'replicated' | 'baseline';
  /** The cluster config the client processes load. */
  readonly configPath: string;
  /** Server processes: n replicas, or one. */
  readonly processes: number;
  sample(): Promise<TargetSample>;
  /**
   * Once the load has stopped: waits (bounded) until every server process
   * has executed the same batches and says whether their state digests are
   * equal (trivially, for one process).
   */
  settledStatesEqual(): Promise<boolean>;
  /** Stops the server processes and removes their files. */
  stop(): Promise<void>;
}
