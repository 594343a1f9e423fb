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

/**
 * What a replica lets peers hold before and after the TLS handshake
 * (docs/DESIGN.md, "Connections and admission"). Every field is optional on
 * `ReplicaNetwork.start`; {@link DEFAULT_CONNECTION_LIMITS} has the defaults.
 */
export interface ConnectionLimits {
  /** TLS handshakes in progress at once; a TCP connection beyond it is closed at once. */
  readonly handshakesMax: number;
  /** TLS handshakes in progress at once from one IP address. */
  readonly handshakesPerAddressMax: number;
  /** TCP connections open at once from one IP address, handshaking or not. */
  readonly connectionsPerAddressMax: number;
  /** Time an incoming connection has for its TLS handshake, from TCP accept. */
  readonly inboundHandshakeTimeoutMs: number;
  /** Authenticated client connections open at once with one key. */
  readonly clientConnectionsPerKeyMax: number;
  /** Buffer bytes all client connections' partial frames may hold together. */
  readonly clientPartialFrameBytesMax: number;
  /** Frames (heartbeats included) per second one client connection, and one key over all its connections, may send. */
  readonly clientFramesPerSecondMax: number;
  /** Bytes per second one client connection, and one key over all its connections, may send. */
  readonly clientBytesPerSecondMax: number;
}

/**
 * The defaults, sized for a replica on a small host (2 cores) serving up to
 * 10,000 client connections:
 * - 256 handshakes in flight (64 per address): a handshake costs about 0.5 ms
 *   of CPU, so the whole window completes in about 130 ms; what is refused
 *   redials with backoff.
 * - 512 connections per address (about 25 MiB of socket and TLS state,
 *   measured at about 50 KiB each), 8 per key: a client holds one per replica,
 *   plus a few redialled ones while the old ones time out.
 * - 2 s to finish a handshake: TLS 1.3 takes one round trip after TCP's,
 *   so this covers a 500 ms RTT with one lost packet (1 s initial RTO);
 *   the dialler's own bound (`handshakeTimeoutMs`) may be longer.
 * - 64 MiB of partial client frames: 256 maximal requests (256 KiB) arriving at once.
 * - 20,000 frames and 32 MiB per second per connection and per key: ten
 *   times what `bafomet demo` sends on one connection (about 1,800 requests a second).
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  handshakesMax: 256,
  handshakesPerAddressMax: 64,
  connectionsPerAddressMax: 512,
  inboundHandshakeTimeoutMs: 2_000,
  clientConnectionsPerKeyMax: 8,
  clientPartialFrameBytesMax: 64 * 1024 * 1024,
  clientFramesPerSecondMax: 20_000,
  clientBytesPerSecondMax: 32 * 1024 * 1024,
});

/**
 * `partial` over {@link DEFAULT_CONNECTION_LIMITS}.
 *
 * @throws ConfigError naming the first field that is not a positive integer
 * (timeouts at most 2^31 - 1 ms).
 */
export function resolveConnectionLimits(partial: Partial<ConnectionLimits>): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS };
  for (const field of Object.keys(limits) as (keyof ConnectionLimits)[]) {
    const value = partial[field] ?? limits[field];
    const max = field === 'inboundHandshakeTimeoutMs' ? 0x7fff_ffff : Number.MAX_SAFE_INTEGER;
    if (!Number.isInteger(value) || value < 1 || value > max) throw new ConfigError(field, `must be an integer in 1..${max}`);
    limits[field] = value;
  }
  return Object.freeze(limits);
}
