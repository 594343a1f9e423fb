/**
 * What a replica promises and must remember across a crash
 * (docs/DURABILITY.md D1-D8): the records of its `persist` effects, and
 * {@link DurableState}, the fold that turns a journal of them back into
 * what the core restores [D9]. Pure, like the rest of the core: the
 * runtime and the simulator store the records, and both recover through
 * this one fold, so a seed that loses a journal's tail replays exactly.
 */
import { assert } from './assert.js';
import { bytesEqual, type Digest } from './ids.js';
import type {
  CheckpointCertificate,
  CheckpointMessage,
  NewViewMessage,
  PreparedCertificate,
  PrePrepareMessage,
  Request,
  SignedBy,
  ViewChangeMessage,
} from './messages.js';
import { view as toView, type SeqNo, type View } from './ordering.js';
import { GENESIS_CHECKPOINT } from './view-change.js';

/** [D1] The PRE-PREPARE this replica sent (as primary) or accepted and PREPAREd (as backup) at (view, seq). */
export interface PrePrepareRecord {
  readonly kind: 'pre-prepare';
  readonly message: PrePrepareMessage;
}

/** [D2] Prepared at (view, seq, digest) with these PREPAREs: written before this replica's COMMIT. */
export interface PreparedRecord {
  readonly kind: 'prepared';
  readonly view: View;
  readonly seq: SeqNo;
  readonly digest: Digest;
  readonly prepares: readonly SignedBy[];
}

/** [D3] This replica left its view and voted for `message.newView`: written before its VIEW-CHANGE. */
export interface ViewChangeRecord {
  readonly kind: 'view-change';
  readonly message: ViewChangeMessage;
}

/** [D4] This replica, primary of `message.view`, sent this NEW-VIEW and installed the view. */
export interface NewViewRecord {
  readonly kind: 'new-view';
  readonly message: NewViewMessage;
}

/** [D4] This replica installed `view` from its primary's NEW-VIEW. */
export interface ViewInstalledRecord {
  readonly kind: 'view-installed';
  readonly view: View;
}

/** [D5] This replica signed its state digest after batch `seq`: written before its CHECKPOINT. */
export interface CheckpointRecord {
  readonly kind: 'checkpoint';
  readonly message: CheckpointMessage;
}

/** [D6] Checkpoint `certificate.seq` is stable: everything at or below it may be forgotten. */
export interface StableRecord {
  readonly kind: 'stable';
  readonly certificate: CheckpointCertificate;
}

/**
 * [D7] Batch `seq` with `digest` was decided and delivered here. `requests`
 * only when the batch was proven by others' LOG-ENTRIES [S15]: otherwise the
 * slot's PRE-PREPARE record holds them. Binds nothing, so nothing waits for it.
 */
export interface DeliveredRecord {
  readonly kind: 'delivered';
  readonly seq: SeqNo;
  readonly digest: Digest;
  readonly requests?: readonly Request[];
}

export type DurableRecord =
  | PrePrepareRecord
  | PreparedRecord
  | ViewChangeRecord
  | NewViewRecord
  | ViewInstalledRecord
  | CheckpointRecord
  | StableRecord
  | DeliveredRecord;

/** What the journal remembers of one sequence number above the stable checkpoint. */
export interface DurableSlot {
  /** The PRE-PREPARE of the latest view this replica took one in. */
  readonly prePrepare: PrePrepareMessage | undefined;
  /** Prepared certificate of the highest view this replica sent a COMMIT in. */
  readonly certificate: PreparedCertificate | undefined;
  /** The batch delivered here. */
  readonly delivered: { readonly digest: Digest; readonly requests: readonly Request[] } | undefined;
}

interface MutableSlot {
  prePrepare: PrePrepareMessage | undefined;
  certificate: PreparedCertificate | undefined;
  delivered: { readonly digest: Digest; readonly requests: readonly Request[] } | undefined;
  /** `delivered` came with its requests (proven), not from a PRE-PREPARE of this slot. */
  deliveredProven: boolean;
}

/**
 * The fold of a journal [D9]: applying its records in order gives the
 * state a replica restores; {@link records} gives a shorter journal that
 * folds to the same state (compaction at stable checkpoints [D8]).
 */
export class DurableState {
  private view_: View = toView(0);
  private viewActive_ = true;
  private ownViewChange_: ViewChangeMessage | undefined;
  private newView_: NewViewMessage | undefined;
  private stable_: CheckpointCertificate = GENESIS_CHECKPOINT;
  private readonly ownCheckpoints_ = new Map<SeqNo, CheckpointMessage>();
  private readonly slots_ = new Map<SeqNo, MutableSlot>();

  /** The view this replica is in or changing to. */
  get view(): View {
    return this.view_;
  }

  /** False between voting for `view` and installing it. */
  get viewActive(): boolean {
    return this.viewActive_;
  }

  /** This replica's VIEW-CHANGE for `view`, while changing to it. */
  get ownViewChange(): ViewChangeMessage | undefined {
    return this.ownViewChange_;
  }

  /** The NEW-VIEW this replica sent as primary of `view`, while in it. */
  get newView(): NewViewMessage | undefined {
    return this.newView_;
  }

  get stable(): CheckpointCertificate {
    return this.stable_;
  }

  /** This replica's CHECKPOINTs above the stable checkpoint. */
  get ownCheckpoints(): ReadonlyMap<SeqNo, CheckpointMessage> {
    return this.ownCheckpoints_;
  }

  /** Slots above the stable checkpoint, in increasing sequence order. */
  slots(): [SeqNo, DurableSlot][] {
    return [...this.slots_.entries()].sort(([a], [b]) => a - b);
  }

