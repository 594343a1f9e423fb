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
import type { SeqNo } from './ordering.js';
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

export type ReplicaEffect = SendEffect | ReplyEffect | ExecuteEffect | RejectedEffect | DeliveredEffect;
