/**
 * Exactly-once bookkeeping: per client session, the last request number
 * ordered for execution, and the last request executed with its result
 * (PBFT sec. 4.1, "last reply sent to each client").
 *
 * Ordering decisions are made when a batch is delivered, in sequence order,
 * and results are recorded when it executes, also in order, so every correct
 * replica makes the same ones. The executed part as of a checkpoint's batch
 * is part of that checkpoint (docs/STATE-TRANSFER.md): a replica that
 * installs the checkpoint restores it.
 *
 * Bounds (docs/DESIGN.md, "Exactly-once"). A session is never forgotten: a
 * forgotten session's late retransmission would be new again and run a
 * second time. So once the table knows `clientSessionsMax` sessions, or
 * `clientSessionsPerKeyMax` of one client key, a request of a session of
 * that key it does not know is refused at delivery. Cached reply
 * bodies are bounded by `clientReplyCacheBytesMax`: past it, the least
 * recently executed sessions' bodies are dropped, in execution order and by
 * result sizes every correct replica shares, so all drop the same ones; the
 * entry says so (in a checkpoint image too) until the session's next request
 * executes.
 */
import { assert } from './assert.js';
import type { DecisionPoints } from './decision-points.js';
import type { ClientTableEntry } from './effects.js';
import { clientKeyOf, type ClientId } from './ids.js';
import type { ReplyMessage, Request } from './messages.js';
import type { ProtocolOptions } from './options.js';
import type { RequestNo, View } from './ordering.js';

/** What delivery does with a request [E2]: execute it, skip it (its number was ordered already), or refuse it (the table is full). */
export type Admission = 'new' | 'old' | 'refused';

export type ClientTableLimits = Pick<ProtocolOptions, 'clientSessionsMax' | 'clientSessionsPerKeyMax' | 'clientReplyCacheBytesMax'>;

const NO_RESULT = new Uint8Array(0);

/** The reply every correct replica sends for a request refused at delivery [E3]. */
export function refusedReply(request: Request, view: View): ReplyMessage {
  return { type: 'reply', view, clientId: request.clientId, requestNo: request.requestNo, status: 'refused', result: NO_RESULT };
}

/**
 * The reply every correct replica sends, on its own, for a request it never
 * orders because it breaks a limit they all apply alike [R4]: `reason` must
 * be the same bytes at each (it names the limit and the figures).
 */
export function rejectedReply(clientId: ClientId, requestNo: RequestNo, view: View, reason: string): ReplyMessage {
  return { type: 'reply', view, clientId, requestNo, status: 'rejected', result: UTF8.encode(reason) };
}

/** Why a request of `bytes` operation bytes is rejected [R4]. */
export function requestTooLarge(bytes: number, requestBytesMax: number): string {
  return `request-too-large: the operation has ${bytes} bytes, over requestBytesMax (${requestBytesMax})`;
}

const UTF8 = new TextEncoder();

export class ClientTable {
  /**
   * Last request number ordered per session: every session the table knows,
   * least recently ordered first (an order only a rule that evicts when the
   * table is full looks at; the real rule refuses).
   */
  private readonly ordered_ = new Map<ClientId, RequestNo>();
  /** Sessions of ordered_ per client key. */
  private readonly sessionsPerKey = new Map<number, number>();
  /** Last request executed per session, with its result; least recently executed first. */
  private readonly executed_ = new Map<ClientId, ClientTableEntry>();
  /** The entries of executed_ whose reply body is kept, in the same order: bodies are dropped from the front. */
  private readonly bodies = new Map<ClientId, ClientTableEntry>();
  private bodyBytes = 0;

  constructor(private readonly limits: ClientTableLimits) {
    assert(limits.clientSessionsMax > 0 && limits.clientReplyCacheBytesMax > 0, 'client table limits must be positive');
  }

  /** Whether `request` is numbered above its session's last ordered one (always, for a session the table does not know) [R2]. */
  isNew(request: Request): boolean {
    const last = this.ordered_.get(request.clientId);
    return last === undefined || request.requestNo > last;
  }

