/**
 * The binary wire codec: {@link Message} <-> bytes. Pure, no I/O; the frame
 * length prefix belongs to the network layer. docs/WIRE.md has the same
 * layout with rationale.
 *
 * All integers are big-endian. `u64` is two u32 (hi, lo) and must be at most
 * ORDINAL_MAX = 2^53 - 1 (hi <= 0x1FFFFF). `bytes` is a u32 length followed
 * by that many bytes. The encoding is canonical: every accepted input
 * re-encodes to exactly the same bytes.
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
 * | tag | type        | fields after the header                               |
 * |-----|-------------|-------------------------------------------------------|
 * | 1   | request     | Request                                               |
 * | 2   | reply       | view u64, clientId u64, requestNo u64, result bytes   |
 * | 3   | pre-prepare | view u64, seq u64, digest bytes (length 32), Batch    |
 * | 4   | prepare     | view u64, seq u64, digest bytes (length 32)           |
 * | 5   | commit      | view u64, seq u64, digest bytes (length 32)           |
 *
 * | record  | fields                                                |
 * |---------|-------------------------------------------------------|
 * | Request | clientId u64, requestNo u64, operation bytes          |
 * | Batch   | count u32, then `count` Requests                      |
 */
import { assert, assertNever } from '../core/assert.js';
import { DIGEST_BYTES, type ClientId, type Digest } from '../core/ids.js';
import type { Message, MessageType, Request } from '../core/messages.js';
import type { ProtocolOptions } from '../core/options.js';
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
} as const satisfies Record<MessageType, number>;

const HEADER_BYTES = 2;
const U64_BYTES = 8;
const LENGTH_BYTES = 4;
const U32_MAX = 0xffff_ffff;
const U32 = 0x1_0000_0000;
/** clientId, requestNo and operation length: the least a Request can take. */
const REQUEST_FIXED_BYTES = 2 * U64_BYTES + LENGTH_BYTES;
/** view, seq and digest: the fields prepare, commit and pre-prepare share. */
const SLOT_BYTES = 2 * U64_BYTES + LENGTH_BYTES + DIGEST_BYTES;

/** Bounds the decoder enforces before it does work sized by the input. */
export interface WireLimits {
  /** Most requests in a pre-prepare batch. */
  readonly batchRequestsMax: number;
  /** Most operation bytes, summed, in a pre-prepare batch. */
  readonly batchBytesMax: number;
  /** Most bytes in one request operation. */
  readonly requestBytesMax: number;
  /** Most bytes in one reply result. */
  readonly replyBytesMax: number;
}

/** The decoder limits implied by the protocol options. */
export function wireLimitsFrom(options: ProtocolOptions): WireLimits {
  return {
    batchRequestsMax: options.batchRequestsMax,
    batchBytesMax: options.batchBytesMax,
    requestBytesMax: options.requestBytesMax,
    replyBytesMax: options.replyBytesMax,
  };
}

/** Outcome of {@link decodeMessage}; refusals carry a stable kebab-case reason. */
export type DecodeResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly reason: WireRejectionReason };

/**
 * Encodes `message` into one freshly allocated array of its exact size.
 * Out-of-range ordinals or client ids and digests that are not 32 bytes are
 * local bugs and fail an assertion.
 */
