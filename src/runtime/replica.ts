/**
 * The replica entry point: drives the pure {@link ReplicaCore} with real
 * I/O — authenticated TCP (src/net), the wire codec (src/wire) and a
 * worker-thread executor running the user's service (src/executor).
 *
 * Everything that decides lives in the core; this file only translates
 * events in and applies effects out, in order.
 */
import { createHash } from 'node:crypto';
import { CheckpointDirectory } from '../checkpoint/directory.js';
import type { ClusterConfig } from '../config.js';
import { assert, assertNever } from '../core/assert.js';
import { rejectedReply, requestTooLarge } from '../core/client-table.js';
import type { InstallCheckpointEffect, ReplicaEffect } from '../core/effects.js';
import type { ReplicaEvent } from '../core/events.js';
import { bytesEqual, replicaId, type ClientId, type ReplicaId } from '../core/ids.js';
import type { ProtocolOptions } from '../core/options.js';
import { seqNo, type SeqNo } from '../core/ordering.js';
import type { Recovered } from '../core/recovery.js';
import type { FileImage } from '../checkpoint/file-image.js';
import { ReplicaCore, type ReplicaStatus } from '../core/replica.js';
import { ClosedError, ConfigError } from '../errors.js';
import type { ExecutorCallbacks } from '../executor/executor.js';
import { InlineExecutor } from '../executor/inline-executor.js';
import { loadService, serviceModuleUrl } from '../executor/load.js';
import { WorkerExecutor } from '../executor/worker-executor.js';
import type { Executor } from '../executor/executor.js';
import { createLogger, type Logger } from '../log.js';
import { loadIdentity, ownsClientId, type NodeIdentity } from '../net/identity.js';
import type { ClientConnection } from '../net/client-session.js';
import { ReplicaNetwork } from '../net/replica-network.js';
import { isReplicaMessage, type ReadReplyMessage, type ReadRequestMessage } from '../core/messages.js';
import {
  decodeMessage,
  encodeMessage,
  oversizedReadRequest,
  oversizedRequest,
  wireLimitsFrom,
  type WireLimits,
} from '../wire/codec.js';
import type { QueryAnswer } from '../executor/executor.js';
import { ReadOnlyGate, resolveReadOnlyLimits, type ReadOnlyLimits } from './read-only.js';
import { Checkpoints } from './checkpoints.js';
import { DurableStore, journalLimits, type StoredState } from './durable-store.js';
import { decodeClientTable } from '../wire/client-table.js';
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
/** Where a replica runs its service ({@link ReplicaOptions.executor}). */
export type ExecutorKind = 'worker' | 'inline';

