/**
 * The view-change state machine (docs/VIEW-CHANGE.md V1-V9, T2-T4): when to
 * suspect the primary, voting for a new view, joining others, the new
 * primary's NEW-VIEW, checking and installing it, and the agreement messages
 * that arrive before it. The rules it applies to evidence are pure functions
 * in view-change.ts; this file holds the state between them.
 */
import { assert } from './assert.js';
import type { CoreParts } from './core-parts.js';
import type { DurableState } from './durable.js';
import { bytesEqual, type ReplicaId } from './ids.js';
import { EarlyMessages, type AgreementMessage } from './early-messages.js';
import type { NewViewMessage, PrePrepareMessage, ViewChangeMessage } from './messages.js';
import { next, type SeqNo, type View } from './ordering.js';
import { ignore, rejectPeer, type Rejection } from './rejection.js';
import { Timeout } from './timeout.js';
import { checkViewChange, chooseViewChanges, type NewViewDecision } from './view-change.js';

/**
 * Batches delivered without a view change after which T2 shrinks a step: a
 * constant, not checkpointInterval, so small checkpoint intervals do not
 * make "sustained progress" a handful of batches.
 */
const RELAX_AFTER_DELIVERIES = 64;
/** A request older than this many view-change timeouts suspects the primary even while others progress. */
const STARVATION_FACTOR = 4;
/** Consecutive failed views after which the NEW-VIEW timeout stops doubling. */
const BACKOFF_DOUBLINGS_MAX = 10;


export class ViewChangeMachine {
  /** Views installed after view 0. */
  private installed = 0;
  /** Tick of the last delivery, checkpoint install or view install: T2 counts from it. */
  private lastProgress = 0;
  private viewInstalledAt = 0;
  /** Last tick at which catching up held T1 and T2 off [S5]: both count from it too. */
  private heldOffAt = 0;
  /** Latest VIEW-CHANGE of each replica, own included. */
  private readonly viewChanges = new Map<ReplicaId, ViewChangeMessage>();
  /** The NEW-VIEW this replica sent as primary of the view, to resend to replicas that missed it [V8]. */
  private newViewSent: NewViewMessage | undefined;
  /** Agreement messages for the view being installed, received before its NEW-VIEW [V9]. */
  private readonly early = new EarlyMessages();
  /** Batches delivered since T2 last grew or shrank [T2]. */
  private deliveredAtThisLength = 0;
  private readonly requestTimer: Timeout; // [T2]
  private readonly starvationTimer: Timeout; // [T2]
  private readonly resendTimer: Timeout; // [T3]
  private readonly newViewTimer: Timeout; // [T4]

  constructor(private readonly parts: CoreParts) {
    const { options } = parts.ctx;
    const doublings = parts.ctx.decide.requestTimeoutDoublingsMax();
    this.requestTimer = new Timeout('request', options.viewChangeTimeoutTicks, doublings);
    this.starvationTimer = new Timeout('starvation', STARVATION_FACTOR * options.viewChangeTimeoutTicks, doublings);
    this.resendTimer = new Timeout('view-change-resend', options.viewChangeResendTicks);
    this.newViewTimer = new Timeout('new-view', options.newViewTimeoutTicks, BACKOFF_DOUBLINGS_MAX);
  }

  get viewsInstalled(): number {
    return this.installed;
  }

  get earlyMessages(): { readonly count: number; readonly bytes: number } {
    return { count: this.early.count, bytes: this.early.bytes };
  }

  /** The window moved to (seq, seq + logWindow]: early messages below it will never be accepted [V9]. */
  windowMovedTo(seq: SeqNo): void {
    this.early.dropUpTo(seq);
  }

  /**
   * After a restart: the view this replica was in or changing to [D12]. A
   * replica that had voted for a view resends the same VIEW-CHANGE [T3];
   * the primary of its view resends its NEW-VIEW to whoever asks [V8].
   */
  restore(state: DurableState): void {
    const { ctx } = this.parts;
    ctx.view = state.view;
    ctx.viewActive = state.viewActive;
    const own = state.ownViewChange;
    if (!state.viewActive && own !== undefined) {
      this.viewChanges.set(ctx.id, own);
      ctx.send('others', own);
      this.resendTimer.restart(ctx.now);
    }
    if (state.viewActive && state.newView?.view === state.view) this.newViewSent = state.newView;
  }

