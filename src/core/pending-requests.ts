/**
 * Client requests a replica has received and not yet seen ordered: per
 * client session at most one proposed by this replica and one waiting (a
 * session has one request outstanding; a higher request number replaces a
 * lower waiting one, keeping its place and arrival time). Bounded by
 * `pendingRequestsMax` requests and `pendingRequestBytesMax` operation bytes,
 * and per client key by `pendingRequestsPerKeyMax` and
 * `pendingRequestBytesPerKeyMax`: a request that would exceed any is
 * refused, never buffered without limit, and one key cannot fill the room
 * of all (docs/DESIGN.md, "Client quotas").
 *
 * The primary proposes from here round-robin over client keys, each key's
 * requests in arrival order [P4]: a key with thousands of sessions waiting
 * takes one place per turn, like a key with one, so it cannot starve the
 * others. Every replica drops a request once it is ordered. Backups time
 * the oldest request here to forward it to the primary and, later, to
 * suspect the primary (docs/VIEW-CHANGE.md T1-T4).
 */
import { clientKeyOf, type ClientId } from './ids.js';
import type { Request } from './messages.js';
import type { ProtocolOptions } from './options.js';

export type AddResult = 'added' | 'replaced' | 'duplicate' | 'stale' | 'full' | 'key-full';

export type PendingLimits = Pick<
  ProtocolOptions,
  'pendingRequestsMax' | 'pendingRequestBytesMax' | 'pendingRequestsPerKeyMax' | 'pendingRequestBytesPerKeyMax'
>;

interface Entry {
  readonly request: Request;
  /** Tick at which it arrived. */
  readonly arrived: number;
  forwarded: boolean;
}

/** What one client key holds here, proposed or not. */
interface KeyUse {
  count: number;
  bytes: number;
}

/** What a key with nothing held holds (read only: hold() makes a key's own record). */
const NO_USE: Readonly<KeyUse> = { count: 0, bytes: 0 };

/** Entries looked at per call when searching for requests to forward. */
const FORWARD_SCAN_MAX = 1024;

export class PendingRequests {
  /** Requests not yet proposed by this replica, in arrival order. */
  private readonly unproposed = new Map<ClientId, Entry>();
  /**
   * The sessions of `unproposed` per client key, each in arrival order; the
   * keys in the order of their next turn to propose (a key goes to the back
   * once it had one).
   */
  private readonly turns = new Map<number, Set<ClientId>>();
  /** Requests proposed by this replica and not yet ordered. */
  private readonly proposed = new Map<ClientId, Entry>();
  /** Requests and operation bytes held per client key, proposed or not. */
  private readonly perKey = new Map<number, KeyUse>();
  /** Operation bytes of every request held, proposed or not. */
  private bytes_ = 0;

  constructor(private readonly limits: PendingLimits) {}

  add(request: Request, now: number): AddResult {
    const proposed = this.proposed.get(request.clientId);
    if (proposed !== undefined && request.requestNo <= proposed.request.requestNo) {
      return request.requestNo === proposed.request.requestNo ? 'duplicate' : 'stale';
    }
    const use = this.perKey.get(clientKeyOf(request.clientId)) ?? NO_USE;
    // A session's next request may arrive while its previous one is proposed
    // and not yet ordered here (f + 1 other replicas may already have
    // answered it): it waits as unproposed.
    const waiting = this.unproposed.get(request.clientId);
    if (waiting !== undefined) {
      if (request.requestNo < waiting.request.requestNo) return 'stale';
      if (request.requestNo === waiting.request.requestNo) return 'duplicate';
      const growth = request.operation.length - waiting.request.operation.length;
      if (this.bytes_ + growth > this.limits.pendingRequestBytesMax) return 'full'; // the waiting one stays
      if (use.bytes + growth > this.limits.pendingRequestBytesPerKeyMax) return 'key-full';
      this.release(waiting.request);
      this.hold(request);
      // The session moved on without this replica seeing its request ordered: it has waited since
      // the first one (a primary that leaves a backup out must not look fine to it, T2).
      // (Map.set on an existing key keeps its place in arrival order.)
      this.unproposed.set(request.clientId, { request, arrived: waiting.arrived, forwarded: false });
      return 'replaced';
    }
    if (this.size >= this.limits.pendingRequestsMax) return 'full';
    if (this.bytes_ + request.operation.length > this.limits.pendingRequestBytesMax) return 'full';
    if (use.count >= this.limits.pendingRequestsPerKeyMax) return 'key-full';
    if (use.bytes + request.operation.length > this.limits.pendingRequestBytesPerKeyMax) return 'key-full';
    this.hold(request);
    this.queue({ request, arrived: now, forwarded: false });
    return 'added';
  }

  /**
   * Takes up to `countMax` requests and `bytesMax` operation bytes, one per
   * client key in turn, each key's oldest first [P4] (always at least one if
   * any is waiting, so an oversized single request cannot wedge the queue;
   * requests are bounded by requestBytesMax on arrival). A request
   * `proposable` refuses (a forged one, [A5]) is dropped instead.
   */
  takeBatch(countMax: number, bytesMax: number, proposable: (request: Request) => boolean): Request[] {
    const batch: Request[] = [];
    let bytes = 0;
    while (batch.length < countMax) {
      const turn = this.turns.entries().next().value;
      if (turn === undefined) break;
      const [key, sessions] = turn;
      const clientId = sessions.values().next().value as ClientId;
      const entry = this.unproposed.get(clientId) as Entry;
      const size = entry.request.operation.length;
      if (batch.length > 0 && bytes + size > bytesMax) break;
      this.unqueue(clientId);
      // Its turn is used: the key goes to the back (unqueue dropped it if it has nothing left).
      if (this.turns.delete(key)) this.turns.set(key, sessions);
      if (!proposable(entry.request)) {
        this.release(entry.request);
        continue;
      }
      bytes += size;
      batch.push(entry.request);
      // The session's earlier proposal, if still here, gives way to this one.
      const earlier = this.proposed.get(clientId);
      if (earlier !== undefined) this.release(earlier.request);
      this.proposed.set(clientId, entry);
    }
    return batch;
  }

