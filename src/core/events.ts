/** What the runtime feeds into the replica core. */
import type { ClientTableEntry } from './effects.js';
import type { ReplicaId } from './ids.js';
import type { CheckpointManifest, ReplicaMessage, Request } from './messages.js';
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

/**
 * The service executed batch `seq`; `results[i]` answers its i-th request.
 * `failed` lists (ascending) the requests whose `update` threw: their state
 * changes were rolled back and `results[i]` describes the failure.
 */
export interface ExecutedEvent {
  readonly type: 'executed';
  readonly seq: SeqNo;
  readonly results: readonly Uint8Array[];
  readonly failed?: readonly number[];
}

/** One unit of the replica's logical clock (the runtime's tick period, e.g. 10 ms). */
export interface TickEvent {
  readonly type: 'tick';
}

/** The image of checkpoint `seq` is built and kept, answering a `checkpoint` effect [S1]. */
export interface CheckpointTakenEvent {
  readonly type: 'checkpoint-taken';
  readonly seq: SeqNo;
  readonly manifest: CheckpointManifest;
}

/** The image of checkpoint `seq` is installed, answering `install-checkpoint` [S12]. */
export interface CheckpointInstalledEvent {
  readonly type: 'checkpoint-installed';
  readonly seq: SeqNo;
  readonly clientTable: readonly ClientTableEntry[];
}

export type ReplicaEvent =
  | MessageEvent
  | RequestEvent
  | ExecutedEvent
  | TickEvent
  | CheckpointTakenEvent
  | CheckpointInstalledEvent;
