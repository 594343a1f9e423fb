/**
 * Protocol messages as a discriminated union. Sender identity is never a
 * field: it is the authenticated channel a message arrived on (src/net), so a
 * replica cannot claim to be another one by writing a number.
 *
 * Full request bodies travel inside PRE-PREPARE (docs/DESIGN.md, "Full
 * requests in PRE-PREPARE").
 */
import type { ClientId, Digest, ReplicaId } from './ids.js';
import type { RequestNo, SeqNo, View } from './ordering.js';

/**
 * A client operation, identified by (clientId, requestNo), signed by its
 * client (docs/DESIGN.md, "Client authentication"): `signature` is the
 * Ed25519 signature by `clientKey` on its {@link RequestStatement}, and the
 * request is authentic only if `clientKey` also owns `clientId`
 * ({@link CoreCrypto.verifyRequest}).
 */
export interface Request {
  readonly clientId: ClientId;
  readonly requestNo: RequestNo;
  /** The service's request, encoded with its request codec. Opaque here. */
  readonly operation: Uint8Array;
  /** The client's raw Ed25519 public key, {@link CLIENT_KEY_BYTES} bytes. */
  readonly clientKey: Uint8Array;
  /** The client's signature on the request's {@link RequestStatement}, {@link SIGNATURE_BYTES} bytes. */
  readonly signature: Signature;
}

/** Bytes of a raw Ed25519 public key, as a request's `clientKey`. */
export const CLIENT_KEY_BYTES = 32;

/**
 * What a client's signature on a request covers (encoded by
 * `encodeRequestStatement`, src/wire/codec.ts): everything that identifies
 * and defines the request, so a signature cannot be moved to another
 * session, number or operation.
 */
export type RequestStatement = Pick<Request, 'clientId' | 'requestNo' | 'operation'>;

/** Client -> every replica. */
export interface RequestMessage {
  readonly type: 'request';
  readonly request: Request;
}

/**
 * What a reply says besides "executed, here is the result" (docs/WIRE.md):
 * - `refused`: not executed and never will be: its session is new and the
 *   client table already holds clientSessionsMax sessions (decided at
 *   delivery, the same way at every correct replica; docs/DESIGN.md,
 *   "Exactly-once"); the result is empty;
 * - `failed`: executed, and the service's `update` threw (or the request did
 *   not decode): the state is as before it, and the result is the failure's
 *   one-line description, UTF-8 (deterministic, so correct replicas agree);
 * - `rejected`: never ordered, because the request breaks a limit every
 *   replica applies alike (e.g. requestBytesMax); the result says which,
 *   UTF-8. Sent by each replica on its own, not through agreement.
 */
export type ReplyStatus = 'refused' | 'failed' | 'rejected';

/**
 * Replica -> client: the result of executing (clientId, requestNo), or, with
 * a `status`, why there is none ({@link ReplyStatus}).
 */
export interface ReplyMessage {
  readonly type: 'reply';
  readonly view: View;
  readonly clientId: ClientId;
  readonly requestNo: RequestNo;
  /** Absent: the request was executed and `result` is its reply. */
  readonly status?: ReplyStatus;
  /** The service's reply, encoded with its reply codec. */
  readonly result: Uint8Array;
}

/**
 * Client -> every replica: a read-only request (docs/PROTOCOL.md, Q1-Q12),
 * answered from each replica's executed state without ordering. Not
 * signed: it never leaves the replica it was sent to, which answers on the
 * same authenticated connection, so the connection's TLS key is all that
 * speaks for it. `readId` matches the answers to the invocation; a client
 * numbers its read-only requests itself, apart from its sessions' request
 * numbers (they change no client table).
 */
export interface ReadRequestMessage {
  readonly type: 'read-request';
  readonly readId: number;
  /** The service's request, encoded with its request codec. */
  readonly operation: Uint8Array;
}

/**
 * Why a read-only request has no answer (the status of a read-reply):
 * - `not-read-only`: the service does not declare the request read-only
 *   (`Service.readOnly`), so the replica did not run it [Q5];
 * - `failed`: `readOnly` or `query` threw, returned a promise, or the request
 *   or reply did not go through its codec; the result is a one-line
 *   description, UTF-8;
 * - `rejected`: not run because it breaks a replica limit (read-only requests
 *   queued, the request's or the reply's size); the result says which, UTF-8.
 */
