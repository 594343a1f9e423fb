/**
 * Client requests a replica has received and not yet seen ordered: per
 * client session at most one proposed by this replica and one waiting (a
 * session has one request outstanding; a higher request number replaces a
 * lower waiting one). Bounded by `pendingRequestsMax`:
 * when full, new sessions are refused, never buffered without limit.
 *
 * The primary proposes from here in arrival order; every replica drops a
 * request once it is ordered. (The view change will also time requests
 * waiting here, to suspect the primary.)
 */
import type { ClientId } from './ids.js';
import type { Request } from './messages.js';

export type AddResult = 'added' | 'replaced' | 'duplicate' | 'stale' | 'full';

export class PendingRequests {
  /** Requests not yet proposed by this replica, in arrival order. */
  private readonly unproposed = new Map<ClientId, Request>();
  /** Requests proposed by this replica and not yet ordered. */
  private readonly proposed = new Map<ClientId, Request>();

  constructor(private readonly max: number) {}

  add(request: Request): AddResult {
    const proposed = this.proposed.get(request.clientId);
    if (proposed !== undefined && request.requestNo <= proposed.requestNo) {
      return request.requestNo === proposed.requestNo ? 'duplicate' : 'stale';
    }
    // A session's next request may arrive while its previous one is proposed
    // and not yet ordered here (f + 1 other replicas may already have
    // answered it): it waits as unproposed.
    const waiting = this.unproposed.get(request.clientId);
    if (waiting !== undefined) {
      if (request.requestNo < waiting.requestNo) return 'stale';
      if (request.requestNo === waiting.requestNo) return 'duplicate';
      this.unproposed.delete(request.clientId);
      this.unproposed.set(request.clientId, request);
      return 'replaced';
    }
    if (this.size >= this.max) return 'full';
    this.unproposed.set(request.clientId, request);
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
    for (const [clientId, request] of this.unproposed) {
      if (batch.length >= countMax) break;
      if (batch.length > 0 && bytes + request.operation.length > bytesMax) break;
      bytes += request.operation.length;
      batch.push(request);
      this.unproposed.delete(clientId);
      this.proposed.set(clientId, request);
    }
    return batch;
  }

  /** Drops the request of this session once a request numbered >= it is ordered. */
  ordered(request: Request): void {
    for (const map of [this.unproposed, this.proposed]) {
      const known = map.get(request.clientId);
      if (known !== undefined && known.requestNo <= request.requestNo) map.delete(request.clientId);
    }
  }

  get hasUnproposed(): boolean {
    return this.unproposed.size > 0;
  }

  get size(): number {
    return this.unproposed.size + this.proposed.size;
  }
}
