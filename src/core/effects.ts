/**
 * What the replica core asks its runtime to do, as data.
 *
 * ORDERING CONTRACT: the runtime applies the effects of one step in the order
 * given. `execute` effects are emitted in strictly increasing sequence order
 * and the runtime MUST hand them to the service in that order and report each
 * with one `executed` event, in the same order. A `persist` effect's record
 * MUST be on stable storage BEFORE any `send` that follows it, in this step
 * or a later one, is put on the wire (docs/DURABILITY.md D10): what a
 * replica sends binds it, and a restarted replica must not contradict it.
 * A `reply` waits too: it tells a client its request is decided, which a
 * crash must not undo; executes need not wait.
 */
import type { DurableRecord } from './durable.js';
import type { ClientId, Digest, ReplicaId } from './ids.js';
import type { CheckpointManifest, ReplicaMessage, ReplyMessage, Request } from './messages.js';
import type { RequestNo, SeqNo, View } from './ordering.js';
import type { Rejection } from './rejection.js';

/** Send `message` to one replica, or to every replica but this one. */
export interface SendEffect {
  readonly type: 'send';
  readonly to: ReplicaId | 'others';
  readonly message: ReplicaMessage;
}

/**
 * Append `record` to this replica's journal (docs/DURABILITY.md D1-D7). A
 * runtime without durable storage ignores it; one with storage holds every
 * later `send` until the record is synced (group commit: one sync for all
 * records appended meanwhile).
 */
export interface PersistEffect {
  readonly type: 'persist';
  readonly record: DurableRecord;
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

/** One client session's last executed request and its result, as kept in a checkpoint. */
export interface ClientTableEntry {
  readonly clientId: ClientId;
  readonly requestNo: RequestNo;
  /** The cached reply; empty when `replyDropped`. */
  readonly result: Uint8Array;
  /**
   * The reply's body was dropped to keep cached replies within
   * clientReplyCacheBytesMax: the session and its request number stay, and a
   * retransmission gets no cached reply (never an empty one). Part of the
   * checkpoint image, so replicas agree on it.
   */
  readonly replyDropped?: true;
  /** The service's `update` threw on the request: `result` is the failure's description (a `failed` reply). */
  readonly failed?: true;
}

/**
 * Build the image of checkpoint `seq` [S1]: `clientTable` as of batch `seq`,
 * and the service state right after batch `seq` executed (the executor
 * snapshots it after that batch; later batches may already be queued).
 * Keep the image to serve its chunks and answer with `checkpoint-taken`.
 */
export interface CheckpointEffect {
  readonly type: 'checkpoint';
  readonly seq: SeqNo;
  readonly clientTable: readonly ClientTableEntry[];
}

/** Send chunk `index` of the kept image of checkpoint `seq` to replica `to` [S3, S6]. */
export interface SendChunkEffect {
  readonly type: 'send-chunk';
  readonly to: ReplicaId;
  readonly seq: SeqNo;
  readonly index: number;
}

/**
 * Keep chunk `index` of the image of checkpoint `seq` being fetched; it was
 * checked against the manifest [S10]. Chunks of another `seq` kept so far
 * are no longer needed (the core abandoned that checkpoint for this one).
 */
export interface StoreChunkEffect {
  readonly type: 'store-chunk';
  readonly seq: SeqNo;
  /** The image's manifest (the same object for every chunk of `seq`): where chunk `index` goes. */
  readonly manifest: CheckpointManifest;
  readonly index: number;
  readonly bytes: Uint8Array;
}

/**
 * Every chunk of checkpoint `seq` is stored [S12]: replace the service state
 * with the image's (in the executor, after the batches handed over so far,
 * none of which may be reported executed afterwards) and answer with
 * `checkpoint-installed` carrying its client table. Keep the image to serve.
 */
export interface InstallCheckpointEffect {
  readonly type: 'install-checkpoint';
  readonly seq: SeqNo;
  readonly manifest: CheckpointManifest;
}

/** A checkpoint became stable: everything below it was garbage-collected; images of checkpoints below `seq` may be dropped [S3]. */
export interface StableCheckpointEffect {
  readonly type: 'stable-checkpoint';
  readonly seq: SeqNo;
}

/**
 * This replica's own state after batch `seq` differs from the one a quorum
 * certified (a non-deterministic service, a bit flip, a bug) [S16]: it
 * repairs itself by fetching the certified image and executing its log
 * after it again. Log it loudly and count it.
 */
export interface DivergedEffect {
  readonly type: 'diverged';
  readonly seq: SeqNo;
  readonly ownDigest: Digest;
  readonly certifiedDigest: Digest;
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
  | PersistEffect
  | SendEffect
  | ReplyEffect
  | ExecuteEffect
  | CheckpointEffect
  | SendChunkEffect
  | StoreChunkEffect
  | InstallCheckpointEffect
  | StableCheckpointEffect
  | DivergedEffect
  | ViewChangeStartedEffect
  | ViewInstalledEffect
  | RejectedEffect
  | DeliveredEffect;
