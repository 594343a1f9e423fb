/**
 * Exactly-once bookkeeping: per client session, the last request number
 * ordered for execution, and the last request executed with its result
 * (PBFT sec. 4.1, "last reply sent to each client").
 *
 * Ordering decisions are made when a batch is delivered, in sequence order,
 * and results are recorded when it executes, also in order, so every correct
 * replica makes the same ones. The executed part as of a checkpoint's batch
 * is part of that checkpoint (docs/STATE-TRANSFER.md): a replica that
 * installs the checkpoint restores it. Each part holds at most
 * `clientSessionsMax` sessions and evicts the least recently used one, which
 * is deterministic for the same reason.
 */
import { assert } from './assert.js';
import type { ClientTableEntry } from './effects.js';
import type { ClientId } from './ids.js';
import type { ReplyMessage, Request } from './messages.js';
import type { RequestNo, View } from './ordering.js';

export class ClientTable {
  /** Last request number ordered per session; insertion order = delivery order, so the first key is the LRU one. */
  private readonly ordered_ = new Map<ClientId, RequestNo>();
  /** Last request executed per session, with its result; insertion order = execution order. */
  private readonly executed_ = new Map<ClientId, ClientTableEntry>();

  constructor(private readonly sessionsMax: number) {
    assert(sessionsMax > 0, 'clientSessionsMax must be positive');
  }

  /** Whether `request` is new, i.e. must be executed when ordered. */
  isNew(request: Request): boolean {
    const last = this.ordered_.get(request.clientId);
    return last === undefined || request.requestNo > last;
  }

  /** Records that `request` was ordered for execution (called in delivery order). */
  ordered(request: Request): void {
    assert(this.isNew(request), 'ordered a request that is not new');
    touch(this.ordered_, request.clientId, request.requestNo, this.sessionsMax);
  }

  /** Records the result of an executed request (called in execution order). */
  executed(clientId: ClientId, requestNo: RequestNo, result: Uint8Array): void {
    touch(this.executed_, clientId, { clientId, requestNo, result }, this.sessionsMax);
  }

  /** The reply for exactly (clientId, requestNo) if it was the session's last executed request, stamped with `view`. */
  cachedReply(clientId: ClientId, requestNo: RequestNo, view: View): ReplyMessage | undefined {
    const entry = this.executed_.get(clientId);
    if (entry === undefined || entry.requestNo !== requestNo) return undefined;
    return { type: 'reply', view, clientId, requestNo, result: entry.result };
  }

  /** The executed part, least recently used first: what a checkpoint keeps [S1]. */
  entries(): ClientTableEntry[] {
    return [...this.executed_.values()];
  }

  /** Replaces both parts with a checkpoint's table: nothing after it has been delivered here [S12]. */
  restore(entries: readonly ClientTableEntry[]): void {
    this.ordered_.clear();
    this.executed_.clear();
    for (const entry of entries) {
      touch(this.ordered_, entry.clientId, entry.requestNo, this.sessionsMax);
      touch(this.executed_, entry.clientId, entry, this.sessionsMax);
    }
  }

  get size(): number {
    return this.ordered_.size;
  }
}

/** Sets `key` as the most recently used entry of `map`, evicting the least recently used one past `max`. */
function touch<V>(map: Map<ClientId, V>, key: ClientId, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as ClientId);
}
