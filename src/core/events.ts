/** What the runtime feeds into the replica core. */
import type { Digest, ReplicaId } from './ids.js';
import type { ReplicaMessage, Request } from './messages.js';
import type { SeqNo } from './ordering.js';

/** A message from replica `from`, as authenticated by the channel it came on. */
export interface MessageEvent {
  readonly type: 'message';
  readonly from: ReplicaId;
  readonly message: ReplicaMessage;
}

/**
 * A request from a client connection. The runtime has checked that the
 * connection is authenticated as the owner of `request.clientId`.
 */
export interface RequestEvent {
  readonly type: 'request';
  readonly request: Request;
}

/** The service executed batch `seq`; `results[i]` answers its i-th request. */
export interface ExecutedEvent {
  readonly type: 'executed';
  readonly seq: SeqNo;
  readonly results: readonly Uint8Array[];
}

/** One unit of the replica's logical clock (the runtime's tick period, e.g. 10 ms). */
export interface TickEvent {
  readonly type: 'tick';
}

/** The state digest after batch `seq`, answering a `snapshot` effect. */
export interface StateDigestEvent {
  readonly type: 'state-digest';
  readonly seq: SeqNo;
  readonly stateDigest: Digest;
}

export type ReplicaEvent = MessageEvent | RequestEvent | ExecutedEvent | TickEvent | StateDigestEvent;
