/**
 * Application-level liveness of one connection. TCP keepalive only proves
 * that the peer's kernel answers; a TLS stream can stay "connected" while it
 * delivers nothing (a middlebox that blackholes, or a corrupted record length
 * that makes TLS wait for bytes that never come). So both ends of every
 * connection send a heartbeat (an empty frame, see framing.ts) whenever they
 * have written nothing for a tick, and close a connection on which no byte
 * arrived for the idle timeout; the dialing side then redials.
 *
 * Progress is read from the socket's own counters (`bytesRead` and
 * `bytesWritten` count plaintext on a TLS socket), so nothing on the data path
 * has to report to this module.
 */
import type { Socket } from 'node:net';
import { HEARTBEAT_FRAME } from './framing.js';

/** Ticks per idle timeout: a connection is closed after this many ticks in a row without a byte received. */
export const LIVENESS_TICKS_PER_IDLE = 6;

/** Why {@link watchLiveness} gave up on a connection. */
export interface IdleReport {
  /** Time since the last tick in which a byte arrived, at least the idle timeout. */
  readonly idleMs: number;
}

/**
 * Watches `socket` until it closes: every `idleTimeoutMs / 6` it writes a
 * heartbeat if nothing was written since the previous tick (so a peer hears
 * from us at least every third of the idle timeout), and once six ticks in a
 * row passed without a byte received it calls `onIdle` (which should destroy
 * the socket) and stops.
 *
 * Counting ticks rather than comparing clocks keeps a stall of our own event
 * loop from looking like a silent peer: after a long block the timer fires
 * once, before the bytes that arrived meanwhile are read, and that counts as
 * one empty tick, not as the whole block.
 *
 * @returns a function that stops watching (also done on 'close').
 */
export function watchLiveness(socket: Socket, idleTimeoutMs: number, onIdle: (report: IdleReport) => void): () => void {
  const tickMs = idleTimeoutMs / LIVENESS_TICKS_PER_IDLE;
  let lastRead = socket.bytesRead;
  let lastWritten = socket.bytesWritten;
  let emptyTicks = 0;
  const tick = (): void => {
    if (socket.destroyed) return stop();
    if (socket.bytesRead !== lastRead) {
      lastRead = socket.bytesRead;
      emptyTicks = 0;
    } else if (++emptyTicks >= LIVENESS_TICKS_PER_IDLE) {
      stop();
      onIdle({ idleMs: Math.round(emptyTicks * tickMs) });
      return;
    }
    // A socket that needs draining has writes pending: they are the sign of life, and a heartbeat would only queue behind them.
    if (socket.bytesWritten === lastWritten && socket.writable && !socket.writableNeedDrain) socket.write(HEARTBEAT_FRAME);
    lastWritten = socket.bytesWritten;
  };
  const timer = setInterval(tick, tickMs);
  // Only the socket keeps the process alive, never its watch.
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    socket.off('close', stop);
  };
  socket.once('close', stop);
  return stop;
}
