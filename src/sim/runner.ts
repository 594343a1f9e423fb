/** Runs seeds and sums up what they did. */
import type { LivenessGates } from './gates.js';
import { mutantNamed, type Mutant } from './mutants.js';
import { GENERATOR_VERSION, generateScenario } from './scenario.js';
import { noFaults, Simulation, type FaultCounts, type RunResult } from './simulation.js';

export interface RunOptions {
  /** Plant this protocol bug (src/sim/mutants.ts) in every correct replica. */
  readonly mutant?: string;
  /** Readable trace lines (verbose). */
  readonly sink?: (line: string) => void;
  /** False: generate the seed's ordinary scenario even with a mutant (default true). */
  readonly bias?: boolean;
  /** Liveness gates to lift (gates.ts). */
  readonly liftGates?: readonly (keyof LivenessGates)[];
}

export function resolveMutant(name: string | undefined): Mutant | undefined {
  if (name === undefined) return undefined;
  const mutant = mutantNamed(name);
  if (mutant === undefined) throw new RangeError(`unknown mutant "${name}" (see --list-mutants)`);
  return mutant;
}

/** Runs one seed. */
export function runSeed(seed: number, options: RunOptions = {}): RunResult {
  const mutant = resolveMutant(options.mutant);
  const scenario = generateScenario(seed, options.bias === false ? undefined : mutant?.bias);
  const sim = new Simulation(scenario, {
    ...(mutant !== undefined ? { factory: mutant.make } : {}),
    ...(mutant?.serviceFailureStops === true ? { serviceFailureStops: true } : {}),
    ...(options.sink !== undefined ? { sink: options.sink } : {}),
    ...(options.liftGates !== undefined ? { liftGates: options.liftGates } : {}),
  });
  return sim.run();
}

export interface Summary {
  seeds: number;
  failed: number;
  failingSeeds: number[];
  failures: { seed: number; kind: string; message: string }[];
  requests: number;
  requestsCompleted: number;
  batchesOrdered: number;
  /** Views installed, over all replicas of all seeds, and the highest view any seed reached. */
  viewsInstalled: number;
  highestView: number;
  /** Checkpoints fetched and installed by state transfer, over all seeds and replicas. */
  checkpointsInstalled: number;
  /** Seeds whose liveness phase ran on a slow network, and seeds with a session flood (generator 4). */
  slowNetworkSeeds: number;
  sessionFloodSeeds: number;
  /** Byzantine clients' requests executed again (not a violation), over all seeds. */
  reexecutedByzantine: number;
  /** The most early-message operation bytes any correct replica of any seed held. */
  earlyBytesPeak: number;
  /** Set when exactly one seed ran. */
  traceDigest?: string;
  faults: Omit<FaultCounts, 'byzantine'> & { byzantine: Record<string, number> };
  liveness: Record<string, number>;
  clusterSizes: Record<string, number>;
  events: number;
  mutant: string | null;
  /** Liveness gates lifted for this run. */
  liftedGates: string[];
  /** Scenario generator version: a seed means the same run only within one version. */
  generator: number;
  elapsedMs: number;
  seedsPerSecond: number;
}

export function emptySummary(mutant?: string): Summary {
  return {
    seeds: 0,
    failed: 0,
    failingSeeds: [],
    failures: [],
    requests: 0,
    requestsCompleted: 0,
    batchesOrdered: 0,
    viewsInstalled: 0,
    highestView: 0,
    checkpointsInstalled: 0,
    slowNetworkSeeds: 0,
    sessionFloodSeeds: 0,
    reexecutedByzantine: 0,
    earlyBytesPeak: 0,
    faults: noFaults(),
    liveness: {},
    clusterSizes: {},
    events: 0,
    mutant: mutant ?? null,
    liftedGates: [],
    generator: GENERATOR_VERSION,
    elapsedMs: 0,
    seedsPerSecond: 0,
  };
}

/** Adds one seed's result to `summary`. */
export function accumulate(summary: Summary, r: RunResult): void {
  summary.seeds++;
  if (!r.ok && r.failure !== undefined) {
    summary.failed++;
    summary.failingSeeds.push(r.seed);
    if (summary.failures.length < 100) summary.failures.push({ seed: r.seed, kind: r.failure.kind, message: r.failure.message });
  }
  summary.requests += r.requests;
  summary.requestsCompleted += r.requestsCompleted;
  summary.batchesOrdered += r.batchesOrdered;
  summary.viewsInstalled += r.views.installed;
  summary.highestView = Math.max(summary.highestView, r.views.highest);
  summary.checkpointsInstalled += r.checkpointsInstalled;
  if (r.slowNetwork) summary.slowNetworkSeeds++;
  if (r.sessionFlood) summary.sessionFloodSeeds++;
  summary.reexecutedByzantine += r.reexecutedByzantine;
  summary.earlyBytesPeak = Math.max(summary.earlyBytesPeak, r.earlyBytesPeak);
  summary.events += r.events;
  const f = summary.faults as unknown as Record<string, number | Record<string, number>>;
  for (const [key, value] of Object.entries(r.faults)) {
    if (typeof value === 'number') f[key] = ((f[key] as number) ?? 0) + value;
  }
  for (const [name, count] of Object.entries(r.faults.byzantine)) {
    summary.faults.byzantine[name] = (summary.faults.byzantine[name] ?? 0) + count;
  }
  summary.liveness[r.liveness] = (summary.liveness[r.liveness] ?? 0) + 1;
  summary.clusterSizes[`n=${r.n}`] = (summary.clusterSizes[`n=${r.n}`] ?? 0) + 1;
}

/** Runs seeds start, start+1, ..., start+count-1. */
export function runSeeds(
  start: number,
  count: number,
  options: RunOptions & { readonly stopOnFailure?: boolean; readonly onResult?: (r: RunResult) => void } = {},
): Summary {
  const summary = emptySummary(options.mutant);
  summary.liftedGates = [...(options.liftGates ?? [])];
  const began = performance.now();
  for (let seed = start; seed < start + count; seed++) {
    const result = runSeed(seed, options);
    accumulate(summary, result);
    options.onResult?.(result);
    if (count === 1) summary.traceDigest = result.traceDigest;
    if (!result.ok && options.stopOnFailure === true) break;
  }
  summary.elapsedMs = Math.round(performance.now() - began);
  summary.seedsPerSecond = summary.elapsedMs > 0 ? Math.round((summary.seeds * 1000 * 10) / summary.elapsedMs) / 10 : summary.seeds;
  return summary;
}