  // --- timers [T2-T4] ---------------------------------------------------------

  /**
   * A batch was delivered: the view works [T2], and failed views no longer
   * count [T4]. `waited`: ticks its oldest request waited here, if any.
   * T2 shrinks a step when a request was ordered within a quarter of T2
   * (the network is that fast now: a silent primary later must not get the
   * long timeout), or after RELAX_AFTER_DELIVERIES deliveries; not at once
   * on any delivery: on a network slower than the base timeout one delivery
   * does not show the base is enough, and falling back to it would abandon
   * the next view before its first batch commits, again and again.
   */
  progressed(waited: number | undefined): void {
    this.lastProgress = this.parts.ctx.now;
    this.newViewTimer.resetBackoff();
    const quick = waited !== undefined && 4 * waited < this.requestTimer.ticks;
    if (quick || ++this.deliveredAtThisLength >= RELAX_AFTER_DELIVERIES) {
      this.deliveredAtThisLength = 0;
      this.requestTimer.relax();
      this.starvationTimer.relax();
    }
  }

  /** A fetched checkpoint was installed: requests wait from now [T2]. */
  caughtUp(): void {
    this.lastProgress = this.parts.ctx.now;
  }

  /**
   * [T2] The oldest pending request arrived at `oldest`: if it waited a
   * timeout since then or the last progress, or starved several timeouts
   * since the view began, suspect the primary. The primary times its own
   * requests too: if the backups it needs sit in other views with nothing
   * pending, no one else would ever start the change that reunites them.
   */
  suspectPrimaryIfLate(oldest: number): void {
    const { now, view } = this.parts.ctx;
    const waited = this.requestTimer.firedSince(Math.max(oldest, this.lastProgress, this.heldOffAt), now);
    const starved = this.starvationTimer.firedSince(Math.max(oldest, this.viewInstalledAt, this.heldOffAt), now);
    if (waited || starved) this.start(next(view));
  }

  /**
   * [S5] Catching up holds T1 and T2 off now. When it ends, the primary gets
   * a whole T2 from then: a request that waited here during a long transfer
   * says nothing about the primary before the log fetched at install has
   * arrived (an adversarial review: starvation fired on the tick after an
   * install and voted a correct primary out).
   */
  requestTimersHeldOff(): void {
    this.heldOffAt = this.parts.ctx.now;
  }

  /** While changing view: resend the own VIEW-CHANGE [T3]; give up on a view whose NEW-VIEW does not come [T4]. */
  onChangingTick(): void {
    const { ctx } = this.parts;
    if (this.resendTimer.fired(ctx.now)) {
      const own = this.viewChanges.get(ctx.id); // [T3] a lost VIEW-CHANGE must not stall the change
      if (own !== undefined) {
        ctx.send('others', own);
        this.resendTimer.restart(ctx.now);
      }
    }
    if (this.newViewTimer.fired(ctx.now)) {
      this.newViewTimer.backoff(); // [T4]
      this.start(next(ctx.view));
    }
  }

  // --- view change [V1-V8] ----------------------------------------------------

  /** Leaves the current view and votes for `v` with this replica's evidence [V1]. */
  start(v: View): void {
    const { ctx, log } = this.parts;
    assert(v > ctx.view, `view change from ${ctx.view} to ${v} must move forward`);
    ctx.view = v;
    this.early.clear();
    // [T2] The view this replica leaves did not work for it: give the next one longer (PBFT sec. 4.5.2).
    this.requestTimer.backoff();
    this.starvationTimer.backoff();
    this.deliveredAtThisLength = 0;
    ctx.viewActive = false;
    this.newViewTimer.stop();
    this.newViewSent = undefined;
    const body = { type: 'view-change', newView: v, replica: ctx.id, checkpoint: log.stable, prepared: log.preparedCertificates() } as const;
    const message: ViewChangeMessage = { ...body, signature: ctx.crypto.sign({ kind: 'view-change', message: body }) };
    this.viewChanges.set(ctx.id, message);
    ctx.persist({ kind: 'view-change', message }); // [D3]
    ctx.emit({ type: 'view-change-started', view: v });
    ctx.send('others', message);
    this.resendTimer.restart(ctx.now);
    this.afterVote();
  }

