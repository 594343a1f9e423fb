/**
 * The binary wire codec: {@link Message} <-> bytes, and the signed bytes of
 * a {@link Statement}. Pure, no I/O; the frame length prefix belongs to the
 * network layer. docs/WIRE.md has the same layout with rationale.
 *
 * All integers are big-endian. `u64` is two u32 (hi, lo) and must be at most
 * ORDINAL_MAX = 2^53 - 1 (hi <= 0x1FFFFF). `bytes` is a u32 length followed
 * by that many bytes. `list<X>` is a u32 count followed by that many X. The
 * encoding is canonical: every accepted input re-encodes to exactly the same
 * bytes.
 *
 * Every message starts with
 *
 * | offset | size | field                  |
 * |--------|------|------------------------|
 * | 0      | u8   | wire version, 1        |
 * | 1      | u8   | type tag (below)       |
 *
 * followed by the fields of its type, in this order:
 *
 * | tag | type          | fields after the header                                   |
 * |-----|---------------|-----------------------------------------------------------|
 * | 1   | request       | Request                                                   |
 * | 2   | reply         | view u64, clientId u64, requestNo u64, status u8 (0 ok,   |
 * |     |               | 1 refused, 2 failed, 3 rejected), result bytes            |
 * | 3   | pre-prepare   | PrePrepare                                                |
 * | 4   | prepare       | view u64, seq u64, Digest, Signature                      |
 * | 5   | commit        | view u64, seq u64, Digest                                 |
 * | 6   | checkpoint    | seq u64, StateDigest, Signature                           |
 * | 7   | view-change   | ViewChange                                                |
 * | 8   | new-view      | view u64, list<ViewChange>, list<PrePrepare>              |
 * | 9   | forward       | Request                                                   |
 * | 10  | state-query   | lastExecuted u64                                          |
 * | 11  | state-summary | view u64, viewActive u8 (0 or 1), CheckpointCert,         |
 * |     |               | Manifest, lastDelivered u64                               |
 * | 12  | chunk-request | seq u64, index u32                                        |
 * | 13  | chunk         | seq u64, index u32, bytes                                 |
 * | 14  | log-request   | after u64                                                 |
 * | 15  | log-entries   | list<LoggedBatch>                                         |
 * | 16  | read-request  | readId u64, operation bytes                               |
 * | 17  | read-reply    | readId u64, status u8 (0 ok, 1 not-read-only, 2 failed,   |
 * |     |               | 3 rejected), result bytes                                 |
 *
 * | record         | fields                                                        |
 * |----------------|---------------------------------------------------------------|
 * | Request        | clientId u64, requestNo u64, ClientKey, Signature,            |
 * |                | operation bytes                                               |
 * | ClientKey      | bytes of length 32 (a raw Ed25519 public key)                 |
 * | Batch          | list<Request>                                                 |
 * | Digest         | bytes of length 32                                            |
 * | StateDigest    | bytes of length 32, or of length 0 exactly when seq = 0       |
 * | Signature      | bytes of length 64                                            |
 * | PrePrepare     | view u64, seq u64, Digest, Signature, Batch                   |
 * | SignedBy       | replica u16 (< n), Signature                                  |
 * | CheckpointCert | seq u64, StateDigest, list<SignedBy> (empty when seq = 0)     |
 * | PreparedCert   | PrePrepare, list<SignedBy>                                    |
 * | ViewChange     | newView u64, replica u16 (< n), CheckpointCert,               |
 * |                | list<PreparedCert>, Signature                                 |
 * | Manifest       | chunkBytes u32, clientTableBytes u64, serviceStateBytes u64,  |
 * |                | list<Digest> (the chunk digests)                              |
 * | LoggedBatch    | seq u64, Batch                                                |
 *
 * A {@link Statement} encodes as the ASCII bytes `bafomet-v1/<kind>`, a zero
 * byte, then: view u64, seq u64, Digest (pre-prepare, prepare); seq u64,
 * StateDigest (checkpoint); a ViewChange without its Signature (view-change).
 * A client's {@link RequestStatement} encodes the same way with the kind
 * `request`: clientId u64, requestNo u64, operation bytes.
 */
import { assert, assertNever } from '../core/assert.js';
import { DIGEST_BYTES, type ClientId, type Digest, type ReplicaId } from '../core/ids.js';
import {
  CLIENT_KEY_BYTES,
  SIGNATURE_BYTES,
  type CheckpointCertificate,
  type CheckpointManifest,
  type LoggedBatch,
  type Message,
  type MessageType,
  type NewViewMessage,
  type PrePrepareMessage,
  type PreparedCertificate,
  type ReadReplyMessage,
  type ReadReplyStatus,
  type ReplyMessage,
  type ReplyStatus,
  type Request,
  type RequestStatement,
  type Signature,
  type SignedBy,
  type Statement,
  type ViewChangeMessage,
} from '../core/messages.js';
import { newViewBytesMax, type ProtocolOptions } from '../core/options.js';
import type { RequestNo, SeqNo, View } from '../core/ordering.js';
import { Reader, type WireRejectionReason } from './reader.js';
import { LENGTH_BYTES, REPLICA_BYTES, REPLICA_ID_MAX, U32_BYTES, U64_BYTES, U8_BYTES, Writer } from './writer.js';

