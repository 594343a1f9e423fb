/**
 * What the replica core asks its runtime to do, as data.
 *
 * ORDERING CONTRACT: the runtime applies the effects of one step in the order
 * given. `execute` effects are emitted in strictly increasing sequence order
 * and the runtime MUST hand them to the service in that order and report each
 * with one `executed` event, in the same order. (When durable storage arrives,
 * a `persist` effect MUST be on stable storage BEFORE any later `send` of the
 * same step is put on the wire.)
 */
import type { ClientId, ReplicaId } from './ids.js';
import type { ReplicaMessage, ReplyMessage, Request } from './messages.js';
import type { SeqNo, View } from './ordering.js';
import type { Rejection } from './rejection.js';

/** Send `message` to one replica, or to every replica but this one. */
export interface SendEffect {
  readonly type: 'send';
  readonly to: ReplicaId | 'others';
  readonly message: ReplicaMessage;
}

/** Send a reply to the client session `clientId` (if it is connected). */
export interface ReplyEffect {
  readonly type: 'reply';
  readonly clientId: ClientId;
  readonly message: ReplyMessage;
}

/**
 * Run `requests` through the service, in this order, as batch `seq`. The
 * requests are already deduplicated (exactly-once); the list may be empty, in
 * which case the runtime still reports `executed` with no results.
 */
export interface ExecuteEffect {
  readonly type: 'execute';
  readonly seq: SeqNo;
  readonly requests: readonly Request[];
}

/**
 * Take the service state's digest after batch `seq` (every earlier `execute`
 * has been handed over; the snapshot must come after it and before any later
 * one) and report it with a `state-digest` event.
 */
export interface SnapshotEffect {
  readonly type: 'snapshot';
  readonly seq: SeqNo;
}

/** A checkpoint became stable: everything at or below `seq` was garbage-collected. */
export interface StableCheckpointEffect {
  readonly type: 'stable-checkpoint';
  readonly seq: SeqNo;
}

/** This replica left its view and voted for `view`; for logs and metrics. */
export interface ViewChangeStartedEffect {
  readonly type: 'view-change-started';
  readonly view: View;
}

/** This replica installed `view` (NEW-VIEW accepted or sent); for logs and metrics. */
export interface ViewInstalledEffect {
  readonly type: 'view-installed';
  readonly view: View;
  readonly primary: ReplicaId;
}

/** Input from `from` was refused; for logs, metrics and peer scoring. */
export interface RejectedEffect {
  readonly type: 'rejected';
  readonly from: { readonly replica: ReplicaId } | { readonly client: ClientId };
  readonly messageType: string;
  readonly rejection: Rejection;
}

/** A batch was committed and delivered for execution; for logs and metrics. */
export interface DeliveredEffect {
  readonly type: 'delivered';
  readonly seq: SeqNo;
  readonly requests: number;
}

export type ReplicaEffect =
  | SendEffect
  | ReplyEffect
  | ExecuteEffect
  | SnapshotEffect
  | StableCheckpointEffect
  | ViewChangeStartedEffect
  | ViewInstalledEffect
  | RejectedEffect
  | DeliveredEffect;
