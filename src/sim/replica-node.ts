/**
 * A simulated replica: the real {@link ReplicaCore} (or a mutant of it)
 * driven the way the runtime drives it (src/runtime/replica.ts): frames
 * through the real wire codec, client ids checked against the connection
 * that sent them, effects applied in order, batches executed by the real
 * {@link ServiceRunner} after a simulated service time, `executed` fed back
 * in order.
 *
 * A Byzantine replica is the same node with a {@link ByzantineController}
 * between its honest core and the network.
 */
import { assert, assertNever } from '../core/assert.js';
import type { CoreCrypto } from '../core/crypto.js';
import type { ReplicaEffect } from '../core/effects.js';
import type { ReplicaEvent } from '../core/events.js';
import { bytesEqual, clientId as toClientId, replicaId, SESSIONS_PER_CLIENT_KEY, type ClientId, type Digest, type ReplicaId } from '../core/ids.js';
import { isReplicaMessage, SIGNATURE_BYTES, type CheckpointManifest, type ReplicaMessage, type ReplyMessage, type Request } from '../core/messages.js';
import { requestNo, seqNo, type SeqNo } from '../core/ordering.js';
import type { ProtocolOptions } from '../core/options.js';
import type { Recovered } from '../core/recovery.js';
import { ReplicaCore, type ReplicaCoreInit, type ReplicaStatus } from '../core/replica.js';
import { CheckpointAssembly } from '../checkpoint/assembly.js';
import { CheckpointImage } from '../checkpoint/image.js';
import { CheckpointImages } from '../checkpoint/images.js';
import { ServiceRunner } from '../executor/runner.js';
import { CheckFailure } from './checkers.js';
import { ownsClientId } from '../net/identity.js';
import { decodeClientTable, encodeClientTable } from '../wire/client-table.js';
import { decodeMessage, encodeMessage } from '../wire/codec.js';
import { batchDigest, coreInit, simCrypto, type SimKeys } from './core-api.js';
import { SimDisk, type CrashOutcome, type Recovery } from './disk.js';
import {
  behaviourSpec,
  type ByzContext,
  type Coalition,
  type Out,
  type Rep,
  type ReplicaBehaviour,
} from './byzantine.js';
import type { Micros } from './event-queue.js';
import { REPLICA_CORE_TAKES_TICKS } from './gates.js';
import type { Host } from './host.js';
import type { Rng } from './rng.js';
import { encodeOperation, KEYS, simService } from './service.js';
import { checksum, Rec } from './trace.js';

/** Builds a replica core: the real one, or a mutant (src/sim/mutants.ts). */
export type CoreFactory = (init: ReplicaCoreInit) => ReplicaCore;

export const plainCore: CoreFactory = (init) => new ReplicaCore(init);

/** A send or reply held until the disk has synced every record persisted before it [D10]. */
interface HeldSend {
  readonly ticket: number;
  readonly release: () => void;
}

export class ReplicaNode {
  readonly id: ReplicaId;
  core!: ReplicaCore;
  incarnation = 0;
  down = false;
  /** Delivered batches and executed requests (this incarnation and before). */
  delivered = 0;
  private runner!: ServiceRunner;
  /** Client session -> the client endpoint bound to it (the runtime's ClientRegistry). */
  private readonly bound = new Map<number, number>();
  private execTail: Micros = 0;
  /** Checkpoint images kept to serve, and the one being fetched (src/checkpoint, as the runtime). */
  private images!: CheckpointImages;
  private assembly: CheckpointAssembly | undefined;
  private readonly execRng: Rng;
  readonly byzantine: ByzantineController | undefined;