export type ReadReplyStatus = 'not-read-only' | 'failed' | 'rejected';

/** Replica -> the client that sent read-only request `readId`: its answer [Q7], or why there is none. */
export interface ReadReplyMessage {
  readonly type: 'read-reply';
  readonly readId: number;
  /** Absent: `result` is the service's `query` reply. */
  readonly status?: ReadReplyStatus;
  readonly result: Uint8Array;
}

/** Ed25519 signature, 64 bytes: on evidence that travels between replicas. */
export type Signature = Uint8Array;
export const SIGNATURE_BYTES = 64;

/**
 * Primary -> backups: proposes `requests` at (view, seq). PBFT sec. 4.2.
 * Signed (statement `pre-prepare`), since it is part of the prepared
 * certificates a view change forwards. An empty batch is a null request and
 * only appears in a NEW-VIEW.
 */
export interface PrePrepareMessage {
  readonly type: 'pre-prepare';
  readonly view: View;
  readonly seq: SeqNo;
  /** Digest of the batch; receivers recompute and compare it. */
  readonly digest: Digest;
  readonly requests: readonly Request[];
  readonly signature: Signature;
}

/** Backup -> all replicas: accepted the PRE-PREPARE for (view, seq, digest). Signed (statement `prepare`). */
export interface PrepareMessage {
  readonly type: 'prepare';
  readonly view: View;
  readonly seq: SeqNo;
  readonly digest: Digest;
  readonly signature: Signature;
}

/** Replica -> all replicas: prepared (view, seq, digest). Authenticated by the channel only. */
export interface CommitMessage {
  readonly type: 'commit';
  readonly view: View;
  readonly seq: SeqNo;
  readonly digest: Digest;
}

/** Replica -> all replicas: its service state after batch `seq` has this digest. Signed. */
export interface CheckpointMessage {
  readonly type: 'checkpoint';
  readonly seq: SeqNo;
  readonly stateDigest: Digest;
  readonly signature: Signature;
}

/** One replica's signature inside a certificate. */
export interface SignedBy {
  readonly replica: ReplicaId;
  readonly signature: Signature;
}

/**
 * Proof that a checkpoint is stable: quorum signatures on (seq, stateDigest).
 * Sequence number 0 is the initial state, stable by definition, with no
 * signatures (its state digest is empty).
 */
export interface CheckpointCertificate {
  readonly seq: SeqNo;
  readonly stateDigest: Digest;
  readonly signatures: readonly SignedBy[];
}

/**
 * Proof that a batch prepared at (view, seq): the primary's signed
 * PRE-PREPARE and quorum - 1 signed PREPAREs from distinct backups.
 */
export interface PreparedCertificate {
  readonly prePrepare: PrePrepareMessage;
  readonly prepares: readonly SignedBy[];
}

/**
 * Replica `replica` -> all: moves to `newView` and proves what it knows
 * (docs/VIEW-CHANGE.md, V1-V8). Signed, since the new primary forwards it
 * inside NEW-VIEW.
 */
export interface ViewChangeMessage {
  readonly type: 'view-change';
  readonly newView: View;
  readonly replica: ReplicaId;
  /** Its latest stable checkpoint. */
  readonly checkpoint: CheckpointCertificate;
  /** For each sequence number above the checkpoint it prepared, the certificate of the highest view. */
  readonly prepared: readonly PreparedCertificate[];
  readonly signature: Signature;
}

/**
 * New primary -> all: installs `view` with the quorum of VIEW-CHANGEs that
 * justifies it and the PRE-PREPAREs it implies for the sequence numbers
 * after the chosen checkpoint (null requests where nothing prepared).
 * Backups recompute `prePrepares` from `viewChanges` and refuse a mismatch.
 */
export interface NewViewMessage {
  readonly type: 'new-view';
  readonly view: View;
  readonly viewChanges: readonly ViewChangeMessage[];
  readonly prePrepares: readonly PrePrepareMessage[];
}

