/** The replica's side of one authenticated client connection. */
import type { TLSSocket } from 'node:tls';
import type { NetLog } from './log.js';
import { SendQueue, type SendCounters } from './send-queue.js';
import { destroyBecause } from './tls-socket.js';

/** A connected client, as seen by a replica. */
export interface ClientConnection {
  /**
   * First client id owned by the connection's key (see `clientIdBase` in
   * `src/net/identity.ts`): it may only speak for ids `clientIdBase .. clientIdBase + 65535`.
   */
  readonly clientIdBase: number;
  /** The raw 32-byte Ed25519 public key the client presented in its TLS handshake. */
  readonly publicKey: Uint8Array;
  /**
   * Queues a frame for the client. Returns false if the frame was not queued:
   * the connection is closed, the payload exceeds the frame limit, or the
   * client is too slow to drain its queue, in which case it is disconnected.
   */
  send(payload: Uint8Array): boolean;
  /** Disconnects the client. */
  close(): void;
  /**
   * Disconnects the client because it sent something its role may not (a
   * frame that does not decode, a message other than a REQUEST, a request
   * for a client id its key does not own), and counts it
   * (`ReplicaNetworkStats.clientRejects`). `reason` is a short, stable code
   * of ours (e.g. a `WireRejectionReason`), logged at debug; never peer bytes.
   * Frames already read behind the rejected one are not delivered.
   */
  reject(reason: string): void;
}

/** Counters shared by all client sessions of a replica. */
export interface ClientCounters extends SendCounters {
  /** Clients disconnected because their send queue was full. */
  slowDisconnects: number;
  /** Clients disconnected through {@link ClientConnection.reject}. */
  rejects: number;
}

/** {@link ClientConnection} over a TLS socket, with a bounded send queue. */
export class ClientSession implements ClientConnection {
  private readonly queue: SendQueue;

  constructor(
    readonly clientIdBase: number,
    readonly publicKey: Uint8Array,
    private readonly socket: TLSSocket,
    sendQueueFramesMax: number,
    maxFrameBytes: number,
    private readonly counters: ClientCounters,
    private readonly log: NetLog,
  ) {
    this.queue = new SendQueue(sendQueueFramesMax, maxFrameBytes, counters);
    this.queue.attach(socket);
    socket.once('close', () => this.queue.clear());
  }

  send(payload: Uint8Array): boolean {
    if (this.socket.destroyed) return false;
    const result = this.queue.push(payload);
    if (result === 'full') {
      this.counters.slowDisconnects++;
      this.log('warn', 'client send queue full; disconnecting slow client', { clientIdBase: this.clientIdBase });
      destroyBecause(this.socket, 'send queue full');
    } else if (result === 'oversized') {
      this.log('warn', 'dropping frame larger than maxFrameBytes for client', {
        clientIdBase: this.clientIdBase,
        bytes: payload.length,
      });
    }
    return result === 'queued';
  }

  close(): void {
    destroyBecause(this.socket, 'closed by replica');
  }

  reject(reason: string): void {
    if (this.socket.destroyed) return;
    this.counters.rejects++;
    this.log('debug', 'client rejected; disconnecting', { clientIdBase: this.clientIdBase, reason });
    destroyBecause(this.socket, `rejected: ${reason}`);
  }
}
