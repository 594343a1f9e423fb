/**
 * The replica's protocol core: pure and synchronous. Events go in through
 * {@link ReplicaCore.step}; effects come out as data (src/core/effects.ts).
 * No clock, timer, randomness or I/O here, so the same code runs under the
 * real runtime and the deterministic simulator.
 *
 * This file builds the modules (src/core/core-parts.ts), dispatches events
 * and messages to them, and reports status. Comments like `[N6]` cite the
 * pseudo-code lines of docs/PROTOCOL.md (`[A4]` its client-authentication rules); those like `[V5]`, `[C2]` or `[T1]`
 * cite docs/VIEW-CHANGE.md; `[S4]` docs/STATE-TRANSFER.md.
 */
import { Agreement } from './agreement.js';
import { assert, assertNever } from './assert.js';
import { Checkpointing } from './checkpointing.js';
import { ClientTable, rejectedReply, requestTooLarge } from './client-table.js';
import { CoreContext } from './core-context.js';
import type { CoreParts } from './core-parts.js';
import type { CoreCrypto } from './crypto.js';
import { DecisionPoints } from './decision-points.js';
import type { ReplicaEffect } from './effects.js';
import type { ReplicaEvent } from './events.js';
import type { ReplicaId } from './ids.js';
import { MessageLog } from './message-log.js';
import type { ReplicaMessage, Request } from './messages.js';
import { protocolOptionsProblem, type ProtocolOptions } from './options.js';
import type { SeqNo, View } from './ordering.js';
import { Execution } from './execution.js';
import { recover, type Recovered } from './recovery.js';
import { RejoinGate } from './rejoin.js';
import { PendingRequests } from './pending-requests.js';
import { quorumSizes } from './quorum.js';
import { ignore, rejectPeer, type Rejection } from './rejection.js';
import { StateTransfer, type StateTransferHost } from './state-transfer.js';
import { Timeout } from './timeout.js';
import type { ViewChangeRules } from './view-change.js';
import { ViewChangeMachine } from './view-change-machine.js';

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
  /**
   * The replica restarts from its data directory: what its journal holds
   * and the image it restored (docs/DURABILITY.md D11-D14). The effects of
   * recovery come out of the first {@link ReplicaCore.step}.
   */
  readonly recovered?: Recovered;
  /**
   * The replica lost its data (a replaced disk): it sends nothing that binds
   * it until its stable checkpoint is a log window above the first one it
   * learns (docs/DURABILITY.md D15). Default false.
   */
  readonly rejoin?: boolean;
  /**
   * The protocol's decision points; only the simulator's mutants replace
   * them, to plant one bug and show a checker catches it. Default: the rules.
   */
  readonly decisions?: (rules: ViewChangeRules) => DecisionPoints;
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
  /** Client signatures this replica checked [A2, A5], and the requests among them that were forged. */
  readonly requestSignaturesVerified: number;
  readonly forgedRequestsRejected: number;
  /** Requests known authentic and not yet ordered here [A2-A3]: about pendingRequests, never above pendingRequestsMax. */
  readonly authenticRequestsKnown: number;
  /** False while a replica that lost its data rejoins without voting [D15]. */
  readonly voting: boolean;
}

/** Most requests forwarded to the primary per tick. */
const FORWARD_PER_TICK_MAX = 256;

export class ReplicaCore {
  readonly id: ReplicaId;
  private readonly parts: CoreParts;
  /** Retransmission rounds of votes and CHECKPOINTs [R7, C5]. */
  private readonly resendTimer: Timeout;

  constructor(init: ReplicaCoreInit) {
    this.id = init.id;
    const sizes = quorumSizes(init.n, init.f);
    assert(init.id >= 0 && init.id < init.n, `replica id ${init.id} not in 0..${init.n - 1}`);
    const problem = protocolOptionsProblem(init.options);
    assert(problem === undefined, `protocol options: ${problem?.field} ${problem?.message}`);
    const rules: ViewChangeRules = { sizes, options: init.options, crypto: init.crypto };
    const ctx = new CoreContext(init.id, rules, init.decisions?.(rules) ?? new DecisionPoints(rules));
    const parts = {
      ctx,
      log: new MessageLog(init.options.logWindow),
      pending: new PendingRequests(init.options),
      clients: new ClientTable(init.options),
    } as { -readonly [K in keyof CoreParts]: CoreParts[K] };
    parts.agreement = new Agreement(parts);
    parts.execution = new Execution(parts);
    parts.checkpoints = new Checkpointing(parts);
    parts.viewChange = new ViewChangeMachine(parts);
    parts.transfer = new StateTransfer(stateTransferHost(parts), init.recovering === true);
    this.parts = parts;
    this.resendTimer = new Timeout('vote-resend', init.options.viewChangeResendTicks);
    this.resendTimer.start(0);
    if (init.rejoin === true) ctx.rejoin = new RejoinGate(init.options.logWindow);
    if (init.recovered !== undefined) recover(parts, init.recovered);
  }