export type { WireRejectionReason } from './reader.js';

/** The only wire version this codec speaks (byte 0 of every message). */
export const WIRE_VERSION = 1;

const TAG = {
  request: 1,
  reply: 2,
  'pre-prepare': 3,
  prepare: 4,
  commit: 5,
  checkpoint: 6,
  'view-change': 7,
  'new-view': 8,
  forward: 9,
  'state-query': 10,
  'state-summary': 11,
  'chunk-request': 12,
  chunk: 13,
  'log-request': 14,
  'log-entries': 15,
  'read-request': 16,
  'read-reply': 17,
} as const satisfies Record<MessageType, number>;

/** A reply's status byte (docs/WIRE.md); any other value is refused. */
const REPLY_STATUS = { ok: 0, refused: 1, failed: 2, rejected: 3 } as const;
const STATUS_OF_BYTE: readonly (ReplyStatus | undefined)[] = [undefined, 'refused', 'failed', 'rejected'];
/** A read-reply's status byte (docs/WIRE.md); any other value is refused. */
const READ_STATUS = { ok: 0, 'not-read-only': 1, failed: 2, rejected: 3 } as const;
const READ_STATUS_OF_BYTE: readonly (ReadReplyStatus | undefined)[] = [undefined, 'not-read-only', 'failed', 'rejected'];

const HEADER_BYTES = 2;
const DIGEST_FIELD_BYTES = LENGTH_BYTES + DIGEST_BYTES;
const SIGNATURE_FIELD_BYTES = LENGTH_BYTES + SIGNATURE_BYTES;
const CLIENT_KEY_FIELD_BYTES = LENGTH_BYTES + CLIENT_KEY_BYTES;
// The least each record can take, so that a list count the remaining input
// cannot hold is refused before any element is parsed.
/** clientId, requestNo, client key, signature and operation length. */
const REQUEST_FIXED_BYTES = 2 * U64_BYTES + CLIENT_KEY_FIELD_BYTES + SIGNATURE_FIELD_BYTES + LENGTH_BYTES;
/** view, seq and digest: the fields prepare, commit and pre-prepare share. */
const SLOT_BYTES = 2 * U64_BYTES + DIGEST_FIELD_BYTES;
const SIGNED_BY_BYTES = REPLICA_BYTES + SIGNATURE_FIELD_BYTES;
/** A PrePrepare with an empty batch. */
const PRE_PREPARE_FIXED_BYTES = SLOT_BYTES + SIGNATURE_FIELD_BYTES + LENGTH_BYTES;
/** A PreparedCert with an empty batch and no prepares. */
const PREPARED_FIXED_BYTES = PRE_PREPARE_FIXED_BYTES + LENGTH_BYTES;
/** The genesis CheckpointCert: seq 0, empty state digest, no signatures. */
const CHECKPOINT_CERT_FIXED_BYTES = U64_BYTES + LENGTH_BYTES + LENGTH_BYTES;
/** A ViewChange with the genesis checkpoint and no prepared certificates. */
const VIEW_CHANGE_FIXED_BYTES =
  U64_BYTES + REPLICA_BYTES + CHECKPOINT_CERT_FIXED_BYTES + LENGTH_BYTES + SIGNATURE_FIELD_BYTES;
/** A LoggedBatch with an empty batch. */
const LOGGED_BATCH_FIXED_BYTES = U64_BYTES + LENGTH_BYTES;
/** A Manifest without chunk digests. */
const MANIFEST_FIXED_BYTES = U32_BYTES + 2 * U64_BYTES + LENGTH_BYTES;
/** seq and index: the fields chunk-request and chunk share. */
const CHUNK_ID_BYTES = U64_BYTES + U32_BYTES;

/** Bounds the decoder enforces before it does work sized by the input. */
export interface WireLimits {
  /** Most requests in a batch. */
  readonly batchRequestsMax: number;
  /** Most operation bytes, summed, in a batch. */
  readonly batchBytesMax: number;
  /** Most bytes in one request operation. */
  readonly requestBytesMax: number;
  /** Most bytes in one reply result. */
  readonly replyBytesMax: number;
  /** Most bytes of a whole encoded view-change message, header included. */
  readonly viewChangeBytesMax: number;
  /** Most bytes of a whole encoded new-view message (it carries a quorum of view-changes). */
  readonly newViewBytesMax: number;
  /** Most prepared certificates in a view-change, and most pre-prepares in a new-view. */
  readonly logWindow: number;
  /**
   * The number of replicas n: replica ids are below it, and it bounds the
   * signatures in a certificate and the view-changes in a new-view.
   */
  readonly replicas: number;
  /** Most bytes in one chunk of a checkpoint image. */
  readonly chunkBytes: number;
  /** Most chunk digests in a checkpoint manifest. */
  readonly manifestChunksMax: number;
  /** Most batches in one log-entries message. */
  readonly logEntriesMax: number;
  /** Most sessions in a client-table image (see `decodeClientTable`). */
  readonly clientSessionsMax: number;
  /** Most result bytes, summed, in a client-table image. */
  readonly clientReplyCacheBytesMax: number;
}

