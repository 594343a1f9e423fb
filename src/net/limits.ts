/** Size and time limits common to the replica and client transports. */
import { ConfigError } from '../errors.js';

/** Bounds every connection enforces. */
export interface TransportLimits {
  /** Largest payload accepted or sent; a peer announcing more is disconnected. At most 2^32 - 1. */
  readonly maxFrameBytes: number;
  /** Frames queued per connection before further frames are dropped. */
  readonly sendQueueFramesMax: number;
  /** Time allowed for TCP connect plus TLS handshake. */
  readonly handshakeTimeoutMs: number;
}

/** Handshake limit of client connections unless set. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * A connection on which nothing arrived for this long is closed and redialled
 * (docs/DESIGN.md, "Link liveness"). Both ends of a connection must use about
 * the same value: each sends a heartbeat at least every third of its own.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 3_000;
/** Below this the liveness tick (a sixth of it) would fire more often than every 10 ms. */
export const IDLE_TIMEOUT_MS_MIN = 60;

/** @throws ConfigError naming the first limit that is out of range. */
export function checkTransportLimits(limits: TransportLimits): void {
  const check = (field: keyof TransportLimits, min: number, max: number): void => {
    const value = limits[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(field, `must be an integer in ${min}..${max}`);
    }
  };
  check('maxFrameBytes', 0, 0xffff_ffff);
  check('sendQueueFramesMax', 1, Number.MAX_SAFE_INTEGER);
  // Node timers overflow above 2^31 - 1 ms.
  check('handshakeTimeoutMs', 1, 0x7fff_ffff);
}

/**
 * The idle timeout to use: `value`, or {@link DEFAULT_IDLE_TIMEOUT_MS} if undefined.
 *
 * @throws ConfigError (field `idleTimeoutMs`) if it is not an integer in
 * {@link IDLE_TIMEOUT_MS_MIN}..2^31 - 1.
 */
export function resolveIdleTimeoutMs(value: number | undefined): number {
  const idleTimeoutMs = value ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs < IDLE_TIMEOUT_MS_MIN || idleTimeoutMs > 0x7fff_ffff) {
    throw new ConfigError('idleTimeoutMs', `must be an integer in ${IDLE_TIMEOUT_MS_MIN}..${0x7fff_ffff}`);
  }
  return idleTimeoutMs;
}
