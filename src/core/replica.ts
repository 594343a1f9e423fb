/**
 * The replica's protocol core: pure and synchronous. Events go in through
 * {@link ReplicaCore.step}; effects come out as data (src/core/effects.ts).
 * No clock, timer, randomness or I/O here, so the same code runs under the
 * real runtime and the deterministic simulator.
 *
 * Comments like `[N6]` cite the pseudo-code lines of docs/PROTOCOL.md; those
 * like `[V5]`, `[C2]` or `[T1]` cite docs/VIEW-CHANGE.md.
 */
import { assert, assertNever } from './assert.js';
import { CheckpointVotes } from './checkpoints.js';
import { ClientTable } from './client-table.js';
import type { CoreCrypto } from './crypto.js';
import type { ClientTableEntry, ReplicaEffect } from './effects.js';
import type { ReplicaEvent } from './events.js';
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type {
  CheckpointCertificate,
  CheckpointManifest,
  CheckpointMessage,
  CommitMessage,
  NewViewMessage,
  PrepareMessage,
  PreparedCertificate,
  PrePrepareMessage,
  ReplicaMessage,
  LoggedBatch,
  Request,
  ViewChangeMessage,
} from './messages.js';
import { protocolOptionsProblem, type ProtocolOptions } from './options.js';
import { next, seqNo, view as toView, type SeqNo, type View } from './ordering.js';
import { PendingRequests } from './pending-requests.js';
import { quorumSizes, type QuorumSizes, type VoteOutcome, type VoteSet } from './quorum.js';
import { ignore, rejectPeer, type Rejection } from './rejection.js';
import { Slot } from './slot.js';
import { StateTransfer } from './state-transfer.js';
import {
  checkpointCertificateValid,
  checkViewChange,
  chooseViewChanges,
  decideNewView,
  GENESIS_CHECKPOINT,
  primaryOf,
  type NewViewDecision,
  type ViewChangeRules,
} from './view-change.js';

export interface ReplicaCoreInit {
  readonly id: ReplicaId;
  readonly n: number;
  readonly f: number;
  readonly options: ProtocolOptions;
  /** Digests and signatures (injected: the core does no crypto of its own). */
  readonly crypto: CoreCrypto;
  /**
   * The replica (re)starts while others may be running (a restart, a
   * replacement): it asks them for their state at once instead of waiting for
   * evidence that it is behind (docs/STATE-TRANSFER.md S4). Default false.
   */
  readonly recovering?: boolean;
}

/** Read-only view of the core's progress, for status, metrics and tests. */
export interface ReplicaStatus {
  readonly id: ReplicaId;
  readonly view: View;
  readonly primary: ReplicaId;
  /** False between voting for `view` and installing it. */
  readonly viewActive: boolean;
  /** Views installed after view 0. */
  readonly viewChanges: number;
  readonly lastDelivered: SeqNo;
  readonly lastExecuted: SeqNo;
  /** Sequence number of the latest stable checkpoint (the low watermark). */
  readonly stableCheckpoint: SeqNo;
  readonly pendingRequests: number;
  readonly slots: number;
  /** Agreement messages held for a view whose NEW-VIEW has not arrived [V9], and their operation bytes. */
  readonly earlyMessages: number;
  readonly earlyMessageBytes: number;
}

/** Most requests forwarded to the primary per tick. */
const FORWARD_PER_TICK_MAX = 256;
/** A request older than this many view-change timeouts suspects the primary even while others progress. */
const STARVATION_FACTOR = 4;
/** Agreement messages buffered for a view whose NEW-VIEW has not arrived. */
const EARLY_MESSAGES_MAX = 4096;
const EMPTY = new Uint8Array(0);
/** Consecutive failed views after which the NEW-VIEW timeout stops doubling. */
const BACKOFF_DOUBLINGS_MAX = 10;

export class ReplicaCore {
  readonly id: ReplicaId;
  private readonly sizes: QuorumSizes;
  private readonly options: ProtocolOptions;
  private readonly crypto: CoreCrypto;
  private readonly rules: ViewChangeRules;

  private view: View = toView(0);
  /** False from voting for `view` until its NEW-VIEW is installed. */
  private viewActive = true;
  private viewsInstalled = 0;
  /** Next sequence number this replica proposes while primary. */
  private nextSeq: SeqNo = seqNo(1);
  private lastDelivered: SeqNo = seqNo(0);
  private lastExecuted: SeqNo = seqNo(0);
  /** Latest stable checkpoint: the low watermark. */
  private stable: CheckpointCertificate = GENESIS_CHECKPOINT;
  /** Slots of sequence numbers in (stable.seq, stable.seq + logWindow]. */
  private readonly slots = new Map<SeqNo, Slot>();
  /** Requests of delivered, not yet executed batches, to match results to clients. */
  private readonly executing = new Map<SeqNo, readonly Request[]>();
  private readonly pending: PendingRequests;
  private readonly clients: ClientTable;
  private readonly checkpointVotes = new CheckpointVotes();

