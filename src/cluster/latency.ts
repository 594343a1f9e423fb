/** The p-th percentile (0 < p <= 100) of `sorted` (ascending), nearest rank; 0 with no values. */
export function nearestRankPercentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Latency samples and their percentiles (nearest-rank). */
export class LatencyRecorder {
  private samples: number[] = [];
  private sorted = true;

  constructor(private readonly samplesMax = 2_000_000) {}

  record(ms: number): void {
    if (this.samples.length >= this.samplesMax) return; // bounded; runs long enough to hit this are soaks
    this.samples.push(ms);
    this.sorted = false;
  }

  get count(): number {
    return this.samples.length;
  }

  /** The p-th percentile (0 < p <= 100), or 0 with no samples. */
  percentile(p: number): number {
    if (!this.sorted) {
      this.samples.sort((a, b) => a - b);
      this.sorted = true;
    }
    return nearestRankPercentile(this.samples, p);
  }
}
