/**
 * The simulated network: authenticated point-to-point channels between
 * endpoints (replicas 0..n-1, then clients), with latency and, during the
 * fault phase, drops, duplicates, reordering, delay spikes and partitions
 * (symmetric or one-way) that heal.
 *
 * Links are FIFO, like the TCP connections of the runtime: a frame is not
 * delivered before one sent earlier on the same link, unless the reorder
 * fault takes it out of line. A delay spike therefore holds back the frames
 * behind it (head-of-line blocking). Frames to a replica that crashes before
 * they arrive are lost with its connections.
 *
 * Authentication: a frame carries the identity its sender claims (its TLS
 * certificate, in the runtime). The receiving end compares it with the
 * channel's peer; a mismatch is refused and never reaches the node, so the
 * node always learns the true sender.
 */
import type { Micros } from './event-queue.js';
import type { Rng } from './rng.js';
import type { LossScope, NetworkParams, PartitionSpec } from './scenario.js';

export interface Frame {
  readonly from: number;
  readonly to: number;
  /** The identity the sender presents; equals `from` unless it tries to impersonate. */
  readonly claimed: number;
  readonly bytes: Uint8Array;
  /** Position in its link's send order. */
  readonly linkSeq: number;
  /** Receiver incarnation at send time: frames in flight die with a crash. */
  readonly incarnation: number;
  /** Its link's connection at send time: frames in flight die with a reset. */
  readonly connection: number;
  /** A duplicate made by the network. */
  readonly copy: boolean;
}

export type LossReason = 'drop' | 'partition' | 'crash' | 'reset';

export interface NetworkHooks {
  /** Schedule delivery of `frame` at `time`. */
  schedule(time: Micros, frame: Frame): void;
  now(): Micros;
  /** Current incarnation of endpoint `e` (restarts increase it). */
  incarnation(e: number): number;
  isDown(e: number): boolean;
  lost(frame: Frame, reason: LossReason): void;
  duplicated(frame: Frame): void;
}

export interface NetworkCounters {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  partitionLost: number;
  crashLost: number;
  resetLost: number;
  authRejected: number;
}

