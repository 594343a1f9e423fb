/**
 * A Byzantine replica: it holds a replica's key and listens on its port, so
 * the correct replicas dial it and accept its connections as that replica's,
 * and the load's client connects to it too. Instead of following the
 * protocol it runs a seeded mix of attacks against the other replicas
 * (report.ts lists the kinds), one tick at a time, until stopped:
 *
 * - forged client requests, FORWARDed to every replica (only the primary acts
 *   on a FORWARD), in PRE-PREPAREs (as the primary in its views, and out of
 *   turn otherwise) and on client connections of its own (forgery.ts);
 * - garbage, oversized and cut-short frames, on its replica links and on new
 *   connections, some left open and silent;
 * - well-formed messages of kinds the channel does not admit, and messages
 *   that name another replica inside;
 * - replays of the correct replicas' own frames, on its links and on new connections;
 * - floods of votes far ahead, of requests for work (state, chunks, log), and of idle connections;
 * - lying replies to the load's requests.
 *
 * A control request, signed by the attacker's own client key for an id that
 * key owns, is FORWARDed once a second the same way as the forgeries: it is
 * authentic, so it must be executed (forgery.ts says why that matters).
 */
import { performance } from 'node:perf_hooks';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import type { ClusterConfig, ReplicaAddress } from '../../config.js';
import type { RequestSigner } from '../../core/client.js';
import type { CoreCrypto } from '../../core/crypto.js';
import { clientId, DIGEST_BYTES, replicaId } from '../../core/ids.js';
import { SIGNATURE_BYTES, type Message, type Request, type ReplicaMessage } from '../../core/messages.js';
import type { ProtocolOptions } from '../../core/options.js';
import { ORDINAL_MAX, requestNo, seqNo, view as toView, type SeqNo, type View } from '../../core/ordering.js';
import type { Logger } from '../../log.js';
import { encodeFrame, encodeFrames, FRAME_HEADER_BYTES } from '../../net/framing.js';
import { generateIdentity, tlsCredentials, type NodeIdentity } from '../../net/identity.js';
import type { ClientConnection } from '../../net/client-session.js';
import { ReplicaNetwork } from '../../net/replica-network.js';
import { secureContextOptions } from '../../net/tls-socket.js';
import { frameBytesMax, replicaFrameBytesMax } from '../../runtime/protocol-options.js';
import { replicaCrypto } from '../../runtime/replica-crypto.js';
import { requestSigner } from '../../runtime/request-signatures.js';
import kvService from '../../services/kv.js';
import { Rng } from '../../sim/rng.js';
import { encodeMessage, wireLimitsFrom } from '../../wire/codec.js';
import { buildRequest, controlClientId, FORGERY_KINDS, planForgery, randomClientId, type ForgeryKind } from './forgery.js';
import { ObservedTraffic } from './observed-traffic.js';
import { RawConnections } from './raw-connections.js';
import { zeroCounts, type AttackCounts, type AttackKind, type AttackerReport } from './report.js';

export interface AttackerOptions {
  readonly config: ClusterConfig;
  /** The replica it impersonates; `identity` is that replica's key. */
  readonly selfId: number;
  readonly identity: NodeIdentity;
  /** The protocol options of the cluster (frame limits, window, chunk size). */
  readonly protocol: ProtocolOptions;
  /** Seed of every choice it makes. */
  readonly seed: number;
  readonly log: Logger;
}

/** One tick of attacks this often, {@link ACTIONS_PER_TICK} actions each: about 100 actions a second. */
const TICK_MS = 20;
const ACTIONS_PER_TICK = 2;
/** A control request this often. */
const CONTROL_EVERY_MS = 1_000;
/** Messages per flood action, per request-flood action, connections per connection-flood action, frames per replay. */
const FLOOD_BURST = 80;
const REQUEST_FLOOD_BURST = 16;
const CONNECTION_FLOOD_BURST = 8;
const REPLAY_BURST = 16;
/** How long the attacker keeps a connection it opened: longer than the victims' idle timeout (3 s), so they must close it. */
const HOLD_MS = 4_000;
/** Throw-away client keys for connections as a client (each costs a certificate at start). */
const CLIENT_IDENTITIES = 4;
/** Arbitrary client ids the `foreign-*` forgeries claim: a few, so that a forgery that did execute would not fill the client table. */
const FOREIGN_IDS = 16;
/** Largest frame announced by a frame cut short: the victim buffers what arrives of it. */
const TRUNCATED_FRAME_BYTES_MAX = 1024 * 1024;
/** Frames queued per replica link before further ones are dropped (as a replica's). */
const SEND_QUEUE_FRAMES_MAX = 4096;
const HANDSHAKE_TIMEOUT_MS = 5_000;
const CLIENT_CONNECTIONS_MAX = 10_000;

