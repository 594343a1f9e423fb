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
 *
 * Bytes arriving are not enough, though: a peer can keep the idle timer happy
 * with a byte every tick while never finishing a frame it started, pinning
 * that frame's buffer. So the same tick also enforces a frame deadline: a
 * frame must complete within the idle timeout plus its length at
 * {@link FRAME_BYTES_PER_SECOND_MIN}, however its bytes trickle in.
 */
import type { Socket } from 'node:net';
import { HEARTBEAT_FRAME, type PartialFrame } from './framing.js';

/** Close reason (tls-socket.ts `closeReason`) of a connection closed over an overdue frame. */
export const FRAME_DEADLINE_CLOSE_REASON = 'frame deadline';

/** Ticks per idle timeout: a connection is closed after this many ticks in a row without a byte received. */
export const LIVENESS_TICKS_PER_IDLE = 6;

/**
 * The slowest rate at which a frame's bytes may arrive, beyond the idle
 * timeout every frame gets: 1 MiB/s (8 Mbit/s). A maximal client frame
 * (about 1 MiB) then has 4 s at the default idle timeout; a 64 MiB
 * view-change frame between replicas about 67 s.
 */
export const FRAME_BYTES_PER_SECOND_MIN = 1024 * 1024;

/**
 * Ticks a frame of `length` bytes (undefined while its length prefix is
 * incomplete) may stay incomplete: the idle timeout's ticks plus its length
 * at {@link FRAME_BYTES_PER_SECOND_MIN}.
 */
export function frameDeadlineTicks(length: number | undefined, tickMs: number): number {
  return LIVENESS_TICKS_PER_IDLE + Math.ceil(((length ?? 0) * 1000) / (FRAME_BYTES_PER_SECOND_MIN * tickMs));
}

/** The frame deadline half of {@link watchLiveness}. */
export interface FrameDeadlineWatch {
  /** The connection's decoder, or anything that says which frame is in progress. */
  readonly frames: { readonly partial: PartialFrame | undefined };
  /** Called, once, when a frame stayed incomplete past its deadline; it should destroy the socket. */
  readonly onOverdue: (report: FrameOverdueReport) => void;
}

/** Why {@link watchLiveness} closed a connection over an incomplete frame. */
export interface FrameOverdueReport {
  /** The frame's announced length, if its length prefix was complete. */
  readonly length: number | undefined;
  /** How long it had been incomplete, at least its deadline. */
  readonly pendingMs: number;
}

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
 * With `deadline`, a frame seen incomplete on more than
 * {@link frameDeadlineTicks} ticks in a row (the same frame each time) calls
 * `deadline.onOverdue` instead, and stops. Ticks while reading is paused
 * count for neither bound.
 *
 * @returns a function that stops watching (also done on 'close').
 */
export function watchLiveness(
  socket: Socket,
  idleTimeoutMs: number,
  onIdle: (report: IdleReport) => void,
  deadline?: FrameDeadlineWatch,
): () => void {
  const tickMs = idleTimeoutMs / LIVENESS_TICKS_PER_IDLE;
  let lastRead = socket.bytesRead;
  let lastWritten = socket.bytesWritten;
  let emptyTicks = 0;
  let partialSerial: number | undefined;
  let partialTicks = 0;
  /** True if the frame in progress has been so for too long. */
  const overdue = (): boolean => {
    const partial = deadline?.frames.partial;
    if (partial === undefined || partial.serial !== partialSerial) {
      partialSerial = partial?.serial;
      partialTicks = 0;
      return false;
    }
    if (++partialTicks < frameDeadlineTicks(partial.length, tickMs)) return false;
    stop();
    deadline?.onOverdue({ length: partial.length, pendingMs: Math.round(partialTicks * tickMs) });
    return true;
  };
  const tick = (): void => {
    if (socket.destroyed) return stop();
    // While we stopped reading (a throttled client, frame-reader.ts) the peer's bytes wait on our side: neither silence nor a slow frame of theirs.
    const reading = !socket.isPaused();
    if (reading && overdue()) return;
    if (socket.bytesRead !== lastRead || !reading) {
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