  /** Its signer and everyone's verifier (simulated signatures, core-api.ts). */
  readonly crypto: CoreCrypto;
  /** Views installed and view changes started (this incarnation and before). */
  viewsInstalled = 0;
  viewChangesStarted = 0;
  /**
   * Its disk (generator 7), if the seed's replicas have durable storage;
   * undefined: in memory only (persist effects are ignored, nothing waits).
   */
  readonly disk: SimDisk | undefined;
  /** Sends waiting for the disk [D10], in the order the core emitted them. */
  private held: HeldSend[] = [];
  /** Nesting of apply() (a checkpoint's image is taken within a step): the disk syncs after the outermost. */
  private depth = 0;
  /** Stable checkpoints reached (the journal is rotated at every storage.rotateEvery-th). */
  private stableCount = 0;
  /** Sends that had to wait for a sync. */
  heldSends = 0;
  /** The last batch its service ran in this incarnation (or the checkpoint it restored or installed). */
  ranThrough = 0;

  constructor(
    private readonly host: Host,
    id: number,
    private readonly factory: CoreFactory,
    keys: SimKeys,
    byzantine?: { readonly behaviours: readonly string[]; readonly coalition: Coalition },
  ) {
    this.id = replicaId(id);
    this.crypto = simCrypto(keys, this.id);
    this.execRng = host.rng(`execute-${id}`);
    this.byzantine = byzantine === undefined ? undefined : new ByzantineController(host, this, byzantine.behaviours, byzantine.coalition);
    const storage = host.scenario.storage;
    this.disk = storage.durable ? new SimDisk(host, storage, host.rng(`disk-${id}`), (ticket) => this.onDurable(ticket)) : undefined;
    this.core = this.newCore(false);
    this.runner = new ServiceRunner(simService);
    this.images = this.newImages();
  }

  /** Its executions are checked (it is not Byzantine; crashes are benign). */
  get checked(): boolean {
    return this.byzantine === undefined;
  }

  private newCore(recovering: boolean, recovered?: Recovered): ReplicaCore {
    const { n, f, options } = this.host.scenario;
    // Byzantine replicas run the real core underneath; mutants plant bugs in correct ones.
    const factory = this.byzantine === undefined ? this.factory : plainCore;
    const init = coreInit(this.id, n, f, options, this.crypto, recovering);
    return factory(recovered === undefined ? init : { ...init, recovered });
  }

  private newImages(): CheckpointImages {
    const { logWindow, checkpointInterval } = this.host.scenario.options;
    return new CheckpointImages(Math.floor(logWindow / checkpointInterval) + 1);
  }

  /**
   * Crash: volatile state is gone, held sends with it; frames in flight to
   * it die with its connections; its disk keeps what was synced and maybe
   * part of the rest (the outcome, if it has a disk).
   */
  crash(): CrashOutcome | undefined {
    this.down = true;
    this.held = [];
    return this.disk?.crash();
  }

  /**
   * Restart. `durable`: from its disk, as a replica with a data directory
   * (docs/DURABILITY.md D11-D14): the journal's fold, the image of its
   * stable checkpoint if the disk holds it (the service restored from it),
   * and the core built with `recovered`; its first step (a tick) emits what
   * recovery does. `amnesic` (or no disk): with nothing, as a replica without
   * a data directory or whose disk was lost (D15); it asks the others for
   * their state. Returns what recovery read, if it read a disk.
   */
  restart(mode: 'durable' | 'amnesic'): Recovery | undefined {
    const host = this.host;
    this.down = false;
    this.incarnation++;
    this.runner = new ServiceRunner(simService);
    this.images = this.newImages();
    this.assembly = undefined;
    this.bound.clear();
    this.held = [];
    this.execTail = host.now();
    this.ranThrough = 0;
    const disk = this.disk;
    if (disk === undefined || mode === 'amnesic') {
      disk?.wipe();
      // A replica without its data may contradict what it sent before (D15): it counts against f.
      if (this.checked) host.checkers.forgetSent(this.id);
      this.core = this.newCore(true);
      return undefined;
    }
    const recovery = disk.recover(host.limits);
    const stable = recovery.state.stable.seq;
    const image = stable > 0 ? disk.image(stable) : undefined;
    let recovered: Recovered = { state: recovery.state };
    if (image !== undefined) {
      const clientTable = decodeClientTable(image.clientTable, host.limits);
      assert(clientTable !== undefined, `r${this.id}: the client table of its image of checkpoint ${stable} does not decode`);
      this.runner.restore(image.serviceState.slice());
      this.ranThrough = stable;
      this.images.keep(stable, image);
      this.images.stableAt(stable);
      if (this.checked) host.checkers.restored(this.id, this.incarnation, stable, image.serviceState);
      recovered = { state: recovery.state, image: { seq: stable, manifest: image.manifest, clientTable } };
    }
    this.core = this.newCore(true, recovered);
    this.step({ type: 'tick' }); // the effects of recovery come out of the first step
    return recovery;
  }

