/**
 * Connections the attacker opens beside its replica network, to write what
 * the network layer would never write: garbage, frames too large or cut
 * short, replays, or nothing at all. Each is TLS with the attacker's replica
 * key (the victim takes it for replica `self` redialling, and drops the
 * previous connection), TLS with a throw-away client key, or bare TCP that
 * never starts a handshake. At most {@link RAW_CONNECTIONS_MAX} are open at
 * once, and each is destroyed after its hold time at the latest, so the
 * attacker's own resources stay bounded too.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';

/** Connections open at once, at most. */
export const RAW_CONNECTIONS_MAX = 128;
/** Bound on TCP connect plus TLS handshake. */
const HANDSHAKE_TIMEOUT_MS = 5_000;

export interface Target {
  readonly host: string;
  readonly port: number;
}

export class RawConnections {
  private readonly open = new Set<Socket>();
  private failures = 0;
  private closed = false;

  constructor(
    /** TLS 1.3 with the attacker's replica certificate. */
    private readonly replicaContext: SecureContext,
    /** TLS 1.3 with throw-away client certificates. */
    private readonly clientContexts: readonly SecureContext[],
  ) {}

  /** Connections that failed to open (refused, timed out, or over the bound). */
  get failed(): number {
    return this.failures;
  }

  /**
   * A TLS connection to `target`, as the attacker's replica identity or as
   * client `clientIndex` (modulo the pool), handshake done; undefined if it
   * could not be opened. It is destroyed after `holdMs` whatever happens.
   */
  tls(target: Target, as: 'replica' | { readonly clientIndex: number }, holdMs: number): Promise<TLSSocket | undefined> {
    if (!this.admit()) return Promise.resolve(undefined);
    const secureContext = as === 'replica' ? this.replicaContext : this.clientContexts[as.clientIndex % this.clientContexts.length];
    // The victims' certificates are self-signed; who they are does not matter to an attacker.
    const socket = tlsConnect({ host: target.host, port: target.port, secureContext, rejectUnauthorized: false });
    this.hold(socket, holdMs);
    return new Promise((resolve) => {
      const timer = setTimeout(() => fail(), HANDSHAKE_TIMEOUT_MS);
      const fail = (): void => {
        clearTimeout(timer);
        this.failures++;
        socket.destroy();
        resolve(undefined);
      };
      socket.once('error', fail);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(socket);
      });
    });
  }

  /** A bare TCP connection to `target` that never starts a handshake; false if over the bound. Destroyed after `holdMs`. */
  tcp(target: Target, holdMs: number): boolean {
    if (!this.admit()) return false;
    const socket = tcpConnect({ host: target.host, port: target.port });
    socket.once('error', () => this.failures++);
    this.hold(socket, holdMs);
    return true;
  }

  /** Connections open now. */
  get size(): number {
    return this.open.size;
  }

  /** Destroys every connection and opens no more. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.open].map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.closed) return resolve();
            socket.once('close', () => resolve());
            socket.destroy();
          }),
      ),
    );
  }

  private admit(): boolean {
    if (this.closed || this.open.size >= RAW_CONNECTIONS_MAX) {
      this.failures++;
      return false;
    }
    return true;
  }

  private hold(socket: Socket, holdMs: number): void {
    this.open.add(socket);
    // Errors after the handshake (the victim closing on us) are what the attacks provoke.
    socket.on('error', () => {});
    // Heartbeats and anything else the victim sends are read and dropped, so it never sees backpressure from us.
    socket.on('data', () => {});
    const timer = setTimeout(() => socket.destroy(), holdMs);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.open.delete(socket);
    });
  }
}
