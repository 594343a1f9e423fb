/**
 * The chaos runner's steady load: closed-loop sessions on the key-value
 * service that keep a ledger of every acknowledged write, so the end of the
 * run can check that none of them is missing from the replicated state.
 *
 * Session s owns the keys `c{s}-k{j}` (j < keysPerSession) and no one else
 * writes them. Its w-th put writes value `c{s}-w{w}` to key `c{s}-k{w mod
 * keysPerSession}`, so the values of a key only grow and a lost write shows
 * up as a stale (older) value at the end. Reusing keys keeps the store far
 * below KV_ENTRIES_MAX however long the run. Every fourth operation reads the
 * key written just before and must see exactly that value.
 */
import { performance } from 'node:perf_hooks';
import type { ClusterConfig } from '../config.js';
import { Client } from '../runtime/client.js';
import kvService, { KV_ENTRIES_MAX, type KvReply, type KvRequest } from '../services/kv.js';

/** Keys per session, at most: clients × keys stays below half of KV_ENTRIES_MAX. */
const KEYS_PER_SESSION_MAX = 64;

/** The acknowledged writes of one key. */
export interface KeyLedger {
  /** Write numbers of the acknowledged puts, ascending. */
  readonly acked: number[];
  /** A put that was sent and never acknowledged (in flight when the load stopped); it may or may not have been executed. */
  pending: number | undefined;
}

/** One acknowledged request, as seen by the load's recovery watchers. */
export interface Ack {
  /** performance.now() when the request was invoked (first sent). */
  readonly sentAt: number;
  /** performance.now() when the reply quorum completed. */
  readonly at: number;
  /**
   * The client's view right after this acknowledgement: the highest view of
   * any accepted reply so far (Client.view). Its first increase happens in the
   * same event-loop turn as the first accepted reply from a higher view.
   */
  readonly view: number;
}

interface Watcher {
  readonly accepts: (ack: Ack) => boolean;
  readonly resolve: (ack: Ack | undefined) => void;
}

export interface ChaosLoadOptions {
  readonly config: ClusterConfig;
  readonly sessions: number;
  readonly retransmitMs: number;
  readonly retransmitMsMax: number;
}

export function keysPerSession(sessions: number): number {
  return Math.max(1, Math.min(KEYS_PER_SESSION_MAX, Math.floor(KV_ENTRIES_MAX / 2 / sessions)));
}

export const valueOf = (session: number, write: number): string => `c${session}-w${write}`;
const keyOf = (session: number, slot: number): string => `c${session}-k${slot}`;

/** The write number in `value` if `session` wrote it, else undefined. */
export function writeNumberOf(session: number, value: string): number | undefined {
  const prefix = `c${session}-w`;
  if (!value.startsWith(prefix)) return undefined;
  const digits = value.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(digits) ? Number(digits) : undefined;
}

export class ChaosLoad {
  /** key → ledger, with the session that owns the key. */
  readonly ledger = new Map<string, { readonly session: number; readonly entry: KeyLedger }>();
  private acknowledgedCount = 0;
  private writesCount = 0;
  private wrongCount = 0;
  private stopping = false;
  private closed = false;
  private readonly watchers = new Set<Watcher>();
  private readonly sessionsDone: Promise<void>;
  readonly startedAt = performance.now();

  private constructor(
    private readonly client: Client<KvRequest, KvReply>,
    readonly sessions: number,
  ) {
    this.sessionsDone = Promise.all(Array.from({ length: sessions }, (_, s) => this.session(s))).then(() => undefined);
  }

  /** Connects one client with `sessions` sessions and starts every session's loop. */
  static async start(options: ChaosLoadOptions): Promise<ChaosLoad> {
    const client = await Client.connect({
      config: options.config,
      service: kvService,
      sessions: options.sessions,
      retransmitMs: options.retransmitMs,
      retransmitMsMax: options.retransmitMsMax,
    });
    return new ChaosLoad(client, options.sessions);
  }

  /** Requests acknowledged (f + 1 matching replies). */
  get acknowledged(): number {
    return this.acknowledgedCount;
  }

  /** Puts acknowledged. */
  get writesAcknowledged(): number {
    return this.writesCount;
  }

  /** Replies that contradicted the session's own acknowledged writes, or service errors. */
  get wrongReplies(): number {
    return this.wrongCount;
  }

  /** The client's view (highest view of an accepted reply). */
  get view(): number {
    return this.client.view;
  }

  /**
   * The first acknowledgement from now on that `accepts`, or undefined if
   * none comes within `timeoutMs` (or the load stops first).
   */
  nextAck(accepts: (ack: Ack) => boolean, timeoutMs: number): Promise<Ack | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const watcher: Watcher = { accepts, resolve: (ack) => finish(ack) };
      const finish = (ack: Ack | undefined): void => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
        resolve(ack);
      };
      this.watchers.add(watcher);
    });
  }

  /** Waits (bounded) until `count` requests in all were acknowledged; whether they were. */
  async waitForAcks(count: number, timeoutMs: number): Promise<boolean> {
    if (this.acknowledgedCount >= count) return true;
    const target = count;
    const ack = await this.nextAck(() => this.acknowledgedCount >= target, timeoutMs);
    return ack !== undefined;
  }

  /**
   * Stops issuing requests: each session finishes the request it has in
   * flight, for at most `graceMs`; then the client closes and what is still
   * in flight stays unacknowledged (a pending put in the ledger).
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.sessionsDone, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await this.close();
    await this.sessionsDone;
  }

  /** Closes the client (idempotent); in-flight requests reject. */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.closed) return;
    this.closed = true;
    for (const watcher of [...this.watchers]) watcher.resolve(undefined);
    await this.client.close();
  }

  private entry(session: number, key: string): KeyLedger {
    let found = this.ledger.get(key);
    if (found === undefined) {
      found = { session, entry: { acked: [], pending: undefined } };
      this.ledger.set(key, found);
    }
    return found.entry;
  }

  private async session(s: number): Promise<void> {
    const keys = keysPerSession(this.sessions);
    let write = 0;
    let lastKey: string | undefined;
    for (let op = 0; !this.stopping; op++) {
      const read = op % 4 === 3 && lastKey !== undefined;
      let request: KvRequest;
      let key: string;
      let w = -1;
      if (read) {
        key = lastKey as string;
        request = { op: 'get', key };
      } else {
        w = write++;
        key = keyOf(s, w % keys);
        request = { op: 'put', key, value: valueOf(s, w) };
        this.entry(s, key).pending = w;
      }
      const sentAt = performance.now();
      let reply: KvReply;
      try {
        reply = await this.client.invoke(request);
      } catch {
        return; // closed (or overloaded, which a closed loop never is): the put stays pending
      }
      this.acknowledgedCount++;
      if (read) {
        const entry = this.entry(s, key);
        const expected = entry.acked.length === 0 ? null : valueOf(s, entry.acked[entry.acked.length - 1] as number);
        if (!reply.ok || (reply.value ?? null) !== expected) this.wrongCount++;
      } else {
        const entry = this.entry(s, key);
        entry.pending = undefined;
        if (reply.ok) {
          entry.acked.push(w);
          this.writesCount++;
        } else {
          this.wrongCount++; // the service refused the put: nothing was written
        }
        lastKey = key;
      }
      this.notify({ sentAt, at: performance.now(), view: this.client.view });
    }
  }

  private notify(ack: Ack): void {
    for (const watcher of [...this.watchers]) if (watcher.accepts(ack)) watcher.resolve(ack);
  }
}
