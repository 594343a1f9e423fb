/**
 * Length-prefixed framing: each frame is a u32 big-endian length, then the
 * payload. A frame of length 0 is a heartbeat: no message encodes to zero
 * bytes (every one starts with a version and a tag), so the network layer
 * consumes empty frames itself and never hands one to the codec (see
 * liveness.ts and docs/DESIGN.md, "Link liveness").
 */
import { BafometError } from '../errors.js';
import { FrameBudgetExceededError, type FrameBudget } from './frame-budget.js';

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** A heartbeat on the wire: one frame of length 0, i.e. four zero bytes. */
export const HEARTBEAT_FRAME: Uint8Array = new Uint8Array(FRAME_HEADER_BYTES);

/** A peer announced a frame longer than the receiver accepts. */
export class FrameTooLargeError extends BafometError {
  constructor(
    readonly length: number,
    readonly maxFrameBytes: number,
  ) {
    super('ERR_BAFOMET_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${maxFrameBytes}`);
  }
  override get name(): string {
    return 'FrameTooLargeError';
  }
}

/** Encodes payloads as consecutive frames in one buffer, so they cost one socket write. */
export function encodeFrames(payloads: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const payload of payloads) total += FRAME_HEADER_BYTES + payload.length;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const payload of payloads) {
    out.writeUInt32BE(payload.length, offset);
    out.set(payload, offset + FRAME_HEADER_BYTES);
    offset += FRAME_HEADER_BYTES + payload.length;
  }
  return out;
}

/** Encodes one payload as a frame. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  return encodeFrames([payload]);
}

/** The frame a {@link FrameDecoder} is in the middle of. */
export interface PartialFrame {
  /** Counts frames started on this stream: a new value is a new frame. */
  readonly serial: number;
  /** Its announced payload length, or undefined while its length prefix is incomplete. */
  readonly length: number | undefined;
}

/** Smallest buffer a partial frame gets, so that a frame trickling in a few bytes at a time is not copied over and over. */
export const PARTIAL_FRAME_CAPACITY_MIN = 4096;

/**
 * Reassembles frames from a byte stream. A payload inside one chunk is
 * returned as a view of it. A payload spanning chunks is copied into a
 * buffer that grows (doubling, up to the announced length) as its bytes
 * arrive, never reserved at the announced size: a peer that announces a
 * maximal frame and sends one byte costs a few KiB, not `maxFrameBytes`.
 * With a {@link FrameBudget}, every byte of such buffers is reserved from it
 * first, so all connections sharing it hold at most its size in partial frames.
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  /** Announced length of the payload being assembled, or undefined between payloads. */
  private length: number | undefined;
  private payload: Uint8Array = new Uint8Array(0);
  private payloadFilled = 0;
  private serial = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly budget?: FrameBudget,
  ) {}

  /** The frame started and not yet complete, if any (the frame deadline in liveness.ts watches it). */
  get partial(): PartialFrame | undefined {
    if (this.length === undefined && this.headerFilled === 0) return undefined;
    return { serial: this.serial, length: this.length };
  }

  /** Buffer bytes held for the partial frame. */
  get bufferedBytes(): number {
    return this.payload.length;
  }

  /**
   * Consumes a chunk and yields the payloads it completes, in order; a
   * heartbeat yields an empty payload (the caller drops it).
   *
   * @throws FrameTooLargeError as soon as an oversized length prefix is read,
   * FrameBudgetExceededError when the partial frame's buffer would grow past
   * the shared budget; either after yielding the frames before it. The
   * stream is unusable afterwards: the caller closes it and calls {@link dispose}.
   */
  *feed(chunk: Uint8Array): Generator<Uint8Array, void, undefined> {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.length === undefined) {
        if (this.headerFilled === 0) this.serial++;
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFilled, chunk.length - pos);
        this.header.set(chunk.subarray(pos, pos + take), this.headerFilled);
        this.headerFilled += take;
        pos += take;
        if (this.headerFilled < FRAME_HEADER_BYTES) return;
        this.headerFilled = 0;
        const length = new DataView(this.header.buffer).getUint32(0);
        if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
        if (chunk.length - pos >= length) {
          yield chunk.subarray(pos, pos + length);
          pos += length;
          continue;
        }
        this.length = length;
        this.payloadFilled = 0;
      }
      const take = Math.min(this.length - this.payloadFilled, chunk.length - pos);
      this.reserve(this.payloadFilled + take, this.length);
      this.payload.set(chunk.subarray(pos, pos + take), this.payloadFilled);
      this.payloadFilled += take;
      pos += take;
      if (this.payloadFilled === this.length) {
        const complete = this.payload;
        this.dispose();
        yield complete;
      }
    }
  }

  /** Drops the partial frame and returns its buffer to the budget. Call once the stream is closed. */
  dispose(): void {
    this.budget?.release(this.payload.length);
    this.payload = new Uint8Array(0);
    this.payloadFilled = 0;
    this.length = undefined;
  }

  /** Grows the buffer to hold `needed` bytes of a payload of `length`, reserving the growth from the budget first. */
  private reserve(needed: number, length: number): void {
    const capacity = this.payload.length;
    if (needed <= capacity) return;
    const grown = Math.min(length, Math.max(needed, 2 * capacity, PARTIAL_FRAME_CAPACITY_MIN));
    if (this.budget !== undefined && !this.budget.tryReserve(grown - capacity)) {
      throw new FrameBudgetExceededError(grown - capacity, this.budget.bytesMax);
    }
    const payload = new Uint8Array(grown);
    payload.set(this.payload.subarray(0, this.payloadFilled));
    this.payload = payload;
  }
}
