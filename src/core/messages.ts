/**
 * Protocol messages as a discriminated union. Sender identity is never a
 * field: it is the authenticated channel a message arrived on (src/net), so a
 * replica cannot claim to be another one by writing a number.
 *
 * Full request bodies travel inside PRE-PREPARE (docs/DESIGN.md, "Full
 * requests in PRE-PREPARE").
 */
import type { ClientId, Digest } from './ids.js';
import type { RequestNo, SeqNo, View } from './ordering.js';

/** A client operation, identified by (clientId, requestNo). */
export interface Request {
  readonly clientId: ClientId;
  readonly requestNo: RequestNo;
  /** The service's request, encoded with its request codec. Opaque here. */
  readonly operation: Uint8Array;
}

/** Client -> every replica. */
export interface RequestMessage {
  readonly type: 'request';
  readonly request: Request;
}

/** Replica -> client: the result of executing (clientId, requestNo). */
export interface ReplyMessage {
  readonly type: 'reply';
  readonly view: View;
  readonly clientId: ClientId;
  readonly requestNo: RequestNo;
  /** The service's reply, encoded with its reply codec. */
  readonly result: Uint8Array;
}

/** Primary -> backups: proposes `requests` at (view, seq). PBFT sec. 4.2. */
export interface PrePrepareMessage {
  readonly type: 'pre-prepare';
  readonly view: View;
  readonly seq: SeqNo;
  /** Digest of the batch; receivers recompute and compare it. */
  readonly digest: Digest;
  readonly requests: readonly Request[];
}

/** Backup -> all replicas: accepted the PRE-PREPARE for (view, seq, digest). */
export interface PrepareMessage {
  readonly type: 'prepare';
  readonly view: View;
  readonly seq: SeqNo;
  readonly digest: Digest;
}

/** Replica -> all replicas: prepared (view, seq, digest). */
export interface CommitMessage {
  readonly type: 'commit';
  readonly view: View;
  readonly seq: SeqNo;
  readonly digest: Digest;
}

/** Messages exchanged between replicas. */
export type ReplicaMessage = PrePrepareMessage | PrepareMessage | CommitMessage;
/** Messages a client sends. */
export type ClientMessage = RequestMessage;
/** Every message kind on the wire. */
export type Message = ReplicaMessage | RequestMessage | ReplyMessage;
export type MessageType = Message['type'];