  /** The disk synced every ticket up to `ticket`: sends held for them go on the wire, in order [D10]. */
  private onDurable(ticket: number): void {
    if (this.down) return;
    const host = this.host;
    let released = 0;
    while (released < this.held.length && (this.held[released] as HeldSend).ticket <= ticket) released++;
    host.trace.rec(Rec.Synced, host.now(), this.id, ticket, released);
    if (released === 0) return;
    const out = this.held.splice(0, released);
    for (const h of out) h.release();
  }

  /** A correct replica's message to `targets`: now, or once the disk synced what was persisted before it [D10]. */
  private sendBinding(targets: readonly ReplicaId[], message: ReplicaMessage): void {
    const bytes = encodeMessage(message);
    if (this.afterSync(() => this.wire(targets, bytes, message))) this.heldSends++;
  }

  /**
   * A correct replica's reply: once the disk synced what was persisted
   * before it [D10] — it tells a client its request is decided, and the
   * prepared record behind that (D2) may still be on its way to the disk.
   */
  private replyWhenSynced(clientId: ClientId, message: ReplyMessage): void {
    this.afterSync(() => this.sendReply(clientId, message));
  }

  /** Runs `release` now, or holds it until the disk synced what was persisted before it [D10]; true if held. */
  private afterSync(release: () => void): boolean {
    const disk = this.disk;
    if (disk !== undefined && (this.held.length > 0 || disk.durableTicket < disk.lastTicket)) {
      this.held.push({ ticket: disk.lastTicket, release });
      return true;
    }
    release();
    return false;
  }

  private wire(targets: readonly ReplicaId[], bytes: Uint8Array, message: ReplicaMessage): void {
    if (this.checked) this.host.checkers.replicaSent(this.id, this.incarnation, message, bytes);
    for (const to of targets) this.host.send(this.id, to, bytes);
  }

  onFrame(from: number, bytes: Uint8Array): void {
    if (this.down) return;
    if (from < this.host.scenario.n) this.onReplicaFrame(replicaId(from), bytes);
    else this.onClientFrame(from, bytes);
  }

  /** Mirrors Replica.onReplicaFrame. */
  private onReplicaFrame(from: ReplicaId, bytes: Uint8Array): void {
    const decoded = decodeMessage(bytes, this.host.limits);
    if (!decoded.ok) return this.host.malformed(this.id, from, decoded.reason);
    const { message } = decoded;
    if (!isReplicaMessage(message)) return this.host.malformed(this.id, from, 'unexpected-type');
    this.byzantine?.received(from, message, bytes);
    this.step({ type: 'message', from, message });
  }

  /** Mirrors Replica.onClientFrame: the connection must own the request's client id, with the request's key. */
  private onClientFrame(endpoint: number, bytes: Uint8Array): void {
    const decoded = decodeMessage(bytes, this.host.limits);
    if (!decoded.ok) return this.host.malformed(this.id, endpoint, decoded.reason);
    const { message } = decoded;
    if (message.type !== 'request') return this.host.malformed(this.id, endpoint, 'unexpected-type');
    const base = this.host.clientBase(endpoint);
    if (!ownsClientId(base, message.request.clientId)) {
      return this.host.malformed(this.id, endpoint, 'foreign-client-id');
    }
    // [A3] The connection's key: the core takes the request as authentic without its signature.
    if (!bytesEqual(message.request.clientKey, this.host.clientKey(base))) {
      return this.host.malformed(this.id, endpoint, 'foreign-client-key');
    }
    this.bound.set(message.request.clientId, endpoint);
    this.byzantine?.request(message.request);
    this.step({ type: 'request', request: message.request });
  }

