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
 * | tag | type        | fields after the header                                  |
 * |-----|-------------|----------------------------------------------------------|
 * | 1   | request     | Request                                                  |
 * | 2   | reply       | view u64, clientId u64, requestNo u64, result bytes      |
 * | 3   | pre-prepare | PrePrepare                                               |
 * | 4   | prepare     | view u64, seq u64, Digest, Signature                     |
 * | 5   | commit      | view u64, seq u64, Digest                                |
 * | 6   | checkpoint  | seq u64, StateDigest, Signature                          |
 * | 7   | view-change | ViewChange                                               |
 * | 8   | new-view    | view u64, list<ViewChange>, list<PrePrepare>             |
 * | 9   | forward     | Request                                                  |
 *
 * | record         | fields                                                        |
 * |----------------|---------------------------------------------------------------|
 * | Request        | clientId u64, requestNo u64, operation bytes                  |
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
 *
 * A {@link Statement} encodes as the ASCII bytes `bafomet-v1/<kind>`, a zero
 * byte, then: view u64, seq u64, Digest (pre-prepare, prepare); seq u64,
 * StateDigest (checkpoint); a ViewChange without its Signature (view-change).
 */
import { assert, assertNever } from '../core/assert.js';
import { DIGEST_BYTES, type ClientId, type Digest, type ReplicaId } from '../core/ids.js';
import {
  SIGNATURE_BYTES,
  type CheckpointCertificate,
  type Message,
  type MessageType,
  type NewViewMessage,
  type PrePrepareMessage,
  type PreparedCertificate,
  type Request,
  type Signature,
  type SignedBy,
  type Statement,
  type ViewChangeMessage,
} from '../core/messages.js';
import { newViewBytesMax, type ProtocolOptions } from '../core/options.js';
import { isOrdinal, type RequestNo, type SeqNo, type View } from '../core/ordering.js';
import { Reader, type WireRejectionReason } from './reader.js';

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
} as const satisfies Record<MessageType, number>;

/** Largest replica id the u16 field holds; `wireLimitsFrom` refuses more replicas. */
const REPLICA_ID_MAX = 0xffff;

const HEADER_BYTES = 2;
const U64_BYTES = 8;
const REPLICA_BYTES = 2;
const LENGTH_BYTES = 4;
const U32_MAX = 0xffff_ffff;
const U32 = 0x1_0000_0000;
const DIGEST_FIELD_BYTES = LENGTH_BYTES + DIGEST_BYTES;
const SIGNATURE_FIELD_BYTES = LENGTH_BYTES + SIGNATURE_BYTES;
// The least each record can take, so that a list count the remaining input
// cannot hold is refused before any element is parsed.
/** clientId, requestNo and operation length. */
const REQUEST_FIXED_BYTES = 2 * U64_BYTES + LENGTH_BYTES;
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
  };
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
      const w = new Writer(HEADER_BYTES + requestBytes(message.request), TAG[message.type]);
      writeRequest(w, message.request);
      return w.done();
    }
    case 'reply': {
      const w = new Writer(HEADER_BYTES + 3 * U64_BYTES + LENGTH_BYTES + message.result.length, TAG.reply);
      w.u64(message.view, 'view out of range');
      w.u64(message.clientId, 'client id out of range');
      w.u64(message.requestNo, 'request number out of range');
      w.field(message.result);
      return w.done();
    }
    case 'pre-prepare': {
      const w = new Writer(HEADER_BYTES + prePrepareBytes(message), TAG['pre-prepare']);
      writePrePrepare(w, message);
      return w.done();
    }
    case 'prepare': {
      const w = new Writer(HEADER_BYTES + SLOT_BYTES + SIGNATURE_FIELD_BYTES, TAG.prepare);
      writeSlot(w, message.view, message.seq, message.digest);
      w.signature(message.signature);
      return w.done();
    }
    case 'commit': {
      const w = new Writer(HEADER_BYTES + SLOT_BYTES, TAG.commit);
      writeSlot(w, message.view, message.seq, message.digest);
      return w.done();
    }
    case 'checkpoint': {
      const size = HEADER_BYTES + U64_BYTES + LENGTH_BYTES + message.stateDigest.length + SIGNATURE_FIELD_BYTES;
      const w = new Writer(size, TAG.checkpoint);
      writeCheckpoint(w, message.seq, message.stateDigest);
      w.signature(message.signature);
      return w.done();
    }
    case 'view-change': {
      const w = new Writer(HEADER_BYTES + viewChangeBytes(message), TAG['view-change']);
      writeViewChange(w, message);
      return w.done();
    }
    case 'new-view': {
      const w = new Writer(HEADER_BYTES + newViewBytes(message), TAG['new-view']);
      w.u64(message.view, 'view out of range');
      w.list(message.viewChanges, writeViewChange);
      w.list(message.prePrepares, writePrePrepare);
      return w.done();
    }
    default:
      return assertNever(message, 'message type');
  }
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

