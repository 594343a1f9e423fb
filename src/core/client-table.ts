/**
 * Exactly-once bookkeeping: per client session, the last request number
 * ordered for execution and the reply to it once executed (PBFT sec. 4.1,
 * "last reply sent to each client").
 *
 * Decisions are made when a batch is delivered, in sequence order, so every
 * correct replica makes the same ones. The table holds at most
 * `clientSessionsMax` sessions; the least recently ordered one is evicted,
 * which is deterministic for the same reason.
 */
import { assert } from './assert.js';
import type { ClientId } from './ids.js';
import type { ReplyMessage, Request } from './messages.js';
import type { RequestNo } from './ordering.js';

interface Session {
  lastRequestNo: RequestNo;
  /** Reply to lastRequestNo; undefined while it is still executing. */
  reply: ReplyMessage | undefined;
}

export class ClientTable {
  /** Insertion order = order of last delivery, so the first key is the LRU one. */
  private readonly sessions = new Map<ClientId, Session>();

  constructor(private readonly sessionsMax: number) {
    assert(sessionsMax > 0, 'clientSessionsMax must be positive');
  }

  /** Whether `request` is new, i.e. must be executed when ordered. */
  isNew(request: Request): boolean {
    const session = this.sessions.get(request.clientId);
    return session === undefined || request.requestNo > session.lastRequestNo;
  }

  /** Records that `request` was ordered for execution (called in delivery order). */
  ordered(request: Request): void {
    assert(this.isNew(request), 'ordered a request that is not new');
    this.sessions.delete(request.clientId);
    this.sessions.set(request.clientId, { lastRequestNo: request.requestNo, reply: undefined });
    if (this.sessions.size > this.sessionsMax) {
      const oldest = this.sessions.keys().next().value as ClientId;
      this.sessions.delete(oldest);
    }
  }

  /** Stores the reply of an executed request, if its session is still current. */
  executed(reply: ReplyMessage): void {
    const session = this.sessions.get(reply.clientId);
    if (session !== undefined && session.lastRequestNo === reply.requestNo) session.reply = reply;
  }

  /** The cached reply for exactly (clientId, requestNo), if executed. */
  cachedReply(clientId: ClientId, requestNo: RequestNo): ReplyMessage | undefined {
    const session = this.sessions.get(clientId);
    return session !== undefined && session.lastRequestNo === requestNo ? session.reply : undefined;
  }

  get size(): number {
    return this.sessions.size;
  }
}
