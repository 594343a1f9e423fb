/**
 * What today's protocol can and cannot be held to. Each gate is one constant,
 * named after what it waits for; lifting it when that protocol arrives is a
 * one-line change here (docs/SIMULATOR.md, "Gates").
 */

/**
 * Protocol features the simulator's Byzantine behaviours may depend on. A
 * behaviour whose `needs` are not all in {@link PROTOCOL_FEATURES} is never
 * selected (its lies would be about messages that do not exist yet).
 */
export type ProtocolFeature =
  /** View change (issue 4): VIEW-CHANGE / NEW-VIEW messages, replica ticks. */
  | 'view-change'
  /** Checkpoints (issue 5). */
  | 'checkpoints'
  /** State transfer (issue 5). */
  | 'state-transfer'
  /** Per-request client authentication every replica can check (security issue). */
  | 'client-authentication';

/** The features the core has today. */
export const PROTOCOL_FEATURES: ReadonlySet<ProtocolFeature> = new Set<ProtocolFeature>([]);

/**
 * Until the view change (issue 4): a faulty primary stops progress for good,
 * so the liveness phase runs only for seeds whose view-0 primary is correct
 * and never crashed.
 */
export const LIVENESS_NEEDS_CORRECT_PRIMARY = true; // until the view change (issue 4)

/**
 * Until agreement messages are retransmitted or recovered by state transfer
 * (issues 4 and 5): the core sends each PRE-PREPARE / PREPARE / COMMIT once,
 * so one lost between two correct replicas (dropped, cut by a partition, or
 * ignored by a receiver whose window had not reached it) can wedge a sequence
 * number forever. The liveness phase runs only for seeds where that never
 * happened.
 */
export const LIVENESS_NEEDS_NO_LOST_AGREEMENT_MESSAGES = true; // until the view change and state transfer (issues 4, 5)

/**
 * Until per-request client authentication: a Byzantine primary can put a
 * request no client sent into a batch and correct replicas will execute it
 * (docs/DESIGN.md, "Full requests in the PRE-PREPARE"). The behaviour that
 * does so exists but is never selected while this is false.
 */
export const FORGED_REQUESTS_DETECTABLE = false; // until per-request client authentication

/**
 * Until the view change: the replica core has no `tick` event. When it does,
 * set this to true and replica nodes are ticked like clients.
 */
export const REPLICA_CORE_TAKES_TICKS = false; // until the view change (issue 4)
