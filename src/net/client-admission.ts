/**
 * Which authenticated client keys a replica serves, and how much of it each
 * may use: the cluster config may list the admitted keys (`clients`); with
 * or without a list, each key may hold at most `clientConnectionsPerKeyMax`
 * connections (measured before this: one key held 9,998 silent connections,
 * the replica's whole connection cap), and its connections together read at
 * most the client rate (rate-limit.ts).
 */
import type { Socket } from 'node:net';
import type { ConnectionRejection } from './connection-rejection.js';
import type { ConnectionLimits } from './limits.js';
import { RateBuckets, type ClientRate } from './rate-limit.js';

/** An admitted client connection's share of its key. */
export interface ClientAdmitted {
  /** Charges a read on the connection and its key; returns ms to stop reading for (0: go on). */
  readonly throttle: (frames: number, bytes: number) => number;
}

interface KeyUse {
  connections: number;
  readonly buckets: RateBuckets;
}

/** Admission of authenticated client connections by key. */
export class ClientAdmission {
  private readonly admitted: ReadonlySet<string> | undefined;
  private readonly byKey = new Map<string, KeyUse>();
  private readonly rate: ClientRate;

  /**
   * @param admitted base64 public keys of the clients admitted (canonical, as
   * `parseClusterConfig` returns them), or undefined to admit any key.
   */
  constructor(
    admitted: readonly string[] | undefined,
    private readonly limits: Pick<ConnectionLimits, 'clientConnectionsPerKeyMax' | 'clientFramesPerSecondMax' | 'clientBytesPerSecondMax'>,
  ) {
    this.admitted = admitted === undefined ? undefined : new Set(admitted);
    this.rate = { framesPerSecond: limits.clientFramesPerSecondMax, bytesPerSecond: limits.clientBytesPerSecondMax };
  }

  /** Keys with at least one connection open. */
  get keys(): number {
    return this.byKey.size;
  }

  /** Whether the key whose base64 is `key` may be a client at all. */
  admits(key: string): boolean {
    return this.admitted === undefined || this.admitted.has(key);
  }

  /**
   * Counts `socket`, authenticated with the admitted key whose base64 is
   * `key`, against the key until it closes; or says why not (nothing is counted then).
   */
  admit(key: string, socket: Socket): ClientAdmitted | ConnectionRejection {
    const now = performance.now();
    const use = this.byKey.get(key) ?? { connections: 0, buckets: new RateBuckets(this.rate, now) };
    if (use.connections >= this.limits.clientConnectionsPerKeyMax) return 'connections-per-key';
    this.byKey.set(key, use);
    use.connections++;
    socket.once('close', () => {
      if (--use.connections === 0) this.byKey.delete(key);
    });
    const own = new RateBuckets(this.rate, now);
    return {
      throttle: (frames, bytes) => {
        const at = performance.now();
        return Math.max(own.charge(frames, bytes, at), use.buckets.charge(frames, bytes, at));
      },
    };
  }
}