/** The decoder limits implied by the protocol options and the cluster size `replicas` (n). */
export function wireLimitsFrom(options: ProtocolOptions, replicas: number): WireLimits {
  assert(
    Number.isSafeInteger(replicas) && replicas >= 1 && replicas <= REPLICA_ID_MAX + 1,
    `replica count ${replicas} outside 1..${REPLICA_ID_MAX + 1}`,
  );
  return {
    batchRequestsMax: options.batchRequestsMax,
    batchBytesMax: options.batchBytesMax,
    requestBytesMax: options.requestBytesMax,
    replyBytesMax: options.replyBytesMax,
    viewChangeBytesMax: options.viewChangeBytesMax,
    newViewBytesMax: newViewBytesMax(options, replicas),
    logWindow: options.logWindow,
    replicas,
    chunkBytes: options.chunkBytes,
    // Each of the two parts of an image may end in a partial chunk.
    manifestChunksMax: Math.ceil(options.checkpointBytesMax / options.chunkBytes) + 2,
    logEntriesMax: options.logEntriesMax,
    clientSessionsMax: options.clientSessionsMax,
    clientReplyCacheBytesMax: options.clientReplyCacheBytesMax,
  };
}

/**
 * The most bytes a state-summary, chunk or log-entries message within
 * `limits` takes, so that the transport's frame limit can admit them: a
 * summary with the largest manifest and a full certificate, a full chunk,
 * and `logEntriesMax` batches of `batchRequestsMax` requests and
 * `batchBytesMax` operation bytes.
 */
export function stateTransferBytesMax(limits: WireLimits): number {
  const certificate = CHECKPOINT_CERT_FIXED_BYTES + DIGEST_BYTES + limits.replicas * SIGNED_BY_BYTES;
  const manifest = MANIFEST_FIXED_BYTES + limits.manifestChunksMax * DIGEST_FIELD_BYTES;
  const summary = 2 * U64_BYTES + U8_BYTES + certificate + manifest;
  const chunk = CHUNK_ID_BYTES + LENGTH_BYTES + limits.chunkBytes;
  const batch = LENGTH_BYTES + limits.batchRequestsMax * REQUEST_FIXED_BYTES + limits.batchBytesMax;
  const logEntries = LENGTH_BYTES + limits.logEntriesMax * (U64_BYTES + batch);
  return HEADER_BYTES + Math.max(summary, chunk, logEntries);
}

/** Outcome of {@link decodeMessage}; refusals carry a stable kebab-case reason. */
export type DecodeResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly reason: WireRejectionReason };

/**
 * Encodes `message` into one freshly allocated array of its exact size.
 * Out-of-range ordinals, client ids or replica ids, digests that are not 32
 * bytes (state digests: 0 bytes exactly at seq 0), signatures that are not
 * 64 bytes and a genesis checkpoint certificate with signatures are local
 * bugs and fail an assertion.
 */
export function encodeMessage(message: Message): Uint8Array {
  switch (message.type) {
    case 'request':
    case 'forward': {
      const w = messageWriter(TAG[message.type], requestBytes(message.request));
      writeRequest(w, message.request);
      return w.done();
    }
    case 'reply': {
      const w = messageWriter(TAG.reply, 3 * U64_BYTES + U8_BYTES + LENGTH_BYTES + message.result.length);
      w.u64(message.view, 'view out of range');
      w.u64(message.clientId, 'client id out of range');
      w.u64(message.requestNo, 'request number out of range');
      w.u8(REPLY_STATUS[message.status ?? 'ok']);
      w.field(message.result);
      return w.done();
    }
    case 'pre-prepare': {
      const w = messageWriter(TAG['pre-prepare'], prePrepareBytes(message));
      writePrePrepare(w, message);
      return w.done();
    }
    case 'prepare': {
      const w = messageWriter(TAG.prepare, SLOT_BYTES + SIGNATURE_FIELD_BYTES);
      writeSlot(w, message.view, message.seq, message.digest);
      w.signature(message.signature);
      return w.done();
    }
    case 'commit': {
      const w = messageWriter(TAG.commit, SLOT_BYTES);
      writeSlot(w, message.view, message.seq, message.digest);
      return w.done();
    }
    case 'checkpoint': {
      const size = U64_BYTES + LENGTH_BYTES + message.stateDigest.length + SIGNATURE_FIELD_BYTES;
      const w = messageWriter(TAG.checkpoint, size);
      writeCheckpoint(w, message.seq, message.stateDigest);
      w.signature(message.signature);
      return w.done();
    }
    case 'view-change': {
      const w = messageWriter(TAG['view-change'], viewChangeBytes(message));
      writeViewChange(w, message);
      return w.done();
    }
    case 'new-view': {
      const w = messageWriter(TAG['new-view'], newViewBytes(message));
      w.u64(message.view, 'view out of range');
      w.list(message.viewChanges, writeViewChange);
      w.list(message.prePrepares, writePrePrepare);
      return w.done();
    }
    case 'state-query':
    case 'log-request': {
      const w = messageWriter(TAG[message.type], U64_BYTES);
      w.u64(message.type === 'state-query' ? message.lastExecuted : message.after, 'sequence number out of range');
      return w.done();
    }
    case 'state-summary': {
      const size =
        2 * U64_BYTES + U8_BYTES + checkpointCertificateBytes(message.checkpoint) + manifestBytes(message.manifest);
      const w = messageWriter(TAG['state-summary'], size);
      w.u64(message.view, 'view out of range');
      w.u8(message.viewActive ? 1 : 0);
      writeCheckpointCertificate(w, message.checkpoint);
      writeManifest(w, message.manifest);
      w.u64(message.lastDelivered, 'sequence number out of range');
      return w.done();
    }
    case 'chunk-request': {
      const w = messageWriter(TAG['chunk-request'], CHUNK_ID_BYTES);
      writeChunkId(w, message.seq, message.index);
      return w.done();
    }
    case 'chunk': {
      const w = messageWriter(TAG.chunk, CHUNK_ID_BYTES + LENGTH_BYTES + message.bytes.length);
      writeChunkId(w, message.seq, message.index);
      w.field(message.bytes);
      return w.done();
    }
    case 'log-entries': {
      let size = LENGTH_BYTES;
      for (const batch of message.batches) size += U64_BYTES + batchBytes(batch.requests);
      const w = messageWriter(TAG['log-entries'], size);
      w.list(message.batches, writeLoggedBatch);
      return w.done();
    }
    case 'read-request': {
      const w = messageWriter(TAG['read-request'], U64_BYTES + LENGTH_BYTES + message.operation.length);
      w.u64(message.readId, 'read id out of range');
      w.field(message.operation);
      return w.done();
    }
    case 'read-reply': {
      const w = messageWriter(TAG['read-reply'], U64_BYTES + U8_BYTES + LENGTH_BYTES + message.result.length);
      w.u64(message.readId, 'read id out of range');
      w.u8(READ_STATUS[message.status ?? 'ok']);
      w.field(message.result);
      return w.done();
    }
    default:
      return assertNever(message, 'message type');
  }
}