/** Backup -> primary: a client request that has waited too long at the backup. */
export interface ForwardMessage {
  readonly type: 'forward';
  readonly request: Request;
}

/**
 * Per-chunk digests of a checkpoint's image (docs/STATE-TRANSFER.md): the
 * client table, then the service state, each split into `chunkBytes`
 * chunks. A checkpoint's state digest is the manifest's digest
 * (`CoreCrypto.manifestDigest`), so every chunk can be checked on arrival.
 */
export interface CheckpointManifest {
  readonly chunkBytes: number;
  readonly clientTableBytes: number;
  readonly serviceStateBytes: number;
  /** SHA-256 of each chunk: client-table chunks first, then service-state chunks. */
  readonly chunkDigests: readonly Digest[];
}

/** A lagging replica -> all: asks for the latest stable checkpoint [S5]. */
export interface StateQueryMessage {
  readonly type: 'state-query';
  /** The asker's last executed batch. */
  readonly lastExecuted: SeqNo;
}

/** Answer to STATE-QUERY [S6]: the sender's latest stable checkpoint, its manifest, and where the sender is. */
export interface StateSummaryMessage {
  readonly type: 'state-summary';
  readonly view: View;
  readonly viewActive: boolean;
  readonly checkpoint: CheckpointCertificate;
  readonly manifest: CheckpointManifest;
  readonly lastDelivered: SeqNo;
}

/** Asks for chunk `index` of the image of checkpoint `seq` [S9]. */
export interface ChunkRequestMessage {
  readonly type: 'chunk-request';
  readonly seq: SeqNo;
  readonly index: number;
}

/** Chunk `index` of the image of checkpoint `seq` [S10]. */
export interface ChunkMessage {
  readonly type: 'chunk';
  readonly seq: SeqNo;
  readonly index: number;
  readonly bytes: Uint8Array;
}

/** Asks for the batches delivered after `after` [S13]. */
export interface LogRequestMessage {
  readonly type: 'log-request';
  readonly after: SeqNo;
}

/** A batch the sender delivered at `seq`. */
export interface LoggedBatch {
  readonly seq: SeqNo;
  readonly requests: readonly Request[];
}

/** Answer to LOG-REQUEST [S14]: delivered batches, in sequence order. */
export interface LogEntriesMessage {
  readonly type: 'log-entries';
  readonly batches: readonly LoggedBatch[];
}

/** What a signature covers: a statement, never raw message bytes, so kinds cannot be confused. */
export type Statement =
  | { readonly kind: 'pre-prepare'; readonly view: View; readonly seq: SeqNo; readonly digest: Digest }
  | { readonly kind: 'prepare'; readonly view: View; readonly seq: SeqNo; readonly digest: Digest }
  | { readonly kind: 'checkpoint'; readonly seq: SeqNo; readonly stateDigest: Digest }
  | { readonly kind: 'view-change'; readonly message: Omit<ViewChangeMessage, 'signature'> };

/** Messages exchanged between replicas. */
export type ReplicaMessage =
  | PrePrepareMessage
  | PrepareMessage
  | CommitMessage
  | CheckpointMessage
  | ViewChangeMessage
  | NewViewMessage
  | ForwardMessage
  | StateQueryMessage
  | StateSummaryMessage
  | ChunkRequestMessage
  | ChunkMessage
  | LogRequestMessage
  | LogEntriesMessage;
/** Messages a client sends. */
export type ClientMessage = RequestMessage | ReadRequestMessage;
/** Messages a replica sends to a client. */
export type ClientReplyMessage = ReplyMessage | ReadReplyMessage;
/** Every message kind on the wire. */
export type Message = ReplicaMessage | ClientMessage | ClientReplyMessage;
export type MessageType = Message['type'];

/** Whether `message` is one replicas send each other (not a client's, nor a reply to one). */
export function isReplicaMessage(message: Message): message is ReplicaMessage {
  switch (message.type) {
    case 'request':
    case 'reply':
    case 'read-request':
    case 'read-reply':
      return false;
    default:
      return true;
  }
}