/** `bafomet-v1/<kind>` and a zero byte: no prefix is a prefix of another, so kinds never collide. */
function statementPrefix(kind: Statement['kind']): Uint8Array {
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
 * Decodes one message from untrusted `bytes`. Never throws: malformed,
 * truncated or oversized input yields `{ ok: false, reason }`, and sizes and
 * counts are checked against `limits` and the remaining input before any
 * work they would size. A view-change longer than `limits.viewChangeBytesMax`
 * or a new-view longer than `limits.newViewBytesMax` is refused before its
 * body is read.
 *
 * Byte fields (`operation`, `result`, including the operations of batches
 * nested in view-changes and new-views) are views into `bytes`, not copies:
 * the caller must not reuse or overwrite `bytes` while the message is alive.
 * Digests and signatures are copied, since votes and certificates outlive
 * their frames and a copy of 32 or 64 bytes costs less than pinning the
 * frame.
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
      return {
        type: 'reply',
        view: r.u53('ordinal-out-of-range') as View,
        clientId: r.u53('client-id-out-of-range') as ClientId,
        requestNo: r.u53('ordinal-out-of-range') as RequestNo,
        result: readField(r, limits.replyBytesMax, 'reply-too-large'),
      };
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

function newViewBytes(message: NewViewMessage): number {
  let size = U64_BYTES + LENGTH_BYTES + LENGTH_BYTES;
  for (const viewChange of message.viewChanges) size += viewChangeBytes(viewChange);
  for (const prePrepare of message.prePrepares) size += prePrepareBytes(prePrepare);
  return size;
}

function writeRequest(w: Writer, request: Request): void {
  w.u64(request.clientId, 'client id out of range');
  w.u64(request.requestNo, 'request number out of range');
  w.field(request.operation);
}

function writeBatch(w: Writer, requests: readonly Request[]): void {
  w.list(requests, writeRequest);
}

function writeSlot(w: Writer, view: View, seq: SeqNo, digest: Digest): void {
  assert(digest.length === DIGEST_BYTES, 'digest is not 32 bytes');
  w.u64(view, 'view out of range');
  w.u64(seq, 'sequence number out of range');
  w.field(digest);
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

/** Writes into one array allocated at its final size. */
class Writer {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  /** With `tag`, starts with the message header. */
  constructor(size: number, tag?: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    if (tag !== undefined) {
      this.bytes[0] = WIRE_VERSION;
      this.bytes[1] = tag;
      this.offset = HEADER_BYTES;
    }
  }

  u32(value: number): void {
    this.view.setUint32(this.offset, value);
    this.offset += 4;
  }

  u64(value: number, what: string): void {
    assert(isOrdinal(value), what);
    this.view.setUint32(this.offset, Math.floor(value / U32));
    this.view.setUint32(this.offset + 4, value >>> 0);
    this.offset += U64_BYTES;
  }

  replica(id: ReplicaId): void {
    assert(Number.isInteger(id) && id >= 0 && id <= REPLICA_ID_MAX, 'replica id out of range');
    this.view.setUint16(this.offset, id);
    this.offset += REPLICA_BYTES;
  }

  /** Bytes without a length: only fixed, self-delimiting content such as a statement prefix. */
  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.offset);
    this.offset += bytes.length;
  }

  field(bytes: Uint8Array): void {
    assert(bytes.length <= U32_MAX, 'byte field longer than 4 GiB');
    this.u32(bytes.length);
    this.raw(bytes);
  }

  signature(signature: Signature): void {
    assert(signature.length === SIGNATURE_BYTES, 'signature is not 64 bytes');
    this.field(signature);
  }

  /** A count, then each item. */
  list<T>(items: readonly T[], write: (w: Writer, item: T) => void): void {
    assert(items.length <= U32_MAX, 'list longer than 2^32 - 1');
    this.u32(items.length);
    for (const item of items) write(this, item);
  }

  /** The encoding; asserts the size computed up front was exact. */
  done(): Uint8Array {
    assert(this.offset === this.bytes.length, 'encoded size mismatch');
    return this.bytes;
  }
}