export function encodeMessage(message: Message): Uint8Array {
  switch (message.type) {
    case 'request': {
      const w = new Writer(HEADER_BYTES + requestBytes(message.request), TAG.request);
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
      const w = new Writer(HEADER_BYTES + SLOT_BYTES + batchBytes(message.requests), TAG['pre-prepare']);
      writeSlot(w, message.view, message.seq, message.digest);
      writeBatch(w, message.requests);
      return w.done();
    }
    case 'prepare':
    case 'commit': {
      const w = new Writer(HEADER_BYTES + SLOT_BYTES, TAG[message.type]);
      writeSlot(w, message.view, message.seq, message.digest);
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

/**
 * Decodes one message from untrusted `bytes`. Never throws: malformed,
 * truncated or oversized input yields `{ ok: false, reason }`, and sizes are
 * checked against `limits` and the remaining input before any work they
 * would size.
 *
 * Byte fields (`operation`, `result`) are views into `bytes`, not copies: the
 * caller must not reuse or overwrite `bytes` while the message is alive.
 * Digests are copied, since votes outlive their frames and a 32-byte copy
 * costs less than pinning the frame.
 */
export function decodeMessage(bytes: Uint8Array, limits: WireLimits): DecodeResult {
  const r = new Reader(bytes);
  if (r.u8() !== WIRE_VERSION) r.fail('unknown-version');
  const message = decodeBody(r, r.u8(), limits);
  if (r.reason !== undefined) return { ok: false, reason: r.reason };
  if (message === undefined) return { ok: false, reason: 'unknown-type' };
  if (r.remaining !== 0) return { ok: false, reason: 'trailing-bytes' };
  return { ok: true, message };
}

// Fields are read in object-literal property order, which is wire order. The
// brand casts are sound: u53 only yields integers in [0, ORDINAL_MAX].
function decodeBody(r: Reader, tag: number, limits: WireLimits): Message | undefined {
  switch (tag) {
    case TAG.request:
      return { type: 'request', request: readRequest(r, limits.requestBytesMax) };
    case TAG.reply:
      return {
        type: 'reply',
        view: r.u53('ordinal-out-of-range') as View,
        clientId: r.u53('client-id-out-of-range') as ClientId,
        requestNo: r.u53('ordinal-out-of-range') as RequestNo,
        result: readField(r, limits.replyBytesMax, 'reply-too-large'),
      };
    case TAG['pre-prepare']:
      return {
        type: 'pre-prepare',
        view: r.u53('ordinal-out-of-range') as View,
        seq: r.u53('ordinal-out-of-range') as SeqNo,
        digest: readDigest(r),
        requests: readBatch(r, limits),
      };
    case TAG.prepare:
    case TAG.commit:
      return {
        type: tag === TAG.prepare ? 'prepare' : 'commit',
        view: r.u53('ordinal-out-of-range') as View,
        seq: r.u53('ordinal-out-of-range') as SeqNo,
        digest: readDigest(r),
      };
    default:
      return undefined;
  }
}

function readRequest(r: Reader, bytesMax: number): Request {
  return {
    clientId: r.u53('client-id-out-of-range') as ClientId,
    requestNo: r.u53('ordinal-out-of-range') as RequestNo,
    operation: readField(r, bytesMax, 'request-too-large'),
  };
}

function readBatch(r: Reader, limits: WireLimits): Request[] {
  const count = r.u32();
  if (count > limits.batchRequestsMax) r.fail('batch-too-large');
  // Fail fast on a count the input cannot hold, rather than after parsing up to its end.
  if (count * REQUEST_FIXED_BYTES > r.remaining) r.fail('truncated');
  const requests: Request[] = [];
  let total = 0;
  for (let i = 0; i < count && r.reason === undefined; i++) {
    const request = readRequest(r, limits.requestBytesMax);
    total += request.operation.length;
    if (total > limits.batchBytesMax) r.fail('batch-bytes-too-large');
    requests.push(request);
  }
  return requests;
}

function readField(r: Reader, bytesMax: number, tooLarge: WireRejectionReason): Uint8Array {
  const length = r.u32();
  if (length > bytesMax) r.fail(tooLarge);
  return r.view8(length);
}

function readDigest(r: Reader): Digest {
  if (r.u32() !== DIGEST_BYTES) r.fail('digest-wrong-length');
  return new Uint8Array(r.view8(DIGEST_BYTES));
}

function requestBytes(request: Request): number {
  return REQUEST_FIXED_BYTES + request.operation.length;
}

function batchBytes(requests: readonly Request[]): number {
  let size = LENGTH_BYTES;
  for (const request of requests) size += requestBytes(request);
  return size;
}

function writeRequest(w: Writer, request: Request): void {
  w.u64(request.clientId, 'client id out of range');
  w.u64(request.requestNo, 'request number out of range');
  w.field(request.operation);
}

function writeBatch(w: Writer, requests: readonly Request[]): void {
  w.u32(requests.length);
  for (const request of requests) writeRequest(w, request);
}

function writeSlot(w: Writer, view: View, seq: SeqNo, digest: Digest): void {
  assert(digest.length === DIGEST_BYTES, 'digest is not 32 bytes');
  w.u64(view, 'view out of range');
  w.u64(seq, 'sequence number out of range');
  w.field(digest);
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

  field(bytes: Uint8Array): void {
    assert(bytes.length <= U32_MAX, 'byte field longer than 4 GiB');
    this.u32(bytes.length);
    this.bytes.set(bytes, this.offset);
    this.offset += bytes.length;
  }

  /** The encoding; asserts the size computed up front was exact. */
  done(): Uint8Array {
    assert(this.offset === this.bytes.length, 'encoded size mismatch');
    return this.bytes;
  }
}