  // Logical time and the view-change timers [T1-T4].
  private now = 0;
  private lastProgress = 0;
  /** Consecutive views that failed to make progress; doubles the NEW-VIEW timeout. */
  private failedViews = 0;
  /** Tick at which a quorum of VIEW-CHANGEs for `view` was first seen (undefined: not yet). */
  private quorumSince: number | undefined;
  private lastViewChangeSent = 0;
  /** Latest VIEW-CHANGE of each replica, own included. */
  private readonly viewChanges = new Map<ReplicaId, ViewChangeMessage>();
  /** The NEW-VIEW this replica sent as primary of `view`, to resend to replicas that missed it. */
  private newViewSent: NewViewMessage | undefined;
  private viewInstalledAt = 0;
  /** This replica's CHECKPOINTs above the stable one, resent until they stabilise [C5]. */
  private readonly ownCheckpoints = new Map<SeqNo, CheckpointMessage>();
  /** Agreement messages for `view` received while its NEW-VIEW is awaited [V9]. */
  private earlyMessages: { from: ReplicaId; message: PrePrepareMessage | PrepareMessage | CommitMessage }[] = [];
  /** Tick of the last retransmission round, the highest slot with a PRE-PREPARE it saw waiting, and the delivery point [R7]. */
  private lastResend = 0;
  private waitingAtLastResend: SeqNo = seqNo(0);
  private deliveredAtLastResend: SeqNo = seqNo(0);

  /** Manifests of this replica's own checkpoints above the stable one [S2]. */
  private readonly ownManifests = new Map<SeqNo, CheckpointManifest>();
  /** The stable checkpoint's manifest, if this replica holds its image (it can serve it) [S3]. */
  private stableManifest: CheckpointManifest | undefined;
  /** A fetched checkpoint waiting for execution to be idle before it is installed [S12]. */
  private pendingInstall: { checkpoint: CheckpointCertificate; manifest: CheckpointManifest; emitted: boolean } | undefined;
  private readonly transfer: StateTransfer;

  private effects: ReplicaEffect[] = [];

  constructor(init: ReplicaCoreInit) {
    this.id = init.id;
    this.sizes = quorumSizes(init.n, init.f);
    assert(init.id >= 0 && init.id < init.n, `replica id ${init.id} not in 0..${init.n - 1}`);
    const problem = protocolOptionsProblem(init.options);
    assert(problem === undefined, `protocol options: ${problem?.field} ${problem?.message}`);
    this.options = init.options;
    this.crypto = init.crypto;
    this.rules = { sizes: this.sizes, options: init.options, crypto: init.crypto };
    this.pending = new PendingRequests(init.options.pendingRequestsMax);
    this.clients = new ClientTable(init.options.clientSessionsMax);
    this.transfer = new StateTransfer({
      id: this.id,
      rules: this.rules,
      now: () => this.now,
      lastDelivered: () => this.lastDelivered,
      lastExecuted: () => this.lastExecuted,
      stableSeq: () => this.stable.seq,
      view: () => ({ view: this.view, active: this.viewActive }),
      servable: () => this.servableCheckpoint(),
      holdsImage: (seq) => seq === this.stable.seq && this.stableManifest !== undefined,
      deliveredAfter: (after, max) => this.deliveredAfter(after, max),
      deliverProven: (seq, requests) => this.deliverProven(seq, requests),
      installWhenIdle: (checkpoint, manifest) => {
        this.pendingInstall = { checkpoint, manifest, emitted: false };
        this.tryInstall();
      },
      joinView: (w) => {
        if (w > this.view) this.startViewChange(w);
      },
      checkpointProven: (checkpoint) => this.checkpointProven(checkpoint),
      chunkMatches: (bytes, expected) => this.chunkMatches(bytes, expected),
      send: (to, message) => this.effects.push({ type: 'send', to, message }),
      effect: (effect) => this.effects.push(effect),
    }, init.recovering === true);
  }

  /** Feeds one event; returns the effects to apply, in order. */
  step(event: ReplicaEvent): ReplicaEffect[] {
    switch (event.type) {
      case 'message':
        this.onMessage(event.from, event.message);
        break;
      case 'request':
        this.onRequest(event.request);
        break;
      case 'executed':
        this.onExecuted(event.seq, event.results);
        break;
      case 'tick':
        this.onTick();
        break;
      case 'checkpoint-taken':
        this.onCheckpointTaken(event.seq, event.manifest);
        break;
      case 'checkpoint-installed':
        this.onCheckpointInstalled(event.seq, event.clientTable);
        break;
      default:
        assertNever(event, 'event');
    }
    const out = this.effects;
    this.effects = [];
    return out;
  }

  status(): ReplicaStatus {
    return {
      id: this.id,
      view: this.view,
      primary: this.primaryOf(this.view),
      viewActive: this.viewActive,
      viewChanges: this.viewsInstalled,
      lastDelivered: this.lastDelivered,
      lastExecuted: this.lastExecuted,
      stableCheckpoint: this.stable.seq,
      pendingRequests: this.pending.size,
      slots: this.slots.size,
      earlyMessages: this.earlyMessages.length,
      earlyMessageBytes: this.earlyMessages.reduce((sum, { message }) => sum + (message.type === 'pre-prepare' ? operationBytes(message.requests) : 0), 0),
    };
  }

  private primaryOf(v: View): ReplicaId {
    return primaryOf(v, this.sizes.n);
  }

  private get isPrimary(): boolean {
    return this.viewActive && this.primaryOf(this.view) === this.id;
  }

  // --- requests [R1-R6] ---------------------------------------------------

  private onRequest(request: Request): void {
    if (request.operation.length > this.options.requestBytesMax) {
      this.reject({ client: request.clientId }, 'request', rejectPeer('request-too-large')); // [R4]
      return;
    }
    if (!this.clients.isNew(request)) {
      const cached = this.clients.cachedReply(request.clientId, request.requestNo, this.view); // [R2-R3]
      if (cached !== undefined) this.effects.push({ type: 'reply', clientId: request.clientId, message: cached });
      return;
    }
    const added = this.pending.add(request, this.now); // [R5]
    if (added === 'full') {
      this.reject({ client: request.clientId }, 'request', ignore('pending-requests-full'));
      return;
    }
    this.propose(); // [R6]
  }

