/**
 * What the core says about input it refused. Byzantine input is data: the core
 * never throws on it. `ignore` covers the benign (stale, duplicate, out of
 * window); `reject-peer` is provable misbehaviour of the sender, which the
 * runtime counts and may act on (disconnect, throttle).
 *
 * The reasons are closed sets: they are metric labels and log fields, so a
 * new one is a deliberate change here, never a free-form string.
 */

/** Benign reasons: the input is stale, repeated, early, or not needed now. */
export const IGNORE_REASONS = [
  'above-window',
  'below-window',
  'duplicate',
  'forward-not-primary',
  'future-view',
  'no-image',
  'not-fetching',
  'nothing-after',
  'old-view',
  'pending-requests-full',
  'pending-requests-key-full',
  'rate-limited',
  'transferring',
  'unexpected-chunk',
  'unsolicited',
  'view-changing',
] as const;

/** Provable misbehaviour of the sender. */
export const PEER_FAULTS = [
  'bad-checkpoint-certificate',
  'bad-sender',
  'bad-signature',
  'batch-digest-mismatch',
  'batch-too-large',
  'batch-too-many-requests',
  'checkpoint-off-interval',
  'chunk-digest-mismatch',
  'conflicting-pre-prepare',
  'empty-batch',
  'equivocating-checkpoint',
  'equivocating-commit',
  'equivocating-log-entry',
  'equivocating-prepare',
  'forged-request',
  'manifest-chunk-count',
  'manifest-chunk-size',
  'manifest-digest-mismatch',
  'manifest-too-large',
  'new-view-bad-signature',
  'new-view-bad-view-change',
  'new-view-bad-view-changes',
  'new-view-contradicts-delivered',
  'new-view-not-from-primary',
  'new-view-without-quorum',
  'new-view-wrong-pre-prepares',
  'pre-prepare-not-from-primary',
  'prepare-from-primary',
  'request-too-large',
  'view-change-bad-certificate',
  'view-change-bad-checkpoint',
  'view-change-bad-replica',
  'view-change-bad-sequence',
  'view-change-bad-signature',
  'view-change-certificate-from-future',
  'view-change-not-from-sender',
  'view-change-too-many-certificates',
] as const;

export type IgnoreReason = (typeof IGNORE_REASONS)[number];
export type PeerFault = (typeof PEER_FAULTS)[number];
export type RejectionReason = IgnoreReason | PeerFault;
export type RejectionAction = 'ignore' | 'reject-peer';

export type Rejection =
  | { readonly action: 'ignore'; readonly reason: IgnoreReason }
  | { readonly action: 'reject-peer'; readonly reason: PeerFault };

export const ignore = (reason: IgnoreReason): Rejection => ({ action: 'ignore', reason });
export const rejectPeer = (reason: PeerFault): Rejection => ({ action: 'reject-peer', reason });