  /** Whether no record was ever applied that changed the initial state. */
  get empty(): boolean {
    return this.view_ === 0 && this.stable_.seq === 0 && this.slots_.size === 0 && this.ownCheckpoints_.size === 0;
  }

  /** Applies one record [D9]. Records below the stable checkpoint change nothing. */
  apply(record: DurableRecord): void {
    switch (record.kind) {
      case 'pre-prepare': {
        const slot = this.slot(record.message.seq);
        if (slot === undefined) return;
        if (slot.prePrepare === undefined || record.message.view >= slot.prePrepare.view) slot.prePrepare = record.message;
        return;
      }
      case 'prepared': {
        const slot = this.slot(record.seq);
        if (slot === undefined) return;
        const pp = slot.prePrepare;
        assert(
          pp !== undefined && pp.view === record.view && bytesEqual(pp.digest, record.digest),
          `journal: prepared record for (${record.view}, ${record.seq}) without its PRE-PREPARE`,
        );
        if (slot.certificate === undefined || record.view >= slot.certificate.prePrepare.view) {
          slot.certificate = { prePrepare: pp, prepares: record.prepares };
        }
        return;
      }
      case 'view-change':
        this.moveTo(record.message.newView, false);
        this.ownViewChange_ = record.message;
        return;
      case 'new-view':
        this.moveTo(record.message.view, true);
        this.newView_ = record.message;
        // Its PRE-PREPAREs are this primary's proposals in the view, even if their own records were lost
        // in the same torn group (simulator seed 8631): it must never propose another batch at their seqs.
        for (const pp of record.message.prePrepares) this.apply({ kind: 'pre-prepare', message: pp });
        return;
      case 'view-installed':
        this.moveTo(record.view, true);
        return;
      case 'checkpoint':
        if (record.message.seq > this.stable_.seq) this.ownCheckpoints_.set(record.message.seq, record.message);
        return;
      case 'stable':
        this.adoptStable(record.certificate);
        return;
      case 'delivered': {
        const slot = this.slot(record.seq);
        if (slot === undefined) return;
        if (record.requests !== undefined) {
          slot.delivered = { digest: record.digest, requests: record.requests };
          slot.deliveredProven = true;
          return;
        }
        const from = [slot.prePrepare, slot.certificate?.prePrepare].find((pp) => pp !== undefined && bytesEqual(pp.digest, record.digest));
        assert(from !== undefined, `journal: batch ${record.seq} delivered without its PRE-PREPARE`);
        slot.delivered = { digest: from.digest, requests: from.requests };
        slot.deliveredProven = false;
        return;
      }
      default: {
        const unknown: never = record;
        assert(false, `journal: unknown record ${(unknown as { kind: string }).kind}`);
      }
    }
  }

  /**
   * Records that fold to this state [D8]: the stable certificate, own
   * CHECKPOINTs, each slot's PRE-PREPAREs, certificate and delivery, then
   * the view (last: a NEW-VIEW's PRE-PREPAREs would otherwise take the
   * slots before an older view's certificate is folded). A journal rotated
   * at a stable checkpoint starts with these.
   */
  records(): DurableRecord[] {
    const out: DurableRecord[] = [];
    if (this.stable_.seq > 0) out.push({ kind: 'stable', certificate: this.stable_ });
    for (const message of this.ownCheckpoints_.values()) out.push({ kind: 'checkpoint', message });
    for (const [seq, slot] of this.slots()) {
      const cert = slot.certificate;
      if (cert !== undefined) {
        const { view, digest } = cert.prePrepare;
        out.push({ kind: 'pre-prepare', message: cert.prePrepare }, { kind: 'prepared', view, seq, digest, prepares: cert.prepares });
      }
      if (slot.prePrepare !== undefined && slot.prePrepare !== cert?.prePrepare) out.push({ kind: 'pre-prepare', message: slot.prePrepare });
      const delivered = (this.slots_.get(seq) as MutableSlot).deliveredProven;
      if (slot.delivered !== undefined) {
        out.push(
          delivered
            ? { kind: 'delivered', seq, digest: slot.delivered.digest, requests: slot.delivered.requests }
            : { kind: 'delivered', seq, digest: slot.delivered.digest },
        );
      }
    }
    if (this.ownViewChange_ !== undefined && !this.viewActive_) out.push({ kind: 'view-change', message: this.ownViewChange_ });
    else if (this.newView_ !== undefined) out.push({ kind: 'new-view', message: this.newView_ });
    else if (this.view_ > 0) out.push({ kind: 'view-installed', view: this.view_ });
    return out;
  }

  private moveTo(v: View, active: boolean): void {
    // Views never go back in a replica's own journal; the same view may go from changing to installed.
    assert(v > this.view_ || (v === this.view_ && (active || !this.viewActive_)), `journal: view ${v} after ${this.view_}`);
    if (v > this.view_) this.newView_ = undefined;
    this.view_ = v;
    this.viewActive_ = active;
    if (active) this.ownViewChange_ = undefined;
  }

  private adoptStable(cert: CheckpointCertificate): void {
    if (cert.seq <= this.stable_.seq) return;
    this.stable_ = cert;
    for (const s of this.slots_.keys()) if (s <= cert.seq) this.slots_.delete(s);
    for (const s of this.ownCheckpoints_.keys()) if (s <= cert.seq) this.ownCheckpoints_.delete(s);
  }

  /** The slot of `s`, created if new; undefined at or below the stable checkpoint. */
  private slot(s: SeqNo): MutableSlot | undefined {
    if (s <= this.stable_.seq) return undefined;
    let slot = this.slots_.get(s);
    if (slot === undefined) {
      slot = { prePrepare: undefined, certificate: undefined, delivered: undefined, deliveredProven: false };
      this.slots_.set(s, slot);
    }
    return slot;
  }
}
