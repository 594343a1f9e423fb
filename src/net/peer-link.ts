/** An outgoing connection to one replica that authenticates it and keeps reconnecting. */
import { connect, type SecureContext, type TLSSocket } from 'node:tls';
import type { ReplicaAddress } from '../config.js';
import { bytesEqual } from '../core/ids.js';
import { reconnectDelayMs } from './backoff.js';
import { readFrames } from './frame-reader.js';
import { FRAME_DEADLINE_CLOSE_REASON, watchLiveness } from './liveness.js';
import type { NetLog } from './log.js';
import { SendQueue, type PushResult, type SendCounters } from './send-queue.js';
import { closeReason, destroyAndWait, destroyBecause, noteSocketError, peerPublicKey, tuneSocket } from './tls-socket.js';

/** Counters of one outgoing link. */
export interface LinkStats {
  /** An authenticated connection is up. */
  readonly connected: boolean;
  /** Authenticated connections established so far. */
  readonly connects: number;
  /** Connections dropped because the server's key did not match the configuration. */
  readonly authFailures: number;
  /** Frames handed to the socket. */
  readonly framesSent: number;
  /** Frames refused because the queue was full or the payload too large. */
  readonly framesDropped: number;
  /** Frames waiting for the connection. */
  readonly framesQueued: number;
  /** Frames received from the peer on this connection. */
  readonly framesReceived: number;
  /** Connections closed because nothing arrived on them for the idle timeout. */
  readonly idleDisconnects: number;
}

/** Settings of a {@link PeerLink}. */
export interface PeerLinkOptions {
  readonly peer: ReplicaAddress;
  /** Our certificate and key, TLS 1.3 only. */
  readonly secureContext: SecureContext;
  readonly maxFrameBytes: number;
  readonly sendQueueFramesMax: number;
  /** Limit for TCP connect plus TLS handshake. */
  readonly handshakeTimeoutMs: number;
  /** An authenticated connection on which nothing arrives for this long is closed and redialled (liveness.ts). */
  readonly idleTimeoutMs: number;
  /** Receives frames the peer sends back; if absent the link is send-only. */
  readonly onFrame?: (payload: Uint8Array) => void;
  readonly log: NetLog;
}

/**
 * Dials `peer` on construction and redials with backoff whenever the
 * connection fails, until {@link PeerLink.close}. Frames queue while it is down.
 */
export class PeerLink {
  private readonly expectedKey: Uint8Array;
  private readonly fields: Readonly<Record<string, unknown>>;
  private readonly counters: SendCounters = { sent: 0, dropped: 0 };
  private readonly queue: SendQueue;
  private socket: TLSSocket | undefined;
  private redialTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  private connected = false;
  private connects = 0;
  private authFailures = 0;
  private framesReceived = 0;
  private idleDisconnects = 0;

  constructor(private readonly options: PeerLinkOptions) {
    const { peer } = options;
    this.expectedKey = Buffer.from(peer.publicKey, 'base64');
    this.fields = { peer: peer.id, host: peer.host, port: peer.port };
    this.queue = new SendQueue(options.sendQueueFramesMax, options.maxFrameBytes, this.counters);
    this.dial();
  }

  /** Queues a frame for the peer. */
  send(payload: Uint8Array): PushResult {
    return this.queue.push(payload);
  }

  /** A snapshot of the link's counters. */
  stats(): LinkStats {
    return {
      connected: this.connected,
      connects: this.connects,
      authFailures: this.authFailures,
      framesSent: this.counters.sent,
      framesDropped: this.counters.dropped,
      framesQueued: this.queue.length,
      framesReceived: this.framesReceived,
      idleDisconnects: this.idleDisconnects,
    };
  }

  /** Stops redialing, discards queued frames and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.redialTimer);
    this.queue.clear();
    if (this.socket === undefined) return;
    destroyBecause(this.socket, 'link closed');
    await destroyAndWait(this.socket);
  }

  private readonly dial = (): void => {
    this.redialTimer = undefined;
    const { peer, secureContext, handshakeTimeoutMs, idleTimeoutMs, maxFrameBytes, onFrame, log } = this.options;
    const fields = this.fields;
    // Server certificates are self-signed; the key check below is the authentication.
    const socket = connect({ host: peer.host, port: peer.port, secureContext, rejectUnauthorized: false });
    this.socket = socket;
    const handshakeTimer = setTimeout(() => {
      log('debug', 'connect/handshake timed out', fields);
      destroyBecause(socket, 'handshake timeout');
    }, handshakeTimeoutMs);
    socket.on('error', (error) => {
      noteSocketError(socket, error);
      log('debug', 'connection error', { ...fields, error: error.message });
      // A TLS error (a bad record MAC, an alert) does not always close the socket by itself: it would
      // sit dead until the idle timeout (3 s) instead of being redialled at once.
      socket.destroy();
    });
    socket.once('secureConnect', () => {
      clearTimeout(handshakeTimer);
      const key = peerPublicKey(socket);
      if (key === undefined || !bytesEqual(key, this.expectedKey)) {
        this.authFailures++;
        log('warn', 'server key does not match the configuration; dropping connection', fields);
        destroyBecause(socket, 'wrong key');
        return;
      }
      tuneSocket(socket);
      this.connected = true;
      this.connects++;
      this.attempt = 0;
      log('info', 'connected', fields);
      const receive =
        onFrame === undefined
          ? undefined
          : (payload: Uint8Array): void => {
              this.framesReceived++;
              onFrame(payload);
            };
      const frames = readFrames(socket, { maxFrameBytes, onFrame: receive, log, fields });
      watchLiveness(
        socket,
        idleTimeoutMs,
        () => {
          this.idleDisconnects++;
          destroyBecause(socket, 'idle');
        },
        { frames, onOverdue: () => destroyBecause(socket, FRAME_DEADLINE_CLOSE_REASON) },
      );
      this.queue.attach(socket);
    });
    socket.once('close', () => {
      clearTimeout(handshakeTimer);
      if (this.connected) log('info', 'disconnected', { ...fields, reason: closeReason(socket) });
      this.connected = false;
      this.queue.detach();
      this.socket = undefined;
      if (!this.closed) this.redialTimer = setTimeout(this.dial, reconnectDelayMs(this.attempt++));
    });
  };
}
