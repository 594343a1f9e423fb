/** A client's transport: one authenticated, reconnecting TLS connection to each replica. */
import { createSecureContext } from 'node:tls';
import type { ClusterConfig } from '../config.js';
import { replicaId, type ReplicaId } from '../core/ids.js';
import { clientIdBase, tlsCredentials, type NodeIdentity } from './identity.js';
import { checkTransportLimits, DEFAULT_HANDSHAKE_TIMEOUT_MS, resolveIdleTimeoutMs, type TransportLimits } from './limits.js';
import { silentLog, type NetLog } from './log.js';
import { PeerLink, type LinkStats } from './peer-link.js';
import { secureContextOptions } from './tls-socket.js';

/** Settings and callbacks of {@link ClientNetwork.connect}. */
export interface ClientNetworkOptions extends Omit<TransportLimits, 'handshakeTimeoutMs'> {
  readonly config: ClusterConfig;
  /** The client's key; replicas derive its client ids from it. */
  readonly identity: NodeIdentity;
  /** Default {@link DEFAULT_HANDSHAKE_TIMEOUT_MS}. */
  readonly handshakeTimeoutMs?: number;
  /**
   * A connection on which nothing arrives for this long is closed and
   * redialled. Default `DEFAULT_IDLE_TIMEOUT_MS` (limits.ts); use about the
   * replicas' value (docs/DESIGN.md, "Link liveness").
   */
  readonly idleTimeoutMs?: number;
  /** A frame from replica `from`, whose key matched the configuration. */
  readonly onReplicaFrame: (from: ReplicaId, payload: Uint8Array) => void;
  readonly log?: NetLog;
}

/** Counters of the connection to one replica. */
export interface ClientLinkStats extends LinkStats {
  readonly id: number;
}

/** A snapshot of a {@link ClientNetwork}'s counters. */
export interface ClientNetworkStats {
  /** One entry per replica, by id. */
  readonly replicas: readonly ClientLinkStats[];
}

/**
 * Connections from a client to every replica. Frames to a replica that is
 * down wait in its bounded queue and are dropped once it is full.
 */
export class ClientNetwork {
  /** First client id this client's key owns (see `clientIdBase` in `src/net/identity.ts`). */
  readonly clientIdBase: number;
  private readonly links: PeerLink[];
  private closing: Promise<void> | undefined;

  private constructor(links: PeerLink[], base: number) {
    this.links = links;
    this.clientIdBase = base;
  }

  /**
   * Starts dialing every replica and resolves without waiting for any
   * connection: a replica may be down, and frames queue until it is up.
   *
   * @throws ConfigError if a limit (or `idleTimeoutMs`) is out of range.
   */
  static async connect(options: ClientNetworkOptions): Promise<ClientNetwork> {
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    checkTransportLimits({ ...options, handshakeTimeoutMs });
    const idleTimeoutMs = resolveIdleTimeoutMs(options.idleTimeoutMs);
    const log = options.log ?? silentLog;
    const secureContext = createSecureContext(secureContextOptions(await tlsCredentials(options.identity)));
    const links = options.config.replicas.map((peer) => {
      const from = replicaId(peer.id);
      return new PeerLink({
        peer,
        secureContext,
        maxFrameBytes: options.maxFrameBytes,
        sendQueueFramesMax: options.sendQueueFramesMax,
        handshakeTimeoutMs,
        idleTimeoutMs,
        onFrame: (payload) => options.onReplicaFrame(from, payload),
        log,
      });
    });
    return new ClientNetwork(links, clientIdBase(options.identity.publicKey));
  }

  /**
   * Queues a frame for replica `id`. Returns false if it was dropped (queue
   * full, payload above `maxFrameBytes`, or network closed).
   *
   * @throws RangeError if `id` is not a replica of the configuration.
   */
  send(id: number, payload: Uint8Array): boolean {
    const link = this.links[id];
    if (link === undefined) throw new RangeError(`replica ${id} is not in the configuration`);
    return this.closing === undefined && link.send(payload) === 'queued';
  }

  /** Queues a frame for every replica. */
  broadcast(payload: Uint8Array): void {
    for (let id = 0; id < this.links.length; id++) this.send(id, payload);
  }

  /** A snapshot of the counters. */
  stats(): ClientNetworkStats {
    return { replicas: this.links.map((link, id) => ({ ...link.stats(), id })) };
  }

  /** Closes every connection and stops reconnecting. Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.links.map((link) => link.close())).then(() => undefined);
    return this.closing;
  }
}
