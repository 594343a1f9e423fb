/**
 * The correct replicas' memory while a Byzantine replica attacks them: each
 * replica process's resident set size (`process.memoryUsage().rss`, asked
 * over its control channel: the whole process, the executor's worker
 * included) sampled every `sampleMs`, against a baseline taken just before
 * the attack, with its main thread's JS heap in use beside it (a pile of
 * JS objects shows there first). What an attacker sends must not pile up anywhere (votes far
 * ahead, half frames, replayed messages, idle connections), so the growth
 * over the baseline has to stay under a bound.
 */
import { performance } from 'node:perf_hooks';
import type { LocalCluster } from '../cluster/local-cluster.js';

const MIB = 1024 * 1024;
const mb = (bytes: number): number => Math.round((bytes / MIB) * 10) / 10;

/** One replica's RSS over the attack, MiB. */
export interface ReplicaRss {
  readonly id: number;
  /** Before the attack. */
  readonly baselineMB: number;
  /** The highest sample, and its growth over the baseline. */
  readonly maxMB: number;
  readonly growthMB: number;
  /** The last sample. */
  readonly lastMB: number;
  /** The main thread's JS heap in use: before the attack, and its highest sample. */
  readonly heapBaselineMB: number;
  readonly heapMaxMB: number;
}

/** What {@link RssWatch.stop} reports. */
export interface RssReport {
  readonly sampleMs: number;
  /** Sampling rounds (each asks every watched replica). */
  readonly samples: number;
  /** Answers that did not come (a replica that died or did not answer its control channel). */
  readonly sampleErrors: number;
  readonly perReplica: readonly ReplicaRss[];
  /** The samples (the first {@link SERIES_MAX}): ms after the baseline, and per replica id its RSS, MiB. */
  readonly series: { readonly tMs: readonly number[]; readonly rssMB: Readonly<Record<string, readonly number[]>> };
}

/** Samples kept for the series (an hour at one a second); later ones still count for the maxima. */
export const SERIES_MAX = 3600;

interface Sample {
  readonly rss: number;
  readonly heap: number;
}

/** Samples the RSS of some replicas of a cluster until stopped. */
export class RssWatch {
  private readonly max: Sample[];
  private readonly last: Sample[];
  private readonly tMs: number[] = [];
  private readonly rssSeries: number[][];
  private rounds = 0;
  private errors = 0;
  private inFlight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = performance.now();

  private constructor(
    private readonly cluster: LocalCluster,
    private readonly ids: readonly number[],
    private readonly baseline: readonly Sample[],
    private readonly sampleMs: number,
  ) {
    this.max = [...baseline];
    this.last = [...baseline];
    this.rssSeries = ids.map(() => []);
    this.timer = setInterval(() => {
      // A round still waiting for a slow replica is not overlapped by the next.
      this.inFlight ??= this.sample().finally(() => (this.inFlight = undefined));
    }, sampleMs);
  }

  /** Takes the baseline of replicas `ids` now, then samples every `sampleMs`. */
  static async start(cluster: LocalCluster, ids: readonly number[], sampleMs: number): Promise<RssWatch> {
    const baseline = await Promise.all(
      ids.map(async (id) => {
        const memory = await cluster.memory(id);
        return { rss: memory.rss, heap: memory.heapUsed };
      }),
    );
    return new RssWatch(cluster, ids, baseline, sampleMs);
  }

  /** Stops sampling after one last round, and reports. */
  async stop(): Promise<RssReport> {
    clearInterval(this.timer);
    await this.inFlight;
    await this.sample();
    return {
      sampleMs: this.sampleMs,
      samples: this.rounds,
      sampleErrors: this.errors,
      perReplica: this.ids.map((id, i) => {
        const [baseline, max, last] = [this.baseline[i] as Sample, this.max[i] as Sample, this.last[i] as Sample];
        return {
          id,
          baselineMB: mb(baseline.rss),
          maxMB: mb(max.rss),
          growthMB: mb(max.rss - baseline.rss),
          lastMB: mb(last.rss),
          heapBaselineMB: mb(baseline.heap),
          heapMaxMB: mb(max.heap),
        };
      }),
      series: { tMs: [...this.tMs], rssMB: Object.fromEntries(this.ids.map((id, i) => [String(id), (this.rssSeries[i] as number[]).map(mb)])) },
    };
  }

  private async sample(): Promise<void> {
    this.rounds++;
    const at = Math.round(performance.now() - this.startedAt);
    const answers = await Promise.allSettled(this.ids.map((id) => this.cluster.memory(id)));
    const keep = this.tMs.length < SERIES_MAX;
    if (keep) this.tMs.push(at);
    answers.forEach((answer, i) => {
      const max = this.max[i] as Sample;
      if (answer.status === 'rejected') {
        this.errors++;
        if (keep) this.rssSeries[i]?.push(0);
        return;
      }
      const { rss, heapUsed: heap } = answer.value;
      this.last[i] = { rss, heap };
      this.max[i] = { rss: Math.max(max.rss, rss), heap: Math.max(max.heap, heap) };
      if (keep) this.rssSeries[i]?.push(rss);
    });
  }
}
