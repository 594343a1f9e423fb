/**
 * Client requests a replica has received and not yet seen ordered: per
 * client session at most one proposed by this replica and one waiting (a
 * session has one request outstanding; a higher request number replaces a
 * lower waiting one, keeping its place and arrival time). Bounded by
 * `pendingRequestsMax` requests and `pendingRequestBytesMax` operation bytes:
 * a request that would exceed either is refused, never buffered without
 * limit.
 *
 * The primary proposes from here in arrival order; every replica drops a
 * request once it is ordered. Backups time the oldest request here to
 * forward it to the primary and, later, to suspect the primary
 * (docs/VIEW-CHANGE.md T1-T4).
 */
import type { ClientId } from './ids.js';
import type { Request } from './messages.js';
import type { ProtocolOptions } from './options.js';

export type AddResult = 'added' | 'replaced' | 'duplicate' | 'stale' | 'full';

interface Entry {
  readonly request: Request;
  /** Tick at which it arrived. */
  readonly arrived: number;
  forwarded: boolean;
}

/** Entries looked at per call when searching for requests to forward. */
const FORWARD_SCAN_MAX = 1024;

export class PendingRequests {
  /** Requests not yet proposed by this replica, in arrival order. */
  private readonly unproposed = new Map<ClientId, Entry>();
  /** Requests proposed by this replica and not yet ordered. */
  private readonly proposed = new Map<ClientId, Entry>();
  /** Operation bytes of every request held, proposed or not. */
  private bytes_ = 0;

  constructor(private readonly limits: Pick<ProtocolOptions, 'pendingRequestsMax' | 'pendingRequestBytesMax'>) {}

  add(request: Request, now: number): AddResult {
    const proposed = this.proposed.get(request.clientId);
    if (proposed !== undefined && request.requestNo <= proposed.request.requestNo) {
      return request.requestNo === proposed.request.requestNo ? 'duplicate' : 'stale';
    }
    // A session's next request may arrive while its previous one is proposed
    // and not yet ordered here (f + 1 other replicas may already have
    // answered it): it waits as unproposed.
    const waiting = this.unproposed.get(request.clientId);
    if (waiting !== undefined) {
      if (request.requestNo < waiting.request.requestNo) return 'stale';
      if (request.requestNo === waiting.request.requestNo) return 'duplicate';
      const bytes = this.bytes_ - waiting.request.operation.length + request.operation.length;
      if (bytes > this.limits.pendingRequestBytesMax) return 'full'; // the waiting one stays
      this.bytes_ = bytes;
      // The session moved on without this replica seeing its request ordered: it has waited since
      // the first one (a primary that leaves a backup out must not look fine to it, T2).
      // (Map.set on an existing key keeps its place in arrival order.)
      this.unproposed.set(request.clientId, { request, arrived: waiting.arrived, forwarded: false });
      return 'replaced';
    }
    if (this.size >= this.limits.pendingRequestsMax) return 'full';
    if (this.bytes_ + request.operation.length > this.limits.pendingRequestBytesMax) return 'full';
    this.bytes_ += request.operation.length;
    this.unproposed.set(request.clientId, { request, arrived: now, forwarded: false });
    return 'added';
  }

  /**
   * Takes the oldest unproposed requests, up to `countMax` requests and
   * `bytesMax` operation bytes (always at least one if any is waiting, so an
   * oversized single request cannot wedge the queue; requests are bounded by
   * requestBytesMax on arrival).
   */
  takeBatch(countMax: number, bytesMax: number): Request[] {
    const batch: Request[] = [];
    let bytes = 0;
    for (const [clientId, entry] of this.unproposed) {
      if (batch.length >= countMax) break;
      const size = entry.request.operation.length;
      if (batch.length > 0 && bytes + size > bytesMax) break;
      bytes += size;
      batch.push(entry.request);
      this.unproposed.delete(clientId);
      // The session's earlier proposal, if still here, gives way to this one.
      const earlier = this.proposed.get(clientId);
      if (earlier !== undefined) this.bytes_ -= earlier.request.operation.length;
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
    for (const entry of entries) {
      const { clientId, requestNo } = entry.request;
      entry.forwarded = false;
      const target = inNewView.get(clientId)?.requestNo === requestNo ? this.proposed : this.unproposed;
      // A session's proposed request and its next one may both be here; the higher one wins.
      const known = target.get(clientId);
      if (known === undefined || known.request.requestNo < requestNo) {
        if (known !== undefined) this.bytes_ -= known.request.operation.length;
        target.delete(clientId); // re-inserted at its own arrival position
        target.set(clientId, entry);
      } else {
        this.bytes_ -= entry.request.operation.length;
      }
    }
  }

  /** Drops the request of this session once a request numbered >= it is ordered; returns when the dropped one arrived, if any. */
  ordered(request: Request): number | undefined {
    let arrived: number | undefined;
    for (const map of [this.unproposed, this.proposed]) {
      const known = map.get(request.clientId);
      if (known !== undefined && known.request.requestNo <= request.requestNo) {
        map.delete(request.clientId);
        this.bytes_ -= known.request.operation.length;
        arrived = arrived === undefined ? known.arrived : Math.min(arrived, known.arrived);
      }
    }
    return arrived;
  }

  /** Arrival tick of the oldest request waiting here, if any. */
  oldestArrival(): number | undefined {
    const a = this.unproposed.values().next().value?.arrived;
    const b = this.proposed.values().next().value?.arrived;
    if (a === undefined) return b;
    return b === undefined ? a : Math.min(a, b);
  }

  /** Requests that arrived at least `age` ticks before `now` and were not forwarded yet; marks them forwarded. */
  takeDueForForward(now: number, age: number, countMax: number): Request[] {
    const due: Request[] = [];
    let scanned = 0;
    for (const entry of this.unproposed.values()) {
      if (now - entry.arrived < age || due.length >= countMax || ++scanned > FORWARD_SCAN_MAX) break;
      if (entry.forwarded) continue;
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
}