  /** A tick of this replica's clock (the runtime ticks every REPLICA_TICK_MS). */
  tick(): void {
    if (this.down || !REPLICA_CORE_TAKES_TICKS) return;
    this.step({ type: 'tick' });
  }

  /** The service finished batch `seq` of incarnation `incarnation`. */
  onExecuted(incarnation: number, seq: number, requests: readonly Request[]): void {
    if (this.down || incarnation !== this.incarnation) return;
    const { results, failed } = this.runner.run(seq, requests.map((r) => r.operation));
    this.ranThrough = seq;
    const host = this.host;
    if (failed.length > 0 && host.serviceFailureStops && this.checked) {
      if (host.trace.verbose) host.trace.line(host.now(), `r${this.id} stops: its service threw (mutant)`);
      this.crash();
      return;
    }
    host.trace.rec(Rec.Executed, host.now(), this.id, seq, requests.length, results.length > 0 ? checksum(results[0] as Uint8Array) : 0);
    if (this.checked) host.checkers.executed(this.id, seq, requests, results);
    this.step({ type: 'executed', seq: seqNo(seq), results, failed });
  }

  private step(event: ReplicaEvent): void {
    this.apply(this.core.step(event));
    if (this.checked) this.host.checkers.earlyMessages(this.id, this.core.status());
  }

  private apply(effects: readonly ReplicaEffect[]): void {
    this.depth++;
    try {
      this.applyEffects(effects);
    } finally {
      this.depth--;
    }
    // Group commit: one sync for everything this step persisted (and what waited for the one in flight).
    if (this.depth === 0 && !this.down) this.disk?.kick();
  }

