/**
 * Token buckets that throttle what a client may make a replica read: frames
 * and bytes per second, per connection and per key. A connection over its
 * rate (or its key's) stops being read until the buckets have refilled, so
 * TCP backpressure slows the sender down and nothing queues on our side. A
 * correct but busy client only slows down; it is never disconnected.
 */

/** Frames and bytes per second a client may send; the burst is one second's worth. */
export interface ClientRate {
  readonly framesPerSecond: number;
  readonly bytesPerSecond: number;
}

/** A token bucket holding at most one second of `perSecond`, refilled continuously. */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.refilledAt = now;
  }

  /**
   * Takes `count` tokens at time `now` (ms), going into debt if there are not
   * enough: the work they stand for is already done.
   *
   * @returns ms until the bucket is out of debt, 0 if it is not in debt.
   */
  take(count: number, now: number): number {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000);
    this.refilledAt = now;
    this.tokens -= count;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSecond);
  }
}

/** A frame and a byte bucket, charged together. */
export class RateBuckets {
  private readonly frames: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(rate: ClientRate, now: number) {
    this.frames = new TokenBucket(rate.framesPerSecond, now);
    this.bytes = new TokenBucket(rate.bytesPerSecond, now);
  }

  /** Charges what one read delivered; returns ms to stop reading for (0: go on). */
  charge(frames: number, bytes: number, now: number): number {
    return Math.max(this.frames.take(frames, now), this.bytes.take(bytes, now));
  }
}
