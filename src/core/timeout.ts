/**
 * A named timeout on the core's logical clock (ticks; the core has no other
 * clock). Each one is a `[T*]` line of docs/VIEW-CHANGE.md or a
 * retransmission period of docs/PROTOCOL.md; the name says which, so status,
 * metrics and tests can refer to it.
 *
 * Two ways to time: `start` / `restart` / `stop` / `fired` for a timeout
 * started by an event, and `firedSince` for one measured from a tick the
 * caller derives from state (the arrival of the oldest pending request, the
 * last delivery), which changes without an event of its own. Either way the
 * length is `baseTicks * 2^doublings`: `backoff` doubles it up to
 * `doublingsMax` times, `relax` halves it and `resetBackoff` returns it to
 * the base.
 */
import { assert } from './assert.js';

export type TimeoutName =
  /** T2: a pending request waited too long; suspect the primary. */
  | 'request'
  /** T2, starvation: a request waited several T2 lengths while others progressed. */
  | 'starvation'
  /** T3: resend this replica's VIEW-CHANGE. */
  | 'view-change-resend'
  /** T4: a quorum left the view and no NEW-VIEW came. */
  | 'new-view'
  /** R7, C5: resend this replica's votes and CHECKPOINTs that may have been lost. */
  | 'vote-resend';

export class Timeout {
  private startedAt: number | undefined;
  private doublings = 0;

  constructor(
    readonly name: TimeoutName,
    private readonly baseTicks: number,
    private readonly doublingsMax = 0,
  ) {
    assert(Number.isSafeInteger(baseTicks) && baseTicks > 0, `timeout ${name}: base ${baseTicks} must be a positive integer`);
  }

  /** Current length in ticks. */
  get ticks(): number {
    return this.baseTicks * 2 ** this.doublings;
  }

  /** Starts the timeout at `now` unless it is already running. */
  start(now: number): void {
    this.startedAt ??= now;
  }

  /** Starts it again from `now`, running or not. */
  restart(now: number): void {
    this.startedAt = now;
  }

  stop(): void {
    this.startedAt = undefined;
  }

  /** Running for at least its length at `now`. */
  fired(now: number): boolean {
    return this.startedAt !== undefined && now - this.startedAt >= this.ticks;
  }

  /** At least its length has passed from `since` to `now` (a start derived from state). */
  firedSince(since: number, now: number): boolean {
    return now - since >= this.ticks;
  }

  /** Doubles the length, at most `doublingsMax` times in a row. */
  backoff(): void {
    if (this.doublings < this.doublingsMax) this.doublings++;
  }

  /** Halves the length again, down to the base. */
  relax(): void {
    if (this.doublings > 0) this.doublings--;
  }

  resetBackoff(): void {
    this.doublings = 0;
  }
}