  /** Feeds one event; returns the effects to apply, in order. */
  step(event: ReplicaEvent): ReplicaEffect[] {
    const { execution, checkpoints } = this.parts;
    switch (event.type) {
      case 'message':
        this.onMessage(event.from, event.message);
        break;
      case 'request':
        this.onRequest(event.request, 'client');
        break;
      case 'executed':
        execution.onExecuted(event.seq, event.results, event.failed ?? []);
        break;
      case 'tick':
        this.onTick();
        break;
      case 'checkpoint-taken':
        checkpoints.onTaken(event.seq, event.manifest);
        break;
      case 'checkpoint-installed':
        checkpoints.onInstalled(event.seq, event.clientTable);
        break;
      default:
        assertNever(event, 'event');
    }
    return this.parts.ctx.takeEffects();
  }

  status(): ReplicaStatus {
    const { ctx, log, pending, viewChange } = this.parts;
    const early = viewChange.earlyMessages;
    return {
      id: this.id,
      view: ctx.view,
      primary: ctx.primaryOf(ctx.view),
      viewActive: ctx.viewActive,
      viewChanges: viewChange.viewsInstalled,
      lastDelivered: log.lastDelivered,
      lastExecuted: log.lastExecuted,
      stableCheckpoint: log.stable.seq,
      pendingRequests: pending.size,
      slots: log.size,
      earlyMessages: early.count,
      earlyMessageBytes: early.bytes,
      requestSignaturesVerified: ctx.auth.verifiedCount,
      forgedRequestsRejected: ctx.auth.forgedCount,
      authenticRequestsKnown: ctx.auth.size,
      voting: ctx.rejoin?.voting ?? true,
    };
  }

  // --- requests [R1-R6] ---------------------------------------------------

  /** A request from its client's own connection (the runtime checked its key [A3]) or forwarded by a backup [A4]. */
  private onRequest(request: Request, from: 'client' | 'forward'): void {
    const { ctx, clients, pending, agreement } = this.parts;
    if (request.operation.length > ctx.options.requestBytesMax) {
      ctx.reject({ client: request.clientId }, 'request', rejectPeer('request-too-large')); // [R4]
      const reason = requestTooLarge(request.operation.length, ctx.options.requestBytesMax);
      ctx.emit({ type: 'reply', clientId: request.clientId, message: rejectedReply(request.clientId, request.requestNo, ctx.view, reason) });
      return;
    }
    if (!clients.isNew(request)) {
      const cached = clients.cachedReply(request.clientId, request.requestNo, ctx.view); // [R2-R3]
      if (cached !== undefined) ctx.emit({ type: 'reply', clientId: request.clientId, message: cached });
      return;
    }
    const added = pending.add(request, ctx.now); // [R5]
    if (added === 'full' || added === 'key-full') {
      // The client retransmits; a key over its quota waits for its own requests to be ordered [R5].
      ctx.reject({ client: request.clientId }, 'request', ignore(added === 'full' ? 'pending-requests-full' : 'pending-requests-key-full'));
      return;
    }
    if (from === 'client' && (added === 'added' || added === 'replaced')) {
      ctx.auth.received(request); // [A3]
      // [A5] The primary checks the signature on arrival, while earlier batches are in agreement,
      // rather than all of a batch's at once when it proposes, where they delay the round (docs/BENCHMARKS.md);
      // a forgery is refused (and counted) once, here, and takes no place.
      if (ctx.isPrimary && !agreement.proposable(request)) pending.drop(request);
    }
    agreement.propose(); // [R6]
  }

  private onForward(request: Request): Rejection | undefined {
    const { ctx, clients } = this.parts;
    if (!ctx.isPrimary) return ignore('forward-not-primary');
    // A request already ordered costs no verification [A4]: it is answered from the reply cache, as from its
    // client [R2-R3] (a backup forwards what it saw unanswered, so its client may be missing that reply).
    if (!clients.isNew(request)) {
      this.onRequest(request, 'forward');
      return undefined;
    }
    if (!ctx.decide.relayedRequestAuthentic(request, ctx.auth)) return rejectPeer('forged-request'); // [A4]
    this.onRequest(request, 'forward');
    return undefined;
  }

