/**
 * Length-prefixed framing: each frame is a u32 big-endian length, then the
 * payload. A frame of length 0 is a heartbeat: no message encodes to zero
 * bytes (every one starts with a version and a tag), so the network layer
 * consumes empty frames itself and never hands one to the codec (see
 * liveness.ts and docs/DESIGN.md, "Link liveness").
 */
import { BafometError } from '../errors.js';

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

/**
 * Reassembles frames from a byte stream. Each byte is copied at most once: a
 * payload inside one chunk is returned as a view of it, and a payload spanning
 * chunks is copied into a buffer of its announced size (which is checked first,
 * so a peer cannot make us allocate more than `maxFrameBytes`).
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private payload: Uint8Array | undefined;
  private payloadFilled = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Consumes a chunk and yields the payloads it completes, in order; a
   * heartbeat yields an empty payload (the caller drops it).
   *
   * @throws FrameTooLargeError as soon as an oversized length prefix is read,
   * after yielding the frames before it. The stream is unusable afterwards.
   */
  *feed(chunk: Uint8Array): Generator<Uint8Array, void, undefined> {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.payload === undefined) {
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
        this.payload = new Uint8Array(length);
        this.payloadFilled = 0;
      }
      const take = Math.min(this.payload.length - this.payloadFilled, chunk.length - pos);
      this.payload.set(chunk.subarray(pos, pos + take), this.payloadFilled);
      this.payloadFilled += take;
      pos += take;
      if (this.payloadFilled === this.payload.length) {
        const complete = this.payload;
        this.payload = undefined;
        yield complete;
      }
    }
  }
}
