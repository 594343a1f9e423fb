/**
 * The normal case (docs/PROTOCOL.md N1-N13, P1-P6): the primary proposes
 * batches, backups PREPARE them, everyone COMMITs, and a committed slot is
 * handed to execution. Also the retransmission of this replica's own votes
 * for slots that are stuck [R7, R8]. Pure, like the rest of the core.
 */
import { assertNever } from './assert.js';
import type { CoreParts } from './core-parts.js';
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type { CommitMessage, PrepareMessage, PrePrepareMessage, Request } from './messages.js';
import type { ProtocolOptions } from './options.js';
import { next, seqNo, type SeqNo, type View } from './ordering.js';
import { ignore, rejectPeer, type Rejection } from './rejection.js';
import type { Slot } from './slot.js';

export class Agreement {
  /** Next sequence number this replica proposes while primary. */
  private nextSeq: SeqNo = seqNo(1);
  /** The highest slot with a PRE-PREPARE seen waiting, and the delivery point, at the last retransmission round [R7]. */
  private waitingAtLastResend: SeqNo = seqNo(0);
  private deliveredAtLastResend: SeqNo = seqNo(0);

  constructor(private readonly parts: CoreParts) {}

  // --- proposal [P1-P6] ---------------------------------------------------

  /** Proposes batches of pending requests while this replica is primary and the pipeline and window allow. */
  propose(): void {
    const { ctx, log, pending } = this.parts;
    const { options } = ctx;
    while (
      ctx.isPrimary &&
      pending.hasUnproposed &&
      this.nextSeq - log.lastExecuted <= options.pipelineMax &&
      this.nextSeq <= log.high
    ) {
      const requests = pending.takeBatch(options.batchRequestsMax, options.batchBytesMax, (r) => this.proposable(r)); // [P4, A5]
      if (requests.length === 0) continue; // every request taken was forged and dropped
      const message = this.signedPrePrepare(this.nextSeq, ctx.crypto.batchDigest(requests), requests);
      ctx.persist({ kind: 'pre-prepare', message }); // [D1]
      ctx.send('others', message); // [P5]
      const slot = log.slotFor(message.seq);
      slot.prePrepare = message; // [P6]
      this.nextSeq = next(this.nextSeq);
      this.progress(message.seq, slot); // a one-replica group (f = 0) commits alone
    }
  }

  /**
   * Whether this replica may propose (as primary [A5]) or forward (as backup
   * [A9]) `request`: it checked the client's signature itself. A forged one
   * is reported against its claimed client.
   */
  proposable(request: Request): boolean {
    const { ctx } = this.parts;
    if (ctx.decide.mayPropose(request, ctx.auth)) return true;
    ctx.reject({ client: request.clientId }, 'request', rejectPeer('forged-request'));
    return false;
  }

  /** The primary of a new view proposes after `highest`, the last sequence number the view starts with [V7]. */
  proposeAfter(highest: SeqNo): void {
    this.nextSeq = next(highest);
  }

  /** The window moved to `stable`: never propose at or below it [C4]. */
  windowMovedTo(stable: SeqNo): void {
    if (this.nextSeq <= stable) this.nextSeq = next(stable);
  }

  signedPrePrepare(seq: SeqNo, digest: Digest, requests: readonly Request[]): PrePrepareMessage {
    const { ctx } = this.parts;
    const signature = ctx.crypto.sign({ kind: 'pre-prepare', view: ctx.view, seq, digest });
    return { type: 'pre-prepare', view: ctx.view, seq, digest, requests, signature };
  }

  // --- agreement [N1-N13] -------------------------------------------------

  onAgreementMessage(from: ReplicaId, m: PrePrepareMessage | PrepareMessage | CommitMessage): Rejection | undefined {
    switch (m.type) {
      case 'pre-prepare':
        return this.onPrePrepare(from, m);
      case 'prepare':
        return this.onPrepare(from, m);
      case 'commit':
        return this.onCommit(from, m);
      default:
        return assertNever(m, 'agreement message');
    }
  }

  /** Common view / window checks for agreement messages [N3, N9]; traffic above the window hints that this replica is behind [S4]. */
  private inWindow(from: ReplicaId, v: View, s: SeqNo): Rejection | undefined {
    const { ctx, log, transfer } = this.parts;
    // Evidence whatever the view: a replica alone in a later view must still learn that it fell behind.
    const above = s > log.high;
    if (above) transfer.sawAboveWindow(from, s);
    if (v < ctx.view) return ignore('old-view');
    if (v > ctx.view) return ignore('future-view');
    if (!ctx.viewActive) return ignore('view-changing');
    if (s <= log.stable.seq) return ignore('below-window');
    if (above) return ignore('above-window');
    return undefined;
  }