export interface ReplicaOptions {
  /** The cluster this replica belongs to. */
  readonly config: ClusterConfig;
  /** This replica's id: its index in `config.replicas`. */
  readonly id: number;
  /** This replica's private key, or the path of its PEM key file (`bafomet init`). */
  readonly identity: NodeIdentity | string;
  /**
   * Module whose default export (or `serviceExport`) is the {@link Service}.
   * It is loaded in a worker thread, so the protocol loop never runs user code
   * (unless `executor` is `'inline'`).
   */
  readonly service: string | URL;
  readonly serviceExport?: string;
  /**
   * Where the service runs: `'worker'` (default), a worker thread, so a slow
   * `update` never delays the protocol (timers, heartbeats, other replicas'
   * messages); or `'inline'`, on the protocol's own thread, which saves a
   * thread hand-off per batch: for a service whose requests take
   * microseconds, 1-client latency drops by about a sixth on the 2-core
   * benchmark machine (docs/BENCHMARKS.md). An inline `update` that takes
   * long stalls the replica; use it only for cheap, bounded services.
   */
  readonly executor?: ExecutorKind;
  /** Protocol limits; every replica of a cluster must use the same values. */
  readonly protocol?: Partial<ProtocolOptions>;
  /** Client connections served at once (default 10,000). */
  readonly clientConnectionsMax?: number;
  /**
   * The directory this replica alone keeps its durable state in (created if
   * missing; docs/DURABILITY.md): the journal of what it promised, synced
   * before each message that binds it goes out, and its checkpoint images.
   * Restarted with the same directory, the replica recovers locally — its
   * view, votes, log and state — then catches up with the others. Unset,
   * the replica is in memory only: a power cut loses everything, and a
   * replica restarted without its data counts against f until it has
   * caught up (D15). Takes the place of `checkpointDir`.
   */
  readonly dataDir?: string;
  /**
   * This replica lost its data (a replaced disk, a new machine for its id):
   * it catches up but sends nothing that binds it until every sequence
   * number it could have voted on before the loss lies below its stable
   * checkpoint (docs/DURABILITY.md D15); until then it counts against f.
   * Refused with a `dataDir` that holds a journal: that replica lost nothing.
   */
  readonly rejoin?: boolean;
  /**
   * Without `dataDir`: a directory this replica alone uses for its checkpoint images (created
   * if missing). The service state of each kept image is a file there,
   * written by the executor as it encodes and read a chunk at a time to
   * serve, and a fetched image is written there chunk by chunk before it is
   * installed: memory holds a bounded number of chunks in flight instead of
   * a whole encoded state per kept image, and with `Service.stateStream`
   * no whole encoding at all, even while snapshotting or installing. The
   * files only serve this run: image files (`checkpoint-*.state`) are
   * deleted at start and on close; nothing else in the directory is
   * touched. Unset, images are kept in memory.
   */
  readonly checkpointDir?: string;
  /**
   * Bounds on read-only requests admitted and not yet answered
   * (docs/PROTOCOL.md Q4): per client connection (default 64), in all
   * (4,096) and their operation bytes in all (16 MiB). Over a bound, a
   * read-only request is refused at once and its client orders it.
   */
  readonly readOnly?: Partial<ReadOnlyLimits>;
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
  /** Times this replica found its state differing from the certified one and repaired it [S16]. */
  readonly divergences: number;
  /** Client request signatures this replica verified [A2, A5]. */
  readonly requestSignaturesVerified: number;
  /** Requests whose client signature failed (FORWARDs, PRE-PREPAREs, the primary's proposals, backups' forwards) [A4-A6, A9]. */
  readonly forgedRequestsRejected: number;
  /** Read-only requests answered with the service's `query` [Q6-Q7]. */
  readonly readOnlyAnswered: number;
  /** Read-only requests not run because the service does not declare them read-only [Q5]. */
  readonly readOnlyRefused: number;
  /** Read-only requests whose `readOnly` or `query` failed (or whose request or reply did not go through its codec). */
  readonly readOnlyFailed: number;
  /** Read-only requests refused over a bound (queued, request or reply size) [Q4]. */
  readonly readOnlyRejected: number;
}

/** Why a replica stopped by itself (a fatal failure), as {@link Replica.stopped} reports it. */
export interface ReplicaStop {
  /** One line: what stopped it. */
  readonly reason: string;
  readonly error: Error;
}

/** A running replica. */
export class Replica {
  private closed = false;
  private settleStopped!: (stop: ReplicaStop | undefined) => void;
  /**
   * Settles once the replica has stopped and released its resources:
   * `undefined` after {@link Replica.close}, the reason after a fatal
   * failure (the service's state or worker failed, not a request's
   * `update` throwing: that only fails the request). Never rejects.
   */
  readonly stopped = new Promise<ReplicaStop | undefined>((resolve) => (this.settleStopped = resolve));
  private readonly counters = {
    batchesDelivered: 0,
    requestsExecuted: 0,
    rejectedMessages: 0,
    malformedFrames: 0,
    viewChanges: 0,
    checkpointsInstalled: 0,
    divergences: 0,
    readOnlyAnswered: 0,
    readOnlyRefused: 0,
    readOnlyFailed: 0,
    readOnlyRejected: 0,
  };
  /** Read-only requests admitted and not yet answered [Q4]. */
  private readonly reads: ReadOnlyGate<ClientConnection>;
  private readonly ticker: NodeJS.Timeout;
  /** Snapshots, the images this replica serves [S3] and the one it fetches [S10]. */
  private readonly checkpoints: Checkpoints;

