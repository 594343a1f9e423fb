/**
 * A replica's transport: a TLS 1.3 listener for other replicas and clients,
 * and one outgoing, send-only connection to each other replica.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { ClusterConfig } from '../config.js';
import { bytesEqual, replicaId, type ReplicaId } from '../core/ids.js';
import { ConfigError } from '../errors.js';
import { AddressGate } from './address-gate.js';
import { ClientAdmission } from './client-admission.js';
import { ClientSession, type ClientConnection, type ClientCounters } from './client-session.js';
import { noConnectionRejections, type ConnectionRejection, type ConnectionRejectionCounts } from './connection-rejection.js';
import { FrameBudget } from './frame-budget.js';
import { readFrames } from './frame-reader.js';
import { clientIdBase, tlsCredentials, type NodeIdentity, type TlsCredentials } from './identity.js';
import {
  checkTransportLimits,
  DEFAULT_CONNECTION_LIMITS,
  resolveConnectionLimits,
  resolveIdleTimeoutMs,
  type ConnectionLimits,
  type TransportLimits,
} from './limits.js';
import { FRAME_DEADLINE_CLOSE_REASON, watchLiveness, type FrameDeadlineWatch } from './liveness.js';
import { invokeSafely, silentLog, type NetLog } from './log.js';
import { PeerLink, type LinkStats } from './peer-link.js';
import { closeReason, destroyAndWait, destroyBecause, noteSocketError, peerPublicKey, secureContextOptions, tuneSocket } from './tls-socket.js';

/**
 * Settings and callbacks of {@link ReplicaNetwork.start}. The
 * {@link ConnectionLimits} are optional (`DEFAULT_CONNECTION_LIMITS`), except
 * that `inboundHandshakeTimeoutMs` defaults to the smaller of its default and
 * `handshakeTimeoutMs`. Client keys admitted are `config.clients` (any key if absent).
 */
export interface ReplicaNetworkOptions extends TransportLimits, Partial<ConnectionLimits> {
  readonly config: ClusterConfig;
  /** This replica's id; `identity` must hold the key configured for it. */
  readonly selfId: number;
  readonly identity: NodeIdentity;
  /** A frame from replica `from` (authenticated by its key). */
  readonly onReplicaFrame: (from: ReplicaId, payload: Uint8Array) => void;
  /** A frame from a client connection (authenticated by its key, see {@link ClientConnection.clientIdBase}). */
  readonly onClientFrame: (session: ClientConnection, payload: Uint8Array) => void;
  /** A client connection closed; no more frames will arrive from `session`. */
  readonly onClientClosed?: (session: ClientConnection) => void;
  /**
   * Largest payload on replica-to-replica links (view-change evidence is
   * larger than anything a client may send); `maxFrameBytes` bounds clients.
   */
  readonly replicaFrameBytesMax: number;
  /** Client connections open at once; further ones are refused (each may hold a partial frame). */
  readonly clientConnectionsMax: number;
  /**
   * A connection (to or from a replica or a client) on which nothing arrives
   * for this long is closed; outgoing ones are redialled. Default
   * `DEFAULT_IDLE_TIMEOUT_MS` (limits.ts); every node of a cluster should use about
   * the same value (docs/DESIGN.md, "Link liveness").
   */
  readonly idleTimeoutMs?: number;
  readonly log?: NetLog;
}

/** Counters of the traffic with one other replica. */
export interface ReplicaPeerStats extends LinkStats {
  readonly id: number;
  /** The peer's incoming connection (which carries its frames to us) is up. */
  readonly inboundConnected: boolean;
  /** Frames received from the peer on its incoming connection. */
  readonly framesReceived: number;
  /** Connections in either direction closed because nothing arrived on them for the idle timeout. */
  readonly idleDisconnects: number;
}