  private applyEffects(effects: readonly ReplicaEffect[]): void {
    const host = this.host;
    const byz = this.byzantine;
    const outs: Out[] = [];
    const reps: Rep[] = [];
    for (const effect of effects) {
      switch (effect.type) {
        case 'send': {
          if (byz !== undefined) {
            // A Byzantine replica's sends do not wait for its disk: it may contradict itself anyway.
            for (const to of this.targets(effect.to)) outs.push({ to, message: effect.message, delay: 0 });
            break;
          }
          this.sendBinding(this.targets(effect.to), effect.message);
          break;
        }
        case 'reply':
          if (byz !== undefined) reps.push({ clientId: effect.clientId, message: effect.message });
          else this.replyWhenSynced(effect.clientId, effect.message);
          break;
        case 'execute':
          this.execute(effect.seq, effect.requests);
          break;
        case 'delivered':
          this.delivered++;
          break;
        case 'checkpoint': {
          // Emitted while `executed` for effect.seq is applied: the service state is exactly the one after it.
          const { chunkBytes } = host.scenario.options;
          const { state, chunkDigests } = this.runner.snapshot(chunkBytes);
          const image = CheckpointImage.build(encodeClientTable(effect.clientTable), state, chunkDigests, chunkBytes);
          this.images.keep(effect.seq, image);
          this.disk?.keepImage(effect.seq, image); // synced before the CHECKPOINT naming it goes out [D5]
          host.trace.rec(Rec.Snapshot, host.now(), this.id, effect.seq, checksum(this.crypto.manifestDigest(image.manifest)));
          this.step({ type: 'checkpoint-taken', seq: effect.seq, manifest: image.manifest });
          break;
        }
        case 'send-chunk': {
          const bytes = this.images.get(effect.seq)?.chunk(effect.index);
          if (bytes === undefined) break;
          const message = { type: 'chunk', seq: effect.seq, index: effect.index, bytes } as const;
          if (byz !== undefined) outs.push({ to: effect.to, message, delay: 0 });
          else host.send(this.id, effect.to, encodeMessage(message));
          break;
        }
        case 'store-chunk':
          if (this.assembly?.seq !== effect.seq) this.assembly = new CheckpointAssembly(effect.seq, effect.manifest);
          this.assembly.store(effect.index, effect.bytes);
          break;
        case 'install-checkpoint':
          this.installCheckpoint(effect.seq);
          break;
        case 'stable-checkpoint': {
          this.images.stableAt(effect.seq);
          // [D8] The journal may shed what lies below: a new file with the fold's records.
          const every = host.scenario.storage.rotateEvery;
          if (this.disk !== undefined && every > 0 && ++this.stableCount % every === 0) this.disk.rotate();
          host.trace.rec(Rec.Stable, host.now(), this.id, effect.seq);
          if (host.trace.verbose) host.trace.line(host.now(), `r${this.id} stable checkpoint s${effect.seq}`);
          const delivered = this.core.status().lastDelivered;
          if (effect.seq > delivered) host.lagging(this.id, delivered, effect.seq);
          break;
        }
        case 'diverged':
          // The simulated service is deterministic and no fault corrupts a state: a correct replica never diverges.
          throw new CheckFailure('agreement', `r${this.id}'s state after s${effect.seq} differs from the one a quorum certified`);
        case 'view-change-started':
          this.viewChangesStarted++;
          host.viewEvent(this.id, 'started', effect.view);
          break;
        case 'persist':
          this.disk?.append(effect.record); // [D1-D7]; later sends wait for its sync [D10]
          break;
        case 'view-installed':
          this.viewsInstalled++;
          host.viewEvent(this.id, 'installed', effect.view);
          break;
        case 'rejected': {
          const from = effect.from;
          const fromReplica = 'replica' in from ? from.replica : undefined;
          const label = 'replica' in from ? `r${from.replica}` : host.clientName(from.client);
          host.rejected(this.id, label, effect.messageType, effect.rejection, fromReplica);
          break;
        }
        default:
          assertNever(effect, 'effect');
      }
    }
    if (byz !== undefined) byz.flush(outs, reps);
  }

  /** Chunk `index` of the kept image of checkpoint `seq`, if any (what `send-chunk` serves). */
  imageChunk(seq: SeqNo, index: number): Uint8Array | undefined {
    return this.images.get(seq)?.chunk(index);
  }

  /** The manifest of the kept image of checkpoint `seq`, if any. */
  imageManifest(seq: SeqNo): CheckpointManifest | undefined {
    return this.images.get(seq)?.manifest;
  }

  /** Replaces the service state with the fetched image's (every handed-over batch is executed) [S12]. */
  private installCheckpoint(seq: SeqNo): void {
    const assembly = this.assembly;
    assert(assembly?.seq === seq && assembly.complete, `r${this.id} installs checkpoint ${seq} without its chunks`);
    const image = assembly.image();
    const host = this.host;
    if (this.checked) host.checkers.installed(this.id, this.incarnation, seq, image.serviceState);
    const clientTable = decodeClientTable(image.clientTable, host.limits);
    assert(clientTable !== undefined, `r${this.id}: the client table of checkpoint ${seq} does not decode`);
    this.runner.restore(image.serviceState.slice()); // the service may keep views into it; the image is served as is
    this.ranThrough = seq;
    this.images.stableAt(seq); // an installed checkpoint is stable: what this replica kept below it is moot
    this.images.keep(seq, image);
    this.disk?.keepImage(seq, image);
    this.assembly = undefined;
    if (host.trace.verbose) host.trace.line(host.now(), `r${this.id} installs checkpoint s${seq} (${image.serviceState.length} state bytes)`);
    host.checkpointInstalled();
    this.step({ type: 'checkpoint-installed', seq, clientTable });
  }