  onViewChange(from: ReplicaId, m: ViewChangeMessage): Rejection | undefined {
    const { ctx } = this.parts;
    if (m.replica !== from) return rejectPeer('view-change-not-from-sender');
    if (m.newView < ctx.view || (m.newView === ctx.view && ctx.viewActive)) {
      // A replica that missed this view's NEW-VIEW asks again with its vote [V8].
      if (m.newView === ctx.view && this.newViewSent !== undefined) ctx.send(from, this.newViewSent);
      return ignore('old-view');
    }
    const known = this.viewChanges.get(from);
    if (known !== undefined && known.newView >= m.newView) return ignore('duplicate');
    const invalid = checkViewChange(m, ctx.rules); // [V3-V4]
    if (invalid !== undefined) return invalid;
    if (!this.certifiedRequestsPass(m)) return rejectPeer('forged-request'); // [A7]
    this.viewChanges.set(from, m);
    this.afterVote();
    return undefined;
  }

  /** Join [V2], quorum timer [T4], and the new primary's NEW-VIEW [V5]. */
  private afterVote(): void {
    const { ctx, agreement } = this.parts;
    // V2: f + 1 replicas ahead of us prove at least one correct replica gave up on our view.
    const ahead = [...this.viewChanges.values()].filter((vc) => vc.replica !== ctx.id && vc.newView > ctx.view);
    if (ahead.length >= ctx.sizes.weak) {
      this.start(Math.min(...ahead.map((vc) => vc.newView)) as View);
      return;
    }
    if (ctx.viewActive) return;
    // T4 starts once a quorum has left the previous view, whichever later view each voted for:
    // otherwise replicas split between v and v + 1 could each wait for a quorum forever.
    const quorum = ctx.decide.viewChangeQuorum();
    let gaveUp = 0;
    for (const vc of this.viewChanges.values()) if (vc.newView >= ctx.view) gaveUp++;
    if (gaveUp >= quorum) this.newViewTimer.start(ctx.now);
    const chosen = chooseViewChanges(this.viewChanges, ctx.view, ctx.id, quorum);
    if (chosen === undefined) return;
    if (ctx.primaryOf(ctx.view) !== ctx.id || this.newViewSent !== undefined) return;
    const decision = ctx.decide.newViewDecision(chosen); // [V5]
    const prePrepares = decision.slots.map((slot) => agreement.signedPrePrepare(slot.seq, slot.digest, slot.requests));
    const message: NewViewMessage = { type: 'new-view', view: ctx.view, viewChanges: chosen, prePrepares };
    this.newViewSent = message;
    ctx.persist({ kind: 'new-view', message }); // [D4]
    ctx.send('others', message);
    this.install(decision, prePrepares);
  }

  onNewView(from: ReplicaId, m: NewViewMessage): Rejection | undefined {
    const { ctx } = this.parts;
    if (from !== ctx.primaryOf(m.view)) return rejectPeer('new-view-not-from-primary'); // [V6]
    if (m.view < ctx.view || (m.view === ctx.view && ctx.viewActive)) return ignore('old-view');
    const decision = this.checkNewView(m);
    if ('action' in decision) return decision;
    if (m.view !== ctx.view) this.early.clear();
    ctx.view = m.view;
    ctx.persist({ kind: 'view-installed', view: m.view }); // [D4]
    this.install(decision, m.prePrepares); // [V7]
    return undefined;
  }

  /**
   * A VIEW-CHANGE's prepared certificates prove their requests [A7]: true,
   * unless a mutant's rule checks their client signatures again.
   */
  private certifiedRequestsPass(vc: ViewChangeMessage): boolean {
    const { ctx } = this.parts;
    if (!ctx.decide.recheckCertifiedRequests()) return true;
    return vc.prepared.every((cert) => ctx.relayedAuthentic(cert.prePrepare.requests));
  }

