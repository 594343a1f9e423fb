/**
 * Frames of a journal file, and how to read a file back after a crash.
 * Pure and deterministic: the journal applies it to real files and the
 * simulator to its simulated disk.
 *
 * | offset | size | field                                   |
 * |--------|------|-----------------------------------------|
 * | 0      | u32  | payload length, little-endian, >= 1     |
 * | 4      | u32  | CRC-32 of the payload, little-endian    |
 * | 8      | ...  | payload                                 |
 *
 * A payload is never empty, so zeros (what a file extended by a crash often
 * holds) never read as a frame: a zero-length frame would have CRC 0 and
 * pass its check.
 *
 * A writer that syncs in groups starts each segment with a marker frame
 * carrying a random salt ({@link segmentStart}) and ends each group with
 * one ({@link groupEnd}) holding the offset where the group starts and the
 * salt (markers start with a 0 byte; records with a version of 1 or more).
 * The markers are how a reader tells a torn last group from a record that
 * went bad later; the salt keeps bytes a client chose — its operations
 * inside records — from passing for a marker.
 */
import { crc32 } from 'node:zlib';
import { assert } from '../core/assert.js';
import { bytesEqual } from '../core/ids.js';

/** Length and CRC in front of every payload. */
export const FRAME_HEADER_BYTES = 8;

/**
 * Largest payload a frame may carry (1 GiB). Well above any record the core
 * writes; it also keeps the corruption scan from taking random bytes for
 * the start of a huge frame.
 */
export const FRAME_PAYLOAD_BYTES_MAX = 2 ** 30;

/** How a journal file ends; see {@link parseFrames}. */
export type FramesTail = 'clean' | 'torn' | 'corrupt';

/** What {@link parseFrames} finds in a file. */
export interface ParsedFrames {
  /** Payloads of the valid frames before the first bad one, in order: views into the input. */
  readonly payloads: Uint8Array[];
  /** Where each payload's frame starts in the input. */
  readonly offsets: number[];
  /** The segment's salt, if it starts with a valid segment-start marker. */
  readonly salt?: Uint8Array;
  /** Bytes the valid frames take: where the first bad frame (if any) starts. */
  readonly validBytes: number;
  readonly tail: FramesTail;
  /** With `corrupt`: the offset of the first bad frame (equal to `validBytes`). */
  readonly corruptAt?: number;
}

/** First payload byte of a marker; a record's first byte (its version) is never 0. */
const MARKER_TAG = 0;
const SEGMENT_START = 1;
const GROUP_END = 2;
/** Bytes of a segment's salt: random, so no bytes written before the segment existed can carry it. */
export const SALT_BYTES = 8;
const SEGMENT_START_BYTES = 2 + SALT_BYTES;
const GROUP_END_BYTES = 2 + 8 + SALT_BYTES;

/** The marker a segment starts with, carrying its `salt`. */
export function segmentStart(salt: Uint8Array): Uint8Array {
  assert(salt.length === SALT_BYTES, 'salt size');
  return frame(Uint8Array.of(MARKER_TAG, SEGMENT_START, ...salt));
}

/**
 * The marker that ends a group of frames written and synced together, the
 * first of which starts at `groupStart`, in the segment salted with `salt`.
 */
export function groupEnd(groupStart: number, salt: Uint8Array): Uint8Array {
  assert(Number.isSafeInteger(groupStart) && groupStart >= 0, `group start ${groupStart}`);
  assert(salt.length === SALT_BYTES, 'salt size');
  const payload = new Uint8Array(GROUP_END_BYTES);
  payload[0] = MARKER_TAG;
  payload[1] = GROUP_END;
  new DataView(payload.buffer).setBigUint64(2, BigInt(groupStart), true);
  payload.set(salt, 2 + 8);
  return frame(payload);
}

/** `payload` framed: one new array, length and CRC first. Asserts 1 to {@link FRAME_PAYLOAD_BYTES_MAX} bytes. */
export function frame(payload: Uint8Array): Uint8Array {
  assert(payload.length >= 1 && payload.length <= FRAME_PAYLOAD_BYTES_MAX, 'frame payload empty or over 1 GiB');
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32(payload), true);
  bytes.set(payload, FRAME_HEADER_BYTES);
  return bytes;
}

