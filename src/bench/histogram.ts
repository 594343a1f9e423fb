/**
 * A latency histogram with bounded relative error, small enough to send from
 * each client process to the benchmark's parent as JSON, and mergeable, so
 * that percentiles are taken over every client of a run, not averaged over
 * processes.
 *
 * Values are recorded in whole microseconds. Below 2^(SUB_BITS + 1) µs
 * (256 µs) every value has a bucket of its own; above, each power of two is
 * cut into 2^SUB_BITS (128) buckets, so a bucket is at most 1/128 (0.8 %)
 * of its values wide: the layout of HdrHistogram with two significant
 * decimal digits. A percentile is reported as the highest value its bucket
 * holds (never below the true one), and never above the exact maximum.
 */

/** Sub-buckets per power of two: 2^7 = 128, a relative error under 0.8 %. */
const SUB_BITS = 7;
const SUB_BUCKETS = 1 << SUB_BITS;
/** Values up to this many µs (about 35 minutes) are kept exactly per bucket; larger ones are clamped to it. */
export const HISTOGRAM_VALUE_US_MAX = 2 ** 31 - 1;

/** A histogram as it travels: [bucket index, count] pairs of the non-empty buckets, plus exact extremes. */
export interface HistogramJson {
  readonly buckets: readonly (readonly [number, number])[];
  readonly count: number;
  /** Exact largest value recorded, µs (0 when empty). */
  readonly maxUs: number;
  /** Sum of the values recorded, µs: the mean without a bucket's error. */
  readonly sumUs: number;
}

/** The bucket of `us` (a non-negative integer). */
function bucketOf(us: number): number {
  if (us < 2 * SUB_BUCKETS) return us;
  const shift = Math.floor(Math.log2(us)) - SUB_BITS;
  // log2 of a float can land a hair off an exact power of two; the shifted value must be in 128..255.
  const adjusted = us >>> shift >= 2 * SUB_BUCKETS ? shift + 1 : us >>> shift < SUB_BUCKETS ? shift - 1 : shift;
  return (adjusted + 1) * SUB_BUCKETS + ((us >>> adjusted) - SUB_BUCKETS);
}

/** The highest value bucket `index` holds, µs. */
export function bucketHighestUs(index: number): number {
  if (index < 2 * SUB_BUCKETS) return index;
  const shift = Math.floor(index / SUB_BUCKETS) - 1;
  const sub = (index % SUB_BUCKETS) + SUB_BUCKETS;
  return (sub + 1) * 2 ** shift - 1;
}

/** Latencies in milliseconds, kept in microsecond buckets. */
export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;
  private maxUs = 0;
  private sumUs = 0;

  /** Records one latency of `ms` milliseconds (negative values count as 0). */
  record(ms: number): void {
    const us = Math.min(HISTOGRAM_VALUE_US_MAX, Math.max(0, Math.round(ms * 1000)));
    this.add(bucketOf(us), 1);
    this.maxUs = Math.max(this.maxUs, us);
    this.sumUs += us;
  }

  /** Adds every value of `other` to this one. */
  merge(other: HistogramJson): void {
    for (const [index, count] of other.buckets) this.add(index, count);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
    this.sumUs += other.sumUs;
  }

  get count(): number {
    return this.total;
  }

  /** The largest value recorded, ms (0 when empty). */
  get maxMs(): number {
    return this.maxUs / 1000;
  }

  /** The mean, ms (0 when empty). */
  get meanMs(): number {
    return this.total === 0 ? 0 : this.sumUs / this.total / 1000;
  }

  /**
   * The p-th percentile (0 < p <= 100), nearest rank, ms: the highest value
   * of the bucket holding that rank, at most the maximum; 0 when empty.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.min(this.total, Math.max(1, Math.ceil((p / 100) * this.total)));
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index) as number;
      if (seen >= rank) return Math.min(bucketHighestUs(index), this.maxUs) / 1000;
    }
    return this.maxMs; // unreachable: the counts sum to total
  }

  toJSON(): HistogramJson {
    return { buckets: [...this.counts.entries()].sort((a, b) => a[0] - b[0]), count: this.total, maxUs: this.maxUs, sumUs: this.sumUs };
  }

  /** A histogram holding what `json` holds. */
  static from(json: HistogramJson): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.merge(json);
    return histogram;
  }

  private add(index: number, count: number): void {
    this.counts.set(index, (this.counts.get(index) ?? 0) + count);
    this.total += count;
  }
}
