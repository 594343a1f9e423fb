/**
 * Throughput over time, as a client sees it: acknowledgements counted in
 * fixed windows from a start time, the longest time with none, and the
 * slowest invocation. The lossy-network scenario passes only if no full
 * window is empty; the longest stall says how close it came.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** What {@link AckWindows.summary} reports. */
export interface AckWindowsSummary {
  /** Window length, ms. */
  readonly windowMs: number;
  /** Acknowledgements in each full window, in order (a partial last window is left out). */
  readonly acksPerWindow: readonly number[];
  /** Fewest and median acknowledgements of a full window; null without a full window. */
  readonly acksPerWindowMin: number | null;
  readonly acksPerWindowMedian: number | null;
  /**
   * The longest time without an acknowledgement between the start and the
   * end (the edges count: from the start to the first one, from the last
   * one to the end), ms.
   */
  readonly longestStallMs: number;
  /** When that stall began, ms after the start. */
  readonly longestStallAtMs: number;
  /** The slowest acknowledged invocation (first send to reply quorum), ms; null if none. */
  readonly invocationMsMax: number | null;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Counts acknowledgements (times from `performance.now()`) in windows of `windowMs` from `startedAt`. */
export class AckWindows {
  private readonly counts: number[] = [];
  private last: number;
  private longestStall = 0;
  private longestStallAt = 0;
  private invocationMax: number | null = null;
  private endedAt: number | undefined;

  constructor(
    private readonly startedAt: number,
    readonly windowMs: number,
  ) {
    if (!(windowMs > 0)) throw new RangeError('windowMs must be positive');
    this.last = startedAt;
  }

  /** One acknowledgement at `at` of an invocation first sent at `sentAt`; ignored after {@link end}. */
  record(at: number, sentAt: number): void {
    if (this.endedAt !== undefined || at < this.startedAt) return;
    const index = Math.floor((at - this.startedAt) / this.windowMs);
    while (this.counts.length <= index) this.counts.push(0);
    this.counts[index] = (this.counts[index] as number) + 1;
    this.gap(at);
    this.invocationMax = Math.max(this.invocationMax ?? 0, at - sentAt);
  }

  /** Closes the record at `at` (later acknowledgements are ignored). Idempotent. */
  end(at: number): void {
    if (this.endedAt !== undefined) return;
    this.endedAt = at;
    this.gap(at);
  }

  /** The figures so far (up to now if {@link end} was not called). */
  summary(now: number): AckWindowsSummary {
    const end = this.endedAt ?? now;
    const full = Math.floor((end - this.startedAt) / this.windowMs);
    const acksPerWindow = Array.from({ length: full }, (_, i) => this.counts[i] ?? 0);
    const sorted = [...acksPerWindow].sort((a, b) => a - b);
    const openGap = this.endedAt === undefined ? now - this.last : 0;
    const stallIsOpen = openGap > this.longestStall;
    return {
      windowMs: this.windowMs,
      acksPerWindow,
      acksPerWindowMin: sorted[0] ?? null,
      acksPerWindowMedian: sorted.length === 0 ? null : (sorted[Math.floor((sorted.length - 1) / 2)] as number),
      longestStallMs: round1(stallIsOpen ? openGap : this.longestStall),
      longestStallAtMs: round1((stallIsOpen ? this.last : this.longestStallAt) - this.startedAt),
      invocationMsMax: this.invocationMax === null ? null : round1(this.invocationMax),
    };
  }

  private gap(at: number): void {
    if (at - this.last > this.longestStall) {
      this.longestStall = at - this.last;
      this.longestStallAt = this.last;
    }
    this.last = Math.max(this.last, at);
  }
}

/**
 * Waits until `durationMs` have passed since `start` (performance.now()).
 * A timer may fire up to a millisecond early by this clock (libuv counts
 * whole milliseconds), which would leave the last window one short of full.
 */
export async function waitUntilElapsed(start: number, durationMs: number): Promise<void> {
  for (let remaining = durationMs; remaining > 0; remaining = start + durationMs - performance.now()) await delay(Math.ceil(remaining));
}
