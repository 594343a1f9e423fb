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
  /**
   * Queues a frame for the client. Returns false if the frame was not queued:
   * the connection is closed, the payload exceeds the frame limit, or the
   * client is too slow to drain its queue, in which case it is disconnected.
   */
  send(payload: Uint8Array): boolean;
  /** Disconnects the client. */
  close(): void;
}

/** Counters shared by all client sessions of a replica. */
export interface ClientCounters extends SendCounters {
  /** Clients disconnected because their send queue was full. */
  slowDisconnects: number;
}

/** {@link ClientConnection} over a TLS socket, with a bounded send queue. */
export class ClientSession implements ClientConnection {
  private readonly queue: SendQueue;

  constructor(
    readonly clientIdBase: number,
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
}