  private targets(to: ReplicaId | 'others'): ReplicaId[] {
    if (to !== 'others') return [to];
    const out: ReplicaId[] = [];
    for (let r = 0; r < this.host.scenario.n; r++) if (r !== this.id) out.push(replicaId(r));
    return out;
  }

  /** Sends a reply on the connection bound to its session, if any (like the runtime). */
  sendReply(clientId: ClientId, message: ReplyMessage): void {
    const endpoint = this.bound.get(clientId);
    if (endpoint !== undefined) this.host.send(this.id, endpoint, encodeMessage(message));
  }

  private execute(seq: number, requests: readonly Request[]): void {
    const host = this.host;
    host.trace.rec(Rec.Execute, host.now(), this.id, seq, requests.length);
    if (host.trace.verbose) {
      host.trace.line(host.now(), `r${this.id} executes s${seq} [${requests.map((r) => `${host.clientName(r.clientId)}#${r.requestNo}`).join(',')}]`);
    }
    if (this.checked) host.checkers.execute(this.id, this.incarnation, seq, requests);
    const delay = this.host.scenario.executeDelayMax > 0 ? this.execRng.int(0, this.host.scenario.executeDelayMax) : 0;
    this.execTail = Math.max(host.now() + delay, this.execTail);
    host.scheduleExecuted(this.execTail, this.id, this.incarnation, seq, requests);
  }

  status(): ReplicaStatus {
    return this.core.status();
  }

  /** Its service's state now (the nothing-lost checker compares it with the agreed history's). */
  serviceState(): Uint8Array {
    return this.runner.snapshot(this.host.scenario.options.chunkBytes).state;
  }
}

const RING = 32;

/** Stands between a Byzantine replica's honest core and the network; implements {@link ByzContext}. */
export class ByzantineController implements ByzContext {
  readonly self: ReplicaId;
  readonly n: number;
  readonly f: number;
  readonly rng: Rng;
  readonly recentRequests: Request[] = [];
  readonly recentFrames: Uint8Array[] = [];
  readonly clientEndpoints: readonly number[];
  readonly clientSessions: readonly ClientId[];
  readonly crypto: CoreCrypto;
  readonly options: ProtocolOptions;
  private readonly behaviours: ReplicaBehaviour[];

  constructor(
    private readonly host: Host,
    private readonly node: ReplicaNode,
    names: readonly string[],
    readonly coalition: Coalition,
  ) {
    this.self = node.id;
    this.n = host.scenario.n;
    this.f = host.scenario.f;
    this.rng = host.rng(`byzantine-${node.id}`);
    this.crypto = node.crypto;
    this.options = host.scenario.options;
    this.clientEndpoints = host.clientEndpoints;
    this.clientSessions = host.scenario.clients.flatMap((c) => Array.from({ length: c.sessions }, (_, i) => toClientId(c.base + i)));
    this.behaviours = names.map((name) => {
      const { spec, variant } = behaviourSpec(name);
      return spec.make(this, variant);
    });
  }

  now(): Micros {
    return this.host.now();
  }

  status(): ReplicaStatus {
    return this.node.core.status();
  }

  isPrimary(): boolean {
    const st = this.node.core.status();
    return st.primary === this.self;
  }

  batchDigest(requests: readonly Request[]): Digest {
    return batchDigest(requests);
  }

  send(to: ReplicaId, message: ReplicaMessage, delay: Micros = 0): void {
    this.sendBytes(to, encodeMessage(message), delay);
  }

  sendBytes(to: number, bytes: Uint8Array, delay: Micros = 0): void {
    if (this.node.down) return;
    this.remember(bytes);
    this.host.send(this.self, to, bytes, this.self, delay);
  }

  sendAs(claimed: number, to: number, bytes: Uint8Array): void {
    if (this.node.down) return;
    this.host.send(this.self, to, bytes, claimed);
  }

