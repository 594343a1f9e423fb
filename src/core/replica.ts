/**
 * The replica's protocol core: pure and synchronous. Events go in through
 * {@link ReplicaCore.step}; effects come out as data (src/core/effects.ts).
 * No clock, timer, randomness or I/O here, so the same code runs under the
 * real runtime and the deterministic simulator.
 *
 * Comments like `[N6]` cite the pseudo-code lines of docs/PROTOCOL.md.
 */
import { assert, assertNever } from './assert.js';
import { ClientTable } from './client-table.js';
import type { ReplicaEffect } from './effects.js';
import type { ReplicaEvent } from './events.js';
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type { CommitMessage, PrepareMessage, PrePrepareMessage, ReplicaMessage, Request } from './messages.js';
import { protocolOptionsProblem, type ProtocolOptions } from './options.js';
import { next, seqNo, view as toView, type SeqNo, type View } from './ordering.js';
import { PendingRequests } from './pending-requests.js';
import { quorumSizes, type QuorumSizes, type VoteOutcome, type VoteSet } from './quorum.js';
import { ignore, rejectPeer, type Rejection } from './rejection.js';
import { Slot } from './slot.js';

export interface ReplicaCoreInit {
  readonly id: ReplicaId;
  readonly n: number;
  readonly f: number;
  readonly options: ProtocolOptions;
  /** Digest of a batch's canonical encoding (injected: the core does no crypto of its own). */
  readonly batchDigest: (requests: readonly Request[]) => Digest;
}

/** Read-only view of the core's progress, for status, metrics and tests. */
export interface ReplicaStatus {
  readonly id: ReplicaId;
  readonly view: View;
  readonly primary: ReplicaId;
  readonly lastDelivered: SeqNo;
  readonly lastExecuted: SeqNo;
  readonly pendingRequests: number;
  readonly slots: number;
}

export class ReplicaCore {
  readonly id: ReplicaId;
  private readonly sizes: QuorumSizes;
  private readonly options: ProtocolOptions;
  private readonly batchDigest: (requests: readonly Request[]) => Digest;

  private view: View = toView(0);
  /** Next sequence number this replica proposes while primary. */
  private nextSeq: SeqNo = seqNo(1);
  private lastDelivered: SeqNo = seqNo(0);
  private lastExecuted: SeqNo = seqNo(0);
  /** Slots of undelivered sequence numbers in (lastDelivered, lastDelivered + logWindow]. */
  private readonly slots = new Map<SeqNo, Slot>();
  /** Requests of delivered, not yet executed batches, to match results to clients. */
  private readonly executing = new Map<SeqNo, readonly Request[]>();
  private readonly pending: PendingRequests;
  private readonly clients: ClientTable;

  private effects: ReplicaEffect[] = [];