  // --- proposal [P1-P6] ---------------------------------------------------

  private propose(): void {
    while (
      this.isPrimary &&
      this.pending.hasUnproposed &&
      this.nextSeq - this.lastExecuted <= this.options.pipelineMax &&
      this.nextSeq <= this.stable.seq + this.options.logWindow
    ) {
      const requests = this.pending.takeBatch(this.options.batchRequestsMax, this.options.batchBytesMax); // [P4]
      const message = this.signedPrePrepare(this.nextSeq, this.crypto.batchDigest(requests), requests);
      this.effects.push({ type: 'send', to: 'others', message }); // [P5]
      const slot = this.slotFor(message.seq);
      slot.prePrepare = message; // [P6]
      this.nextSeq = next(this.nextSeq);
      this.progress(message.seq, slot); // a one-replica group (f = 0) commits alone
    }
  }

  private signedPrePrepare(seq: SeqNo, digest: Digest, requests: readonly Request[]): PrePrepareMessage {
    const signature = this.crypto.sign({ kind: 'pre-prepare', view: this.view, seq, digest });
    return { type: 'pre-prepare', view: this.view, seq, digest, requests, signature };
  }

  // --- dispatch -------------------------------------------------------------

  private onMessage(from: ReplicaId, message: ReplicaMessage): void {
    const rejection = this.acceptMessage(from, message);
    if (rejection !== undefined) this.reject({ replica: from }, message.type, rejection);
  }

  private acceptMessage(from: ReplicaId, message: ReplicaMessage): Rejection | undefined {
    if (from === this.id || from < 0 || from >= this.sizes.n) return rejectPeer('bad-sender');
    if (
      !this.viewActive &&
      (message.type === 'pre-prepare' || message.type === 'prepare' || message.type === 'commit') &&
      message.view === this.view
    ) {
      if (this.earlyMessages.length >= EARLY_MESSAGES_MAX) return ignore('view-changing');
      this.earlyMessages.push({ from, message }); // [V9]
      return undefined;
    }
    switch (message.type) {
      case 'pre-prepare':
        return this.onPrePrepare(from, message);
      case 'prepare':
        return this.onPrepare(from, message);
      case 'commit':
        return this.onCommit(from, message);
      case 'checkpoint':
        return this.onCheckpoint(from, message);
      case 'view-change':
        return this.onViewChange(from, message);
      case 'new-view':
        return this.onNewView(from, message);
      case 'forward':
        return this.onForward(message.request);
      case 'state-query':
        return this.transfer.onStateQuery(from);
      case 'state-summary':
        return this.transfer.onStateSummary(from, message);
      case 'chunk-request':
        return this.transfer.onChunkRequest(from, message.seq, message.index);
      case 'chunk':
        return this.transfer.onChunk(from, message);
      case 'log-request':
        return this.transfer.onLogRequest(from, message.after);
      case 'log-entries':
        return this.transfer.onLogEntries(from, message);
      default:
        return assertNever(message, 'replica message');
    }
  }

  // --- agreement [N1-N13] -------------------------------------------------

  /** Common view / window checks for agreement messages [N3, N9]; traffic above the window hints that this replica is behind [S4]. */
  private inWindow(from: ReplicaId, v: View, s: SeqNo): Rejection | undefined {
    // Evidence whatever the view: a replica alone in a later view must still learn that it fell behind.
    const above = s > this.stable.seq + this.options.logWindow;
    if (above) this.transfer.sawAboveWindow(from, s);
    if (v < this.view) return ignore('old-view');
    if (v > this.view) return ignore('future-view');
    if (!this.viewActive) return ignore('view-changing');
    if (s <= this.stable.seq) return ignore('below-window');
    if (above) return ignore('above-window');
    return undefined;
  }

  private onPrePrepare(from: ReplicaId, m: PrePrepareMessage): Rejection | undefined {
    if (!this.mayPrePrepare(from, m.view)) return rejectPeer('pre-prepare-not-from-primary'); // [N2]
    const outside = this.inWindow(from, m.view, m.seq); // [N3]
    if (outside !== undefined) return outside;
    const invalid = this.checkBatch(m);
    if (invalid !== undefined) return invalid;
    if (m.requests.length === 0) return rejectPeer('empty-batch'); // null requests only come in a NEW-VIEW
    const slot = this.slotFor(m.seq);
    if (slot.prePrepare !== undefined) {
      return bytesEqual(slot.prePrepare.digest, m.digest) ? ignore('duplicate') : rejectPeer('conflicting-pre-prepare'); // [N5]
    }
    this.acceptPrePrepare(slot, m); // [N6-N7]
    return undefined;
  }

  /** Limits, digest and signature of a PRE-PREPARE [N4]. */
  private checkBatch(m: PrePrepareMessage): Rejection | undefined {
    if (m.requests.length > this.options.batchRequestsMax) return rejectPeer('batch-too-many-requests');
    if (operationBytes(m.requests) > this.options.batchBytesMax) return rejectPeer('batch-too-large');
    if (!this.digestMatches(m)) return rejectPeer('batch-digest-mismatch');
    const statement = { kind: 'pre-prepare', view: m.view, seq: m.seq, digest: m.digest } as const;
    if (!this.crypto.verify(this.primaryOf(m.view), statement, m.signature)) return rejectPeer('bad-signature');
    return undefined;
  }

