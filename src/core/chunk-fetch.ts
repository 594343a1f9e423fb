/**
 * Fetching one checkpoint image's chunks from several replicas in parallel
 * (docs/STATE-TRANSFER.md S9-S11). Pure bookkeeping: which chunk to ask of
 * whom and when to ask again; the caller sends the requests, checks each
 * chunk's digest and hands verified chunks to the runtime, so no chunk
 * bytes are kept here.
 */
import { assert } from './assert.js';
import type { ReplicaId } from './ids.js';

/** The request timeout grows to at most 2^4 times its base. */
const TIMEOUT_DOUBLINGS_MAX = 4;

export interface ChunkRequest {
  readonly to: ReplicaId;
  readonly index: number;
}

interface InFlight {
  readonly to: ReplicaId;
  readonly sentAt: number;
}

export class ChunkFetch {
  /** Replicas that announced this checkpoint and were not caught lying about it. */
  private readonly sources: ReplicaId[] = [];
  /** Replicas caught serving a bad chunk of this image: never asked again for it. */
  private readonly liars = new Set<ReplicaId>();
  /** Sources that let a request time out: asked only while no other source is left [S11]. */
  private readonly stalled = new Set<ReplicaId>();
  private readonly stored: boolean[];
  private storedCount = 0;
  /** Next chunk never requested yet. */
  private nextFresh = 0;
  /** Requests per chunk so far, to rotate sources [S9]. */
  private readonly attempts: number[];
  private readonly inFlight = new Map<number, InFlight>();
  /** Chunks to ask again (timed out, or their source was dropped). */
  private readonly retry: number[] = [];
  /** Who was asked for each chunk not yet stored: a late answer from any of them is still taken [S11]. */
  private readonly askedOf = new Map<number, Set<ReplicaId>>();
  /** Doublings of the request timeout so far: each timeout doubles it (a slow network is not a lying one). */
  private doublings = 0;

  constructor(
    readonly chunkCount: number,
    private readonly inFlightMax: number,
    private readonly timeoutTicks: number,
  ) {
    assert(inFlightMax > 0 && timeoutTicks > 0, 'chunk fetch limits must be positive');
    this.stored = new Array<boolean>(chunkCount).fill(false);
    this.attempts = new Array<number>(chunkCount).fill(0);
  }

  get done(): boolean {
    return this.storedCount === this.chunkCount;
  }

  get sourceCount(): number {
    return this.sources.length;
  }

  addSource(replica: ReplicaId): void {
    if (!this.sources.includes(replica) && !this.liars.has(replica)) this.sources.push(replica);
  }

  /** A source sent a bad chunk: its chunks in flight go to others, and it is not asked again [S10]. */
  dropSource(replica: ReplicaId): void {
    this.liars.add(replica);
    const at = this.sources.indexOf(replica);
    if (at >= 0) this.sources.splice(at, 1);
    for (const [index, flight] of this.inFlight) {
      if (flight.to === replica) {
        this.inFlight.delete(index);
        this.retry.push(index);
      }
    }
  }

  /**
   * Whether chunk `index` from `from` is one this fetch is waiting for: not
   * stored yet and asked of `from`, now or before a timeout moved it on (on
   * a network slower than the timeout, the late answer is the one that
   * arrives). Never from a source caught lying.
   */
  expects(from: ReplicaId, index: number): boolean {
    return !this.liars.has(from) && this.askedOf.get(index)?.has(from) === true;
  }

  /** Chunk `index` was verified and handed over; `from` serves again, if it had stalled. */
  markStored(index: number, from: ReplicaId): void {
    this.stalled.delete(from);
    assert(!this.stored[index], `chunk ${index} stored twice`);
    this.stored[index] = true;
    this.storedCount++;
    this.inFlight.delete(index);
    this.askedOf.delete(index);
  }

  /**
   * Requests to send now: timed-out chunks again, then new ones, up to the
   * in-flight bound [S9, S11]. A source that let a request time out is
   * skipped while others serve, so a replica that announces an image and
   * never sends it costs one timeout, not one per chunk.
   */
  due(now: number): ChunkRequest[] {
    for (const [index, flight] of this.inFlight) {
      if (now - flight.sentAt >= this.timeoutTicks * 2 ** this.doublings) {
        this.inFlight.delete(index);
        this.retry.push(index);
        this.stalled.add(flight.to);
        if (this.doublings < TIMEOUT_DOUBLINGS_MAX) this.doublings++;
      }
    }
    const out: ChunkRequest[] = [];
    const serving = this.sources.filter((r) => !this.stalled.has(r));
    const pool = serving.length > 0 ? serving : this.sources;
    if (pool.length === 0) return out;
    while (this.inFlight.size < this.inFlightMax) {
      const index = this.retry.length > 0 ? (this.retry.shift() as number) : this.nextFresh < this.chunkCount ? this.nextFresh++ : -1;
      if (index < 0) break;
      if (this.stored[index] || this.inFlight.has(index)) continue;
      const to = pool[(index + (this.attempts[index] as number)) % pool.length] as ReplicaId;
      this.attempts[index] = (this.attempts[index] as number) + 1;
      this.inFlight.set(index, { to, sentAt: now });
      let asked = this.askedOf.get(index);
      if (asked === undefined) this.askedOf.set(index, (asked = new Set()));
      asked.add(to);
      out.push({ to, index });
    }
    return out;
  }
}