export class Network {
  readonly counters: NetworkCounters = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    partitionLost: 0,
    crashLost: 0,
    resetLost: 0,
    authRejected: 0,
  };
  /** Network faults (drops, duplicates, reordering, spikes) apply only while this is true. */
  faulty = true;
  /** Per-frame latency range (µs); the liveness phase of a slow-network seed replaces it. */
  private latencyMin: Micros;
  private latencyMax: Micros;
  private readonly endpoints: number;
  private readonly linkSeq: Int32Array;
  /** Highest linkSeq delivered on each link (for counting reordering). */
  private readonly linkDelivered: Int32Array;
  /** Latest scheduled in-order delivery on each link (FIFO). */
  private readonly linkTail: Float64Array;
  /** Number of active partitions cutting each directed link. */
  private readonly cut: Int32Array;
  /** Connection number of each directed link: a reset starts a new one. */
  private readonly connection: Int32Array;
  /** Endpoints whose links random drops may hit. */
  private readonly lossy: Uint8Array;

  constructor(
    private readonly n: number,
    endpoints: number,
    private readonly params: NetworkParams,
    private readonly rng: Rng,
    private readonly hooks: NetworkHooks,
    faultyReplicas: ReadonlySet<number>,
  ) {
    this.endpoints = endpoints;
    this.latencyMin = params.latencyMin;
    this.latencyMax = params.latencyMax;
    const links = endpoints * endpoints;
    this.linkSeq = new Int32Array(links);
    this.linkDelivered = new Int32Array(links).fill(-1);
    this.linkTail = new Float64Array(links);
    this.cut = new Int32Array(links);
    this.connection = new Int32Array(links);
    this.lossy = new Uint8Array(endpoints);
    for (let e = 0; e < endpoints; e++) {
      this.lossy[e] = lossyEndpoint(params.lossScope, e, n, faultyReplicas) ? 1 : 0;
    }
  }

  /** Sends `bytes` from `from` to `to`, presenting identity `claimed`. */
  send(from: number, to: number, bytes: Uint8Array, claimed = from, extraDelay: Micros = 0): void {
    const link = from * this.endpoints + to;
    const linkSeq = this.linkSeq[link] as number;
    this.linkSeq[link] = linkSeq + 1;
    const frame: Frame = {
      from,
      to,
      claimed,
      bytes,
      linkSeq,
      incarnation: this.hooks.incarnation(to),
      connection: this.connection[link] as number,
      copy: false,
    };
    this.counters.sent++;
    if (this.cut[link] !== 0) {
      this.counters.partitionLost++;
      this.hooks.lost(frame, 'partition');
      return;
    }
    const p = this.params;
    const now = this.hooks.now();
    const r = this.rng;
    if (this.faulty && (this.lossy[from] === 1 || this.lossy[to] === 1) && r.chance(p.dropP)) {
      this.counters.dropped++;
      this.hooks.lost(frame, 'drop');
      return;
    }
    let time = now + this.latency() + extraDelay;
    if (this.faulty && r.chance(p.spikeP)) {
      time += r.int(1, p.spikeMax);
      this.counters.delayed++;
    }
    if (this.faulty && r.chance(p.reorderP)) {
      // Out of line: later frames on this link may overtake it.
      time += r.int(0, 4 * (p.latencyMax + 1000));
    } else {
      time = Math.max(time, this.linkTail[link] as number);
      this.linkTail[link] = time;
    }
    this.hooks.schedule(time, frame);
    if (this.faulty && r.chance(p.duplicateP)) {
      this.counters.duplicated++;
      const copy: Frame = { ...frame, copy: true };
      this.hooks.duplicated(copy);
      this.hooks.schedule(now + this.latency() + r.int(0, 2 * (p.latencyMax + 1000)), copy);
    }
  }

  /**
   * Called when `frame` is due. Returns false if it is lost (receiver crashed
   * since it was sent, or the channel refuses the sender's claimed identity).
   */
  arrive(frame: Frame): boolean {
    if (this.hooks.isDown(frame.to) || this.hooks.incarnation(frame.to) !== frame.incarnation) {
      this.counters.crashLost++;
      this.hooks.lost(frame, 'crash');
      return false;
    }
    const link = frame.from * this.endpoints + frame.to;
    if (frame.connection !== this.connection[link]) {
      this.counters.resetLost++;
      this.hooks.lost(frame, 'reset');
      return false;
    }
    if (!frame.copy) {
      if (frame.linkSeq < (this.linkDelivered[link] as number)) this.counters.reordered++;
      else this.linkDelivered[link] = frame.linkSeq;
    }
    if (frame.claimed !== frame.from) {
      this.counters.authRejected++;
      return false;
    }
    this.counters.delivered++;
    return true;
  }

  /** Starts (`+1`) or ends (`-1`) a partition; a reset's start also kills the frames in flight on its links. */
  partition(p: PartitionSpec, delta: 1 | -1): void {
    const cutLink = (x: number, y: number): void => {
      const link = x * this.endpoints + y;
      this.cut[link] = (this.cut[link] as number) + delta;
      if (p.kind === 'reset' && delta === 1) this.connection[link] = (this.connection[link] as number) + 1;
    };
    for (const x of p.a) {
      for (const y of p.b) {
        if (x === y) continue;
        cutLink(x, y);
        if (p.kind !== 'one-way') cutLink(y, x);
      }
    }
  }

  /** Whether frames from `from` to `to` are currently cut by a partition. */
  isCut(from: number, to: number): boolean {
    return this.cut[from * this.endpoints + to] !== 0;
  }

  get replicas(): number {
    return this.n;
  }

  /** From now on every frame takes [min, max] µs (a slow but steady network; one draw per frame, as before). */
  setLatency(min: Micros, max: Micros): void {
    this.latencyMin = min;
    this.latencyMax = max;
  }

  private latency(): Micros {
    return this.rng.int(this.latencyMin, this.latencyMax);
  }
}

function lossyEndpoint(scope: LossScope, e: number, n: number, faulty: ReadonlySet<number>): boolean {
  if (e >= n) return true;
  switch (scope) {
    case 'all':
      return true;
    case 'clients':
      return false;
    case 'faulty':
      return faulty.has(e);
  }
}