type Action = () => void;

export class Attacker {
  private readonly counts: AttackCounts = zeroCounts();
  private readonly forged = Object.fromEntries(FORGERY_KINDS.map((k) => [k, 0])) as Record<ForgeryKind, number>;
  private forgedAtMax = 0;
  private controls = 0;
  private droppedLocally = 0;
  private readonly primaryViews = new Set<number>();
  private readonly victims: readonly ReplicaAddress[];
  private readonly foreignIds: readonly number[];
  private readonly crypto: CoreCrypto;
  private readonly n: number;
  private readonly startedAt = performance.now();
  private readonly ticker: NodeJS.Timeout;
  private readonly controlTicker: NodeJS.Timeout;
  private readonly actions: readonly (readonly [Action, number])[];
  private stopped = false;

  private constructor(
    private readonly options: AttackerOptions,
    private readonly network: ReplicaNetwork,
    private readonly traffic: ObservedTraffic,
    private readonly raw: RawConnections,
    private readonly rng: Rng,
    private readonly signer: RequestSigner,
  ) {
    const { config, selfId, identity } = options;
    this.n = config.replicas.length;
    this.victims = config.replicas.filter((r) => r.id !== selfId);
    this.crypto = replicaCrypto(identity, config);
    this.foreignIds = Array.from({ length: FOREIGN_IDS }, () => randomClientId(rng));
    // Weights: forgeries most often, since executing one is the safety failure the run looks for.
    this.actions = [
      [this.forwardForgery, 12],
      [this.prePrepare, 3],
      [this.clientChannelForgery, 2],
      [this.garbageFrames, 4],
      [this.garbageStream, 2],
      [this.oversizedFrame, 2],
      [this.truncatedFrame, 2],
      [this.wrongKind, 3],
      [this.claimIdentity, 3],
      [this.replay, 4],
      [this.flood, 6],
      [this.requestFlood, 2],
      [this.connectionFlood, 1],
    ];
    this.ticker = setInterval(this.tick, TICK_MS);
    this.controlTicker = setInterval(this.control, CONTROL_EVERY_MS);
  }

  /** Listens on replica `selfId`'s port, dials the others, and starts attacking. */
  static async start(options: AttackerOptions): Promise<Attacker> {
    const { config, selfId, identity, protocol, log } = options;
    const n = config.replicas.length;
    const rng = Rng.derive(options.seed, 'attacker');
    const signer = requestSigner(identity);
    const traffic = new ObservedTraffic(wireLimitsFrom(protocol, n), controlClientId(signer));
    let attacker: Attacker | undefined;
    const network = await ReplicaNetwork.start({
      config,
      selfId,
      identity,
      maxFrameBytes: frameBytesMax(protocol),
      replicaFrameBytesMax: replicaFrameBytesMax(protocol, n),
      sendQueueFramesMax: SEND_QUEUE_FRAMES_MAX,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      clientConnectionsMax: CLIENT_CONNECTIONS_MAX,
      onReplicaFrame: (_from, payload) => traffic.onReplicaFrame(payload),
      onClientFrame: (connection, payload) => attacker?.onClientFrame(connection, payload),
      // Its own network's lines are noise next to what it does on purpose: debug only.
      log: (_level, message, fields) => log.debug(message, fields),
    });
    const contextOf = async (id: NodeIdentity): Promise<SecureContext> => createSecureContext(secureContextOptions(await tlsCredentials(id)));
    const raw = new RawConnections(
      await contextOf(identity),
      await Promise.all(Array.from({ length: CLIENT_IDENTITIES }, () => contextOf(generateIdentity()))),
    );
    attacker = new Attacker(options, network, traffic, raw, rng, signer);
    log.info('attacker started', { self: selfId, victims: attacker.victims.map((v) => v.id), seed: options.seed });
    return attacker;
  }