  reply(clientId: ClientId, message: ReplyMessage): void {
    for (const e of this.clientEndpoints) {
      const base = this.host.clientBase(e);
      if (clientId >= base && clientId < base + SESSIONS_PER_CLIENT_KEY) {
        this.host.send(this.self, e, encodeMessage(message));
        return;
      }
    }
  }

  after(delay: Micros, action: () => void): void {
    this.host.after(delay, () => {
      if (!this.node.down) action();
    });
  }

  action(behaviour: string): void {
    this.host.byzantineAction(behaviour, this.self);
  }

  imageChunk(seq: SeqNo, index: number): Uint8Array | undefined {
    return this.node.imageChunk(seq, index);
  }

  imageManifest(seq: SeqNo): CheckpointManifest | undefined {
    return this.node.imageManifest(seq);
  }

  /**
   * A request no client sent, as a Byzantine replica can build one: the
   * owner's public key with a made-up signature, or a request it saw with its
   * operation altered or moved to another session (a real signature on
   * another statement). Correct replicas must refuse all three [A1].
   */
  forgeRequest(): Request {
    const r = this.rng;
    this.host.forgedRequest();
    const operation = encodeOperation('append', r.int(0, KEYS - 1), r.bytes(8));
    const seen = this.recentRequests.length > 0 && r.chance(0.4) ? r.pick(this.recentRequests) : undefined;
    if (seen !== undefined) {
      return r.chance(0.5) ? { ...seen, operation } : { ...seen, clientId: toClientId(seen.clientId + 1) };
    }
    const owned = this.clientSessions.length > 0 && r.chance(0.5);
    const clientId = owned ? r.pick(this.clientSessions) : toClientId((Math.floor(r.float() * 2 ** 37) || 1) * SESSIONS_PER_CLIENT_KEY + r.int(0, 3));
    return {
      clientId,
      requestNo: requestNo(2 ** 40 + r.u32()),
      operation,
      clientKey: this.host.clientKey(clientId - (clientId % SESSIONS_PER_CLIENT_KEY)),
      signature: r.bytes(SIGNATURE_BYTES),
    };
  }

  badlySignedRequest(): Request | undefined {
    for (let i = this.recentRequests.length - 1; i >= 0; i--) {
      const request = this.recentRequests[i] as Request;
      if (!this.host.verifyRequest(request)) return request;
    }
    return undefined;
  }

  // --- driven by the node ---------------------------------------------------

  received(from: ReplicaId, message: ReplicaMessage, bytes: Uint8Array): void {
    this.remember(bytes);
    for (const b of this.behaviours) b.onReceive?.(from, message);
  }

  request(request: Request): void {
    this.recentRequests.push(request);
    if (this.recentRequests.length > RING) this.recentRequests.shift();
  }

  tick(): void {
    if (this.node.down) return;
    for (const b of this.behaviours) b.onTick?.();
  }

  /** Passes what the honest core wants to send through the behaviours, then sends. */
  flush(outs: Out[], reps: Rep[]): void {
    let o = outs;
    let p = reps;
    for (const b of this.behaviours) {
      if (b.onSend !== undefined && o.length > 0) o = b.onSend(o);
      if (b.onReply !== undefined && p.length > 0) p = b.onReply(p);
    }
    const encoded = new Map<ReplicaMessage, Uint8Array | undefined>();
    for (const out of o) {
      let bytes = encoded.get(out.message);
      if (!encoded.has(out.message)) {
        bytes = encodeMessage(out.message);
        this.remember(bytes);
        encoded.set(out.message, bytes);
      }
      if (bytes !== undefined) this.host.send(this.self, out.to, bytes, this.self, out.delay);
    }
    for (const rep of p) this.node.sendReply(rep.clientId, rep.message);
  }

  private remember(bytes: Uint8Array): void {
    this.recentFrames.push(bytes);
    if (this.recentFrames.length > RING) this.recentFrames.shift();
  }
}
