/**
 * Fetching one checkpoint image's chunks from several replicas in parallel
 * (docs/STATE-TRANSFER.md S9-S11). Pure bookkeeping: which chunk to ask of
 * whom and when to ask again; the caller sends the requests, checks each
 * chunk's digest and hands verified chunks to the runtime, so no chunk
 * bytes are kept here.
 *
 * Every source is judged on its own: its own request timeout (doubled by
 * each round of timeouts, halved by each answer in time), its own share of
 * the requests in flight, and a stall mark that only an answer in time
 * lifts. So a source that answers slowly on purpose holds at most its share
 * of the slots while the others carry the rest, and costs a transfer no
 * more than one that never answers.
 */
import { assert } from './assert.js';
import type { ReplicaId } from './ids.js';

/** A source's request timeout grows to at most 2^4 times the base. */
const TIMEOUT_DOUBLINGS_MAX = 4;

export interface ChunkRequest {
  readonly to: ReplicaId;
  readonly index: number;
}

interface InFlight {
  readonly to: ReplicaId;
  readonly sentAt: number;
  /** The source's timeout when the request was sent. */
  readonly timeout: number;
}

interface Source {
  /** Doublings of this source's request timeout. */
  doublings: number;
  /** Let a request time out and has not answered one in time since: asked only while no other source serves. */
  stalled: boolean;
  /** Requests to it in flight. */
  inFlight: number;
}

export class ChunkFetch {
  /** Replicas that announced this checkpoint and were not caught lying about it, in the order they came. */
  private readonly sources = new Map<ReplicaId, Source>();
  /** Replicas caught serving a bad chunk of this image: never asked again for it. */
  private readonly liars = new Set<ReplicaId>();
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
    return this.sources.size;
  }

  addSource(replica: ReplicaId): void {
    if (!this.sources.has(replica) && !this.liars.has(replica)) this.sources.set(replica, { doublings: 0, stalled: false, inFlight: 0 });
  }

  /** A source sent a bad chunk: its chunks in flight go to others, and it is not asked again [S10]. */
  dropSource(replica: ReplicaId): void {
    this.liars.add(replica);
    this.sources.delete(replica);
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

  /**
   * Chunk `index` was verified and handed over. An answer in time (the
   * request to `from` still in flight) lifts `from`'s stall mark and halves
   * its timeout; a late one is taken but earns nothing, so a source cannot
   * time out on purpose and be trusted again by answering late.
   */
  markStored(index: number, from: ReplicaId): void {
    assert(!this.stored[index], `chunk ${index} stored twice`);
    this.stored[index] = true;
    this.storedCount++;
    this.askedOf.delete(index);
    const flight = this.inFlight.get(index);
    if (flight === undefined) return;
    this.inFlight.delete(index);
    const source = this.sources.get(flight.to);
    if (source === undefined) return;
    source.inFlight--;
    if (flight.to === from) {
      source.stalled = false;
      if (source.doublings > 0) source.doublings--;
    }
  }

  /**
   * Requests to send now: timed-out chunks again, then new ones, up to the
   * in-flight bound [S9, S11]. Each source gets at most its share of the
   * bound (ceil(inFlightMax / sources asked)), so slow answers cannot
   * gather every slot; chunk i goes to the first source in turn from
   * (i + attempt) mod |sources| that has room. Sources that let a request
   * time out are skipped while others serve; each such source's timeout
   * doubles once per round, whatever the number of its requests that
   * timed out together.
   */
  due(now: number): ChunkRequest[] {
    const timedOut = new Set<ReplicaId>();
    for (const [index, flight] of this.inFlight) {
      if (now - flight.sentAt < flight.timeout) continue;
      this.inFlight.delete(index);
      this.retry.push(index);
      const source = this.sources.get(flight.to);
      if (source !== undefined) source.inFlight--;
      timedOut.add(flight.to);
    }
    for (const replica of timedOut) {
      const source = this.sources.get(replica);
      if (source === undefined) continue;
      source.stalled = true;
      if (source.doublings < TIMEOUT_DOUBLINGS_MAX) source.doublings++;
    }
    const out: ChunkRequest[] = [];
    const serving = [...this.sources].filter(([, s]) => !s.stalled);
    const pool = serving.length > 0 ? serving : [...this.sources];
    if (pool.length === 0) return out;
    const share = Math.ceil(this.inFlightMax / pool.length);
    while (this.inFlight.size < this.inFlightMax) {
      const fromRetry = this.retry.length > 0;
      const index = fromRetry ? (this.retry.shift() as number) : this.nextFresh < this.chunkCount ? this.nextFresh++ : -1;
      if (index < 0) break;
      if (this.stored[index] || this.inFlight.has(index)) continue;
      const first = index + (this.attempts[index] as number);
      let chosen: [ReplicaId, Source] | undefined;
      for (let k = 0; k < pool.length && chosen === undefined; k++) {
        const candidate = pool[(first + k) % pool.length] as [ReplicaId, Source];
        if (candidate[1].inFlight < share) chosen = candidate;
      }
      if (chosen === undefined) {
        // Every source has its share in flight: this chunk waits for a free slot.
        if (fromRetry) this.retry.unshift(index);
        else this.nextFresh--;
        break;
      }
      const [to, source] = chosen;
      this.attempts[index] = (this.attempts[index] as number) + 1;
      source.inFlight++;
      this.inFlight.set(index, { to, sentAt: now, timeout: this.timeoutTicks * 2 ** source.doublings });
      let asked = this.askedOf.get(index);
      if (asked === undefined) this.askedOf.set(index, (asked = new Set()));
      asked.add(to);
      out.push({ to, index });
    }
    return out;
  }
}