/** A writer of a message of `bodyBytes` after its header, the header written. */
function messageWriter(tag: number, bodyBytes: number): Writer {
  const w = new Writer(HEADER_BYTES + bodyBytes);
  w.u8(WIRE_VERSION);
  w.u8(tag);
  return w;
}

/**
 * The canonical encoding of a checkpoint manifest, the input of its digest
 * (the checkpoint's state digest). It is byte for byte the Manifest record
 * inside a state-summary. Asserts like {@link encodeMessage}: sizes are u64
 * safe integers, `chunkBytes` a u32 and every digest 32 bytes.
 */
export function encodeManifest(manifest: CheckpointManifest): Uint8Array {
  const w = new Writer(manifestBytes(manifest));
  writeManifest(w, manifest);
  return w.done();
}

/**
 * The canonical encoding of a batch's requests, the input of batch digests.
 * It is byte for byte the Batch record that ends a pre-prepare encoding.
 */
export function encodeBatch(requests: readonly Request[]): Uint8Array {
  const w = new Writer(batchBytes(requests));
  writeBatch(w, requests);
  return w.done();
}

const STATEMENT_PREFIX: Readonly<Record<Statement['kind'], Uint8Array>> = {
  'pre-prepare': statementPrefix('pre-prepare'),
  prepare: statementPrefix('prepare'),
  checkpoint: statementPrefix('checkpoint'),
  'view-change': statementPrefix('view-change'),
};
const REQUEST_STATEMENT_PREFIX = statementPrefix('request');

