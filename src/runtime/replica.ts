/**
 * The replica entry point: drives the pure {@link ReplicaCore} with real
 * I/O — authenticated TCP (src/net), the wire codec (src/wire) and a
 * worker-thread executor running the user's service (src/executor).
 *
 * Everything that decides lives in the core; this file only translates
 * events in and applies effects out, in order.
 */
import { createHash } from 'node:crypto';
import { CheckpointAssembly } from '../checkpoint/assembly.js';
import { CheckpointImage } from '../checkpoint/image.js';
import { CheckpointImages } from '../checkpoint/images.js';
import type { ClusterConfig } from '../config.js';
import { assert, assertNever } from '../core/assert.js';
import type { ClientTableEntry, ReplicaEffect } from '../core/effects.js';
import type { ReplicaEvent } from '../core/events.js';
import { replicaId, type ClientId, type ReplicaId } from '../core/ids.js';
import type { CheckpointManifest } from '../core/messages.js';
import type { ProtocolOptions } from '../core/options.js';
import { seqNo, type SeqNo } from '../core/ordering.js';
import { ReplicaCore, type ReplicaStatus } from '../core/replica.js';
import { WorkerExecutor } from '../executor/worker-executor.js';
import type { Executor, ExecutorSnapshot } from '../executor/executor.js';
import { createLogger, type Logger } from '../log.js';
import { loadIdentity, ownsClientId, type NodeIdentity } from '../net/identity.js';
import type { ClientConnection } from '../net/client-session.js';
import { ReplicaNetwork } from '../net/replica-network.js';
import { decodeClientTable, encodeClientTable } from '../wire/client-table.js';
import { decodeMessage, encodeMessage, wireLimitsFrom, type WireLimits } from '../wire/codec.js';
import { replicaCrypto } from './replica-crypto.js';
import { ClientRegistry } from './client-registry.js';
import { frameBytesMax, replicaFrameBytesMax, resolveProtocolOptions } from './protocol-options.js';

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
  /** Checkpoints this replica fetched from others and installed (state transfer). */
  readonly checkpointsInstalled: number;
}

/** A running replica. */
export class Replica {
  private closed = false;
  private readonly counters = {
    batchesDelivered: 0,
    requestsExecuted: 0,
    rejectedMessages: 0,
    malformedFrames: 0,
    viewChanges: 0,
    checkpointsInstalled: 0,
  };
  private readonly ticker: NodeJS.Timeout;
  /**
   * The executor's snapshot right after each checkpoint batch handed to it,
   * until the core asks for that checkpoint [S1]: by then the executor may
   * have run later batches. Undefined if the snapshot failed.
   */
  private readonly snapshots = new Map<SeqNo, Promise<ExecutorSnapshot | undefined>>();
  /** Images this replica serves chunks of [S3]. */
  private readonly images: CheckpointImages;
  /** The image being fetched, if any [S10]. */
  private assembly: CheckpointAssembly | undefined;

  private constructor(
    private readonly core: ReplicaCore,
    private readonly network: ReplicaNetwork,
    private readonly executor: Executor,
    private readonly clients: ClientRegistry,
    private readonly options: ProtocolOptions,
    private readonly limits: WireLimits,
    private readonly log: Logger,
  ) {
    this.images = new CheckpointImages(Math.floor(options.logWindow / options.checkpointInterval) + 1);
    this.ticker = setInterval(() => this.step({ type: 'tick' }), REPLICA_TICK_MS);
  }