  private constructor(
    private readonly core: ReplicaCore,
    private readonly network: ReplicaNetwork,
    private readonly executor: Executor,
    private readonly clients: ClientRegistry,
    private readonly options: ProtocolOptions,
    private readonly limits: WireLimits,
    private readonly log: Logger,
    directory: CheckpointDirectory | undefined,
    /** The data directory, if any: records, images and the sends that wait for them [D10]. */
    private readonly store: DurableStore | undefined,
    restoredImages: ReadonlyMap<SeqNo, FileImage> | undefined,
    readOnlyLimits: ReadOnlyLimits,
  ) {
    this.reads = new ReadOnlyGate(readOnlyLimits);
    const durable = store === undefined ? undefined : { kept: (seq: SeqNo, image: FileImage) => store.imageKept(seq, image) };
    this.checkpoints = new Checkpoints({ executor, options, limits, directory, durable, log });
    for (const [seq, image] of restoredImages ?? []) this.checkpoints.adopt(seq, image);
    let rejoining = !core.status().voting;
    this.ticker = setInterval(() => {
      this.step({ type: 'tick' });
      if (rejoining && this.core.status().voting) {
        rejoining = false;
        log.info('rejoined: this replica votes again', { stableCheckpoint: this.core.status().stableCheckpoint }); // [D15]
      }
    }, REPLICA_TICK_MS);
  }

