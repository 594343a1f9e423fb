/**
 * The benchmark's baseline (`bafomet bench --baseline`): the same service
 * served by one process with no replication, the ceiling the replicated
 * figures are read against.
 *
 * It is a replica with the protocol core taken out, built from the parts a
 * replica uses: {@link ReplicaNetwork} (the same mutual-TLS listener, client
 * admission, framing and per-key limits) in a configuration of one replica
 * (n = 1, f = 0, so the ordinary {@link Client} talks to it and takes its one
 * reply as the quorum), the wire codec, the replica's checks of a client
 * frame (key owns the session, connection key is the request's key), the
 * client request signature check a primary makes before it proposes
 * ([A5], request-signatures.ts), the exactly-once client table
 * ({@link ClientTable}) and the {@link WorkerExecutor}. What it leaves out is
 * agreement: requests are batched in the order they arrive, each batch as
 * the requests of one event-loop turn (at most `batchRequestsMax` and
 * `batchBytesMax`), and executed at once; there is no log, vote, checkpoint
 * or journal.
 */
import { createHash } from 'node:crypto';
import { ClientTable, refusedReply, rejectedReply, requestTooLarge, type ClientTableLimits } from '../core/client-table.js';
import { bytesEqual, type ClientId } from '../core/ids.js';
import type { ReplyMessage, Request } from '../core/messages.js';
import type { ProtocolOptions } from '../core/options.js';
import { view as toView } from '../core/ordering.js';
import type { ClusterConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { WorkerExecutor } from '../executor/worker-executor.js';
import type { Logger } from '../log.js';
import { ownsClientId, type NodeIdentity } from '../net/identity.js';
import type { ClientConnection } from '../net/client-session.js';
import { ReplicaNetwork } from '../net/replica-network.js';
import { ClientRegistry } from '../runtime/client-registry.js';
import { frameBytesMax, replicaFrameBytesMax, resolveProtocolOptions } from '../runtime/protocol-options.js';
import { requestVerifier } from '../runtime/request-signatures.js';
import { decodeMessage, encodeMessage, oversizedRequest, wireLimitsFrom, type WireLimits } from '../wire/codec.js';
import type { BaselineCounts } from './protocol.js';

/** The replica runtime's connection settings (src/runtime/replica.ts), so the transport is the same. */
const SEND_QUEUE_FRAMES_MAX = 4096;
const HANDSHAKE_TIMEOUT_MS = 5000;
const CLIENT_CONNECTIONS_MAX = 10_000;
/** Replies carry view 0: there is no view. */
const VIEW = toView(0);
/** A client table's own rules, as a correct replica applies them (decision-points.ts): refuse when full, per-key quota on. */
const TABLE_RULES = { sessionsFull: () => 'refuse' as const, keyQuotaApplies: () => true };

export interface BaselineServerOptions {
  /** A configuration of exactly one replica, f = 0: this server. */
  readonly config: ClusterConfig;
  /** The key configured for replica 0. */
  readonly identity: NodeIdentity;
  /** The service module, as `ReplicaOptions.service`. */
  readonly service: string | URL;
  /** The limits a replica would apply; default the protocol defaults. */
  readonly protocol?: Partial<ProtocolOptions>;
  readonly log: Logger;
}

export class BaselineServer {
  private closed = false;
  /** Requests admitted, waiting for the next batch. */
  private pending: Request[] = [];
  private pendingBytes = 0;
  private flushQueued = false;
  /** Batches handed to the executor and not yet executed, by seq: their requests, for the replies. */
  private readonly executing = new Map<number, readonly Request[]>();
  private lastSeq = 0;
  private readonly counters = { batchesDelivered: 0, requestsExecuted: 0, requestSignaturesVerified: 0, forgedRequestsRejected: 0, malformedFrames: 0 };
  private readonly verify = requestVerifier();
  private readonly clients = new ClientRegistry();
  private readonly table: ClientTable;
  private network!: ReplicaNetwork;
  private executor!: WorkerExecutor;

  private constructor(
    private readonly options: ProtocolOptions,
    private readonly limits: WireLimits,
    private readonly log: Logger,
  ) {
    const tableLimits: ClientTableLimits = options;
    this.table = new ClientTable(tableLimits);
  }

  /** Starts the executor and listens where the configuration puts replica 0. */
  static async start(init: BaselineServerOptions): Promise<BaselineServer> {
    const { config } = init;
    if (config.replicas.length !== 1 || config.f !== 0) throw new ConfigError('replicas', 'the baseline server needs a configuration of one replica and f = 0');
    const protocol = resolveProtocolOptions(init.protocol);
    const server = new BaselineServer(protocol, wireLimitsFrom(protocol, 1), init.log);
    server.executor = await WorkerExecutor.start(
      { serviceModule: init.service },
      {
        onExecuted: (seq, results, failed) => server.onExecuted(seq, results, failed),
        onFatal: (error) => {
          init.log.error('service failed; baseline server stops', { error: error.message });
          void server.close();
        },
      },
    );
    server.network = await ReplicaNetwork.start({
      config,
      selfId: 0,
      identity: init.identity,
      maxFrameBytes: frameBytesMax(protocol),
      replicaFrameBytesMax: replicaFrameBytesMax(protocol, 1),
      sendQueueFramesMax: SEND_QUEUE_FRAMES_MAX,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      clientConnectionsMax: CLIENT_CONNECTIONS_MAX,
      // There are no other replicas: nothing can arrive on a replica link.
      onReplicaFrame: () => {},
      onClientFrame: (connection, payload) => server.onClientFrame(connection, payload),
      onClientClosed: (connection) => server.clients.forget(connection),
      log: (level, message, fields) => init.log[level](message, fields),
    }).catch(async (error: unknown) => {
      await server.executor.close(); // its worker thread would keep the process alive
      throw error;
    });
    return server;
  }

  counts(): BaselineCounts {
    const { batchesDelivered, requestsExecuted, requestSignaturesVerified, forgedRequestsRejected } = this.counters;
    return { batchesDelivered, requestsExecuted, requestSignaturesVerified, forgedRequestsRejected };
  }

  /** The state digest after every batch handed over so far, computed as `Replica.stateDigest` does. */
  async stateDigest(): Promise<{ digest: string; seq: number }> {
    const seq = this.lastSeq;
    const { chunkDigests } = await this.executor.stateDigests(this.options.chunkBytes);
    const hash = createHash('sha256');
    for (const digest of chunkDigests) hash.update(digest);
    return { digest: hash.digest('hex'), seq };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.network?.close(), this.executor?.close()]);
  }

  /** As `Replica.onClientFrame`, then straight to a batch instead of the core. */
  private onClientFrame(connection: ClientConnection, payload: Uint8Array): void {
    if (this.closed) return;
    const decoded = decodeMessage(payload, this.limits);
    if (!decoded.ok && decoded.reason === 'request-too-large') return this.rejectOversized(connection, payload);
    if (!decoded.ok) return this.rejectClient(connection, decoded.reason);
    const { message } = decoded;
    if (message.type !== 'request') return this.rejectClient(connection, 'unexpected-type');
    const { request } = message;
    if (!ownsClientId(connection.clientIdBase, request.clientId)) return this.rejectClient(connection, 'foreign-client-id');
    if (!bytesEqual(connection.publicKey, request.clientKey)) return this.rejectClient(connection, 'foreign-client-key');
    this.clients.bind(request.clientId, connection);
    if (!this.table.isNew(request)) {
      // A retransmission: its reply if it executed, else nothing (it is in a batch, or older than the last).
      const cached = this.table.cachedReply(request.clientId, request.requestNo, VIEW);
      if (cached !== undefined) connection.send(encodeMessage(cached));
      return;
    }
    // Full: dropped before it is admitted, so the client's retransmission is new again (a replica drops so too).
    if (this.pending.length >= this.options.pendingRequestsMax) return;
    this.counters.requestSignaturesVerified++;
    if (!this.verify(request)) {
      this.counters.forgedRequestsRejected++;
      return;
    }
    const admission = this.table.admit(request, TABLE_RULES);
    if (admission === 'refused') return void connection.send(encodeMessage(refusedReply(request, VIEW)));
    if (admission === 'old') return; // isNew said otherwise just above: unreachable
    this.pending.push(request);
    this.pendingBytes += request.operation.length;
    if (this.pending.length >= this.options.batchRequestsMax || this.pendingBytes >= this.options.batchBytesMax) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      // The requests of this event-loop turn (everything the sockets had) go as one batch, as a primary batches what is pending.
      setImmediate(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
  }

  /** Hands the pending requests to the executor as one batch, unless its backlog is full (then the next executed batch flushes). */
  private flush(): void {
    if (this.closed || this.pending.length === 0 || this.executing.size >= this.options.executeBacklogMax) return;
    const take = Math.min(this.pending.length, this.options.batchRequestsMax);
    let batch = this.pending.slice(0, take);
    let bytes = batch.reduce((sum, r) => sum + r.operation.length, 0);
    while (bytes > this.options.batchBytesMax && batch.length > 1) {
      bytes -= (batch.at(-1) as Request).operation.length;
      batch = batch.slice(0, -1);
    }
    this.pending = this.pending.slice(batch.length);
    this.pendingBytes -= bytes;
    const seq = ++this.lastSeq;
    this.executing.set(seq, batch);
    this.counters.batchesDelivered++;
    this.counters.requestsExecuted += batch.length;
    this.executor.execute(
      seq,
      batch.map((r) => r.operation),
    );
    if (this.pending.length > 0) this.flush();
  }

  private onExecuted(seq: number, results: Uint8Array[], failed: readonly number[]): void {
    const batch = this.executing.get(seq);
    if (this.closed || batch === undefined) return;
    this.executing.delete(seq);
    const failures = new Set(failed);
    batch.forEach((request, i) => {
      const result = results[i] as Uint8Array;
      const isFailed = failures.has(i);
      this.table.executed(request.clientId, request.requestNo, result, isFailed);
      const reply: ReplyMessage = { type: 'reply', view: VIEW, clientId: request.clientId, requestNo: request.requestNo, result };
      this.clients.get(request.clientId as ClientId)?.send(encodeMessage(isFailed ? { ...reply, status: 'failed' } : reply));
    });
    this.flush();
  }

  /** As `Replica.rejectOversized`: the client hears why (R4) instead of silence. */
  private rejectOversized(connection: ClientConnection, payload: Uint8Array): void {
    const oversized = oversizedRequest(payload, this.limits);
    if (oversized === undefined || !ownsClientId(connection.clientIdBase, oversized.clientId)) return this.rejectClient(connection, 'request-too-large');
    this.counters.malformedFrames++;
    const reason = requestTooLarge(oversized.operationBytes, this.limits.requestBytesMax);
    connection.send(encodeMessage(rejectedReply(oversized.clientId, oversized.requestNo, VIEW, reason)));
  }

  private rejectClient(connection: ClientConnection, reason: string): void {
    this.counters.malformedFrames++;
    this.log.debug('malformed frame', { clientBase: connection.clientIdBase, reason });
    connection.reject(reason);
  }
}
