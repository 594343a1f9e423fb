/**
 * The receiving half of a connection: decodes frames off the socket, hands
 * them on, and enforces what a peer may make us hold or do while reading
 * (frame size, the shared partial-frame budget, the read rate).
 */
import type { Socket } from 'node:net';
import { FrameBudgetExceededError, type FrameBudget } from './frame-budget.js';
import { FrameDecoder } from './framing.js';
import { invokeSafely, type NetLog } from './log.js';
import { destroyBecause } from './tls-socket.js';

/** Close reason (tls-socket.ts `closeReason`) of a connection whose partial frame found the shared budget spent. */
export const BUDGET_CLOSE_REASON = 'partial-frame budget spent';

/** Settings of {@link readFrames}. */
export interface FrameReaderOptions {
  /** Largest payload accepted; a longer announced frame closes the connection. */
  readonly maxFrameBytes: number;
  /**
   * Receives each payload (never a heartbeat). Without it the connection is
   * send-only: heartbeats are all the peer may send, and any other frame closes it.
   */
  readonly onFrame?: (payload: Uint8Array) => void;
  /** Shared bound on partial-frame buffers; the connection whose frame would exceed it is closed. */
  readonly budget?: FrameBudget;
  /** Called when the budget closed the connection (for counting). */
  readonly onBudgetExceeded?: () => void;
  /**
   * Charged after each read with the frames (heartbeats included) and bytes
   * it delivered; returns how many ms to stop reading for (0: go on).
   */
  readonly throttle?: (frames: number, bytes: number) => number;
  /** Called each time the throttle paused reading. */
  readonly onThrottled?: () => void;
  readonly log: NetLog;
  /** Log fields naming the peer. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * Reads frames from `socket` until it closes. A frame over `maxFrameBytes`
 * closes it (`protocol violation`), as does one that would take the
 * partial-frame budget past its bound ({@link BUDGET_CLOSE_REASON}): closing
 * rather than pausing, because paused connections holding partial frames
 * would wait on each other for budget none of them releases.
 *
 * @returns the decoder, whose `partial` the frame deadline (liveness.ts) watches.
 */
export function readFrames(socket: Socket, options: FrameReaderOptions): FrameDecoder {
  const { onFrame, throttle, log, fields } = options;
  // A send-only connection admits only frames of length 0, so anything else fails the size check at its header.
  const decoder = new FrameDecoder(onFrame === undefined ? 0 : options.maxFrameBytes, options.budget);
  let resumeTimer: NodeJS.Timeout | undefined;
  socket.on('data', (chunk: Buffer) => {
    let frames = 0;
    try {
      for (const payload of decoder.feed(chunk)) {
        if (socket.destroyed) return;
        frames++;
        if (payload.length === 0 || onFrame === undefined) continue;
        invokeSafely(log, 'frame handler', () => onFrame(payload));
      }
    } catch (error) {
      const reason =
        error instanceof FrameBudgetExceededError
          ? BUDGET_CLOSE_REASON
          : onFrame === undefined
            ? 'peer sent data on a send-only connection'
            : 'protocol violation';
      if (error instanceof FrameBudgetExceededError) options.onBudgetExceeded?.();
      log('warn', `${reason}; closing connection`, { ...fields, error: error instanceof Error ? error.message : String(error) });
      destroyBecause(socket, reason);
      return;
    }
    const pauseMs = throttle?.(frames, chunk.length) ?? 0;
    if (pauseMs > 0 && !socket.destroyed) {
      socket.pause();
      options.onThrottled?.();
      resumeTimer = setTimeout(() => socket.resume(), pauseMs);
    }
  });
  socket.once('close', () => {
    clearTimeout(resumeTimer);
    decoder.dispose();
  });
  return decoder;
}