/** `bafomet-v1/<kind>` and a zero byte: no prefix is a prefix of another, so kinds never collide. */
function statementPrefix(kind: Statement['kind'] | 'request'): Uint8Array {
  const text = `bafomet-v1/${kind}`;
  const bytes = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * The bytes a signature on `statement` covers: a domain-separating ASCII
 * prefix naming the kind (`bafomet-v1/<kind>` and a zero byte), then its
 * fields as on the wire. For `view-change` the fields are the ViewChange
 * record without its signature, so they equal the view-change message bytes
 * after the two header bytes and before the trailing Signature. Injective:
 * different statements, of the same kind or not, never share bytes. Asserts
 * like {@link encodeMessage}.
 */
export function encodeStatement(statement: Statement): Uint8Array {
  const prefix = STATEMENT_PREFIX[statement.kind];
  switch (statement.kind) {
    case 'pre-prepare':
    case 'prepare': {
      const w = new Writer(prefix.length + SLOT_BYTES);
      w.raw(prefix);
      writeSlot(w, statement.view, statement.seq, statement.digest);
      return w.done();
    }
    case 'checkpoint': {
      const w = new Writer(prefix.length + U64_BYTES + LENGTH_BYTES + statement.stateDigest.length);
      w.raw(prefix);
      writeCheckpoint(w, statement.seq, statement.stateDigest);
      return w.done();
    }
    case 'view-change': {
      const w = new Writer(prefix.length + unsignedViewChangeBytes(statement.message));
      w.raw(prefix);
      writeUnsignedViewChange(w, statement.message);
      return w.done();
    }
    default:
      return assertNever(statement, 'statement kind');
  }
}

/**
 * The bytes a client's signature on a request covers [A1]: the prefix
 * `bafomet-v1/request` and a zero byte (distinct from every replica
 * statement's), then clientId u64, requestNo u64 and the operation as
 * `bytes`. Injective, and covering the session id, so a signature cannot be
 * moved to another session, number or operation. Asserts like
 * {@link encodeMessage}.
 */
export function encodeRequestStatement(statement: RequestStatement): Uint8Array {
  const w = new Writer(REQUEST_STATEMENT_PREFIX.length + 2 * U64_BYTES + LENGTH_BYTES + statement.operation.length);
  w.raw(REQUEST_STATEMENT_PREFIX);
  w.u64(statement.clientId, 'client id out of range');
  w.u64(statement.requestNo, 'request number out of range');
  w.field(statement.operation);
  return w.done();
}

/**
 * Decodes one message from untrusted `bytes`. Never throws: malformed,
 * truncated or oversized input yields `{ ok: false, reason }`, and sizes and
 * counts are checked against `limits` and the remaining input before any
 * work they would size. A view-change longer than `limits.viewChangeBytesMax`
 * or a new-view longer than `limits.newViewBytesMax` is refused before its
 * body is read.
 *
 * Byte fields (`operation`, `result`, a chunk's `bytes`, including the
 * operations of batches nested in view-changes, new-views and log-entries,
 * and a request's `clientKey` and `signature`, which live as long as its
 * operation) are views into `bytes`, not copies: the caller must not reuse or
 * overwrite `bytes` while the message is alive. Digests (a manifest's chunk
 * digests too) and signatures are copied, since votes, certificates and
 * manifests outlive their frames and a copy of 32 or 64 bytes costs less
 * than pinning the frame.
 */
export function decodeMessage(bytes: Uint8Array, limits: WireLimits): DecodeResult {
  const r = new Reader(bytes);
  if (r.u8() !== WIRE_VERSION) r.fail('unknown-version');
  const tag = r.u8();
  if (
    (tag === TAG['view-change'] && bytes.length > limits.viewChangeBytesMax) ||
    (tag === TAG['new-view'] && bytes.length > limits.newViewBytesMax)
  ) {
    r.fail('view-change-too-large');
  }
  const message = decodeBody(r, tag, limits);
  if (r.reason !== undefined) return { ok: false, reason: r.reason };
  if (message === undefined) return { ok: false, reason: 'unknown-type' };
  if (r.remaining !== 0) return { ok: false, reason: 'trailing-bytes' };
  return { ok: true, message };
}

/** Who sent an oversized request, and how large its operation is: enough to answer it (`rejected`). */
export interface OversizedRequest {
  readonly clientId: ClientId;
  readonly requestNo: RequestNo;
  readonly operationBytes: number;
}

/** Which read-only request is oversized, and how large its operation is: enough to answer it (`rejected`). */
export interface OversizedReadRequest {
  readonly readId: number;
  readonly operationBytes: number;
}

/**
 * The header of a REQUEST frame whose operation is over `requestBytesMax`
 * (what decodeMessage refuses as `request-too-large`), or undefined if
 * `bytes` is anything else. The operation's length must be one the frame
 * holds, so the figure is the client's own. Never throws.
 */
export function oversizedRequest(bytes: Uint8Array, limits: Pick<WireLimits, 'requestBytesMax'>): OversizedRequest | undefined {
  const r = new Reader(bytes);
  if (r.u8() !== WIRE_VERSION || r.u8() !== TAG.request) return undefined;
  const clientId = r.u53('client-id-out-of-range') as ClientId;
  const requestNo = r.u53('ordinal-out-of-range') as RequestNo;
  readClientKey(r);
  readRequestSignature(r);
  const operationBytes = r.u32();
  if (r.reason !== undefined || operationBytes <= limits.requestBytesMax || operationBytes !== r.remaining) return undefined;
  return { clientId, requestNo, operationBytes };
}

/**
 * Like {@link oversizedRequest}, for a READ-REQUEST frame: its read id and
 * operation length when the operation is over `requestBytesMax` and the
 * frame holds exactly that many bytes after the length, else undefined.
 * Never throws.
 */
export function oversizedReadRequest(
  bytes: Uint8Array,
  limits: Pick<WireLimits, 'requestBytesMax'>,
): OversizedReadRequest | undefined {
  const r = new Reader(bytes);
  if (r.u8() !== WIRE_VERSION || r.u8() !== TAG['read-request']) return undefined;
  const readId = r.u53('ordinal-out-of-range');
  const operationBytes = r.u32();
  if (r.reason !== undefined || operationBytes <= limits.requestBytesMax || operationBytes !== r.remaining) return undefined;
  return { readId, operationBytes };
}

// Fields are read in object-literal property order, which is wire order. The
// brand casts are sound: u53 only yields integers in [0, ORDINAL_MAX], and
// readReplica only ids below limits.replicas. After a failure the values are
// placeholders, and decodeMessage discards them.
function decodeBody(r: Reader, tag: number, limits: WireLimits): Message | undefined {
  switch (tag) {
    case TAG.request:
    case TAG.forward:
      return { type: tag === TAG.request ? 'request' : 'forward', request: readRequest(r, limits.requestBytesMax) };
    case TAG.reply:
      return readReply(r, limits);
    case TAG['pre-prepare']:
      return readPrePrepare(r, limits);
    case TAG.prepare:
      return {
        type: 'prepare',
        view: r.u53('ordinal-out-of-range') as View,
        seq: r.u53('ordinal-out-of-range') as SeqNo,
        digest: readDigest(r),
        signature: readSignature(r),
      };
    case TAG.commit:
      return {
        type: 'commit',
        view: r.u53('ordinal-out-of-range') as View,
        seq: r.u53('ordinal-out-of-range') as SeqNo,
        digest: readDigest(r),
      };
    case TAG.checkpoint: {
      const seq = r.u53('ordinal-out-of-range') as SeqNo;
      return { type: 'checkpoint', seq, stateDigest: readStateDigest(r, seq), signature: readSignature(r) };
    }
    case TAG['view-change']:
      return readViewChange(r, limits);
    case TAG['new-view']:
      return {
        type: 'new-view',
        view: r.u53('ordinal-out-of-range') as View,
        viewChanges: readList(r, limits.replicas, VIEW_CHANGE_FIXED_BYTES, 'too-many-view-changes', () =>
          readViewChange(r, limits),
        ),
        prePrepares: readList(r, limits.logWindow, PRE_PREPARE_FIXED_BYTES, 'too-many-pre-prepares', () =>
          readPrePrepare(r, limits),
        ),
      };
    case TAG['state-query']:
      return { type: 'state-query', lastExecuted: r.u53('ordinal-out-of-range') as SeqNo };
    case TAG['state-summary']:
      return {
        type: 'state-summary',
        view: r.u53('ordinal-out-of-range') as View,
        viewActive: readFlag(r),
        checkpoint: readCheckpointCertificate(r, limits),
        manifest: readManifest(r, limits),
        lastDelivered: r.u53('ordinal-out-of-range') as SeqNo,
      };
    case TAG['chunk-request']:
      return { type: 'chunk-request', seq: r.u53('ordinal-out-of-range') as SeqNo, index: r.u32() };
    case TAG.chunk:
      return {
        type: 'chunk',
        seq: r.u53('ordinal-out-of-range') as SeqNo,
        index: r.u32(),
        bytes: readField(r, limits.chunkBytes, 'chunk-too-large'),
      };
    case TAG['log-request']:
      return { type: 'log-request', after: r.u53('ordinal-out-of-range') as SeqNo };
    case TAG['log-entries']:
      return {
        type: 'log-entries',
        batches: readList(r, limits.logEntriesMax, LOGGED_BATCH_FIXED_BYTES, 'too-many-batches', () =>
          readLoggedBatch(r, limits),
        ),
      };
    case TAG['read-request']:
      return {
        type: 'read-request',
        readId: r.u53('ordinal-out-of-range'),
        operation: readField(r, limits.requestBytesMax, 'request-too-large'),
      };
    case TAG['read-reply']:
      return readReadReply(r, limits);
    default:
      return undefined;
  }
}

/**
 * A u32 count, at most `countMax` (else `tooMany`) and at most what the
 * remaining input can hold at `itemBytesMin` each (else `truncated`), then
 * that many items; stops at the first failure.
 */
function readList<T>(
  r: Reader,
  countMax: number,
  itemBytesMin: number,
  tooMany: WireRejectionReason,
  read: () => T,
): T[] {
  const count = r.u32();
  if (count > countMax) r.fail(tooMany);
  // Fail fast on a count the input cannot hold, rather than after parsing up to its end.
  if (count * itemBytesMin > r.remaining) r.fail('truncated');
  const items: T[] = [];
  for (let i = 0; i < count && r.reason === undefined; i++) items.push(read());
  return items;
}

function readRequest(r: Reader, bytesMax: number): Request {
  return {
    clientId: r.u53('client-id-out-of-range') as ClientId,
    requestNo: r.u53('ordinal-out-of-range') as RequestNo,
    clientKey: readClientKey(r),
    signature: readRequestSignature(r),
    operation: readField(r, bytesMax, 'request-too-large'),
  };
}

function readBatch(r: Reader, limits: WireLimits): Request[] {
  let total = 0;
  return readList(r, limits.batchRequestsMax, REQUEST_FIXED_BYTES, 'batch-too-large', () => {
    const request = readRequest(r, limits.requestBytesMax);
    total += request.operation.length;
    if (total > limits.batchBytesMax) r.fail('batch-bytes-too-large');
    return request;
  });
}

function readReply(r: Reader, limits: WireLimits): ReplyMessage {
  const view = r.u53('ordinal-out-of-range') as View;
  const clientId = r.u53('client-id-out-of-range') as ClientId;
  const requestNo = r.u53('ordinal-out-of-range') as RequestNo;
  const byte = r.u8();
  if (byte >= STATUS_OF_BYTE.length) r.fail('unknown-reply-status');
  const result = readField(r, limits.replyBytesMax, 'reply-too-large');
  const reply: ReplyMessage = { type: 'reply', view, clientId, requestNo, result };
  // An executed request's reply has one form: without a status field.
  const status = STATUS_OF_BYTE[byte];
  return status === undefined ? reply : { ...reply, status };
}

function readReadReply(r: Reader, limits: WireLimits): ReadReplyMessage {
  const readId = r.u53('ordinal-out-of-range');
  const byte = r.u8();
  if (byte >= READ_STATUS_OF_BYTE.length) r.fail('unknown-reply-status');
  const result = readField(r, limits.replyBytesMax, 'reply-too-large');
  // An answer has one form: without a status field.
  const status = READ_STATUS_OF_BYTE[byte];
  return status === undefined ? { type: 'read-reply', readId, result } : { type: 'read-reply', readId, status, result };
}

function readPrePrepare(r: Reader, limits: WireLimits): PrePrepareMessage {
  return {
    type: 'pre-prepare',
    view: r.u53('ordinal-out-of-range') as View,
    seq: r.u53('ordinal-out-of-range') as SeqNo,
    digest: readDigest(r),
    signature: readSignature(r),
    requests: readBatch(r, limits),
  };
}

function readSignedBy(r: Reader, limits: WireLimits): SignedBy {
  return { replica: readReplica(r, limits), signature: readSignature(r) };
}

function readSignatures(r: Reader, limits: WireLimits, countMax: number): SignedBy[] {
  return readList(r, countMax, SIGNED_BY_BYTES, 'too-many-signatures', () => readSignedBy(r, limits));
}

function readCheckpointCertificate(r: Reader, limits: WireLimits): CheckpointCertificate {
  const seq = r.u53('ordinal-out-of-range') as SeqNo;
  const stateDigest = readStateDigest(r, seq);
  // The genesis checkpoint is stable by definition and carries no signatures.
  return { seq, stateDigest, signatures: readSignatures(r, limits, seq === 0 ? 0 : limits.replicas) };
}

function readPreparedCertificate(r: Reader, limits: WireLimits): PreparedCertificate {
  return { prePrepare: readPrePrepare(r, limits), prepares: readSignatures(r, limits, limits.replicas) };
}

function readViewChange(r: Reader, limits: WireLimits): ViewChangeMessage {
  return {
    type: 'view-change',
    newView: r.u53('ordinal-out-of-range') as View,
    replica: readReplica(r, limits),
    checkpoint: readCheckpointCertificate(r, limits),
    prepared: readList(r, limits.logWindow, PREPARED_FIXED_BYTES, 'too-many-certificates', () =>
      readPreparedCertificate(r, limits),
    ),
    signature: readSignature(r),
  };
}

function readManifest(r: Reader, limits: WireLimits): CheckpointManifest {
  return {
    chunkBytes: r.u32(),
    clientTableBytes: r.u53('byte-count-out-of-range'),
    serviceStateBytes: r.u53('byte-count-out-of-range'),
    chunkDigests: readList(r, limits.manifestChunksMax, DIGEST_FIELD_BYTES, 'too-many-chunks', () => readDigest(r)),
  };
}

function readLoggedBatch(r: Reader, limits: WireLimits): LoggedBatch {
  return { seq: r.u53('ordinal-out-of-range') as SeqNo, requests: readBatch(r, limits) };
}

/** A boolean as one byte, 0 or 1: any other value would give it a second encoding. */
function readFlag(r: Reader): boolean {
  const flag = r.u8();
  if (flag > 1) r.fail('invalid-flag');
  return flag === 1;
}

function readReplica(r: Reader, limits: WireLimits): ReplicaId {
  const id = r.u16();
  if (id >= limits.replicas) r.fail('replica-out-of-range');
  return id as ReplicaId;
}

function readField(r: Reader, bytesMax: number, tooLarge: WireRejectionReason): Uint8Array {
  const length = r.u32();
  if (length > bytesMax) r.fail(tooLarge);
  return r.view8(length);
}

/** A copy of exactly `length` bytes behind a length field that must say so. */
function readFixed(r: Reader, length: number, wrongLength: WireRejectionReason): Uint8Array {
  if (r.u32() !== length) r.fail(wrongLength);
  return new Uint8Array(r.view8(length));
}

function readDigest(r: Reader): Digest {
  return readFixed(r, DIGEST_BYTES, 'digest-wrong-length');
}

/** The state digest of checkpoint `seq`: empty for the genesis checkpoint (seq 0), else 32 bytes. */
function readStateDigest(r: Reader, seq: SeqNo): Digest {
  return readFixed(r, stateDigestBytes(seq), 'digest-wrong-length');
}

function readSignature(r: Reader): Signature {
  return readFixed(r, SIGNATURE_BYTES, 'signature-wrong-length');
}

/** Exactly `length` bytes behind a length field that must say so, as a view like a request's operation. */
function readFixedView(r: Reader, length: number, wrongLength: WireRejectionReason): Uint8Array {
  if (r.u32() !== length) r.fail(wrongLength);
  return r.view8(length);
}

function readClientKey(r: Reader): Uint8Array {
  return readFixedView(r, CLIENT_KEY_BYTES, 'client-key-wrong-length');
}

function readRequestSignature(r: Reader): Signature {
  return readFixedView(r, SIGNATURE_BYTES, 'signature-wrong-length');
}

function stateDigestBytes(seq: SeqNo): number {
  return seq === 0 ? 0 : DIGEST_BYTES;
}

function requestBytes(request: Request): number {
  return REQUEST_FIXED_BYTES + request.operation.length;
}

function batchBytes(requests: readonly Request[]): number {
  let size = LENGTH_BYTES;
  for (const request of requests) size += requestBytes(request);
  return size;
}

function prePrepareBytes(message: PrePrepareMessage): number {
  return SLOT_BYTES + SIGNATURE_FIELD_BYTES + batchBytes(message.requests);
}

function checkpointCertificateBytes(certificate: CheckpointCertificate): number {
  return (
    U64_BYTES +
    LENGTH_BYTES +
    certificate.stateDigest.length +
    LENGTH_BYTES +
    certificate.signatures.length * SIGNED_BY_BYTES
  );
}

function preparedCertificateBytes(certificate: PreparedCertificate): number {
  return prePrepareBytes(certificate.prePrepare) + LENGTH_BYTES + certificate.prepares.length * SIGNED_BY_BYTES;
}

function unsignedViewChangeBytes(message: Omit<ViewChangeMessage, 'signature'>): number {
  let size = U64_BYTES + REPLICA_BYTES + checkpointCertificateBytes(message.checkpoint) + LENGTH_BYTES;
  for (const certificate of message.prepared) size += preparedCertificateBytes(certificate);
  return size;
}

function viewChangeBytes(message: ViewChangeMessage): number {
  return unsignedViewChangeBytes(message) + SIGNATURE_FIELD_BYTES;
}

function manifestBytes(manifest: CheckpointManifest): number {
  return MANIFEST_FIXED_BYTES + manifest.chunkDigests.length * DIGEST_FIELD_BYTES;
}

function newViewBytes(message: NewViewMessage): number {
  let size = U64_BYTES + LENGTH_BYTES + LENGTH_BYTES;
  for (const viewChange of message.viewChanges) size += viewChangeBytes(viewChange);
  for (const prePrepare of message.prePrepares) size += prePrepareBytes(prePrepare);
  return size;
}

function writeRequest(w: Writer, request: Request): void {
  w.u64(request.clientId, 'client id out of range');
  w.u64(request.requestNo, 'request number out of range');
  w.clientKey(request.clientKey);
  w.signature(request.signature);
  w.field(request.operation);
}

function writeBatch(w: Writer, requests: readonly Request[]): void {
  w.list(requests, writeRequest);
}

function writeSlot(w: Writer, view: View, seq: SeqNo, digest: Digest): void {
  w.u64(view, 'view out of range');
  w.u64(seq, 'sequence number out of range');
  writeDigest(w, digest);
}

function writePrePrepare(w: Writer, message: PrePrepareMessage): void {
  writeSlot(w, message.view, message.seq, message.digest);
  w.signature(message.signature);
  writeBatch(w, message.requests);
}

function writeCheckpoint(w: Writer, seq: SeqNo, stateDigest: Digest): void {
  assert(stateDigest.length === stateDigestBytes(seq), 'state digest is not 32 bytes (0 at seq 0)');
  w.u64(seq, 'sequence number out of range');
  w.field(stateDigest);
}

function writeSignedBy(w: Writer, signed: SignedBy): void {
  w.replica(signed.replica);
  w.signature(signed.signature);
}

function writeCheckpointCertificate(w: Writer, certificate: CheckpointCertificate): void {
  assert(certificate.seq !== 0 || certificate.signatures.length === 0, 'genesis checkpoint with signatures');
  writeCheckpoint(w, certificate.seq, certificate.stateDigest);
  w.list(certificate.signatures, writeSignedBy);
}

function writePreparedCertificate(w: Writer, certificate: PreparedCertificate): void {
  writePrePrepare(w, certificate.prePrepare);
  w.list(certificate.prepares, writeSignedBy);
}

function writeUnsignedViewChange(w: Writer, message: Omit<ViewChangeMessage, 'signature'>): void {
  w.u64(message.newView, 'view out of range');
  w.replica(message.replica);
  writeCheckpointCertificate(w, message.checkpoint);
  w.list(message.prepared, writePreparedCertificate);
}

function writeViewChange(w: Writer, message: ViewChangeMessage): void {
  writeUnsignedViewChange(w, message);
  w.signature(message.signature);
}

function writeManifest(w: Writer, manifest: CheckpointManifest): void {
  w.u32(manifest.chunkBytes);
  w.u64(manifest.clientTableBytes, 'client table size out of range');
  w.u64(manifest.serviceStateBytes, 'service state size out of range');
  w.list(manifest.chunkDigests, writeDigest);
}

function writeDigest(w: Writer, digest: Digest): void {
  assert(digest.length === DIGEST_BYTES, 'digest is not 32 bytes');
  w.field(digest);
}

function writeChunkId(w: Writer, seq: SeqNo, index: number): void {
  w.u64(seq, 'sequence number out of range');
  w.u32(index);
}

function writeLoggedBatch(w: Writer, batch: LoggedBatch): void {
  w.u64(batch.seq, 'sequence number out of range');
  writeBatch(w, batch.requests);
}
