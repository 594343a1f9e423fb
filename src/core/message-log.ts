/**
 * The message log (docs/PROTOCOL.md "The log"): the slots of the window
 * above the stable checkpoint, the delivery and execution points, and
 * garbage collection when the stable checkpoint moves. It holds what a
 * replica must remember about each sequence number; the agreement and the
 * view change decide what goes into it.
 *
 * Invariants, checked by always-on assertions where they are established:
 * - lastExecuted <= lastDelivered (the stable checkpoint may be above both
 *   when this replica fell behind; state transfer then brings them up);
 * - delivery never goes backwards, and batches execute strictly in sequence
 *   order;
 * - every slot is above the stable checkpoint: nothing below it is kept.
 */
import { assert } from './assert.js';
import type { CheckpointCertificate, LoggedBatch, PreparedCertificate, Request } from './messages.js';
import { next, type SeqNo } from './ordering.js';
import { Slot } from './slot.js';
import { GENESIS_CHECKPOINT } from './view-change.js';

/** A batch as delivered: from a PRE-PREPARE committed here, or proven by f + 1 LOG-ENTRIES. */
export type DecidedBatch = NonNullable<Slot['deliveredBatch']>;

export class MessageLog {
  /** The latest stable checkpoint: the low watermark. */
  private stable_: CheckpointCertificate = GENESIS_CHECKPOINT;
  private lastDelivered_: SeqNo = 0 as SeqNo;
  private lastExecuted_: SeqNo = 0 as SeqNo;
  private readonly slots = new Map<SeqNo, Slot>();
  /** Requests of delivered, not yet executed batches, to match results to clients. */
  private readonly executing = new Map<SeqNo, readonly Request[]>();

  /** `window`: sequence numbers above the stable checkpoint the log holds (logWindow). */
  constructor(private readonly window: number) {
    assert(Number.isSafeInteger(window) && window > 0, `log window ${window} must be a positive integer`);
  }

  get stable(): CheckpointCertificate {
    return this.stable_;
  }

  get lastDelivered(): SeqNo {
    return this.lastDelivered_;
  }

  get lastExecuted(): SeqNo {
    return this.lastExecuted_;
  }

  /** The highest sequence number the window admits (the high watermark). */
  get high(): SeqNo {
    return (this.stable_.seq + this.window) as SeqNo;
  }

  /** Batches handed to the executor and not yet executed. */
  get executingCount(): number {
    return this.executing.size;
  }

  get size(): number {
    return this.slots.size;
  }

  get(s: SeqNo): Slot | undefined {
    return this.slots.get(s);
  }

  /** The slot of `s`, created if new (callers check the window first). */
  slotFor(s: SeqNo): Slot {
    let slot = this.slots.get(s);
    if (slot === undefined) {
      slot = new Slot();
      this.slots.set(s, slot);
    }
    return slot;
  }

  hasSlotAbove(s: SeqNo): boolean {
    for (const seq of this.slots.keys()) if (seq > s) return true;
    return false;
  }

  /** Every slot, for a new view to reset their votes [V7]. */
  allSlots(): IterableIterator<Slot> {
    return this.slots.values();
  }

  /** Prepared certificates above the stable checkpoint, by sequence number: a VIEW-CHANGE's P [V1]. */
  preparedCertificates(): PreparedCertificate[] {
    const seqs = [...this.slots.keys()].filter((s) => s > this.stable_.seq).sort((a, b) => a - b);
    const prepared: PreparedCertificate[] = [];
    for (const s of seqs) {
      const cert = (this.slots.get(s) as Slot).certificate;
      if (cert !== undefined) prepared.push(cert);
    }
    return prepared;
  }

  /** Delivered batches above `seq`, with their sequence numbers (a NEW-VIEW must not contradict them) [V6]. */
  *deliveredAbove(seq: SeqNo): Iterable<[SeqNo, DecidedBatch | undefined]> {
    for (const [s, slot] of this.slots) if (slot.delivered && s > seq) yield [s, slot.deliveredBatch];
  }

  /** Delivered batches after `after`, at most `max`, to answer a LOG-REQUEST [S14]. */
  deliveredAfter(after: SeqNo, max: number): LoggedBatch[] {
    const out: LoggedBatch[] = [];
    const from = Math.max(after, this.stable_.seq) as SeqNo;
    // `after` is a peer's: at or above what was delivered there is nothing, and next() of 2^53 - 1 would overflow.
    if (from >= this.lastDelivered_) return out;
    for (let s = next(from); s <= this.lastDelivered_ && out.length < max; s = next(s)) {
      const batch = this.slots.get(s)?.deliveredBatch;
      if (batch === undefined) break;
      out.push({ seq: s, requests: batch.requests });
    }
    return out;
  }

  /**
   * Records the delivery of `s` and the requests that will execute [E1-E4].
   * Which `s` is next is the delivery rule's decision (E1, a mutant's target);
   * the log only refuses to go backwards.
   */
  delivered(s: SeqNo, batch: DecidedBatch, fresh: readonly Request[]): void {
    assert(s > this.lastDelivered_, `delivered ${s} after ${this.lastDelivered_}`);
    const slot = this.slots.get(s);
    assert(slot !== undefined && !slot.delivered, `slot ${s} delivered twice or without a slot`);
    slot.deliveredBatch = batch;
    slot.delivered = true;
    this.executing.set(s, fresh);
    this.lastDelivered_ = s;
  }

  /** Records the execution of `s`, strictly the next one; returns the requests it ran [E5]. */
  executed(s: SeqNo, results: number): readonly Request[] {
    assert(s === next(this.lastExecuted_), `executed ${s} out of order after ${this.lastExecuted_}`);
    const requests = this.executing.get(s);
    assert(requests !== undefined && requests.length === results, `results of batch ${s} do not match it`);
    this.executing.delete(s);
    this.lastExecuted_ = s;
    return requests;
  }

  /** Moves the low watermark to `cert` and drops every slot at or below it [C4]; false if not newer. */
  advanceStable(cert: CheckpointCertificate): boolean {
    if (cert.seq <= this.stable_.seq) return false;
    this.stable_ = cert;
    for (const s of this.slots.keys()) if (s <= cert.seq) this.slots.delete(s);
    return true;
  }

  /** The state of checkpoint `s` was installed: delivery and execution resume after it [S12]. */
  restartAfter(s: SeqNo): void {
    assert(this.executing.size === 0, `checkpoint ${s} installed with batches executing`);
    this.lastDelivered_ = s;
    this.lastExecuted_ = s;
    for (const [seq, slot] of this.slots) {
      if (seq <= s) {
        this.slots.delete(seq);
      } else if (slot.delivered) {
        // A repair [S16]: this replica delivered past s from a diverged state; the log's order was
        // agreed, so its batches run again on the certified image, in order.
        slot.delivered = false;
        slot.proven ??= slot.deliveredBatch;
      }
    }
  }
}