  /** Starts the executor, listens, and connects to the other replicas. */
  static async start(options: ReplicaOptions): Promise<Replica> {
    const protocol = resolveProtocolOptions(options.protocol);
    const { config } = options;
    const id = replicaId(options.id);
    const log = (options.logger ?? createLogger()).child({ replica: options.id });
    const identity = typeof options.identity === 'string' ? await loadIdentity(options.identity) : options.identity;
    const limits = wireLimitsFrom(protocol, config.replicas.length);
    const readOnlyLimits = resolveReadOnlyLimits(options.readOnly);
    let replica: Replica | undefined;
    const opened =
      options.dataDir === undefined
        ? undefined
        : await DurableStore.open({
            dataDir: options.dataDir,
            limits,
            log,
            onFatal: (error) => {
              log.error('the journal cannot be written; replica stops', { error: error.message });
              void replica?.shutdown({ reason: `the data directory failed: ${error.message}`, error });
            },
          });
    const store = opened?.store;
    if (options.rejoin === true && opened?.stored.restarted === true) {
      await store?.close();
      throw new ConfigError('rejoin', `the data directory ${options.dataDir} holds a journal: this replica lost nothing; start it without rejoin`);
    }
    const directory =
      store?.directory ?? (options.checkpointDir === undefined ? undefined : await CheckpointDirectory.open(options.checkpointDir));
    const callbacks: ExecutorCallbacks = {
      onExecuted: (seq, results, failed) => replica?.step({ type: 'executed', seq: seqNo(seq), results, failed }),
      onFatal: (error) => {
        log.error('service failed; replica stops', { error: error.message });
        void replica?.shutdown({ reason: `the service failed: ${error.message}`, error });
      },
    };
    const exportName = options.serviceExport ?? 'default';
    const executor =
      options.executor === 'inline'
        ? new InlineExecutor(await loadService(serviceModuleUrl(options.service), exportName), callbacks)
        : await WorkerExecutor.start({ serviceModule: options.service, exportName }, callbacks);
    const restored = opened === undefined ? undefined : await restore(opened.stored, executor, protocol, limits, log).catch(async (error: unknown) => {
      await executor.close();
      throw error;
    });
    // A process cannot tell a first start from a restart next to running replicas: it always asks where they are (S4 c).
    const core = new ReplicaCore({
      id,
      n: config.replicas.length,
      f: config.f,
      options: protocol,
      crypto: replicaCrypto(identity, config),
      recovering: true,
      rejoin: options.rejoin === true,
      ...(restored === undefined ? {} : { recovered: restored.recovered }),
    });
    const clients = new ClientRegistry();
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
    }).catch(async (error: unknown) => {
      await executor.close(); // its worker thread would keep the process alive
      throw error;
    });
    replica = new Replica(core, network, executor, clients, protocol, limits, log, directory, store, restored?.images, readOnlyLimits);
    log.info('replica started', { n: config.replicas.length, f: config.f, durable: store !== undefined });
    return replica;
  }

  /** Protocol progress: view, primary, last delivered and executed sequence numbers. */
  status(): ReplicaStatus {
    return this.core.status();
  }

  counts(): ReplicaCounters {
    const { requestSignaturesVerified, forgedRequestsRejected } = this.core.status();
    return { ...this.counters, requestSignaturesVerified, forgedRequestsRejected };
  }

  /**
   * A digest (hex) of the service state after batch `seq`, the last one
   * delivered when called (the executor snapshots after all queued
   * batches): SHA-256 over the SHA-256 digests of its `chunkBytes` chunks,
   * so replicas with the same protocol options and states agree on it.
   */
  async stateDigest(): Promise<{ digest: string; seq: number }> {
    const seq = this.core.status().lastDelivered;
    const { chunkDigests } = await this.executor.stateDigests(this.options.chunkBytes);
    const hash = createHash('sha256');
    for (const digest of chunkDigests) hash.update(digest);
    return { digest: hash.digest('hex'), seq };
  }

  /** Stops networking and the executor, and deletes the checkpoint image files. Idempotent. */
  async close(): Promise<void> {
    await this.shutdown(undefined);
  }

  private async shutdown(stop: ReplicaStop | undefined): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    try {
      await Promise.all([this.network.close(), this.executor.close()]);
      await this.checkpoints.close();
      await this.store?.close();
      this.log.info('replica closed');
    } finally {
      this.settleStopped(stop);
    }
  }

  private onReplicaFrame(from: ReplicaId, payload: Uint8Array): void {
    const decoded = decodeMessage(payload, this.limits);
    if (!decoded.ok) return this.rejectReplica(from, decoded.reason);
    const { message } = decoded;
    if (!isReplicaMessage(message)) return this.rejectReplica(from, 'unexpected-type');
    if (message.type === 'chunk' && !this.checkpoints.acceptsChunk) {
      this.log.debug('chunk shed: image writes in flight at their bound', { replica: from, index: message.index });
      return;
    }
    this.step({ type: 'message', from, message });
  }

  private onClientFrame(connection: ClientConnection, payload: Uint8Array): void {
    const decoded = decodeMessage(payload, this.limits);
    if (!decoded.ok && decoded.reason === 'request-too-large') return this.rejectOversized(connection, payload);
    if (!decoded.ok) return this.rejectClient(connection, decoded.reason);
    const { message } = decoded;
    if (message.type === 'read-request') return this.onReadRequest(connection, message);
    if (message.type !== 'request') return this.rejectClient(connection, 'unexpected-type');
    if (!ownsClientId(connection.clientIdBase, message.request.clientId)) return this.rejectClient(connection, 'foreign-client-id');
    // The connection's TLS key: the core may take the request as authentic without its signature [A3].
    if (!bytesEqual(connection.publicKey, message.request.clientKey)) return this.rejectClient(connection, 'foreign-client-key');
    this.clients.bind(message.request.clientId, connection);
    this.step({ type: 'request', request: message.request });
  }

  /**
   * A request over requestBytesMax is never ordered; its client hears why
   * (R4), from every correct replica alike, instead of silence while its
   * session waits.
   */
  private rejectOversized(connection: ClientConnection, payload: Uint8Array): void {
    const oversizedRead = oversizedReadRequest(payload, this.limits);
    if (oversizedRead !== undefined) {
      this.counters.malformedFrames++;
      this.counters.readOnlyRejected++;
      const reason = requestTooLarge(oversizedRead.operationBytes, this.limits.requestBytesMax);
      return this.answerRead(connection, { type: 'read-reply', readId: oversizedRead.readId, status: 'rejected', result: UTF8.encode(reason) });
    }
    const oversized = oversizedRequest(payload, this.limits);
    if (oversized === undefined || !ownsClientId(connection.clientIdBase, oversized.clientId)) {
      return this.rejectClient(connection, 'request-too-large');
    }
    this.counters.malformedFrames++;
    const reason = requestTooLarge(oversized.operationBytes, this.limits.requestBytesMax);
    const view = this.core.status().view;
    connection.send(encodeMessage(rejectedReply(oversized.clientId, oversized.requestNo, view, reason)));
  }

  /**
   * A read-only request [Q4-Q7]: never given to the core. Admitted within
   * the gate's bounds, it is queued at the executor behind every batch
   * handed to it so far and answered, from the state after them, to this
   * connection alone; over a bound it is refused at once.
   */
  private onReadRequest(connection: ClientConnection, { readId, operation }: ReadRequestMessage): void {
    const bytes = operation.length;
    const refusal = this.reads.admit(connection, bytes);
    if (refusal !== undefined) {
      this.counters.readOnlyRejected++;
      this.log.debug('read-only request refused', { clientBase: connection.clientIdBase, reason: refusal });
      return this.answerRead(connection, { type: 'read-reply', readId, status: 'rejected', result: UTF8.encode(`${refusal}: this replica holds its most read-only requests`) });
    }
    // The executor copies `operation` (a view into the frame) before this returns.
    this.executor.query(operation).then(
      (answer) => {
        this.reads.release(connection, bytes);
        if (!this.closed) this.answerRead(connection, this.readReply(readId, answer));
      },
      () => this.reads.release(connection, bytes), // closed or stopped: no answer, the client orders the request
    );
  }

  /** The read-reply carrying `answer` [Q7], counted. */
  private readReply(readId: number, answer: QueryAnswer): ReadReplyMessage {
    switch (answer.status) {
      case 'ok':
        if (answer.result.length > this.limits.replyBytesMax) {
          this.counters.readOnlyRejected++;
          const reason = `reply-too-large: the reply has ${answer.result.length} bytes, over replyBytesMax (${this.limits.replyBytesMax})`;
          return { type: 'read-reply', readId, status: 'rejected', result: UTF8.encode(reason) };
        }
        this.counters.readOnlyAnswered++;
        return { type: 'read-reply', readId, result: answer.result };
      case 'not-read-only':
        this.counters.readOnlyRefused++;
        return { type: 'read-reply', readId, status: 'not-read-only', result: answer.result };
      case 'failed':
        this.counters.readOnlyFailed++;
        return { type: 'read-reply', readId, status: 'failed', result: answer.result };
      default:
        return assertNever(answer.status, 'query answer');
    }
  }

  /** Sends a read-reply to the connection its request came on; with a data directory, once what it reflects is synced, as a reply [D10]. */
  private answerRead(connection: ClientConnection, reply: ReadReplyMessage): void {
    const send = (): void => {
      connection.send(encodeMessage(reply));
    };
    if (this.store === undefined) send();
    else this.store.afterSync(send);
  }

  private malformed(from: Record<string, number>, reason: string): void {
    this.counters.malformedFrames++;
    this.log.debug('malformed frame', { ...from, reason });
  }

  /** A client sent what its role may not: count it and close its connection (a correct client never does). */
  private rejectClient(connection: ClientConnection, reason: string): void {
    this.malformed({ clientBase: connection.clientIdBase }, reason);
    connection.reject(reason);
  }

  /** A replica sent a frame that does not decode or a kind replicas never send: count it and close its connection. */
  private rejectReplica(from: ReplicaId, reason: string): void {
    this.malformed({ replica: from }, reason);
    this.network.rejectReplica(from, reason);
  }

  private step(event: ReplicaEvent): void {
    if (this.closed) return;
    for (const effect of this.core.step(event)) this.apply(effect);
  }

  private apply(effect: ReplicaEffect): void {
    switch (effect.type) {
      case 'send': {
        const bytes = encodeMessage(effect.message);
        const { to } = effect;
        const send = (): void => {
          if (to === 'others') this.network.broadcast(bytes);
          else this.network.sendToReplica(to, bytes);
        };
        if (this.store === undefined) send();
        else this.store.afterSync(send); // [D10] what it binds this replica to is on disk first
        break;
      }
      case 'reply': {
        const { clientId, message } = effect;
        const reply = (): void => {
          this.clients.get(clientId as ClientId)?.send(encodeMessage(message));
        };
        // [D10] A reply tells a client its request is decided: only once this replica's part of that (D2) is on disk.
        if (this.store === undefined) reply();
        else this.store.afterSync(reply);
        break;
      }
      case 'execute':
        this.counters.requestsExecuted += effect.requests.length;
        this.executor.execute(
          effect.seq,
          effect.requests.map((r) => r.operation),
        );
        if (effect.seq % this.options.checkpointInterval === 0) this.checkpoints.snapshotAfter(effect.seq);
        break;
      case 'delivered':
        this.counters.batchesDelivered++;
        break;
      case 'persist':
        this.store?.persist(effect.record);
        break;
      case 'checkpoint': {
        const { seq } = effect;
        void this.checkpoints.take(seq, effect.clientTable).then((manifest) => {
          if (manifest !== undefined) this.step({ type: 'checkpoint-taken', seq, manifest });
        });
        break;
      }
      case 'send-chunk': {
        const { to, seq, index } = effect;
        this.checkpoints.serve(to, seq, index, (bytes) =>
          this.network.sendToReplica(to, encodeMessage({ type: 'chunk', seq, index, bytes })),
        );
        break;
      }
      case 'store-chunk':
        this.checkpoints.store(effect.seq, effect.manifest, effect.index, effect.bytes);
        break;
      case 'install-checkpoint':
        this.installCheckpoint(effect);
        break;
      case 'stable-checkpoint': {
        const { seq } = effect;
        // Older images go once the record that replaces them is synced: a crash before keeps them usable.
        if (this.store === undefined) this.checkpoints.stableAt(seq);
        else this.store.afterAllSynced(() => this.checkpoints.stableAt(seq));
        this.log.debug('stable checkpoint', { seq });
        break;
      }
      case 'diverged':
        this.counters.divergences++;
        this.log.error('state diverged from the checkpoint a quorum certified; repairing by state transfer', {
          seq: effect.seq,
          ownDigest: hex(effect.ownDigest),
          certifiedDigest: hex(effect.certifiedDigest),
        });
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

  /** Replaces the service state and client table with the fetched checkpoint's [S12]. */
  private installCheckpoint({ seq, manifest }: InstallCheckpointEffect): void {
    this.checkpoints.install(seq, manifest).then(
      (clientTable) => {
        this.counters.checkpointsInstalled++;
        this.log.info('checkpoint installed', { seq, bytes: manifest.clientTableBytes + manifest.serviceStateBytes });
        this.step({ type: 'checkpoint-installed', seq, clientTable });
      },
      (error: unknown) => {
        if (this.closed || error instanceof ClosedError) return;
        // The core waits for this install and nothing else: a replica that cannot complete it stops (a failed restore already stopped the executor).
        this.log.error('checkpoint install failed; replica stops', { seq, error: String(error) });
        void this.close();
      },
    );
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const UTF8 = new TextEncoder();

/**
 * Restores the executor from the stable checkpoint's image a restart found
 * sound [D11], and gives what the core recovers from and the images to keep
 * serving (that one and later ones [D12]); without an image the service
 * keeps its initial state and state transfer fetches it [D13].
 */
async function restore(
  stored: StoredState,
  executor: Executor,
  options: ProtocolOptions,
  limits: WireLimits,
  log: Logger,
): Promise<{ recovered: Recovered; images: ReadonlyMap<SeqNo, FileImage> }> {
  const { state, image, laterImages } = stored;
  if (stored.restarted) log.info('recovering from the data directory', { view: state.view, stableCheckpoint: state.stable.seq, slots: state.slots().length });
  const ownImages = new Map([...laterImages].map(([seq, later]) => [seq, later.manifest]));
  if (image === undefined) return { recovered: { state, ownImages }, images: laterImages };
  const seq = state.stable.seq;
  const clientTable = decodeClientTable(image.clientTable, journalLimits(limits));
  assert(clientTable !== undefined, `client table of the kept checkpoint ${seq} does not decode although its chunks match`);
  await executor.restoreFromFile(image.path, options.chunkBytes);
  return { recovered: { state, image: { seq, manifest: image.manifest, clientTable }, ownImages }, images: new Map([[seq, image], ...laterImages]) };
}