  private onPrePrepare(from: ReplicaId, m: PrePrepareMessage): Rejection | undefined {
    const { ctx, log } = this.parts;
    if (!ctx.decide.mayPrePrepare(from, m.view)) return rejectPeer('pre-prepare-not-from-primary'); // [N2]
    const outside = this.inWindow(from, m.view, m.seq); // [N3]
    if (outside !== undefined) return outside;
    const invalid = this.checkBatch(m);
    if (invalid !== undefined) return invalid;
    if (m.requests.length === 0) return rejectPeer('empty-batch'); // null requests only come in a NEW-VIEW
    const slot = log.slotFor(m.seq);
    if (slot.prePrepare !== undefined) {
      return bytesEqual(slot.prePrepare.digest, m.digest) ? ignore('duplicate') : rejectPeer('conflicting-pre-prepare'); // [N5]
    }
    this.acceptPrePrepare(slot, m); // [N6-N7]
    return undefined;
  }

  /** Limits, digest and signature of a PRE-PREPARE [N4], and its requests' authenticity [A6]. */
  private checkBatch(m: PrePrepareMessage): Rejection | undefined {
    const { ctx } = this.parts;
    const tooLarge = batchLimitProblem(m, ctx.options);
    if (tooLarge !== undefined) return tooLarge;
    if (!ctx.decide.digestMatches(m)) return rejectPeer('batch-digest-mismatch');
    const statement = { kind: 'pre-prepare', view: m.view, seq: m.seq, digest: m.digest } as const;
    if (!ctx.crypto.verify(ctx.primaryOf(m.view), statement, m.signature)) return rejectPeer('bad-signature');
    if (!ctx.relayedAuthentic(m.requests)) return rejectPeer('forged-request'); // [A6]
    return undefined;
  }

  /**
   * Takes back this replica's part of `slot` in the current view after a
   * restart [D12]: the PRE-PREPARE it sent or accepted, its PREPARE (signed
   * again: the same statement), and, if it sent a COMMIT in this view, the
   * certificate's votes and its COMMIT. Retransmission [R7] completes the slot.
   */
  restoreVotes(slot: Slot, pp: PrePrepareMessage): void {
    const { ctx } = this.parts;
    slot.prePrepare = pp;
    if (ctx.primaryOf(pp.view) !== ctx.id) {
      slot.prepares.add(ctx.id, pp.digest);
      slot.prepareSignatures.set(ctx.id, ctx.crypto.sign({ kind: 'prepare', view: pp.view, seq: pp.seq, digest: pp.digest }));
    }
    const cert = slot.certificate;
    if (cert === undefined || cert.prePrepare.view !== pp.view) return;
    for (const { replica, signature } of cert.prepares) {
      slot.prepares.add(replica, pp.digest);
      slot.prepareSignatures.set(replica, signature);
      slot.verifiedPrepares.add(replica);
    }
    slot.commitSent = true;
    slot.commits.add(ctx.id, pp.digest);
  }

  /** Takes `m` as the slot's PRE-PREPARE and, at a backup, PREPAREs it [N6-N7]. */
  acceptPrePrepare(slot: Slot, m: PrePrepareMessage): void {
    const { ctx } = this.parts;
    slot.prePrepare = m; // [N6]
    ctx.persist({ kind: 'pre-prepare', message: m }); // [D1]
    if (ctx.primaryOf(m.view) !== ctx.id) {
      const statement = { kind: 'prepare', view: m.view, seq: m.seq, digest: m.digest } as const;
      const prepare: PrepareMessage = { type: 'prepare', view: m.view, seq: m.seq, digest: m.digest, signature: ctx.crypto.sign(statement) };
      slot.prepares.add(ctx.id, m.digest); // [N7]
      slot.prepareSignatures.set(ctx.id, prepare.signature);
      ctx.send('others', prepare);
    }
    this.progress(m.seq, slot);
  }

  private onPrepare(from: ReplicaId, m: PrepareMessage): Rejection | undefined {
    const { ctx, log } = this.parts;
    if (from === ctx.primaryOf(m.view)) return rejectPeer('prepare-from-primary'); // [N9]
    const outside = this.inWindow(from, m.view, m.seq);
    if (outside !== undefined) return outside;
    const slot = log.slotFor(m.seq);
    const vote = ctx.decide.recordVote(slot.prepares, from, m.digest); // [N10]
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
    const { ctx } = this.parts;
    const pp = slot.prePrepare as PrePrepareMessage;
    const statement = { kind: 'prepare', view: pp.view, seq: pp.seq, digest: pp.digest } as const;
    for (const voter of slot.prepares.voters(pp.digest)) {
      if (voter === ctx.id || slot.verifiedPrepares.has(voter)) continue;
      const signature = slot.prepareSignatures.get(voter);
      if (signature !== undefined && ctx.crypto.verify(voter, statement, signature)) {
        slot.verifiedPrepares.add(voter);
      } else {
        slot.prepares.remove(voter);
        slot.prepareSignatures.delete(voter);
        ctx.reject({ replica: voter }, 'prepare', rejectPeer('bad-signature'));
      }
    }
  }