  /** Starts the executor, listens, and connects to the other replicas. */
  static async start(options: ReplicaOptions): Promise<Replica> {
    const protocol = resolveProtocolOptions(options.protocol);
    const { config } = options;
    const id = replicaId(options.id);
    const log = (options.logger ?? createLogger()).child({ replica: options.id });
    const identity = typeof options.identity === 'string' ? await loadIdentity(options.identity) : options.identity;
    // A process cannot tell a first start from a restart next to running replicas: it always asks where they are (S4 c).
    const core = new ReplicaCore({
      id,
      n: config.replicas.length,
      f: config.f,
      options: protocol,
      crypto: replicaCrypto(identity, config),
      recovering: true,
    });
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
      replicaFrameBytesMax: replicaFrameBytesMax(protocol, config.replicas.length),
      sendQueueFramesMax: SEND_QUEUE_FRAMES_MAX,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      clientConnectionsMax: options.clientConnectionsMax ?? CLIENT_CONNECTIONS_MAX,
      onReplicaFrame: (from, payload) => replica?.onReplicaFrame(replicaId(from), payload),
      onClientFrame: (connection, payload) => replica?.onClientFrame(connection, payload),
      onClientClosed: (connection) => clients.forget(connection),
      log: (level, message, fields) => log[level](message, fields),
    });
    replica = new Replica(core, network, executor, clients, protocol, limits, log);
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
   * A digest (hex) of the service state after batch `seq`, the last one
   * delivered when called (the executor snapshots after all queued
   * batches): SHA-256 over the SHA-256 digests of its `chunkBytes` chunks,
   * so replicas with the same protocol options and states agree on it.
   */
  async stateDigest(): Promise<{ digest: string; seq: number }> {
    const seq = this.core.status().lastDelivered;
    const { chunkDigests } = await this.executor.snapshot(this.options.chunkBytes);
    const hash = createHash('sha256');
    for (const digest of chunkDigests) hash.update(digest);
    return { digest: hash.digest('hex'), seq };
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
        if (effect.seq % this.options.checkpointInterval === 0) this.snapshotAfter(effect.seq);
        break;
      case 'delivered':
        this.counters.batchesDelivered++;
        break;
      case 'checkpoint':
        this.takeCheckpoint(effect.seq, effect.clientTable);
        break;
      case 'send-chunk': {
        const bytes = this.images.get(effect.seq)?.chunk(effect.index);
        if (bytes !== undefined) {
          this.network.sendToReplica(effect.to, encodeMessage({ type: 'chunk', seq: effect.seq, index: effect.index, bytes }));
        }
        break;
      }
      case 'store-chunk':
        this.assemblyOf(effect.seq, effect.manifest).store(effect.index, effect.bytes);
        break;
      case 'install-checkpoint':
        this.installCheckpoint(effect.seq, effect.manifest);
        break;
      case 'stable-checkpoint':
        this.images.stableAt(effect.seq);
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

  /** Queues a snapshot right behind batch `seq`, before any later one [S1]. */
  private snapshotAfter(seq: SeqNo): void {
    const snapshot = this.executor.snapshot(this.options.chunkBytes).catch((error: unknown) => {
      // The executor failed or closed; a fatal failure already stops the replica.
      if (!this.closed) this.log.warn('snapshot failed', { seq, error: String(error) });
      return undefined;
    });
    this.snapshots.set(seq, snapshot);
  }

  /** Builds and keeps checkpoint `seq`'s image from the snapshot after its batch, then reports its manifest [S1]. */
  private takeCheckpoint(seq: SeqNo, clientTable: readonly ClientTableEntry[]): void {
    const snapshot = this.snapshots.get(seq);
    assert(snapshot !== undefined, `checkpoint ${seq} asked for without a snapshot after its batch`);
    this.snapshots.delete(seq);
    const table = encodeClientTable(clientTable);
    void snapshot.then((taken) => {
      if (taken === undefined || this.closed) return;
      const image = CheckpointImage.build(table, taken.state, taken.chunkDigests, this.options.chunkBytes);
      this.images.keep(seq, image);
      const bytes = table.length + taken.state.length;
      // Nothing else bounds the image, and a lagging replica refuses a manifest above the limit.
      if (bytes > this.options.checkpointBytesMax) this.log.warn('checkpoint image above checkpointBytesMax: no replica will fetch it', { seq, bytes });
      else this.log.debug('checkpoint taken', { seq, bytes });
      this.step({ type: 'checkpoint-taken', seq, manifest: image.manifest });
    });
  }

  /** The assembly of checkpoint `seq`'s image; one of another checkpoint is abandoned [S11]. */
  private assemblyOf(seq: SeqNo, manifest: CheckpointManifest): CheckpointAssembly {
    if (this.assembly?.seq !== seq) this.assembly = new CheckpointAssembly(seq, manifest);
    return this.assembly;
  }

  /** Replaces the service state and client table with checkpoint `seq`'s fetched image [S12]. */
  private installCheckpoint(seq: SeqNo, manifest: CheckpointManifest): void {
    const image = this.assemblyOf(seq, manifest).image();
    this.assembly = undefined;
    const clientTable = decodeClientTable(image.clientTable, this.limits);
    // Every chunk matched a manifest a quorum vouches for: correct replicas encoded this table.
    assert(clientTable !== undefined, `client table of checkpoint ${seq} does not decode`);
    // The installed checkpoint becomes the stable one, so the images below it go first.
    this.images.stableAt(seq);
    this.images.keep(seq, image);
    this.executor.restore(image.serviceState).then(
      () => {
        this.counters.checkpointsInstalled++;
        this.log.info('checkpoint installed', { seq, bytes: image.clientTable.length + image.serviceState.length });
        this.step({ type: 'checkpoint-installed', seq, clientTable });
      },
      // A failed restore is fatal to the executor, which stops the replica.
      (error: unknown) => {
        if (!this.closed) this.log.warn('checkpoint install failed', { seq, error: String(error) });
      },
    );
  }
}