/**
 * Reads the frames of a journal file from its start up to the first frame
 * that is incomplete or fails its CRC, and says how the file ends:
 * - `clean`: every byte belongs to a valid frame;
 * - `torn`: no complete group starts after the bad frame: it belongs to
 *   the last group, which a crash cut before its sync returned (the kernel
 *   may even have written that group's pages out of order, so valid frames
 *   of the same group may follow): cut off at `validBytes`;
 * - `corrupt`: a complete later group — a group-end marker with the
 *   segment's salt whose group starts after the bad frame and reads valid
 *   from its start to the marker — follows it, so the bad frame was once
 *   synced: a record in the middle went bad, and nothing after it may be
 *   trusted.
 *
 * A bad first frame followed by any valid frame is `corrupt` too: it is
 * where the salt is, and only damage after the sync leaves frames behind it.
 * Markers are not returned among the payloads. The search for a later
 * group tries every offset after the bad frame, so a damaged length field
 * cannot hide what lies behind it; a marker planted inside a record does not
 * know the salt.
 */
export function parseFrames(bytes: Uint8Array): ParsedFrames {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payloads: Uint8Array[] = [];
  const offsets: number[] = [];
  const first = frameAt(bytes, view, 0);
  const salt = first !== undefined && isMarker(first, SEGMENT_START, SEGMENT_START_BYTES) ? first.subarray(2) : undefined;
  const found = salt === undefined ? {} : { salt };
  let at = 0;
  for (let payload = frameAt(bytes, view, at); payload !== undefined; payload = frameAt(bytes, view, at)) {
    if (payload[0] !== MARKER_TAG) {
      payloads.push(payload);
      offsets.push(at);
    }
    at += FRAME_HEADER_BYTES + payload.length;
  }
  if (at === bytes.length) return { payloads, offsets, validBytes: at, tail: 'clean', ...found };
  // A bad first frame with anything valid after it: the segment's start (and salt) went bad after it was
  // synced — a crash tearing a new segment's first group leaves nothing behind it.
  if (at === 0) {
    for (let candidate = 1; candidate + FRAME_HEADER_BYTES < bytes.length; candidate++) {
      if (frameAt(bytes, view, candidate) !== undefined) return { payloads, offsets, validBytes: 0, tail: 'corrupt', corruptAt: 0 };
    }
  }
  for (let candidate = at + 1; salt !== undefined && candidate + FRAME_HEADER_BYTES < bytes.length; candidate++) {
    const payload = frameAt(bytes, view, candidate);
    if (payload === undefined || !isMarker(payload, GROUP_END, GROUP_END_BYTES) || !bytesEqual(payload.subarray(2 + 8), salt)) continue;
    const start = Number(new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getBigUint64(2, true));
    if (start > at && start <= candidate && chainsTo(bytes, view, start, candidate)) return { payloads, offsets, validBytes: at, tail: 'corrupt', corruptAt: at, ...found };
  }
  return { payloads, offsets, validBytes: at, tail: 'torn', ...found };
}

function isMarker(payload: Uint8Array, kind: number, length: number): boolean {
  return payload.length === length && payload[0] === MARKER_TAG && payload[1] === kind;
}

/** Whether valid frames lead from `from` exactly to `to`. */
function chainsTo(bytes: Uint8Array, view: DataView, from: number, to: number): boolean {
  let at = from;
  while (at < to) {
    const payload = frameAt(bytes, view, at);
    if (payload === undefined) return false;
    at += FRAME_HEADER_BYTES + payload.length;
  }
  return at === to;
}

/** The payload of a complete frame with a matching CRC at `offset` of `bytes` (`view` over the same bytes), or undefined. */
function frameAt(bytes: Uint8Array, view: DataView, offset: number): Uint8Array | undefined {
  if (bytes.length - offset < FRAME_HEADER_BYTES) return undefined;
  const length = view.getUint32(offset, true);
  const end = offset + FRAME_HEADER_BYTES + length;
  if (length === 0 || length > FRAME_PAYLOAD_BYTES_MAX || end > bytes.length) return undefined;
  const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, end);
  return crc32(payload) === view.getUint32(offset + 4, true) ? payload : undefined;
}
