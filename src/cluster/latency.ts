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
    if (this.samples.length === 0) return 0;
    if (!this.sorted) {
      this.samples.sort((a, b) => a - b);
      this.sorted = true;
    }
    const rank = Math.min(this.samples.length, Math.max(1, Math.ceil((p / 100) * this.samples.length)));
    return this.samples[rank - 1] as number;
  }
}