/** A snapshot of a {@link ReplicaNetwork}'s counters. */
export interface ReplicaNetworkStats {
  /** One entry per other replica, by ascending id. */
  readonly peers: readonly ReplicaPeerStats[];
  readonly clientConnections: number;
  readonly clientFramesReceived: number;
  readonly clientFramesSent: number;
  /** Frames for clients refused because the payload was too large or the queue full. */
  readonly clientFramesDropped: number;
  /** Clients disconnected because their send queue filled up. */
  readonly clientSlowDisconnects: number;
  /** Client connections closed because nothing arrived on them for the idle timeout. */
  readonly clientIdleDisconnects: number;
  /** Incoming connections refused, all reasons together: the sum of {@link connectionRejections}. */
  readonly rejectedConnections: number;
  /** Incoming connections refused before or right after the TLS handshake, by reason. */
  readonly connectionRejections: Readonly<ConnectionRejectionCounts>;
  /** TLS handshakes in progress. */
  readonly handshakesInProgress: number;
  /** Client keys with at least one connection. */
  readonly clientKeys: number;
  /** Client connections closed through `ClientConnection.reject` (malformed or forbidden messages). */
  readonly clientRejects: number;
  /** Replica connections closed through {@link ReplicaNetwork.rejectReplica}. */
  readonly replicaRejects: number;
  /** Incoming connections (client or replica) closed because a frame did not complete by its deadline (liveness.ts). */
  readonly frameDeadlineCloses: number;
  /** Client connections closed because their partial frame would have taken the shared budget past its bound. */
  readonly partialFrameBudgetCloses: number;
  /** Buffer bytes client partial frames hold now. */
  readonly partialFrameBytes: number;
  /** Times a client connection stopped being read because it or its key exceeded the client rate (flooding). */
  readonly clientThrottles: number;
}

/**
 * Authenticated, framed, bounded and reconnecting transport of one replica.
 * Every connection, in either direction, is watched for liveness
 * (liveness.ts): one that stops delivering is closed, and redialled if it is ours.
 * Frames to other replicas are dropped (and counted) rather than queued without
 * bound; the protocol above tolerates loss.
 */
