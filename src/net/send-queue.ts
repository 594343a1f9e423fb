/** Bounded, coalescing outgoing frame queue of one connection. */
import type { Socket } from 'node:net';
import { encodeFrames } from './framing.js';

/** Frame counters a queue adds to; several queues may share one. */
export interface SendCounters {
  sent: number;
  dropped: number;
}

/** Outcome of {@link SendQueue.push}. */
export type PushResult = 'queued' | 'full' | 'oversized';

/**
 * Most bytes put into one socket write; the rest waits for the next turn, so a
 * long queue never becomes one huge buffer.
 */
export const WRITE_BATCH_BYTES_MAX = 1024 * 1024;

/**
 * Most payload bytes queued per connection: a peer that asks for large
 * messages (checkpoint chunks) and never reads must not pin gigabytes. A
 * frame larger than this is still queued alone into an empty queue.
 */
export const QUEUED_BYTES_MAX = 64 * 1024 * 1024;

/**
 * Holds frames until a socket can take them. Frames pushed during one turn of
 * the event loop go out together in one write on the next turn (setImmediate);
 * while the socket is absent or applying backpressure the queue only grows up
 * to its bounds (frames and bytes), and pushes beyond them are dropped and
 * counted.
 */
export class SendQueue {
  private frames: Uint8Array[] = [];
  private queuedBytes = 0;
  private socket: Socket | undefined;
  private flushImmediate: NodeJS.Immediate | undefined;

  constructor(
    private readonly framesMax: number,
    private readonly maxFrameBytes: number,
    private readonly counters: SendCounters,
  ) {}

  /** Frames waiting to be written. */
  get length(): number {
    return this.frames.length;
  }

  /**
   * Queues a payload, unless the queue is full (frames or bytes) or the payload exceeds the frame limit.
   *
   * @throws RangeError if the payload is empty: on the wire that is a
   * heartbeat, which the receiver consumes (framing.ts), and no message
   * encodes to zero bytes.
   */
  push(payload: Uint8Array): PushResult {
    if (payload.length === 0) throw new RangeError('an empty payload would be a heartbeat on the wire');
    const full =
      this.frames.length >= this.framesMax || (this.frames.length > 0 && this.queuedBytes + payload.length > QUEUED_BYTES_MAX);
    if (payload.length > this.maxFrameBytes || full) {
      this.counters.dropped++;
      return payload.length > this.maxFrameBytes ? 'oversized' : 'full';
    }
    this.frames.push(payload);
    this.queuedBytes += payload.length;
    this.scheduleFlush();
    return 'queued';
  }

  /** Starts writing to a connected, authenticated socket. */
  attach(socket: Socket): void {
    this.detach();
    this.socket = socket;
    socket.on('drain', this.scheduleFlush);
    this.scheduleFlush();
  }

  /** Stops writing; queued frames wait for the next {@link attach}. */
  detach(): void {
    this.socket?.off('drain', this.scheduleFlush);
    this.socket = undefined;
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
  }

  /** Detaches and discards queued frames (they are not counted as dropped). */
  clear(): void {
    this.detach();
    this.frames = [];
    this.queuedBytes = 0;
  }

  private readonly scheduleFlush = (): void => {
    if (this.flushImmediate === undefined && this.socket !== undefined && this.frames.length > 0) {
      this.flushImmediate = setImmediate(this.flush);
    }
  };

  private readonly flush = (): void => {
    this.flushImmediate = undefined;
    const socket = this.socket;
    if (socket === undefined || !socket.writable || socket.writableNeedDrain) return;
    let count = 0;
    let bytes = 0;
    for (const frame of this.frames) {
      if (count > 0 && bytes + frame.length > WRITE_BATCH_BYTES_MAX) break;
      bytes += frame.length;
      count++;
    }
    const batch = this.frames.splice(0, count);
    this.queuedBytes -= bytes;
    socket.write(encodeFrames(batch));
    this.counters.sent += batch.length;
    if (!socket.writableNeedDrain) this.scheduleFlush();
  };
}
