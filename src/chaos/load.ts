/**
 * The chaos runner's steady load: closed-loop sessions on the key-value
 * service (or the `slots` service, see workload.ts) that keep a ledger of
 * every acknowledged write, so the end of the run can check that none of
 * them is missing from the replicated state.
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
import type { ProtocolOptions } from '../core/options.js';
import { ClosedError } from '../errors.js';
import { Client } from '../runtime/client.js';
import { keyOf, kvWorkload, type ChaosWorkload, type LedgerReply } from './workload.js';

export { keysPerSession } from './workload.js';

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
  /** The requests; default the kv store's, for `sessions` sessions. */
  readonly workload?: ChaosWorkload;
  /** The replicas' protocol options, if not the defaults (the client's limits must match). */
  readonly protocol?: Partial<ProtocolOptions>;
}

/** What the ledger knows of one key: who owns it, which of the owner's keys it is, its writes. */
export interface LedgerEntry {
  readonly session: number;
  readonly index: number;
  readonly entry: KeyLedger;
}

export const valueOf = (session: number, write: number): string => `c${session}-w${write}`;

/** The write number in `value` if `session` wrote it, else undefined. */
export function writeNumberOf(session: number, value: string): number | undefined {
  const prefix = `c${session}-w`;
  if (!value.startsWith(prefix)) return undefined;
  const digits = value.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(digits) ? Number(digits) : undefined;
}

export class ChaosLoad {
  /** key → ledger, with the session that owns the key. */
  readonly ledger = new Map<string, LedgerEntry>();
  private acknowledgedCount = 0;
  private writesCount = 0;
  private wrongCount = 0;
  private stopping = false;
  private closed = false;
  private readonly watchers = new Set<Watcher>();
  private readonly listeners = new Set<(ack: Ack) => void>();
  private inFlightCount = 0;
  private failedCount = 0;
  private readonly failureNames = new Set<string>();
  private readonly sessionsDone: Promise<void>;
  readonly startedAt = performance.now();

  private constructor(
    private readonly client: Client<unknown, LedgerReply>,
    readonly workload: ChaosWorkload,
  ) {
    const { sessions } = workload;
    this.sessionsDone = Promise.all(Array.from({ length: sessions }, (_, s) => this.session(s))).then(() => undefined);
  }

  /** Connects one client with `sessions` sessions and starts every session's loop. */
  static async start(options: ChaosLoadOptions): Promise<ChaosLoad> {
    const workload = options.workload ?? kvWorkload(options.sessions);
    if (workload.sessions !== options.sessions) throw new RangeError(`workload made for ${workload.sessions} sessions, not ${options.sessions}`);
    const client = await Client.connect({
      config: options.config,
      service: workload.codecs,
      sessions: options.sessions,
      retransmitMs: options.retransmitMs,
      retransmitMsMax: options.retransmitMsMax,
      ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
    });
    return new ChaosLoad(client, workload);
  }

  get sessions(): number {
    return this.workload.sessions;
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

  /** Calls `listener` with every acknowledgement from now on, until the returned function is called. */
  subscribe(listener: (ack: Ack) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Invocations that rejected other than by the client closing (a
   * `TimeoutError` at the client's deadline, say). Each ends its session:
   * whether the request executed is unknown, so its put stays pending.
   */
  get failedInvocations(): number {
    return this.failedCount;
  }

  /** The error names of {@link failedInvocations}, e.g. `TimeoutError`. */
  get failureKinds(): string[] {
    return [...this.failureNames];
  }

  /** Invocations sent and not yet acknowledged (at most one per session). */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /**
   * Stops issuing requests and waits, for at most `timeoutMs`, until every
   * invocation in flight is acknowledged. The client stays open (see
   * {@link stop}). Returns how many were still in flight at the bound.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.sessionsDone, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return this.inFlightCount;
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

  private entry(session: number, index: number): KeyLedger {
    const key = keyOf(session, index);
    let found = this.ledger.get(key);
    if (found === undefined) {
      found = { session, index, entry: { acked: [], pending: undefined } };
      this.ledger.set(key, found);
    }
    return found.entry;
  }

  private async session(s: number): Promise<void> {
    const { keysPerSession: keys } = this.workload;
    let write = 0;
    let lastIndex: number | undefined;
    for (let op = 0; !this.stopping; op++) {
      const read = op % 4 === 3 && lastIndex !== undefined;
      let request: unknown;
      let index: number;
      let w = -1;
      if (read) {
        index = lastIndex as number;
        request = this.workload.get(s, index);
      } else {
        w = write++;
        index = w % keys;
        request = this.workload.put(s, index, valueOf(s, w));
        this.entry(s, index).pending = w;
      }
      const sentAt = performance.now();
      let reply: LedgerReply;
      this.inFlightCount++;
      try {
        reply = await this.client.invoke(request);
      } catch (error) {
        // Closed: the load stopped. Anything else (a deadline, say) is counted; either way the put stays pending.
        if (!(error instanceof ClosedError)) {
          this.failedCount++;
          this.failureNames.add(error instanceof Error ? error.name : String(error));
        }
        return;
      } finally {
        this.inFlightCount--;
      }
      this.acknowledgedCount++;
      if (read) {
        const entry = this.entry(s, index);
        const expected = entry.acked.length === 0 ? null : valueOf(s, entry.acked[entry.acked.length - 1] as number);
        if (!reply.ok || (reply.value ?? null) !== expected) this.wrongCount++;
      } else {
        const entry = this.entry(s, index);
        entry.pending = undefined;
        if (reply.ok) {
          entry.acked.push(w);
          this.writesCount++;
        } else {
          this.wrongCount++; // the service refused the put: nothing was written
        }
        lastIndex = index;
      }
      this.notify({ sentAt, at: performance.now(), view: this.client.view });
    }
  }

  private notify(ack: Ack): void {
    for (const listener of this.listeners) listener(ack);
    for (const watcher of [...this.watchers]) if (watcher.accepts(ack)) watcher.resolve(ack);
  }
}