  constructor(init: ReplicaCoreInit) {
    this.id = init.id;
    this.sizes = quorumSizes(init.n, init.f);
    assert(init.id >= 0 && init.id < init.n, `replica id ${init.id} not in 0..${init.n - 1}`);
    const problem = protocolOptionsProblem(init.options);
    assert(problem === undefined, `protocol options: ${problem?.field} ${problem?.message}`);
    this.options = init.options;
    this.batchDigest = init.batchDigest;
    this.pending = new PendingRequests(init.options.pendingRequestsMax);
    this.clients = new ClientTable(init.options.clientSessionsMax);
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
      lastDelivered: this.lastDelivered,
      lastExecuted: this.lastExecuted,
      pendingRequests: this.pending.size,
      slots: this.slots.size,
    };
  }

  private primaryOf(v: View): ReplicaId {
    return (v % this.sizes.n) as ReplicaId;
  }

  private get isPrimary(): boolean {
    return this.primaryOf(this.view) === this.id;
  }

  // --- requests [R1-R6] ---------------------------------------------------

  private onRequest(request: Request): void {
    if (request.operation.length > this.options.requestBytesMax) {
      this.reject({ client: request.clientId }, 'request', rejectPeer('request-too-large')); // [R4]
      return;
    }
    if (!this.clients.isNew(request)) {
      const cached = this.clients.cachedReply(request.clientId, request.requestNo); // [R2-R3]
      if (cached !== undefined) this.effects.push({ type: 'reply', clientId: request.clientId, message: cached });
      return;
    }
    const added = this.pending.add(request); // [R5]
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
      this.nextSeq <= this.lastDelivered + this.options.logWindow
    ) {
      const requests = this.pending.takeBatch(this.options.batchRequestsMax, this.options.batchBytesMax); // [P4]
      const message: PrePrepareMessage = {
        type: 'pre-prepare',
        view: this.view,
        seq: this.nextSeq,
        digest: this.batchDigest(requests),
        requests,
      };
      this.effects.push({ type: 'send', to: 'others', message }); // [P5]
      const slot = this.slotFor(message.seq);
      slot.prePrepare = message; // [P6]
      this.nextSeq = next(this.nextSeq);
      this.progress(message.seq, slot); // a one-replica group (f = 0) commits alone
    }
  }

  // --- agreement [N1-N13] -------------------------------------------------

  private onMessage(from: ReplicaId, message: ReplicaMessage): void {
    const rejection = this.acceptMessage(from, message);
    if (rejection !== undefined) this.reject({ replica: from }, message.type, rejection);
  }

  private acceptMessage(from: ReplicaId, message: ReplicaMessage): Rejection | undefined {
    if (from === this.id || from < 0 || from >= this.sizes.n) return rejectPeer('bad-sender');
    switch (message.type) {
      case 'pre-prepare':
        return this.onPrePrepare(from, message);
      case 'prepare':
        return this.onPrepare(from, message);
      case 'commit':
        return this.onCommit(from, message);
      default:
        return assertNever(message, 'replica message');
    }
  }

  /** Common view / window checks for agreement messages [N3, N9]. */
  private inWindow(v: View, s: SeqNo): Rejection | undefined {
    if (v < this.view) return ignore('old-view');
    if (v > this.view) return ignore('future-view');
    if (s <= this.lastDelivered) return ignore('already-delivered');
    if (s > this.lastDelivered + this.options.logWindow) return ignore('above-window');
    return undefined;
  }

  private onPrePrepare(from: ReplicaId, m: PrePrepareMessage): Rejection | undefined {
    if (!this.mayPrePrepare(from, m.view)) return rejectPeer('pre-prepare-not-from-primary'); // [N2]
    const outside = this.inWindow(m.view, m.seq); // [N3]
    if (outside !== undefined) return outside;
    if (m.requests.length === 0) return rejectPeer('empty-batch'); // [N4]
    if (m.requests.length > this.options.batchRequestsMax) return rejectPeer('batch-too-many-requests');
    let bytes = 0;
    for (const r of m.requests) bytes += r.operation.length;
    if (bytes > this.options.batchBytesMax) return rejectPeer('batch-too-large');
    if (!this.digestMatches(m)) return rejectPeer('batch-digest-mismatch'); // [N4]
    const slot = this.slotFor(m.seq);
    if (slot.prePrepare !== undefined) {
      return bytesEqual(slot.prePrepare.digest, m.digest) ? ignore('duplicate') : rejectPeer('conflicting-pre-prepare'); // [N5]
    }
    slot.prePrepare = m; // [N6]
    const prepare: PrepareMessage = { type: 'prepare', view: m.view, seq: m.seq, digest: m.digest };
    slot.prepares.add(this.id, m.digest); // [N7]
    this.effects.push({ type: 'send', to: 'others', message: prepare });
    this.progress(m.seq, slot);
    return undefined;
  }

  private onPrepare(from: ReplicaId, m: PrepareMessage): Rejection | undefined {
    if (from === this.primaryOf(m.view)) return rejectPeer('prepare-from-primary'); // [N9]
    const outside = this.inWindow(m.view, m.seq);
    if (outside !== undefined) return outside;
    const slot = this.slotFor(m.seq);
    const vote = this.recordVote(slot.prepares, from, m.digest); // [N10]
    if (vote === 'equivocation') return rejectPeer('equivocating-prepare');
    if (vote === 'duplicate') return ignore('duplicate');
    this.progress(m.seq, slot);
    return undefined;
  }

  private onCommit(from: ReplicaId, m: CommitMessage): Rejection | undefined {
    const outside = this.inWindow(m.view, m.seq); // [N12]
    if (outside !== undefined) return outside;
    const slot = this.slotFor(m.seq);
    const vote = this.recordVote(slot.commits, from, m.digest);
    if (vote === 'equivocation') return rejectPeer('equivocating-commit');
    if (vote === 'duplicate') return ignore('duplicate');
    this.progress(m.seq, slot);
    return undefined;
  }

  /** Advances slot `s` through prepared [N11] and committed-local [N13]. */
  private progress(s: SeqNo, slot: Slot): void {
    const quorum = this.quorum();
    if (!slot.commitSent && slot.isPrepared(quorum)) {
      const digest = (slot.prePrepare as PrePrepareMessage).digest;
      slot.commitSent = true;
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
      const s = this.nextDeliverable(); // [E1]
      if (s === undefined) return;
      const slot = this.slots.get(s) as Slot;
      const batch = (slot.prePrepare as PrePrepareMessage).requests;
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
      this.lastDelivered = s;
      this.slots.delete(s);
    }
  }

  private onExecuted(s: SeqNo, results: readonly Uint8Array[]): void {
    assert(s === next(this.lastExecuted), `executed ${s} out of order after ${this.lastExecuted}`);
    const requests = this.executing.get(s);
    assert(requests !== undefined && requests.length === results.length, `results of batch ${s} do not match it`);
    this.executing.delete(s);
    this.lastExecuted = s; // [E5]
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i] as Request;
      const reply = {
        type: 'reply',
        view: this.view,
        clientId: r.clientId,
        requestNo: r.requestNo,
        result: results[i] as Uint8Array,
      } as const;
      this.clients.executed(reply); // [E6]
      this.effects.push({ type: 'reply', clientId: r.clientId, message: reply });
    }
    this.deliver(); // the backlog bound may have held deliveries back
    this.propose(); // [E7]
  }

  // --- decision points ------------------------------------------------------
  // Protected so that the simulator's mutants (src/sim) can plant a protocol
  // bug in exactly one rule and show that its checkers catch it.

  /** Votes needed to prepare (with the PRE-PREPARE) and to commit. */
  protected quorum(): number {
    return this.sizes.quorum;
  }

  /** Whether `from` may send the PRE-PREPARE of view `v` [N2]. */
  protected mayPrePrepare(from: ReplicaId, v: View): boolean {
    return from === this.primaryOf(v);
  }

  /** Whether the PRE-PREPARE's digest is its batch's [N4]. */
  protected digestMatches(m: PrePrepareMessage): boolean {
    return bytesEqual(this.batchDigest(m.requests), m.digest);
  }

  /** Records `from`'s vote: one per replica [N10]. */
  protected recordVote(votes: VoteSet<Digest>, from: ReplicaId, digest: Digest): VoteOutcome {
    return votes.add(from, digest);
  }

  /** The committed sequence number to deliver next, if any: strictly the next one [E1]. */
  protected nextDeliverable(): SeqNo | undefined {
    const s = next(this.lastDelivered);
    return this.slots.get(s)?.committed === true ? s : undefined;
  }

  // --- helpers --------------------------------------------------------------

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