  /**
   * Decides what delivery does with `request` (called in delivery order)
   * and records a new one as its session's last ordered request [E2-E3]. A
   * session the table does not know is refused once the table knows
   * clientSessionsPerKeyMax sessions of its key, or clientSessionsMax in
   * all unless `rules` say to evict (a mutant's rule: it forgets the least
   * recently ordered session).
   */
  admit(request: Request, rules: Pick<DecisionPoints, 'sessionsFull' | 'keyQuotaApplies'>): Admission {
    const { clientId, requestNo } = request;
    const last = this.ordered_.get(clientId);
    if (last !== undefined) {
      if (requestNo <= last) return 'old';
      this.ordered_.delete(clientId); // set again below, as the most recently ordered
    } else {
      const ofKey = this.sessionsPerKey.get(clientKeyOf(clientId)) ?? 0;
      if (ofKey >= this.limits.clientSessionsPerKeyMax && rules.keyQuotaApplies()) return 'refused';
      if (this.ordered_.size >= this.limits.clientSessionsMax) {
        if (rules.sessionsFull() === 'refuse') return 'refused';
        const evicted = this.ordered_.keys().next().value as ClientId;
        this.ordered_.delete(evicted);
        this.countSession(evicted, -1);
      }
      this.countSession(clientId, +1);
    }
    this.ordered_.set(clientId, requestNo);
    return 'new';
  }

  /** Records the result of an executed request (called in execution order), dropping old bodies past the byte bound [E6]. */
  executed(clientId: ClientId, requestNo: RequestNo, result: Uint8Array, failed: boolean): void {
    const previous = this.executed_.get(clientId);
    if (previous !== undefined) {
      this.forget(previous);
    } else if (this.executed_.size >= this.limits.clientSessionsMax) {
      // Only under a rule that evicts when full: the real one never forgets
      // an ordered session, so executed_ never outgrows ordered_ nor the
      // bound. Forgotten in execution order, as ordering forgot one in
      // delivery order, so a checkpoint image stays within the bound.
      this.forget(this.executed_.values().next().value as ClientTableEntry);
    }
    const entry: ClientTableEntry = failed ? { clientId, requestNo, result, failed: true } : { clientId, requestNo, result };
    this.executed_.set(clientId, entry);
    this.bodies.set(clientId, entry);
    this.bodyBytes += result.length;
    for (const kept of this.bodies.values()) {
      if (this.bodyBytes <= this.limits.clientReplyCacheBytesMax) break;
      this.bodies.delete(kept.clientId);
      this.bodyBytes -= kept.result.length;
      // Map.set on a present key keeps its place: the entry stays where its execution put it.
      const dropped: ClientTableEntry = { clientId: kept.clientId, requestNo: kept.requestNo, result: NO_RESULT, replyDropped: true };
      this.executed_.set(kept.clientId, kept.failed === true ? { ...dropped, failed: true } : dropped);
    }
  }

  /**
   * The reply for exactly (clientId, requestNo) if it was the session's last
   * executed request and its body is kept, stamped with `view` [R3]. A
   * dropped body gets none, never an empty or a wrong one (every correct
   * replica dropped it: its client had its replies before
   * clientReplyCacheBytesMax of other sessions' replies were cached, or
   * retransmits unanswered).
   */
  cachedReply(clientId: ClientId, requestNo: RequestNo, view: View): ReplyMessage | undefined {
    const entry = this.bodies.get(clientId);
    if (entry === undefined || entry.requestNo !== requestNo) return undefined;
    const reply: ReplyMessage = { type: 'reply', view, clientId, requestNo, result: entry.result };
    return entry.failed === true ? { ...reply, status: 'failed' } : reply;
  }

  /** The executed part, least recently executed first: what a checkpoint keeps [S1]. */
  entries(): ClientTableEntry[] {
    return [...this.executed_.values()];
  }

  /**
   * Replaces both parts with a checkpoint's table: nothing after it has been
   * delivered here [S12]. Its bodies fit the byte bound (the image decoder
   * checks), and its order is the one every other replica has.
   */
  restore(entries: readonly ClientTableEntry[]): void {
    this.ordered_.clear();
    this.sessionsPerKey.clear();
    this.executed_.clear();
    this.bodies.clear();
    this.bodyBytes = 0;
    for (const entry of entries) {
      this.ordered_.set(entry.clientId, entry.requestNo);
      this.countSession(entry.clientId, +1);
      this.executed_.set(entry.clientId, entry);
      if (entry.replyDropped === true) continue;
      this.bodies.set(entry.clientId, entry);
      this.bodyBytes += entry.result.length;
    }
  }

  /** Sessions the table knows. */
  get size(): number {
    return this.ordered_.size;
  }

  /** Bytes of the reply bodies kept, at most clientReplyCacheBytesMax. */
  get replyBytes(): number {
    return this.bodyBytes;
  }

  private countSession(clientId: ClientId, change: 1 | -1): void {
    const key = clientKeyOf(clientId);
    const count = (this.sessionsPerKey.get(key) ?? 0) + change;
    if (count === 0) this.sessionsPerKey.delete(key);
    else this.sessionsPerKey.set(key, count);
  }

  private forget(entry: ClientTableEntry): void {
    this.executed_.delete(entry.clientId);
    if (this.bodies.delete(entry.clientId)) this.bodyBytes -= entry.result.length;
  }
}