  /**
   * A new view: every request becomes unproposed again and may be forwarded
   * to the new primary, except `proposedByNewView` (the NEW-VIEW's batches),
   * which count as proposed. Arrival order is kept, since the timers look at
   * the oldest entry first.
   */
  enterView(proposedByNewView: readonly Request[]): void {
    const inNewView = new Map<ClientId, Request>();
    for (const r of proposedByNewView) inNewView.set(r.clientId, r);
    const entries = [...this.proposed.values(), ...this.unproposed.values()].sort((a, b) => a.arrived - b.arrived);
    this.proposed.clear();
    this.unproposed.clear();
    this.turns.clear();
    for (const entry of entries) {
      const { clientId, requestNo } = entry.request;
      entry.forwarded = false;
      const toProposed = inNewView.get(clientId)?.requestNo === requestNo;
      // A session's proposed request and its next one may both be here; the higher one wins.
      const known = (toProposed ? this.proposed : this.unproposed).get(clientId);
      if (known !== undefined && known.request.requestNo >= requestNo) {
        this.release(entry.request);
        continue;
      }
      if (known !== undefined) this.release(known.request);
      // Re-inserted at its own arrival position.
      if (toProposed) {
        this.proposed.delete(clientId);
        this.proposed.set(clientId, entry);
      } else {
        if (known !== undefined) this.unqueue(clientId);
        this.queue(entry);
      }
    }
  }

  /** Drops the request of this session once a request numbered >= it is ordered; returns when the dropped one arrived, if any. */
  ordered(request: Pick<Request, 'clientId' | 'requestNo'>): number | undefined {
    let arrived: number | undefined;
    for (const map of [this.unproposed, this.proposed]) {
      const known = map.get(request.clientId);
      if (known !== undefined && known.request.requestNo <= request.requestNo) {
        if (map === this.unproposed) this.unqueue(request.clientId);
        else map.delete(request.clientId);
        this.release(known.request);
        arrived = arrived === undefined ? known.arrived : Math.min(arrived, known.arrived);
      }
    }
    return arrived;
  }

  /** Drops `request` if it is its session's waiting one: a forgery the primary found on arrival [A5]. */
  drop(request: Request): void {
    if (this.unproposed.get(request.clientId)?.request !== request) return;
    this.unqueue(request.clientId);
    this.release(request);
  }

  /** Arrival tick of the oldest request waiting here, if any. */
  oldestArrival(): number | undefined {
    const a = this.unproposed.values().next().value?.arrived;
    const b = this.proposed.values().next().value?.arrived;
    if (a === undefined) return b;
    return b === undefined ? a : Math.min(a, b);
  }

  /**
   * Requests that arrived at least `age` ticks before `now` and were not
   * forwarded yet; marks them forwarded. A due request `forwardable` refuses
   * (a forged one, [A9]) is dropped instead.
   */
  takeDueForForward(now: number, age: number, countMax: number, forwardable: (request: Request) => boolean): Request[] {
    const due: Request[] = [];
    let scanned = 0;
    for (const [clientId, entry] of this.unproposed) {
      if (now - entry.arrived < age || due.length >= countMax || ++scanned > FORWARD_SCAN_MAX) break;
      if (entry.forwarded) continue;
      if (!forwardable(entry.request)) {
        this.unqueue(clientId);
        this.release(entry.request);
        continue;
      }
      entry.forwarded = true;
      due.push(entry.request);
    }
    return due;
  }

  get hasUnproposed(): boolean {
    return this.unproposed.size > 0;
  }

  get size(): number {
    return this.unproposed.size + this.proposed.size;
  }

  /** Operation bytes held, at most pendingRequestBytesMax. */
  get bytes(): number {
    return this.bytes_;
  }

  /** Client keys with requests held here. */
  get keys(): number {
    return this.perKey.size;
  }

  /** Counts `request` against the totals and its key's quota. */
  private hold(request: Request): void {
    const key = clientKeyOf(request.clientId);
    const use = this.perKey.get(key);
    if (use === undefined) this.perKey.set(key, { count: 1, bytes: request.operation.length });
    else {
      use.count++;
      use.bytes += request.operation.length;
    }
    this.bytes_ += request.operation.length;
  }

  /** Undoes {@link hold} for a request leaving. */
  private release(request: Request): void {
    const key = clientKeyOf(request.clientId);
    const use = this.perKey.get(key) as KeyUse;
    use.count--;
    use.bytes -= request.operation.length;
    if (use.count === 0) this.perKey.delete(key);
    this.bytes_ -= request.operation.length;
  }

  /** Adds an unproposed entry, last in arrival order and in its key's queue. */
  private queue(entry: Entry): void {
    const { clientId } = entry.request;
    this.unproposed.set(clientId, entry);
    const key = clientKeyOf(clientId);
    const sessions = this.turns.get(key);
    if (sessions === undefined) this.turns.set(key, new Set([clientId]));
    else sessions.add(clientId);
  }

  /** Removes an unproposed entry from the arrival order and its key's queue (a key left empty loses its turn). */
  private unqueue(clientId: ClientId): void {
    this.unproposed.delete(clientId);
    const key = clientKeyOf(clientId);
    const sessions = this.turns.get(key);
    if (sessions === undefined) return;
    sessions.delete(clientId);
    if (sessions.size === 0) this.turns.delete(key);
  }
}