  /** Stops attacking, closes every connection, and reports. */
  async stop(): Promise<AttackerReport> {
    const attackMs = Math.round(performance.now() - this.startedAt);
    this.stopped = true;
    clearInterval(this.ticker);
    clearInterval(this.controlTicker);
    await Promise.all([this.raw.close(), this.network.close()]);
    const report: AttackerReport = {
      event: 'report',
      seed: this.options.seed,
      attackMs,
      counts: { ...this.counts },
      forgedRequests: { ...this.forged },
      forgedAtRequestNoMax: this.forgedAtMax,
      victimSessionsSeen: this.traffic.victimSessions().length,
      controlRequests: this.controls,
      viewMax: this.traffic.view,
      viewsAsPrimary: this.primaryViews.size,
      framesCaptured: this.traffic.captured,
      framesDroppedLocally: this.droppedLocally,
      connectionsFailed: this.raw.failed,
    };
    this.options.log.info('attacker stopped', { attackMs, counts: report.counts, forgedRequests: report.forgedRequests });
    return report;
  }

  private readonly tick = (): void => {
    for (let i = 0; i < ACTIONS_PER_TICK && !this.stopped; i++) this.rng.weighted(this.actions)();
  };

  // --- sending ---------------------------------------------------------------

  /** Queues `payload` on the link to replica `to`; counts it under `kind` if queued, as dropped if not. */
  private send(to: number, payload: Uint8Array, kind: AttackKind): void {
    if (this.network.sendToReplica(to, payload)) this.counts[kind]++;
    else this.droppedLocally++;
  }

  private sendToAll(payload: Uint8Array, kind: AttackKind): void {
    for (const victim of this.victims) this.send(victim.id, payload, kind);
  }

  private victim(): ReplicaAddress {
    return this.rng.pick(this.victims);
  }

  /** A connection to a random victim, as the attacker's replica or a random throw-away client; then `use` it. */
  private withConnection(as: 'replica' | 'client', use: (socket: TLSSocket) => void): void {
    const identity = as === 'replica' ? ('replica' as const) : { clientIndex: this.rng.int(0, CLIENT_IDENTITIES - 1) };
    void this.raw.tls(this.victim(), identity, HOLD_MS).then((socket) => {
      if (socket !== undefined && !this.stopped) use(socket);
    });
  }

  // --- forged requests ---------------------------------------------------------

  private forgeOne(): Request {
    const plan = planForgery(this.rng, this.traffic.victimSessions(), this.foreignIds);
    this.forged[plan.kind]++;
    if (plan.requestNo === ORDINAL_MAX) this.forgedAtMax++;
    return buildRequest(plan, this.signer, this.rng);
  }

  private readonly forwardForgery = (): void => {
    this.sendToAll(encodeMessage({ type: 'forward', request: this.forgeOne() }), 'forwardedForgeries');
  };

  /** A PRE-PREPARE of forged requests in the highest view seen: the primary's own kind, if that view is the attacker's. */
  private readonly prePrepare = (): void => {
    const v = this.traffic.view;
    const primary = v % this.n === this.options.selfId;
    const requests = Array.from({ length: this.rng.int(1, 4) }, () => this.forgeOne());
    const seq = seqNo(Math.min(ORDINAL_MAX, this.traffic.seq + 1 + (primary ? this.rng.int(0, 3) : 0)));
    const digest = this.crypto.batchDigest(requests);
    const signature = this.crypto.sign({ kind: 'pre-prepare', view: toView(v), seq, digest });
    if (primary) this.primaryViews.add(v);
    this.sendToAll(encodeMessage({ type: 'pre-prepare', view: toView(v), seq, digest, requests, signature }), primary ? 'prePreparesAsPrimary' : 'prePreparesNotPrimary');
  };

  /** A REQUEST for an id its connection's key does not own, on a client connection of its own. */
  private readonly clientChannelForgery = (): void => {
    const request = this.forgeOne();
    this.withConnection('client', (socket) => {
      socket.write(encodeFrame(encodeMessage({ type: 'request', request })));
      this.counts.clientChannelForgeries++;
    });
  };

  private readonly control = (): void => {
    if (this.stopped) return;
    this.controls++;
    const request = buildRequest({ kind: 'control', requestNo: this.controls }, this.signer, this.rng);
    // Not an attack: counted apart, so that dropping it locally does not look like one.
    for (const victim of this.victims) this.network.sendToReplica(victim.id, encodeMessage({ type: 'forward', request }));
  };

  // --- malformed frames ----------------------------------------------------------

  private readonly garbageFrames = (): void => {
    for (let i = 0; i < 4; i++) this.send(this.victim().id, this.rng.bytes(this.rng.int(1, 512)), 'garbageFrames');
  };