  private acceptPrePrepare(slot: Slot, m: PrePrepareMessage): void {
    slot.prePrepare = m; // [N6]
    if (this.primaryOf(m.view) !== this.id) {
      const statement = { kind: 'prepare', view: m.view, seq: m.seq, digest: m.digest } as const;
      const prepare: PrepareMessage = { type: 'prepare', view: m.view, seq: m.seq, digest: m.digest, signature: this.crypto.sign(statement) };
      slot.prepares.add(this.id, m.digest); // [N7]
      slot.prepareSignatures.set(this.id, prepare.signature);
      this.effects.push({ type: 'send', to: 'others', message: prepare });
    }
    this.progress(m.seq, slot);
  }

  private onPrepare(from: ReplicaId, m: PrepareMessage): Rejection | undefined {
    if (from === this.primaryOf(m.view)) return rejectPeer('prepare-from-primary'); // [N9]
    const outside = this.inWindow(from, m.view, m.seq);
    if (outside !== undefined) return outside;
    const slot = this.slotFor(m.seq);
    const vote = this.recordVote(slot.prepares, from, m.digest); // [N10]
    if (vote === 'equivocation') return rejectPeer('equivocating-prepare');
    if (vote === 'duplicate') return this.helpLaggard(from, slot);
    slot.prepareSignatures.set(from, m.signature); // verified lazily, when it would count [N11]
    this.progress(m.seq, slot);
    return undefined;
  }

  /**
   * Verifies the signatures of the PREPAREs that would make `slot` prepared,
   * dropping invalid votes. Only the votes that count are checked, and each
   * once: a prepared certificate must convince every replica in a view change.
   */
  private verifyPrepares(slot: Slot): void {
    const pp = slot.prePrepare as PrePrepareMessage;
    const statement = { kind: 'prepare', view: pp.view, seq: pp.seq, digest: pp.digest } as const;
    for (const voter of slot.prepares.voters(pp.digest)) {
      if (voter === this.id || slot.verifiedPrepares.has(voter)) continue;
      const signature = slot.prepareSignatures.get(voter);
      if (signature !== undefined && this.crypto.verify(voter, statement, signature)) {
        slot.verifiedPrepares.add(voter);
      } else {
        slot.prepares.remove(voter);
        slot.prepareSignatures.delete(voter);
        this.reject({ replica: voter }, 'prepare', rejectPeer('bad-signature'));
      }
    }
  }

  private onCommit(from: ReplicaId, m: CommitMessage): Rejection | undefined {
    const outside = this.inWindow(from, m.view, m.seq); // [N12]
    if (outside !== undefined) return outside;
    const slot = this.slotFor(m.seq);
    const vote = this.recordVote(slot.commits, from, m.digest);
    if (vote === 'equivocation') return rejectPeer('equivocating-commit');
    if (vote === 'duplicate') return this.helpLaggard(from, slot);
    this.progress(m.seq, slot);
    return undefined;
  }

  /**
   * A repeated vote means its sender is retransmitting, i.e. stuck on this
   * slot [R8]: if it is committed here, answer with this replica's part so the
   * sender can complete it, at most once per peer and retransmission period.
   */
  private helpLaggard(from: ReplicaId, slot: Slot): Rejection {
    const helped = slot.helpedAt.get(from);
    if (slot.committed && (helped === undefined || this.now - helped >= this.options.viewChangeResendTicks)) {
      slot.helpedAt.set(from, this.now); // once per round, so two replicas never echo each other forever
      this.sendOwnVotes(slot, from);
    }
    return ignore('duplicate');
  }

  /** Advances slot `s` through prepared [N11] and committed-local [N13]. */
  private progress(s: SeqNo, slot: Slot): void {
    const quorum = this.quorum();
    if (!slot.commitSent && slot.isPrepared(quorum)) this.verifyPrepares(slot);
    if (!slot.commitSent && slot.isPrepared(quorum)) {
      const digest = (slot.prePrepare as PrePrepareMessage).digest;
      slot.commitSent = true;
      slot.certificate = slot.preparedCertificate(quorum);
      slot.commits.add(this.id, digest);
      const commit: CommitMessage = { type: 'commit', view: this.view, seq: s, digest };
      this.effects.push({ type: 'send', to: 'others', message: commit });
    }
    if (!slot.committed && slot.isCommitted(quorum)) {
      slot.committed = true;
      this.deliver();
    }
  }

  // --- execution [E1-E7] --------------------------------------------------

  private deliver(): void {
    for (;;) {
      if (this.lastDelivered - this.lastExecuted >= this.options.executeBacklogMax) return;
      if (this.transfer.transferring) return; // the fetched checkpoint replaces what lies below it [S12]
      const s = this.nextDeliverable(); // [E1]
      if (s === undefined) return;
      const slot = this.slots.get(s) as Slot;
      const pp = slot.prePrepare;
      // Committed here in this view, or proven by f + 1 replicas' LOG-ENTRIES [S15].
      const decided = slot.committed && pp !== undefined ? pp : slot.proven;
      assert(decided !== undefined, `slot ${s} delivered neither committed nor proven`);
      slot.deliveredBatch = decided;
      const batch = decided.requests;
      const fresh: Request[] = [];
      for (const r of batch) {
        if (this.clients.isNew(r)) {
          this.clients.ordered(r); // [E2-E3]
          fresh.push(r);
        }
        this.pending.ordered(r);
      }
      this.executing.set(s, fresh);
      this.effects.push({ type: 'execute', seq: s, requests: fresh }); // [E4]
      this.effects.push({ type: 'delivered', seq: s, requests: fresh.length });
      slot.delivered = true;
      this.lastDelivered = s;
      this.lastProgress = this.now;
      this.failedViews = 0;
    }
  }

