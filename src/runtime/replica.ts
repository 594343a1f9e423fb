/**
 * The replica entry point: drives the pure {@link ReplicaCore} with real
 * I/O — authenticated TCP (src/net), the wire codec (src/wire) and a
 * worker-thread executor running the user's service (src/executor).
 *
 * Everything that decides lives in the core; this file only translates
 * events in and applies effects out, in order.
 */
import type { ClusterConfig } from '../config.js';
import { assertNever } from '../core/assert.js';
import type { ReplicaEffect } from '../core/effects.js';
import type { ReplicaEvent } from '../core/events.js';
import { replicaId, type ClientId, type ReplicaId } from '../core/ids.js';
import { newViewBytesMax, type ProtocolOptions } from '../core/options.js';
import { seqNo } from '../core/ordering.js';
import { ReplicaCore, type ReplicaStatus } from '../core/replica.js';
import { WorkerExecutor } from '../executor/worker-executor.js';
import type { Executor } from '../executor/executor.js';
import { createLogger, type Logger } from '../log.js';
import { loadIdentity, ownsClientId, type NodeIdentity } from '../net/identity.js';
import type { ClientConnection } from '../net/client-session.js';
import { ReplicaNetwork } from '../net/replica-network.js';
import { decodeMessage, encodeMessage, wireLimitsFrom, type WireLimits } from '../wire/codec.js';
import { replicaCrypto } from './replica-crypto.js';
import { ClientRegistry } from './client-registry.js';
import { frameBytesMax, resolveProtocolOptions } from './protocol-options.js';

/** Frames queued per connection (replica or client) before further ones are dropped. */
const SEND_QUEUE_FRAMES_MAX = 4096;
const HANDSHAKE_TIMEOUT_MS = 5000;
const CLIENT_CONNECTIONS_MAX = 10_000;
/** Period of the core's logical clock: its timeouts are counted in these ticks. */
export const REPLICA_TICK_MS = 10;

/** Options of {@link Replica.start}. */
export interface ReplicaOptions {
  /** The cluster this replica belongs to. */
  readonly config: ClusterConfig;
  /** This replica's id: its index in `config.replicas`. */
  readonly id: number;
  /** This replica's private key, or the path of its PEM key file (`bafomet init`). */
  readonly identity: NodeIdentity | string;
  /**
   * Module whose default export (or `serviceExport`) is the {@link Service}.
   * It is loaded in a worker thread, so the protocol loop never runs user code.
   */
  readonly service: string | URL;
  readonly serviceExport?: string;
  /** Protocol limits; every replica of a cluster must use the same values. */
  readonly protocol?: Partial<ProtocolOptions>;
  /** Client connections served at once (default 10,000). */
  readonly clientConnectionsMax?: number;
  readonly logger?: Logger;
}

/** Counters of one replica, for status output and metrics. */
export interface ReplicaCounters {
  readonly batchesDelivered: number;
  readonly requestsExecuted: number;
  readonly rejectedMessages: number;
  readonly malformedFrames: number;
  /** Views this replica installed after view 0. */
  readonly viewChanges: number;
}

/** A running replica. */
export class Replica {
  private closed = false;
  private readonly counters = { batchesDelivered: 0, requestsExecuted: 0, rejectedMessages: 0, malformedFrames: 0, viewChanges: 0 };
  private readonly ticker: NodeJS.Timeout;

  private constructor(
    private readonly core: ReplicaCore,
    private readonly network: ReplicaNetwork,
    private readonly executor: Executor,
    private readonly clients: ClientRegistry,
    private readonly limits: WireLimits,
    private readonly log: Logger,
  ) {
    this.ticker = setInterval(() => this.step({ type: 'tick' }), REPLICA_TICK_MS);
  }

  /** Starts the executor, listens, and connects to the other replicas. */
  static async start(options: ReplicaOptions): Promise<Replica> {
    const protocol = resolveProtocolOptions(options.protocol);
    const { config } = options;
    const id = replicaId(options.id);
    const log = (options.logger ?? createLogger()).child({ replica: options.id });
    const identity = typeof options.identity === 'string' ? await loadIdentity(options.identity) : options.identity;
    const core = new ReplicaCore({ id, n: config.replicas.length, f: config.f, options: protocol, crypto: replicaCrypto(identity, config) });
    let replica: Replica | undefined;
    const executor = await WorkerExecutor.start(
      { serviceModule: options.service, exportName: options.serviceExport ?? 'default' },
      {
        onExecuted: (seq, results) => replica?.step({ type: 'executed', seq: seqNo(seq), results }),
        onFatal: (error) => {
          log.error('service failed; replica stops', { error: error.message });
          void replica?.close();
        },
      },
    );
    const clients = new ClientRegistry();
    const limits = wireLimitsFrom(protocol, config.replicas.length);
    const network = await ReplicaNetwork.start({
      config,
      selfId: options.id,
      identity,
      maxFrameBytes: frameBytesMax(protocol),
      replicaFrameBytesMax: Math.max(frameBytesMax(protocol), newViewBytesMax(protocol, config.replicas.length)),
      sendQueueFramesMax: SEND_QUEUE_FRAMES_MAX,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      clientConnectionsMax: options.clientConnectionsMax ?? CLIENT_CONNECTIONS_MAX,
      onReplicaFrame: (from, payload) => replica?.onReplicaFrame(replicaId(from), payload),
      onClientFrame: (connection, payload) => replica?.onClientFrame(connection, payload),
      onClientClosed: (connection) => clients.forget(connection),
      log: (level, message, fields) => log[level](message, fields),
    });
    replica = new Replica(core, network, executor, clients, limits, log);
    log.info('replica started', { n: config.replicas.length, f: config.f });
    return replica;
  }