  private readonly garbageStream = (): void => {
    this.withConnection(this.rng.chance(0.5) ? 'replica' : 'client', (socket) => {
      socket.end(this.rng.bytes(this.rng.int(1, 4096)));
      this.counts.garbageStreams++;
    });
  };

  private readonly oversizedFrame = (): void => {
    const as = this.rng.chance(0.5) ? 'replica' : 'client';
    const limit = as === 'replica' ? replicaFrameBytesMax(this.options.protocol, this.n) : frameBytesMax(this.options.protocol);
    const announced = this.rng.chance(0.5) ? 0xffff_ffff : Math.min(0xffff_ffff, limit + this.rng.int(1, 1024));
    this.withConnection(as, (socket) => {
      socket.write(Buffer.concat([frameHeader(announced), this.rng.bytes(64)]));
      this.counts.oversizedFrames++;
    });
  };

  /** A frame that announces up to 1 MiB and stops half-way: then the connection ends, or stays open and silent. */
  private readonly truncatedFrame = (): void => {
    const as = this.rng.chance(0.5) ? 'replica' : 'client';
    const limit = as === 'replica' ? replicaFrameBytesMax(this.options.protocol, this.n) : frameBytesMax(this.options.protocol);
    const announced = this.rng.int(1024, Math.min(limit, TRUNCATED_FRAME_BYTES_MAX));
    const hang = this.rng.chance(0.5);
    this.withConnection(as, (socket) => {
      const partial = Buffer.concat([frameHeader(announced), this.rng.bytes(Math.floor(announced / 2))]);
      if (hang) {
        socket.write(partial);
        this.counts.stalledFrames++;
      } else {
        socket.end(partial);
        this.counts.truncatedFrames++;
      }
    });
  };

  // --- well-formed lies -------------------------------------------------------------

  /** A REQUEST or REPLY on a replica link, or a PREPARE on a client connection. */
  private readonly wrongKind = (): void => {
    const choice = this.rng.int(0, 2);
    if (choice === 0) {
      this.send(this.victim().id, encodeMessage({ type: 'request', request: this.forgeOne() }), 'wrongKindMessages');
    } else if (choice === 1) {
      const reply: Message = {
        type: 'reply',
        view: toView(this.traffic.view),
        clientId: clientId(this.rng.pick(this.foreignIds)),
        requestNo: requestNo(1),
        result: new Uint8Array(8),
      };
      this.send(this.victim().id, encodeMessage(reply), 'wrongKindMessages');
    } else {
      const prepare = this.vote('prepare', seqNo(this.traffic.seq + 1), toView(this.traffic.view));
      this.withConnection('client', (socket) => {
        socket.write(encodeFrame(encodeMessage(prepare)));
        this.counts.wrongKindMessages++;
      });
    }
  };

  /** A VIEW-CHANGE in another replica's name, or a STATE-SUMMARY whose certificate claims the others' signatures. */
  private readonly claimIdentity = (): void => {
    const others = this.victims.map((v) => replicaId(v.id));
    if (this.rng.chance(0.5)) {
      const unsigned = {
        type: 'view-change' as const,
        newView: toView(this.traffic.view + 1),
        replica: this.rng.pick(others),
        checkpoint: { seq: seqNo(0), stateDigest: new Uint8Array(0), signatures: [] },
        prepared: [],
      };
      // Signed with the attacker's own key: valid bytes, wrong signer.
      const signature = this.crypto.sign({ kind: 'view-change', message: unsigned });
      this.sendToAll(encodeMessage({ ...unsigned, signature }), 'claimedIdentities');
    } else {
      const seq = seqNo(Math.min(ORDINAL_MAX, this.traffic.seq + this.options.protocol.checkpointInterval));
      const summary: Message = {
        type: 'state-summary',
        view: toView(this.traffic.view),
        viewActive: true,
        checkpoint: { seq, stateDigest: this.rng.bytes(DIGEST_BYTES), signatures: others.map((replica) => ({ replica, signature: this.rng.bytes(SIGNATURE_BYTES) })) },
        manifest: {
          chunkBytes: this.options.protocol.chunkBytes,
          clientTableBytes: 64,
          serviceStateBytes: 64,
          chunkDigests: [this.rng.bytes(DIGEST_BYTES), this.rng.bytes(DIGEST_BYTES)],
        },
        lastDelivered: seq,
      };
      this.sendToAll(encodeMessage(summary), 'claimedIdentities');
    }
  };