  /** Committed batch `s` learnt from f + 1 replicas' LOG-ENTRIES [S15]. */
  private deliverProven(s: SeqNo, requests: readonly Request[]): void {
    // Below the stable checkpoint the slot is gone for good: that takes the checkpoint itself [S12].
    if (s <= this.stable.seq || s > this.stable.seq + this.options.logWindow) return;
    const slot = this.slotFor(s);
    if (slot.delivered) return;
    slot.proven = { digest: this.crypto.batchDigest(requests), requests };
    this.deliver();
  }

  /** Delivered batches after `after`, at most `max`, to answer a LOG-REQUEST [S14]. */
  private deliveredAfter(after: SeqNo, max: number): LoggedBatch[] {
    const out: LoggedBatch[] = [];
    for (let s = next(Math.max(after, this.stable.seq) as SeqNo); s <= this.lastDelivered && out.length < max; s = next(s)) {
      const batch = this.slots.get(s)?.deliveredBatch;
      if (batch === undefined) break;
      out.push({ seq: s, requests: batch.requests });
    }
    return out;
  }

  private onExecuted(s: SeqNo, results: readonly Uint8Array[]): void {
    assert(s === next(this.lastExecuted), `executed ${s} out of order after ${this.lastExecuted}`);
    const requests = this.executing.get(s);
    assert(requests !== undefined && requests.length === results.length, `results of batch ${s} do not match it`);
    this.executing.delete(s);
    this.lastExecuted = s; // [E5]
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i] as Request;
      const result = results[i] as Uint8Array;
      this.clients.executed(r.clientId, r.requestNo, result); // [E6]
      this.effects.push({ type: 'reply', clientId: r.clientId, message: { type: 'reply', view: this.view, clientId: r.clientId, requestNo: r.requestNo, result } });
    }
    if (s % this.options.checkpointInterval === 0) this.effects.push({ type: 'checkpoint', seq: s, clientTable: this.clients.entries() }); // [C1, S1]
    this.tryInstall();
    this.deliver(); // the backlog bound may have held deliveries back
    this.propose(); // [E7]
  }

  // --- checkpoints [C1-C4] --------------------------------------------------

  private onCheckpointTaken(s: SeqNo, manifest: CheckpointManifest): void {
    const stateDigest = this.crypto.manifestDigest(manifest); // [S2]
    if (s === this.stable.seq && bytesEqual(stateDigest, this.stable.stateDigest)) this.stableManifest = manifest;
    if (s <= this.stable.seq) return; // already stable from others' votes
    this.ownManifests.set(s, manifest);
    const signature = this.crypto.sign({ kind: 'checkpoint', seq: s, stateDigest });
    const message: CheckpointMessage = { type: 'checkpoint', seq: s, stateDigest, signature }; // [C2]
    this.ownCheckpoints.set(s, message);
    this.effects.push({ type: 'send', to: 'others', message });
    this.checkpointVotes.add(s, this.id, stateDigest, signature);
    this.tryStabilize(s, stateDigest);
  }

  private onCheckpoint(from: ReplicaId, m: CheckpointMessage): Rejection | undefined {
    if (m.seq % this.options.checkpointInterval !== 0 || m.seq === 0) return rejectPeer('checkpoint-off-interval'); // [C3]
    if (m.seq <= this.stable.seq) return ignore('below-window');
    if (m.seq > this.stable.seq + this.options.logWindow) {
      this.transfer.sawAboveWindow(from, m.seq); // [S4 b]
      return ignore('above-window');
    }
    if (!this.crypto.verify(from, { kind: 'checkpoint', seq: m.seq, stateDigest: m.stateDigest }, m.signature)) {
      return rejectPeer('bad-signature');
    }
    const vote = this.checkpointVotes.add(m.seq, from, m.stateDigest, m.signature);
    if (vote === 'equivocation') return rejectPeer('equivocating-checkpoint');
    if (vote === 'duplicate') return ignore('duplicate');
    this.tryStabilize(m.seq, m.stateDigest);
    return undefined;
  }

  private tryStabilize(s: SeqNo, stateDigest: Digest): void {
    const cert = this.checkpointVotes.stable(s, stateDigest, this.sizes.quorum); // [C4]
    if (cert === undefined) return;
    this.adoptStableCheckpoint(cert);
    this.propose(); // the window moved
  }

  /** Moves the low watermark to `cert` and collects everything below it [C4]. */
  private adoptStableCheckpoint(cert: CheckpointCertificate): void {
    if (cert.seq <= this.stable.seq) return;
    this.stable = cert;
    const own = this.ownManifests.get(cert.seq);
    this.stableManifest = own !== undefined && bytesEqual(this.crypto.manifestDigest(own), cert.stateDigest) ? own : undefined;
    for (const s of this.ownManifests.keys()) if (s <= cert.seq) this.ownManifests.delete(s);
    for (const s of this.slots.keys()) if (s <= cert.seq) this.slots.delete(s);
    this.checkpointVotes.dropUpTo(cert.seq);
    if (this.nextSeq <= cert.seq) this.nextSeq = next(cert.seq);
    for (const s of this.ownCheckpoints.keys()) if (s <= cert.seq) this.ownCheckpoints.delete(s);
    this.effects.push({ type: 'stable-checkpoint', seq: cert.seq });
    if (cert.seq > this.lastDelivered) this.transfer.fellBehind(); // [S4 a]
  }

  /** The stable checkpoint with its manifest, if this replica can serve its image; the genesis one has an empty image [S6]. */
  private servableCheckpoint(): { checkpoint: CheckpointCertificate; manifest: CheckpointManifest } | undefined {
    if (this.stable.seq === 0) return { checkpoint: this.stable, manifest: { chunkBytes: this.options.chunkBytes, clientTableBytes: 0, serviceStateBytes: 0, chunkDigests: [] } };
    return this.stableManifest !== undefined ? { checkpoint: this.stable, manifest: this.stableManifest } : undefined;
  }

  /** Emits the fetched checkpoint's install once every handed-over batch is executed [S12]. */
  private tryInstall(): void {
    const install = this.pendingInstall;
    if (install === undefined || install.emitted || this.executing.size > 0) return;
    install.emitted = true;
    this.effects.push({ type: 'install-checkpoint', seq: install.checkpoint.seq, manifest: install.manifest });
  }

  private onCheckpointInstalled(s: SeqNo, clientTable: readonly ClientTableEntry[]): void {
    const install = this.pendingInstall;
    assert(install?.emitted === true && install.checkpoint.seq === s, `checkpoint ${s} installed without being asked`);
    this.pendingInstall = undefined;
    this.clients.restore(clientTable);
    for (const entry of clientTable) this.pending.ordered({ clientId: entry.clientId, requestNo: entry.requestNo, operation: EMPTY });
    this.lastDelivered = s;
    this.lastExecuted = s;
    this.lastProgress = this.now;
    for (const slot of this.slots.keys()) if (slot <= s) this.slots.delete(slot);
    this.adoptStableCheckpoint(install.checkpoint);
    // (Votes may have made a later checkpoint stable meanwhile: then this image is not the stable one.)
    if (this.stable.seq === s) this.stableManifest = install.manifest;
    if (this.nextSeq <= s) this.nextSeq = next(s);
    this.transfer.installed();
    this.deliver();
    this.propose();
  }

  // --- timers and view-change triggers [T1-T4] -----------------------------

  private onTick(): void {
    this.now++;
    this.transfer.onTick();
    if (!this.viewActive) {
      this.onViewChangeTick();
      return;
    }
    if (this.now - this.lastResend >= this.options.viewChangeResendTicks) this.resendRound();
    const oldest = this.pending.oldestArrival();
    if (oldest === undefined || this.transfer.catchingUp) return;
    if (!this.isPrimary) {
      const forwarded = this.pending.takeDueForForward(this.now, this.options.requestTimeoutTicks, FORWARD_PER_TICK_MAX); // [T1]
      for (const request of forwarded) {
        this.effects.push({ type: 'send', to: this.primaryOf(this.view), message: { type: 'forward', request } });
      }
    }
    // The primary times its own requests too [T2]: if the backups it needs sit in other views
    // with nothing pending, no one else would ever start the change that reunites them.
    const timeout = this.options.viewChangeTimeoutTicks;
    const waited = this.now - Math.max(oldest, this.lastProgress);
    const starved = this.now - Math.max(oldest, this.viewInstalledAt) >= STARVATION_FACTOR * timeout;
    if (waited >= timeout || starved) this.startViewChange(next(this.view)); // [T2]
  }

  /**
   * Retransmission [C5, R7]: own CHECKPOINTs that have not stabilised, and
   * this replica's PRE-PREPARE / PREPARE / COMMIT for undelivered slots, so
   * lost messages cannot stall the log while the network works.
   */
  private resendRound(): void {
    this.lastResend = this.now;
    for (const message of this.ownCheckpoints.values()) this.effects.push({ type: 'send', to: 'others', message });
    // Everything waiting if nothing was delivered since the last round; otherwise only the slots
    // that were already waiting then (younger ones may simply be in flight).
    const stalled = this.lastDelivered === this.deliveredAtLastResend;
    this.deliveredAtLastResend = this.lastDelivered;
    // Stuck with work waiting: others may have delivered what this replica cannot complete [S13].
    // (A next slot with a PRE-PREPARE is completed by the retransmissions below.)
    const gap = this.slots.get(next(this.lastDelivered))?.prePrepare === undefined;
    if (stalled && gap && (this.pending.size > 0 || this.hasSlotAbove(this.lastDelivered))) this.transfer.stalled();
    const window = this.lastDelivered + this.options.pipelineMax;
    const end = stalled ? window : Math.min(this.waitingAtLastResend, window);
    let highest = this.lastDelivered;
    for (let s = next(this.lastDelivered); s <= this.stable.seq + this.options.logWindow; s = next(s)) {
      const slot = this.slots.get(s);
      if (slot?.prePrepare === undefined) break;
      highest = s;
      if (s <= end) this.sendOwnVotes(slot, 'others');
    }
    this.waitingAtLastResend = highest;
  }

  /** This replica's part of `slot` in the current view: the PRE-PREPARE if primary, else its PREPARE; its COMMIT if sent. */
  private sendOwnVotes(slot: Slot, to: ReplicaId | 'others'): void {
    const pp = slot.prePrepare as PrePrepareMessage;
    if (this.primaryOf(pp.view) === this.id) {
      this.effects.push({ type: 'send', to, message: pp });
    } else {
      const signature = slot.prepareSignatures.get(this.id);
      if (signature !== undefined) {
        this.effects.push({ type: 'send', to, message: { type: 'prepare', view: pp.view, seq: pp.seq, digest: pp.digest, signature } });
      }
    }
    if (slot.commitSent) this.effects.push({ type: 'send', to, message: { type: 'commit', view: pp.view, seq: pp.seq, digest: pp.digest } });
  }

  private onViewChangeTick(): void {
    if (this.now - this.lastViewChangeSent >= this.options.viewChangeResendTicks) {
      const own = this.viewChanges.get(this.id); // [T3] a lost VIEW-CHANGE must not stall the change
      if (own !== undefined) {
        this.effects.push({ type: 'send', to: 'others', message: own });
        this.lastViewChangeSent = this.now;
      }
    }
    if (this.quorumSince === undefined) return;
    const timeout = this.options.newViewTimeoutTicks * 2 ** Math.min(this.failedViews, BACKOFF_DOUBLINGS_MAX);
    if (this.now - this.quorumSince >= timeout) {
      this.failedViews++; // [T4]
      this.startViewChange(next(this.view));
    }
  }

  private onForward(request: Request): Rejection | undefined {
    if (!this.isPrimary) return ignore('forward-not-primary');
    this.onRequest(request);
    return undefined;
  }

  // --- view change [V1-V8] ----------------------------------------------------

  /** Leaves the current view and votes for `v` with this replica's evidence [V1]. */
  private startViewChange(v: View): void {
    assert(v > this.view, `view change from ${this.view} to ${v} must move forward`);
    this.view = v;
    this.earlyMessages = [];
    this.viewActive = false;
    this.quorumSince = undefined;
    this.newViewSent = undefined;
    const prepared: PreparedCertificate[] = [];
    const seqs = [...this.slots.keys()].filter((s) => s > this.stable.seq).sort((a, b) => a - b);
    for (const s of seqs) {
      const cert = (this.slots.get(s) as Slot).certificate;
      if (cert !== undefined) prepared.push(cert);
    }
    const body = { type: 'view-change', newView: v, replica: this.id, checkpoint: this.stable, prepared } as const;
    const message: ViewChangeMessage = { ...body, signature: this.crypto.sign({ kind: 'view-change', message: body }) };
    this.viewChanges.set(this.id, message);
    this.effects.push({ type: 'view-change-started', view: v });
    this.effects.push({ type: 'send', to: 'others', message });
    this.lastViewChangeSent = this.now;
    this.afterViewChangeVote();
  }

  private onViewChange(from: ReplicaId, m: ViewChangeMessage): Rejection | undefined {
    if (m.replica !== from) return rejectPeer('view-change-not-from-sender');
    if (m.newView < this.view || (m.newView === this.view && this.viewActive)) {
      // A replica that missed this view's NEW-VIEW asks again with its vote [V8].
      if (m.newView === this.view && this.newViewSent !== undefined) {
        this.effects.push({ type: 'send', to: from, message: this.newViewSent });
      }
      return ignore('old-view');
    }
    const known = this.viewChanges.get(from);
    if (known !== undefined && known.newView >= m.newView) return ignore('duplicate');
    const invalid = checkViewChange(m, this.rules); // [V3-V4]
    if (invalid !== undefined) return invalid;
    this.viewChanges.set(from, m);
    this.afterViewChangeVote();
    return undefined;
  }

  /** Join [V2], quorum timer [T4], and the new primary's NEW-VIEW [V5]. */
  private afterViewChangeVote(): void {
    // V2: f + 1 replicas ahead of us prove at least one correct replica gave up on our view.
    const ahead = [...this.viewChanges.values()].filter((vc) => vc.replica !== this.id && vc.newView > this.view);
    if (ahead.length >= this.sizes.weak) {
      this.startViewChange(Math.min(...ahead.map((vc) => vc.newView)) as View);
      return;
    }
    if (this.viewActive) return;
    // T4 starts once a quorum has left the previous view, whichever later view each voted for:
    // otherwise replicas split between v and v + 1 could each wait for a quorum forever.
    let gaveUp = 0;
    for (const vc of this.viewChanges.values()) if (vc.newView >= this.view) gaveUp++;
    if (gaveUp >= this.viewChangeQuorum()) this.quorumSince ??= this.now;
    const chosen = chooseViewChanges(this.viewChanges, this.view, this.id, this.viewChangeQuorum());
    if (chosen === undefined) return;
    if (this.primaryOf(this.view) !== this.id || this.newViewSent !== undefined) return;
    const decision = this.newViewDecision(chosen); // [V5]
    const prePrepares = decision.slots.map((slot) => this.signedPrePrepare(slot.seq, slot.digest, slot.requests));
    const message: NewViewMessage = { type: 'new-view', view: this.view, viewChanges: chosen, prePrepares };
    this.newViewSent = message;
    this.effects.push({ type: 'send', to: 'others', message });
    this.installView(decision, prePrepares);
  }

  private onNewView(from: ReplicaId, m: NewViewMessage): Rejection | undefined {
    if (from !== this.primaryOf(m.view)) return rejectPeer('new-view-not-from-primary'); // [V6]
    if (m.view < this.view || (m.view === this.view && this.viewActive)) return ignore('old-view');
    const decision = this.checkNewView(m);
    if (typeof decision === 'string') return rejectPeer(decision);
    if (m.view !== this.view) this.earlyMessages = [];
    this.view = m.view;
    this.installView(decision, m.prePrepares); // [V7]
    return undefined;
  }

  /** The decision a NEW-VIEW must carry, recomputed from its own evidence, or why it is refused [V6]. */
  private checkNewView(m: NewViewMessage): NewViewDecision | string {
    const quorum = this.viewChangeQuorum();
    const voters = new Set<ReplicaId>();
    for (const vc of m.viewChanges) {
      if (vc.newView !== m.view || voters.has(vc.replica)) return 'new-view-bad-view-changes';
      voters.add(vc.replica);
      // Checked in full even if we hold a VIEW-CHANGE with the same signature: the body may differ.
      if (checkViewChange(vc, this.rules) !== undefined) return 'new-view-bad-view-change';
    }
    if (voters.size < quorum) return 'new-view-without-quorum';
    const decision = this.newViewDecision(m.viewChanges);
    if (decision.slots.length !== m.prePrepares.length) return 'new-view-wrong-pre-prepares';
    for (let i = 0; i < decision.slots.length; i++) {
      const expected = decision.slots[i]!;
      const pp = m.prePrepares[i]!;
      if (pp.view !== m.view || pp.seq !== expected.seq || !bytesEqual(pp.digest, expected.digest)) return 'new-view-wrong-pre-prepares';
      if (!bytesEqual(this.crypto.batchDigest(pp.requests), pp.digest)) return 'new-view-wrong-pre-prepares';
      if (!this.crypto.verify(this.primaryOf(m.view), { kind: 'pre-prepare', view: pp.view, seq: pp.seq, digest: pp.digest }, pp.signature)) {
        return 'new-view-bad-signature';
      }
    }
    // Nothing this replica delivered above the new view's checkpoint may be replaced or dropped.
    const proposed = new Map(decision.slots.map((slot) => [slot.seq, slot.digest]));
    for (const [s, slot] of this.slots) {
      if (!slot.delivered || s <= decision.checkpoint.seq) continue;
      const digest = proposed.get(s);
      const delivered = slot.deliveredBatch?.digest;
      if (digest === undefined || delivered === undefined || !bytesEqual(digest, delivered)) return 'new-view-contradicts-delivered';
    }
    return decision;
  }

  /** Enters `this.view` with the decided checkpoint and PRE-PREPAREs [V7]. */
  private installView(decision: NewViewDecision, prePrepares: readonly PrePrepareMessage[]): void {
    this.viewsInstalled++;
    this.quorumSince = undefined;
    this.lastProgress = this.now;
    this.viewInstalledAt = this.now;
    for (const [replica, vc] of this.viewChanges) if (vc.newView <= this.view) this.viewChanges.delete(replica);
    if (decision.checkpoint.seq > this.stable.seq) this.adoptStableCheckpoint(decision.checkpoint);
    for (const slot of this.slots.values()) slot.enterView(undefined);
    this.pending.enterView(prePrepares.flatMap((pp) => pp.requests));
    this.viewActive = true;
    this.effects.push({ type: 'view-installed', view: this.view, primary: this.primaryOf(this.view) });
    for (const pp of prePrepares) {
      if (pp.seq > this.stable.seq) this.acceptPrePrepare(this.slotFor(pp.seq), pp);
    }
    const last = prePrepares.length > 0 ? (prePrepares[prePrepares.length - 1] as PrePrepareMessage).seq : this.stable.seq;
    const highest = Math.max(last, this.lastDelivered, this.stable.seq) as SeqNo;
    this.nextSeq = next(highest);
    this.replayEarlyMessages();
    this.propose();
  }

  /** Agreement messages of `view` that arrived before its NEW-VIEW, in arrival order (bounded). */
  private replayEarlyMessages(): void {
    const early = this.earlyMessages;
    this.earlyMessages = [];
    for (const { from, message } of early) if (message.view === this.view) this.onMessage(from, message);
  }

  // --- decision points ------------------------------------------------------
  // Protected so that the simulator's mutants (src/sim) can plant a protocol
  // bug in exactly one rule and show that its checkers catch it.

  /** Votes needed to prepare (with the PRE-PREPARE) and to commit. */
  protected quorum(): number {
    return this.sizes.quorum;
  }

  /** VIEW-CHANGEs needed to install a view [V5-V6]. */
  protected viewChangeQuorum(): number {
    return this.sizes.quorum;
  }

  /** What a new view starts with, from its VIEW-CHANGEs [V5-V6]. */
  protected newViewDecision(viewChanges: readonly ViewChangeMessage[]): NewViewDecision {
    return decideNewView(viewChanges, this.rules);
  }

  /** Whether `from` may send the PRE-PREPARE of view `v` [N2]. */
  protected mayPrePrepare(from: ReplicaId, v: View): boolean {
    return from === this.primaryOf(v);
  }

  /** Whether the PRE-PREPARE's digest is its batch's [N4]. */
  protected digestMatches(m: PrePrepareMessage): boolean {
    return bytesEqual(this.crypto.batchDigest(m.requests), m.digest);
  }

  /** Records `from`'s vote: one per replica [N10]. */
  protected recordVote(votes: VoteSet<Digest>, from: ReplicaId, digest: Digest): VoteOutcome {
    return votes.add(from, digest);
  }

  /** Whether a checkpoint certificate from another replica carries a quorum of valid signatures [S7]. */
  protected checkpointProven(checkpoint: CheckpointCertificate): boolean {
    return checkpointCertificateValid(checkpoint, this.rules);
  }

  /** Whether a fetched chunk has the digest its manifest names [S10]. */
  protected chunkMatches(bytes: Uint8Array, expected: Digest): boolean {
    return bytesEqual(this.crypto.chunkDigest(bytes), expected);
  }

  /** The committed sequence number to deliver next, if any: strictly the next one [E1]. */
  protected nextDeliverable(): SeqNo | undefined {
    const s = next(this.lastDelivered);
    const slot = this.slots.get(s);
    return slot !== undefined && (slot.committed || slot.proven !== undefined) && !slot.delivered ? s : undefined;
  }

  // --- helpers --------------------------------------------------------------

  private hasSlotAbove(s: SeqNo): boolean {
    for (const seq of this.slots.keys()) if (seq > s) return true;
    return false;
  }

  private slotFor(s: SeqNo): Slot {
    let slot = this.slots.get(s);
    if (slot === undefined) {
      slot = new Slot();
      this.slots.set(s, slot);
    }
    return slot;
  }

  private reject(from: { replica: ReplicaId } | { client: Request['clientId'] }, messageType: string, rejection: Rejection): void {
    this.effects.push({ type: 'rejected', from, messageType, rejection });
  }
}

function operationBytes(requests: readonly Request[]): number {
  let bytes = 0;
  for (const r of requests) bytes += r.operation.length;
  return bytes;
}