  /** Protocol progress: view, primary, last delivered and executed sequence numbers. */
  status(): ReplicaStatus {
    return this.core.status();
  }

  counts(): ReplicaCounters {
    return { ...this.counters };
  }

  /**
   * The service state's SHA-256 digest (hex) after batch `seq`: the last one
   * delivered when called (the executor snapshots after all queued batches).
   */
  async stateDigest(): Promise<{ digest: string; seq: number }> {
    const seq = this.core.status().lastDelivered;
    const { digest } = await this.executor.snapshot();
    return { digest: Buffer.from(digest).toString('hex'), seq };
  }

  /** Stops networking and the executor. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    await Promise.all([this.network.close(), this.executor.close()]);
    this.log.info('replica closed');
  }

  private onReplicaFrame(from: ReplicaId, payload: Uint8Array): void {
    const decoded = decodeMessage(payload, this.limits);
    if (!decoded.ok) return this.malformed({ replica: from }, decoded.reason);
    const { message } = decoded;
    if (message.type === 'request' || message.type === 'reply') return this.malformed({ replica: from }, 'unexpected-type');
    this.step({ type: 'message', from, message });
  }

  private onClientFrame(connection: ClientConnection, payload: Uint8Array): void {
    const decoded = decodeMessage(payload, this.limits);
    if (!decoded.ok) return this.malformed({ clientBase: connection.clientIdBase }, decoded.reason);
    const { message } = decoded;
    if (message.type !== 'request') return this.malformed({ clientBase: connection.clientIdBase }, 'unexpected-type');
    if (!ownsClientId(connection.clientIdBase, message.request.clientId)) {
      return this.malformed({ clientBase: connection.clientIdBase }, 'foreign-client-id');
    }
    this.clients.bind(message.request.clientId, connection);
    this.step({ type: 'request', request: message.request });
  }

  private malformed(from: Record<string, number>, reason: string): void {
    this.counters.malformedFrames++;
    this.log.debug('malformed frame', { ...from, reason });
  }

  private step(event: ReplicaEvent): void {
    if (this.closed) return;
    for (const effect of this.core.step(event)) this.apply(effect);
  }

  private apply(effect: ReplicaEffect): void {
    switch (effect.type) {
      case 'send': {
        const bytes = encodeMessage(effect.message);
        if (effect.to === 'others') this.network.broadcast(bytes);
        else this.network.sendToReplica(effect.to, bytes);
        break;
      }
      case 'reply':
        this.clients.get(effect.clientId as ClientId)?.send(encodeMessage(effect.message));
        break;
      case 'execute':
        this.counters.requestsExecuted += effect.requests.length;
        this.executor.execute(
          effect.seq,
          effect.requests.map((r) => r.operation),
        );
        break;
      case 'delivered':
        this.counters.batchesDelivered++;
        break;
      case 'snapshot': {
        const seq = effect.seq;
        this.executor.snapshot().then(
          ({ digest }) => this.step({ type: 'state-digest', seq, stateDigest: digest }),
          (error: unknown) => this.log.warn('snapshot failed', { seq, error: String(error) }),
        );
        break;
      }
      case 'stable-checkpoint':
        this.log.debug('stable checkpoint', { seq: effect.seq });
        break;
      case 'view-change-started':
        this.log.info('view change started', { view: effect.view });
        break;
      case 'view-installed':
        this.counters.viewChanges++;
        this.log.info('view installed', { view: effect.view, primary: effect.primary });
        break;
      case 'rejected':
        this.counters.rejectedMessages++;
        this.log.debug('rejected message', {
          ...effect.from,
          type: effect.messageType,
          action: effect.rejection.action,
          reason: effect.rejection.reason,
        });
        break;
      default:
        assertNever(effect, 'effect');
    }
  }
}
