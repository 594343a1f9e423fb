/**
 * A replica that lost its data directory rejoins without voting
 * (docs/DURABILITY.md D15): it does not know what it promised before the
 * loss, so it sends nothing that binds it — no PRE-PREPARE, PREPARE,
 * COMMIT, VIEW-CHANGE, NEW-VIEW or CHECKPOINT — until every sequence number
 * it could have voted on lies below its stable checkpoint. It still
 * fetches state, executes, answers clients and serves others. Pure.
 */
import type { ReplicaMessage } from './messages.js';
import type { SeqNo } from './ordering.js';

const BINDING = new Set<ReplicaMessage['type']>(['pre-prepare', 'prepare', 'commit', 'view-change', 'new-view', 'checkpoint']);

export class RejoinGate {
  /** The stable checkpoint from which it votes again: the first one it learns, plus the log window. */
  private votesFrom: SeqNo | undefined;
  private voting_ = false;

  constructor(private readonly logWindow: number) {}

  /** Whether it votes again. */
  get voting(): boolean {
    return this.voting_;
  }

  /**
   * A checkpoint became stable here [D15]. The first one it learns (fetched
   * or certified by a quorum) is at or above the one it had before the loss
   * when the replicas that certified that one are among those it heard;
   * everything it could have voted on then lay at most a log window above.
   */
  stableAt(seq: SeqNo): void {
    this.votesFrom ??= (seq + this.logWindow) as SeqNo;
    if (seq >= this.votesFrom) this.voting_ = true;
  }

  /** Whether `message` may not go out yet. */
  mutes(message: ReplicaMessage): boolean {
    return !this.voting_ && BINDING.has(message.type);
  }
}