  /** The decision a NEW-VIEW must carry, recomputed from its own evidence, or why it is refused [V6]. */
  private checkNewView(m: NewViewMessage): NewViewDecision | Rejection {
    const { ctx, log } = this.parts;
    const quorum = ctx.decide.viewChangeQuorum();
    const voters = new Set<ReplicaId>();
    for (const vc of m.viewChanges) {
      if (vc.newView !== m.view || voters.has(vc.replica)) return rejectPeer('new-view-bad-view-changes');
      voters.add(vc.replica);
      // Checked in full even if we hold a VIEW-CHANGE with the same signature: the body may differ.
      if (checkViewChange(vc, ctx.rules) !== undefined) return rejectPeer('new-view-bad-view-change');
      if (!this.certifiedRequestsPass(vc)) return rejectPeer('forged-request'); // [A7]
    }
    if (voters.size < quorum) return rejectPeer('new-view-without-quorum');
    const decision = ctx.decide.newViewDecision(m.viewChanges);
    if (decision.slots.length !== m.prePrepares.length) return rejectPeer('new-view-wrong-pre-prepares');
    for (let i = 0; i < decision.slots.length; i++) {
      const expected = decision.slots[i]!;
      const pp = m.prePrepares[i]!;
      if (pp.view !== m.view || pp.seq !== expected.seq || !bytesEqual(pp.digest, expected.digest)) return rejectPeer('new-view-wrong-pre-prepares');
      if (!bytesEqual(ctx.crypto.batchDigest(pp.requests), pp.digest)) return rejectPeer('new-view-wrong-pre-prepares');
      if (!ctx.crypto.verify(ctx.primaryOf(m.view), { kind: 'pre-prepare', view: pp.view, seq: pp.seq, digest: pp.digest }, pp.signature)) {
        return rejectPeer('new-view-bad-signature');
      }
    }
    // Nothing this replica delivered above the new view's checkpoint may be replaced or dropped.
    const proposed = new Map(decision.slots.map((slot) => [slot.seq, slot.digest]));
    for (const [s, delivered] of log.deliveredAbove(decision.checkpoint.seq)) {
      const digest = proposed.get(s);
      if (digest === undefined || delivered === undefined || !bytesEqual(digest, delivered.digest)) return rejectPeer('new-view-contradicts-delivered');
    }
    return decision;
  }

  /** Enters the view with the decided checkpoint and PRE-PREPAREs [V7]. */
  private install(decision: NewViewDecision, prePrepares: readonly PrePrepareMessage[]): void {
    const { ctx, log, pending, agreement, checkpoints } = this.parts;
    this.installed++;
    this.newViewTimer.stop();
    this.lastProgress = ctx.now;
    this.viewInstalledAt = ctx.now;
    for (const [replica, vc] of this.viewChanges) if (vc.newView <= ctx.view) this.viewChanges.delete(replica);
    if (decision.checkpoint.seq > log.stable.seq) checkpoints.adoptStable(decision.checkpoint);
    for (const slot of log.allSlots()) slot.enterView(undefined);
    pending.enterView(prePrepares.flatMap((pp) => pp.requests));
    ctx.viewActive = true;
    ctx.emit({ type: 'view-installed', view: ctx.view, primary: ctx.primaryOf(ctx.view) });
    for (const pp of prePrepares) {
      if (pp.seq > log.stable.seq) agreement.acceptPrePrepare(log.slotFor(pp.seq), pp);
    }
    const last = prePrepares.length > 0 ? (prePrepares[prePrepares.length - 1] as PrePrepareMessage).seq : log.stable.seq;
    agreement.proposeAfter(Math.max(last, log.lastDelivered, log.stable.seq) as SeqNo);
    this.replayEarly();
    agreement.propose();
  }

  // --- early messages [V9] ----------------------------------------------------

  /** Holds an agreement message of the view being installed until its NEW-VIEW arrives, if it may wait [V9]. */
  holdEarly(from: ReplicaId, message: AgreementMessage): Rejection | undefined {
    const { ctx, log, transfer } = this.parts;
    if (message.seq > log.high) transfer.sawAboveWindow(from, message.seq); // [S4 b], as in an active view
    const problem = ctx.decide.earlyMessageProblem(from, message, log);
    if (problem !== undefined) return problem;
    return this.early.hold(from, message) ? undefined : ignore('duplicate');
  }

  /** Agreement messages of the view that arrived before its NEW-VIEW, in arrival order. */
  private replayEarly(): void {
    const { ctx, agreement } = this.parts;
    for (const { from, message } of this.early.take()) {
      if (message.view !== ctx.view) continue;
      const rejection = agreement.onAgreementMessage(from, message);
      if (rejection !== undefined) ctx.reject({ replica: from }, message.type, rejection);
    }
  }
}