  private onCommit(from: ReplicaId, m: CommitMessage): Rejection | undefined {
    const { ctx, log } = this.parts;
    const outside = this.inWindow(from, m.view, m.seq); // [N12]
    if (outside !== undefined) return outside;
    const slot = log.slotFor(m.seq);
    const vote = ctx.decide.recordVote(slot.commits, from, m.digest);
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
    const { ctx } = this.parts;
    const helped = slot.helpedAt.get(from);
    if (slot.committed && (helped === undefined || ctx.now - helped >= ctx.options.viewChangeResendTicks)) {
      slot.helpedAt.set(from, ctx.now); // once per round, so two replicas never echo each other forever
      this.sendOwnVotes(slot, from);
    }
    return ignore('duplicate');
  }

  /** Advances slot `s` through prepared [N11] and committed-local [N13]. */
  private progress(s: SeqNo, slot: Slot): void {
    const { ctx, execution } = this.parts;
    const quorum = ctx.decide.quorum();
    if (!slot.commitSent && slot.isPrepared(quorum)) this.verifyPrepares(slot);
    if (!slot.commitSent && slot.isPrepared(quorum)) {
      const digest = (slot.prePrepare as PrePrepareMessage).digest;
      slot.commitSent = true;
      slot.certificate = slot.preparedCertificate(quorum);
      ctx.persist({ kind: 'prepared', view: ctx.view, seq: s, digest, prepares: slot.certificate.prepares }); // [D2]
      slot.commits.add(ctx.id, digest);
      const commit: CommitMessage = { type: 'commit', view: ctx.view, seq: s, digest };
      ctx.send('others', commit);
    }
    if (!slot.committed && slot.isCommitted(quorum)) {
      slot.committed = true;
      execution.deliver();
    }
  }

  // --- retransmission [R7, R8] ----------------------------------------------

  /**
   * This replica's PRE-PREPARE / PREPARE / COMMIT for undelivered slots, so
   * lost messages cannot stall the log while the network works [R7]. A
   * slot already resent waits base x 2^resends before the next (at most
   * voteResendDoublingsMax doublings): on a network slower than the period,
   * resends would otherwise overtake their own first copies, and each is
   * answered (R8).
   */
  resendVotes(): void {
    const { ctx, log, pending, transfer } = this.parts;
    // Everything waiting if nothing was delivered since the last round; otherwise only the slots
    // that were already waiting then (younger ones may simply be in flight).
    const stalled = log.lastDelivered === this.deliveredAtLastResend;
    this.deliveredAtLastResend = log.lastDelivered;
    // Stuck with work waiting: others may have delivered what this replica cannot complete [S13].
    // (A next slot with a PRE-PREPARE is completed by the retransmissions below.)
    const gap = log.get(next(log.lastDelivered))?.prePrepare === undefined;
    if (stalled && gap && (pending.size > 0 || log.hasSlotAbove(log.lastDelivered))) transfer.stalled();
    const window = log.lastDelivered + ctx.options.pipelineMax;
    const end = stalled ? window : Math.min(this.waitingAtLastResend, window);
    let highest = log.lastDelivered;
    for (let s = next(log.lastDelivered); s <= log.high; s = next(s)) {
      const slot = log.get(s);
      if (slot?.prePrepare === undefined) break;
      highest = s;
      if (s <= end && ctx.now >= slot.nextResendAt) {
        this.sendOwnVotes(slot, 'others');
        slot.resends++;
        slot.nextResendAt = ctx.now + ctx.options.viewChangeResendTicks * 2 ** Math.min(slot.resends, ctx.decide.voteResendDoublingsMax());
      }
    }
    this.waitingAtLastResend = highest;
  }

  /** This replica's part of `slot` in the current view: the PRE-PREPARE if primary, else its PREPARE; its COMMIT if sent. */
  private sendOwnVotes(slot: Slot, to: ReplicaId | 'others'): void {
    const { ctx } = this.parts;
    const pp = slot.prePrepare as PrePrepareMessage;
    if (ctx.primaryOf(pp.view) === ctx.id) {
      ctx.send(to, pp);
    } else {
      const signature = slot.prepareSignatures.get(ctx.id);
      if (signature !== undefined) ctx.send(to, { type: 'prepare', view: pp.view, seq: pp.seq, digest: pp.digest, signature });
    }
    if (slot.commitSent) ctx.send(to, { type: 'commit', view: pp.view, seq: pp.seq, digest: pp.digest });
  }
}

/** Whether a PRE-PREPARE's batch exceeds the limits [N4]. */
export function batchLimitProblem(m: PrePrepareMessage, options: ProtocolOptions): Rejection | undefined {
  if (m.requests.length > options.batchRequestsMax) return rejectPeer('batch-too-many-requests');
  if (operationBytes(m.requests) > options.batchBytesMax) return rejectPeer('batch-too-large');
  return undefined;
}

/** Operation bytes of a batch: what batchBytesMax bounds. */
export function operationBytes(requests: readonly Request[]): number {
  let bytes = 0;
  for (const r of requests) bytes += r.operation.length;
  return bytes;
}