  // --- dispatch -------------------------------------------------------------

  private onMessage(from: ReplicaId, message: ReplicaMessage): void {
    const rejection = this.acceptMessage(from, message);
    if (rejection !== undefined) this.parts.ctx.reject({ replica: from }, message.type, rejection);
  }

  private acceptMessage(from: ReplicaId, message: ReplicaMessage): Rejection | undefined {
    const { ctx, agreement, checkpoints, viewChange, transfer } = this.parts;
    if (from === this.id || from < 0 || from >= ctx.sizes.n) return rejectPeer('bad-sender');
    switch (message.type) {
      case 'pre-prepare':
      case 'prepare':
      case 'commit':
        if (!ctx.viewActive && message.view === ctx.view) return viewChange.holdEarly(from, message); // [V9]
        return agreement.onAgreementMessage(from, message);
      case 'checkpoint':
        return checkpoints.onCheckpoint(from, message);
      case 'view-change':
        return viewChange.onViewChange(from, message);
      case 'new-view':
        return viewChange.onNewView(from, message);
      case 'forward':
        return this.onForward(message.request);
      case 'state-query':
        return transfer.onStateQuery(from);
      case 'state-summary':
        return transfer.onStateSummary(from, message);
      case 'chunk-request':
        return transfer.onChunkRequest(from, message.seq, message.index);
      case 'chunk':
        return transfer.onChunk(from, message);
      case 'log-request':
        return transfer.onLogRequest(from, message.after);
      case 'log-entries':
        return transfer.onLogEntries(from, message);
      default:
        return assertNever(message, 'replica message');
    }
  }

  // --- time [T1-T4, R7, C5] -------------------------------------------------

  private onTick(): void {
    const { ctx, pending, agreement, checkpoints, viewChange, transfer } = this.parts;
    ctx.now++;
    transfer.onTick();
    if (!ctx.viewActive) {
      viewChange.onChangingTick(); // [T3-T4]
      return;
    }
    if (this.resendTimer.fired(ctx.now)) {
      this.resendTimer.restart(ctx.now);
      checkpoints.resend(); // [C5]
      agreement.resendVotes(); // [R7]
    }
    const oldest = pending.oldestArrival();
    if (oldest === undefined) return;
    if (transfer.holdsRequestTimerOff) {
      viewChange.requestTimersHeldOff();
      return;
    }
    if (!ctx.isPrimary) {
      // [T1, A9] Only requests whose signature this backup checked: a client that sends a badly signed
      // request to backups only must not make them suspect a correct primary that refuses it.
      const forwardable = (r: Request): boolean => this.parts.agreement.proposable(r);
      const forwarded = pending.takeDueForForward(ctx.now, ctx.options.requestTimeoutTicks, FORWARD_PER_TICK_MAX, forwardable);
      for (const request of forwarded) ctx.send(ctx.primaryOf(ctx.view), { type: 'forward', request });
    }
    viewChange.suspectPrimaryIfLate(oldest); // [T2]
  }
}

/** What state transfer needs from the other modules (src/core/state-transfer.ts). */
function stateTransferHost(parts: CoreParts): StateTransferHost {
  const { ctx, log } = parts;
  return {
    id: ctx.id,
    rules: ctx.rules,
    now: () => ctx.now,
    lastDelivered: () => log.lastDelivered,
    lastExecuted: () => log.lastExecuted,
    stable: () => log.stable,
    view: () => ({ view: ctx.view, active: ctx.viewActive }),
    servable: () => parts.checkpoints.servable(),
    holdsImage: (seq) => parts.checkpoints.holdsImage(seq),
    deliveredAfter: (after, max) => log.deliveredAfter(after, max),
    deliverProven: (seq, requests) => parts.execution.deliverProven(seq, requests),
    requestsAuthentic: (requests) => ctx.relayedAuthentic(requests),
    installWhenIdle: (checkpoint, manifest) => parts.checkpoints.installWhenIdle(checkpoint, manifest),
    adoptStable: (checkpoint) => {
      parts.checkpoints.adoptStable(checkpoint);
      parts.agreement.propose(); // the window moved
    },
    joinView: (w) => {
      if (w > ctx.view) parts.viewChange.start(w);
    },
    decide: ctx.decide,
    send: (to, message) => ctx.send(to, message),
    effect: (effect) => ctx.emit(effect),
  };
}
