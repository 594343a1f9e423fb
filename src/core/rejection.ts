/**
 * What the core says about input it refused. Byzantine input is data: the core
 * never throws on it. `ignore` covers the benign (stale, duplicate, out of
 * window); `reject-peer` is provable misbehaviour of the sender, which the
 * runtime counts and may act on (disconnect, throttle).
 */
export type RejectionAction = 'ignore' | 'reject-peer';

export interface Rejection {
  readonly action: RejectionAction;
  /** Stable, short, machine-readable reason, e.g. `pre-prepare-not-from-primary`. */
  readonly reason: string;
}

export const ignore = (reason: string): Rejection => ({ action: 'ignore', reason });
export const rejectPeer = (reason: string): Rejection => ({ action: 'reject-peer', reason });