  /** Frames the correct replicas sent, back to one of them: on the attacker's link, or on a new connection. */
  private readonly replay = (): void => {
    const captured = this.traffic.capturedFrames();
    if (captured.length === 0) return;
    const frames = Array.from({ length: REPLAY_BURST }, () => this.rng.pick(captured));
    if (this.rng.chance(0.5)) {
      const to = this.victim().id;
      for (const frame of frames) this.send(to, frame, 'replaysOnLinks');
      return;
    }
    this.withConnection('replica', (socket) => {
      socket.write(encodeFrames(frames));
      this.counts.replaysOnNewConnections += frames.length;
    });
  };

  // --- floods -------------------------------------------------------------------------

  /** A PREPARE, COMMIT or CHECKPOINT for (view, seq) with a random digest; half of the signatures valid (the attacker's). */
  private vote(type: 'prepare' | 'commit' | 'checkpoint', seq: SeqNo, v: View): ReplicaMessage {
    const digest = this.rng.bytes(DIGEST_BYTES);
    const valid = this.rng.chance(0.5);
    switch (type) {
      case 'commit':
        return { type, view: v, seq, digest };
      case 'prepare':
        return { type, view: v, seq, digest, signature: valid ? this.crypto.sign({ kind: 'prepare', view: v, seq, digest }) : this.rng.bytes(SIGNATURE_BYTES) };
      case 'checkpoint':
        return { type, seq, stateDigest: digest, signature: valid ? this.crypto.sign({ kind: 'checkpoint', seq, stateDigest: digest }) : this.rng.bytes(SIGNATURE_BYTES) };
    }
  }

  /** Votes for sequence numbers ahead of the cluster: most beyond its log window, some inside it, some in later views. */
  private readonly flood = (): void => {
    const to = this.victim().id;
    const { logWindow } = this.options.protocol;
    for (let i = 0; i < FLOOD_BURST; i++) {
      const ahead = this.rng.chance(0.25) ? this.rng.int(1, logWindow) : this.rng.chance(0.1) ? ORDINAL_MAX : this.rng.int(logWindow + 1, 1_000_000_000);
      const seq = seqNo(Math.min(ORDINAL_MAX, this.traffic.seq + ahead));
      const v = toView(this.traffic.view + (this.rng.chance(0.2) ? this.rng.int(1, 3) : 0));
      this.send(to, encodeMessage(this.vote(this.rng.pick(['prepare', 'commit', 'checkpoint'] as const), seq, v)), 'floodMessages');
    }
  };

  /** Requests for work: state queries, chunks of any checkpoint, the log from a while back. */
  private readonly requestFlood = (): void => {
    const to = this.victim().id;
    for (let i = 0; i < REQUEST_FLOOD_BURST; i++) {
      const choice = this.rng.int(0, 2);
      const message: Message =
        choice === 0
          ? { type: 'state-query', lastExecuted: seqNo(0) }
          : choice === 1
            ? { type: 'chunk-request', seq: seqNo(this.rng.int(0, this.traffic.seq)), index: this.rng.int(0, 64) }
            : { type: 'log-request', after: seqNo(Math.max(0, this.traffic.seq - this.rng.int(0, this.options.protocol.logWindow))) };
      this.send(to, encodeMessage(message), 'requestFloodMessages');
    }
  };

  /** Connections that say nothing: TLS as a throw-away client, or TCP without a handshake. */
  private readonly connectionFlood = (): void => {
    for (let i = 0; i < CONNECTION_FLOOD_BURST; i++) {
      if (this.rng.chance(0.5)) {
        if (this.raw.tcp(this.victim(), HOLD_MS)) this.counts.floodConnections++;
      } else {
        this.withConnection('client', () => this.counts.floodConnections++);
      }
    }
  };

  // --- as a replica to the load's client ---------------------------------------------------

  /** A REQUEST of the load: learned from (observed-traffic.ts) and answered with a lie. */
  private onClientFrame(connection: ClientConnection, payload: Uint8Array): void {
    const request = this.traffic.onClientFrame(payload);
    if (request === undefined || this.stopped) return;
    const result = kvService.reply.encode({ ok: false, error: 'byz-lie' });
    if (connection.send(encodeMessage({ type: 'reply', view: toView(this.traffic.view), clientId: request.clientId, requestNo: request.requestNo, result }))) {
      this.counts.lyingReplies++;
    }
  }
}

/** A frame header announcing `length` bytes. */
function frameHeader(length: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32BE(length >>> 0, 0);
  return header;
}
