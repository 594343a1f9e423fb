/**
 * Agreement messages for the view a replica is changing to, received before
 * that view's NEW-VIEW [V9] (messages are reordered: a new primary's first
 * PRE-PREPAREs can overtake its NEW-VIEW). They are replayed, in arrival
 * order, once the view is installed.
 *
 * What may wait here is checked first (DecisionPoints.earlyMessageProblem:
 * the sender may send it in that view, and its sequence number is in the
 * window) and kept once per sender, type and sequence number. So the buffer
 * holds at most one PRE-PREPARE per slot of the window, all from the view's
 * primary (at most logWindow x batchBytesMax operation bytes), and one
 * PREPARE and one COMMIT per slot and other replica: bounded by the window
 * like the log itself, whatever a Byzantine replica sends. When the window
 * moves (a checkpoint becomes stable while the view changes), what falls
 * below it is dropped, so the bound holds for the current window.
 */
import type { ReplicaId } from './ids.js';
import type { CommitMessage, PrepareMessage, PrePrepareMessage } from './messages.js';
import { operationBytes } from './agreement.js';

export type AgreementMessage = PrePrepareMessage | PrepareMessage | CommitMessage;

export class EarlyMessages {
  /** Keyed by sender, type and sequence number; Map order is arrival order. */
  private held = new Map<string, { readonly from: ReplicaId; readonly message: AgreementMessage }>();
  private bytes_ = 0;

  /** Keeps `message` unless the sender already has one of its type for its sequence number; false then. */
  hold(from: ReplicaId, message: AgreementMessage): boolean {
    const key = `${from}:${message.type}:${message.seq}`;
    if (this.held.has(key)) return false;
    this.held.set(key, { from, message });
    if (message.type === 'pre-prepare') this.bytes_ += operationBytes(message.requests);
    return true;
  }

  /** Everything held, in arrival order; the buffer is empty afterwards. */
  take(): { readonly from: ReplicaId; readonly message: AgreementMessage }[] {
    const out = [...this.held.values()];
    this.clear();
    return out;
  }

  /** Forgets what is at or below `seq`: the window moved past it (a checkpoint became stable meanwhile). */
  dropUpTo(seq: number): void {
    for (const [key, { message }] of this.held) {
      if (message.seq > seq) continue;
      this.held.delete(key);
      if (message.type === 'pre-prepare') this.bytes_ -= operationBytes(message.requests);
    }
  }

  clear(): void {
    this.held = new Map();
    this.bytes_ = 0;
  }

  get count(): number {
    return this.held.size;
  }

  /** Operation bytes of the PRE-PREPAREs held. */
  get bytes(): number {
    return this.bytes_;
  }
}