export class ReplicaNetwork {
  private readonly log: NetLog;
  private readonly selfId: ReplicaId;
  private readonly replicaByKey = new Map<string, number>();
  private readonly links = new Map<number, PeerLink>();
  /** The current incoming connection of each other replica; a newer one replaces it. */
  private readonly inbound = new Map<number, TLSSocket>();
  private readonly receivedFrom = new Map<number, number>();
  /** Incoming connections of each other replica closed as idle. */
  private readonly inboundIdle = new Map<number, number>();
  private clientIdleDisconnects = 0;
  private readonly idleTimeoutMs: number;
  private readonly sessions = new Set<ClientSession>();
  /** Every accepted TCP connection, so close() can end those still handshaking. */
  private readonly rawSockets = new Set<Socket>();
  private readonly secureSockets = new Set<TLSSocket>();
  private readonly clientCounters: ClientCounters = { sent: 0, dropped: 0, slowDisconnects: 0, rejects: 0 };
  private clientFramesReceived = 0;
  private readonly rejections = noConnectionRejections();
  private replicaRejects = 0;
  private frameDeadlineCloses = 0;
  private partialFrameBudgetCloses = 0;
  private clientThrottles = 0;
  private readonly limits: ConnectionLimits;
  private readonly addressGate: AddressGate;
  private readonly admission: ClientAdmission;
  private readonly partialFrames: FrameBudget;
  /** Accepts TCP connections, refuses those over the address caps, and hands the rest to {@link tls}. */
  private readonly server: Server;
  private readonly tls: TlsServer;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly options: ReplicaNetworkOptions,
    credentials: TlsCredentials,
  ) {
    this.log = options.log ?? silentLog;
    this.selfId = replicaId(options.selfId);
    this.idleTimeoutMs = resolveIdleTimeoutMs(options.idleTimeoutMs);
    this.limits = connectionLimitsOf(options);
    this.addressGate = new AddressGate(this.limits);
    this.admission = new ClientAdmission(options.config.clients, this.limits);
    this.partialFrames = new FrameBudget(this.limits.clientPartialFrameBytesMax);
    for (const replica of options.config.replicas) {
      this.replicaByKey.set(Buffer.from(replica.publicKey, 'base64').toString('base64'), replica.id);
      if (replica.id !== options.selfId) this.receivedFrom.set(replica.id, 0);
    }
    this.tls = createServer(
      {
        ...secureContextOptions(credentials),
        // Every peer must present a certificate; its key, not its issuer, identifies it.
        requestCert: true,
        rejectUnauthorized: false,
        handshakeTimeout: this.limits.inboundHandshakeTimeoutMs,
      },
      this.onSecureConnection,
    );
    this.tls.on('tlsClientError', (error, socket) => {
      const timedOut = (error as NodeJS.ErrnoException).code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
      this.refuse(socket, timedOut ? 'handshake-timeout' : 'handshake-failed', { error: error.message });
    });
    this.server = createTcpServer((raw) => {
      const refused = this.closing === undefined ? this.addressGate.admit(raw) : 'handshakes-max';
      if (refused !== undefined) return this.refuse(raw, refused, { remoteAddress: raw.remoteAddress });
      this.rawSockets.add(raw);
      raw.once('close', () => this.rawSockets.delete(raw));
      this.tls.emit('connection', raw);
    });
  }

  /**
   * Listens on this replica's configured host and port and starts dialing
   * every other replica. Resolves once listening.
   *
   * @throws ConfigError if `selfId` or the limits are invalid or `identity` is
   * not the configured key of `selfId`; the listen error if the port is unavailable.
   */
  static async start(options: ReplicaNetworkOptions): Promise<ReplicaNetwork> {
    checkTransportLimits(options);
    resolveIdleTimeoutMs(options.idleTimeoutMs);
    const self = options.config.replicas[options.selfId];
    if (self === undefined) throw new ConfigError('selfId', `no replica ${options.selfId} in the configuration`);
    if (!bytesEqual(options.identity.publicKey, Buffer.from(self.publicKey, 'base64'))) {
      throw new ConfigError(`replicas[${self.id}].publicKey`, "is not this replica's identity key");
    }
    const credentials = await tlsCredentials(options.identity);
    const network = new ReplicaNetwork(options, credentials);
    await network.listen(self.host, self.port);
    network.dialPeers(credentials);
    return network;
  }

  /**
   * Queues a frame for replica `id`. Returns false if it was dropped: the
   * queue is full or the payload exceeds `replicaFrameBytesMax`, or the network is closed.
   *
   * @throws RangeError if `id` is this replica or not in the configuration.
   */
  sendToReplica(id: number, payload: Uint8Array): boolean {
    const link = this.links.get(id);
    if (link === undefined) throw new RangeError(`replica ${id} is not another replica of the cluster`);
    if (this.closing !== undefined) return false;
    const result = link.send(payload);
    if (result === 'oversized') {
      this.log('warn', 'dropping frame larger than replicaFrameBytesMax', { peer: id, bytes: payload.length });
    }
    return result === 'queued';
  }

  /**
   * Closes replica `from`'s incoming connection because it sent something a
   * replica may not (a frame that does not decode, a message replicas do not
   * send), and counts it (`replicaRejects`). `reason` is a short, stable code
   * of ours, logged; never peer bytes. The peer redials, so this costs a
   * Byzantine replica a handshake per rejected frame and a correct one (a
   * version or limit mismatch) is noticed in the logs. Frames already read
   * behind the rejected one are not delivered.
   */
  rejectReplica(from: number, reason: string): void {
    const socket = this.inbound.get(from);
    if (socket === undefined || socket.destroyed) return;
    this.replicaRejects++;
    this.log('warn', 'replica rejected; closing its connection', { peer: from, reason });
    destroyBecause(socket, `rejected: ${reason}`);
  }

  /** Queues a frame for every other replica (dropping it for those whose queue is full). */
  broadcast(payload: Uint8Array): void {
    for (const id of this.links.keys()) this.sendToReplica(id, payload);
  }

  /** A snapshot of the counters. */
  stats(): ReplicaNetworkStats {
    const peers: ReplicaPeerStats[] = [];
    for (const [id, link] of this.links) {
      const outgoing = link.stats();
      peers.push({
        ...outgoing,
        id,
        inboundConnected: this.inbound.has(id),
        framesReceived: this.receivedFrom.get(id) ?? 0,
        idleDisconnects: outgoing.idleDisconnects + (this.inboundIdle.get(id) ?? 0),
      });
    }
    return {
      peers,
      clientConnections: this.sessions.size,
      clientFramesReceived: this.clientFramesReceived,
      clientFramesSent: this.clientCounters.sent,
      clientFramesDropped: this.clientCounters.dropped,
      clientSlowDisconnects: this.clientCounters.slowDisconnects,
      clientIdleDisconnects: this.clientIdleDisconnects,
      rejectedConnections: Object.values(this.rejections).reduce((sum, count) => sum + count, 0),
      connectionRejections: { ...this.rejections },
      handshakesInProgress: this.addressGate.handshakesInProgress,
      clientKeys: this.admission.keys,
      clientRejects: this.clientCounters.rejects,
      replicaRejects: this.replicaRejects,
      frameDeadlineCloses: this.frameDeadlineCloses,
      partialFrameBudgetCloses: this.partialFrameBudgetCloses,
      partialFrameBytes: this.partialFrames.reservedBytes,
      clientThrottles: this.clientThrottles,
    };
  }

  /** Stops listening and dialing and closes every connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const sockets = [...this.secureSockets, ...this.rawSockets];
    await Promise.all([
      serverClosed,
      ...[...this.links.values()].map((link) => link.close()),
      ...sockets.map((socket) => {
        destroyBecause(socket, 'network closed');
        return destroyAndWait(socket);
      }),
    ]);
    this.log('info', 'replica network closed', { self: this.selfId });
  }

  private listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', (error) => this.log('error', 'listener error', { error: error.message }));
        this.log('info', 'listening', { self: this.selfId, host, port });
        resolve();
      });
    });
  }

  private dialPeers(credentials: TlsCredentials): void {
    const secureContext = createSecureContext(secureContextOptions(credentials));
    for (const peer of this.options.config.replicas) {
      if (peer.id === this.selfId) continue;
      this.links.set(
        peer.id,
        new PeerLink({
          peer,
          secureContext,
          maxFrameBytes: this.options.replicaFrameBytesMax,
          sendQueueFramesMax: this.options.sendQueueFramesMax,
          handshakeTimeoutMs: this.options.handshakeTimeoutMs,
          idleTimeoutMs: this.idleTimeoutMs,
          log: this.log,
        }),
      );
    }
  }

  /** Counts a refused connection and closes it; the peer learns nothing but the close. */
  private refuse(socket: Socket, reason: ConnectionRejection, fields: Readonly<Record<string, unknown>>): void {
    this.rejections[reason]++;
    // Debug only: any peer can trigger these as often as it likes; the counters are what to watch.
    this.log('debug', 'incoming connection refused', { ...fields, reason });
    destroyBecause(socket, `refused: ${reason}`);
  }

  private readonly onSecureConnection = (socket: TLSSocket): void => {
    this.addressGate.handshakeCompleted(socket);
    const remote = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
    socket.on('error', (error) => {
      noteSocketError(socket, error);
      this.log('debug', 'connection error', { ...remote, error: error.message });
      // A TLS error (a bad record MAC, an alert) does not always close the socket by itself: it would
      // sit dead until the idle timeout, and its peer would not redial.
      socket.destroy();
    });
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const key = peerPublicKey(socket);
    if (key === undefined) return this.refuse(socket, 'no-certificate', remote);
    tuneSocket(socket);
    this.secureSockets.add(socket);
    socket.once('close', () => this.secureSockets.delete(socket));
    const keyBase64 = Buffer.from(key).toString('base64');
    const from = this.replicaByKey.get(keyBase64);
    if (from !== undefined && from !== this.selfId) this.acceptReplica(from, socket);
    else this.acceptClient(keyBase64, key, socket);
  };

  /** The frame deadline (liveness.ts) of an incoming connection, counted. */
  private frameDeadline(socket: TLSSocket, frames: FrameDeadlineWatch['frames']): FrameDeadlineWatch {
    return {
      frames,
      onOverdue: () => {
        this.frameDeadlineCloses++;
        destroyBecause(socket, FRAME_DEADLINE_CLOSE_REASON);
      },
    };
  }

  private acceptReplica(from: number, socket: TLSSocket): void {
    const fields = { peer: from };
    const previous = this.inbound.get(from);
    if (previous !== undefined) {
      // The peer redialed, so the old connection is dead even if TCP has not noticed yet.
      this.log('info', 'replica reconnected; closing its previous connection', fields);
      destroyBecause(previous, 'replaced by a newer connection');
    }
    this.inbound.set(from, socket);
    this.log('info', 'replica connected', fields);
    const sender = replicaId(from);
    // No shared budget: at most one connection per replica, each bounded by replicaFrameBytesMax.
    const frames = readFrames(socket, {
      maxFrameBytes: this.options.replicaFrameBytesMax,
      onFrame: (payload) => {
        this.receivedFrom.set(from, (this.receivedFrom.get(from) ?? 0) + 1);
        this.options.onReplicaFrame(sender, payload);
      },
      log: this.log,
      fields,
    });
    // This connection only carries the peer's frames to us; our heartbeats on it tell the peer that its link still delivers.
    watchLiveness(
      socket,
      this.idleTimeoutMs,
      () => {
        this.inboundIdle.set(from, (this.inboundIdle.get(from) ?? 0) + 1);
        destroyBecause(socket, 'idle');
      },
      this.frameDeadline(socket, frames),
    );
    socket.once('close', () => {
      if (this.inbound.get(from) === socket) this.inbound.delete(from);
      this.log('info', 'replica disconnected', { ...fields, reason: closeReason(socket) });
    });
  }

  private acceptClient(key: string, publicKey: Uint8Array, socket: TLSSocket): void {
    const base = clientIdBase(publicKey);
    const fields = { clientIdBase: base };
    if (!this.admission.admits(key)) return this.refuse(socket, 'not-admitted', fields);
    if (this.sessions.size >= this.options.clientConnectionsMax) return this.refuse(socket, 'client-connections-max', fields);
    const admitted = this.admission.admit(key, socket);
    if (typeof admitted === 'string') return this.refuse(socket, admitted, fields);
    const { maxFrameBytes, sendQueueFramesMax, onClientFrame, onClientClosed } = this.options;
    const session = new ClientSession(base, publicKey, socket, sendQueueFramesMax, maxFrameBytes, this.clientCounters, this.log);
    this.sessions.add(session);
    this.log('debug', 'client connected', fields);
    const frames = readFrames(socket, {
      maxFrameBytes,
      onFrame: (payload) => {
        this.clientFramesReceived++;
        onClientFrame(session, payload);
      },
      budget: this.partialFrames,
      onBudgetExceeded: () => this.partialFrameBudgetCloses++,
      throttle: admitted.throttle,
      onThrottled: () => this.clientThrottles++,
      log: this.log,
      fields,
    });
    watchLiveness(
      socket,
      this.idleTimeoutMs,
      () => {
        this.clientIdleDisconnects++;
        destroyBecause(socket, 'idle');
      },
      this.frameDeadline(socket, frames),
    );
    socket.once('close', () => {
      this.sessions.delete(session);
      const reason = closeReason(socket);
      // Clients come and go all the time; only a connection that broke is worth an info line.
      this.log(reason === 'closed by peer' ? 'debug' : 'info', 'client disconnected', { ...fields, reason });
      if (onClientClosed !== undefined) invokeSafely(this.log, 'onClientClosed', () => onClientClosed(session));
    });
  }
}

/** The connection limits of `options`: its own over the defaults; the inbound handshake bound never above `handshakeTimeoutMs`. */
function connectionLimitsOf(options: ReplicaNetworkOptions): ConnectionLimits {
  return resolveConnectionLimits({
    ...options,
    inboundHandshakeTimeoutMs:
      options.inboundHandshakeTimeoutMs ?? Math.min(options.handshakeTimeoutMs, DEFAULT_CONNECTION_LIMITS.inboundHandshakeTimeoutMs),
  });
}
