/**
 * One seeded run: builds the nodes and network of a {@link Scenario},
 * processes events in (time, insertion) order through a safety phase (faults
 * on) and a liveness phase (faults off), and reports what happened.
 */
import { InvariantViolation } from '../core/assert.js';
import type { RequestSigner } from '../core/client.js';
import { clientId, SESSIONS_PER_CLIENT_KEY, type ReplicaId } from '../core/ids.js';
import { quorumSizes } from '../core/quorum.js';
import type { Request } from '../core/messages.js';
import type { Rejection } from '../core/rejection.js';
import type { WireLimits } from '../wire/codec.js';
import { SimKeys, TAG_NEW_VIEW, TAG_VIEW_CHANGE, wireLimits } from './core-api.js';
import { Coalition } from './byzantine.js';
import { CheckFailure, Checkers, type CheckerName } from './checkers.js';
import { ByzantineClientNode, ClientNode } from './client-node.js';
import { describeFrame } from './describe.js';
import { EventQueue, MS, type Micros } from './event-queue.js';
import { LIVENESS_GATES, REPLICA_CORE_TAKES_TICKS, type LivenessGates } from './gates.js';
import type { Host } from './host.js';
import { Network, type Frame, type LossReason } from './network.js';
import { plainCore, ReplicaNode, type CoreFactory } from './replica-node.js';
import { Rng } from './rng.js';
import { describeScenario, faultyReplicas, sessionCount, sessionsInUse, type Scenario } from './scenario.js';
import { checksum, Rec, Trace } from './trace.js';

const DELIVER = 0;
const EXECUTED = 1;
const CLIENT_TICK = 2;
const INVOKE = 3;
const BYZ_TICK = 4;
const CALL = 5;
const REPLICA_TICK = 6;
const BYZ_CLIENT = 7;

type SimEvent =
  | { readonly k: typeof DELIVER; readonly frame: Frame }
  | {
      readonly k: typeof EXECUTED;
      readonly replica: number;
      readonly incarnation: number;
      readonly seq: number;
      readonly requests: readonly Request[];
    }
  | { readonly k: typeof CLIENT_TICK | typeof BYZ_TICK | typeof REPLICA_TICK | typeof BYZ_CLIENT; readonly node: number }
  | { readonly k: typeof INVOKE; readonly node: number; readonly index: number }
  | { readonly k: typeof CALL; readonly fn: () => void };

/** After every correct request completed (and faults ended), run this much longer. */
const DRAIN: Micros = 200 * MS;
/** How long the liveness phase goes on once liveness is not going to be checked. */
const UNCHECKED_TAIL: Micros = 2000 * MS;
/** The liveness phase lasts at most this much longer than max(faultEnd, workloadEnd) + livenessBound. */
const HARD_STOP_EXTRA: Micros = 30_000 * MS;
/** Byzantine replicas act every BYZ_TICK_PERIOD (times their clock rate). */
const BYZ_TICK_PERIOD: Micros = 5 * MS;
/** A run that processes this many events is stuck in a loop: fail it. */
/**
 * The most events a run may take (bounded-work checker): far above what a
 * correct run needs (seed 5926, a 10-replica run on a slow network, takes
 * 1.6 million), and what a run whose messages multiply without end (a
 * retransmission storm, Byzantine behaviours answering each other) reaches.
 */
const EVENTS_MAX = 5_000_000;

export type FailureKind = CheckerName | 'invariant' | 'error';

export interface Failure {
  readonly kind: FailureKind;
  readonly message: string;
  readonly time: Micros;
}

export interface FaultCounts {
  dropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  partitions: number;
  partitionLost: number;
  /** Frames in flight lost with a connection reset (generator 5). */
  resetLost: number;
  crashes: number;
  restarts: number;
  /** Generator 7: crashes of a power loss (benign: replicas with durable storage), and restarts from a disk or without data. */
  powerLossCrashes: number;
  durableRestarts: number;
  amnesicRestarts: number;
  /** Crashes that kept part of a disk's unsynced tail, those cut mid-frame, and the unsynced bytes lost. */
  keptTails: number;
  tornTails: number;
  lostTailBytes: number;
  /** Disk syncs, those slow (fault phase), journal rotations, and sends held for a sync [D10]. */
  syncs: number;
  slowSyncs: number;
  rotations: number;
  heldSends: number;
  byzantineActions: number;
  /** Requests no client sent that Byzantine replicas built, and the messages correct replicas refused for carrying one. */
  forgedRequests: number;
  forgedRejected: number;
  authRejected: number;
  malformed: number;
  /** Per behaviour (replica and client). */
  byzantine: Record<string, number>;
}

/** Fault counters, all zero. */
export function noFaults(): FaultCounts {
  return {
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    partitions: 0,
    partitionLost: 0,
    resetLost: 0,
    crashes: 0,
    restarts: 0,
    powerLossCrashes: 0,
    durableRestarts: 0,
    amnesicRestarts: 0,
    keptTails: 0,
    tornTails: 0,
    lostTailBytes: 0,
    syncs: 0,
    slowSyncs: 0,
    rotations: 0,
    heldSends: 0,
    byzantineActions: 0,
    forgedRequests: 0,
    forgedRejected: 0,
    authRejected: 0,
    malformed: 0,
    byzantine: {},
  };
}

export type LivenessVerdict =
  | 'checked'
  | 'faulty-primary'
  | 'lost-agreement-messages'
  | 'lost-view-change'
  | 'lagging-replicas'
  | 'admission-pressure'
  | 'client-table-full'
  | 'not-reached';

export interface RunResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure: Failure | undefined;
  readonly n: number;
  readonly f: number;
  readonly requests: number;
  readonly requestsCompleted: number;
  readonly batchesOrdered: number;
  readonly liveness: LivenessVerdict;
  /** View changes started and views installed (over all replicas), and the highest view reached. */
  readonly views: { readonly started: number; readonly installed: number; readonly highest: number };
  /** Checkpoints fetched and installed by state transfer (over all replicas). */
  readonly checkpointsInstalled: number;
  /** Generator 4: the liveness phase ran on a slow network; a client flooded sessions. */
  readonly slowNetwork: boolean;
  readonly sessionFlood: boolean;
  /** Requests of Byzantine clients executed again (allowed; see the exactly-once checker). */
  readonly reexecutedByzantine: number;
  /** The most early-message operation bytes a correct replica held. */
  readonly earlyBytesPeak: number;
  readonly faults: FaultCounts;
  readonly events: number;
  readonly simTime: Micros;
  readonly traceDigest: string;
}

export interface SimulationOptions {
  readonly factory?: CoreFactory;
  /** A request the service throws on stops the replica (mutant `service-failure-stops`). */
  readonly serviceFailureStops?: boolean;
  /** Receives readable trace lines (verbose mode). */
  readonly sink?: (line: string) => void;
  /** Liveness gates to lift for this run (to see what they hide). */
  readonly liftGates?: readonly (keyof LivenessGates)[];
}

export class Simulation implements Host {
  readonly limits: WireLimits;
  readonly serviceFailureStops: boolean;
  readonly trace: Trace;
  readonly checkers: Checkers;
  readonly clientEndpoints: number[] = [];
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: Network;
  private readonly replicas: ReplicaNode[] = [];
  private readonly clients: ClientNode[] = [];
  private readonly byzClients: ByzantineClientNode[] = [];
  /** Endpoint -> client id base. */
  private readonly bases = new Map<number, number>();
  /** The run's replica and client keys (simulated signatures). */
  private readonly keys: SimKeys;
  private readonly correct: boolean[];
  private readonly faults: FaultCounts = noFaults();
  /** Agreement messages between correct replicas that were lost (liveness precondition). */
  private lostAgreement = 0;
  /** VIEW-CHANGEs and NEW-VIEWs between correct replicas that were lost (liveness precondition). */
  private lostViewChanges = 0;
  /** Correct replicas that fell behind their stable checkpoint (liveness precondition). */
  private readonly laggards = new Set<number>();
  private faultPhase = true;
  private clientsDone = 0;
  private stopAt: Micros;
  private readonly hardStop: Micros;
  private draining = false;
  /** Every correct request completed, but no correct replica that is up holds all of G yet: wait for one (nothing-lost). */
  private catchingUp = false;
  /** When the drain began: a replica still catching up may extend it by up to a liveness bound. */
  private drainStart: Micros = 0;
  /** The liveness verdict cannot be `checked` any more: the run is cut short. */
  private unchecked = false;
  private events = 0;
  private readonly rngs = new Map<string, Rng>();
  private readonly gates: LivenessGates;
  private readonly views = { started: 0, installed: 0, highest: 0 };
  private checkpointsInstalled = 0;

  constructor(
    readonly scenario: Scenario,
    options: SimulationOptions = {},
  ) {
    const s = scenario;
    const gates: Record<string, boolean> = { ...LIVENESS_GATES };
    for (const gate of options.liftGates ?? []) gates[gate] = false;
    this.gates = gates as unknown as LivenessGates;
    this.limits = wireLimits(s.options, s.n);
    this.serviceFailureStops = options.serviceFailureStops === true;
    this.trace = new Trace(options.sink);
    const correctBases = new Set(s.clients.map((c) => c.base));
    this.checkers = new Checkers(
      (id) => this.clientName(id),
      scenario.options,
      (id) => correctBases.has(id - (id % SESSIONS_PER_CLIENT_KEY)),
    );
    const faulty = faultyReplicas(s);
    this.correct = Array.from({ length: s.n }, (_, r) => !faulty.has(r));
    for (const c of s.clients) {
      this.bases.set(c.endpoint, c.base);
      this.clientEndpoints.push(c.endpoint);
    }
    for (const c of s.byzantineClients) {
      this.bases.set(c.endpoint, c.base);
      this.clientEndpoints.push(c.endpoint);
    }
    const endpoints = s.n + s.clients.length + s.byzantineClients.length;
    this.network = new Network(
      s.n,
      endpoints,
      s.network,
      this.rng('network'),
      {
        schedule: (time, frame) => this.queue.at(time, { k: DELIVER, frame }),
        now: () => this.queue.now,
        incarnation: (e) => (e < s.n ? (this.replicas[e] as ReplicaNode).incarnation : 0),
        isDown: (e) => e < s.n && (this.replicas[e] as ReplicaNode).down,
        lost: (frame, reason) => this.lost(frame, reason),
        duplicated: (frame) => this.traceFrame(Rec.Duplicate, 'duplicate', frame),
      },
      faulty,
    );
    const coalition = new Coalition();
    const factory = options.factory ?? plainCore;
    const keys = new SimKeys(s.seed, s.n);
    this.keys = keys;
    for (let r = 0; r < s.n; r++) {
      const byz = s.byzantine.find((b) => b.replica === r);
      this.replicas.push(
        new ReplicaNode(this, r, factory, keys, byz === undefined ? undefined : { behaviours: byz.behaviours, coalition }),
      );
    }
    for (const c of s.clients) this.clients.push(new ClientNode(this, c));
    const victims = s.clients.flatMap((c) => Array.from({ length: c.sessions }, (_, i) => clientId(c.base + i)));
    for (const c of s.byzantineClients) this.byzClients.push(new ByzantineClientNode(this, c, victims));
    this.stopAt = Math.max(s.faultEnd, s.workloadEnd) + s.livenessBound;
    this.hardStop = this.stopAt + HARD_STOP_EXTRA;
  }

  // --- Host -------------------------------------------------------------------

  now(): Micros {
    return this.queue.now;
  }

  inFaultPhase(): boolean {
    return this.faultPhase;
  }

  rng(purpose: string): Rng {
    let r = this.rngs.get(purpose);
    if (r === undefined) {
      r = Rng.derive(this.scenario.seed, purpose);
      this.rngs.set(purpose, r);
    }
    return r;
  }

  send(from: number, to: number, bytes: Uint8Array, claimed = from, delay: Micros = 0): void {
    if (from < this.scenario.n && (this.replicas[from] as ReplicaNode).down) return;
    if (delay > 0) {
      this.after(delay, () => this.send(from, to, bytes, claimed));
      return;
    }
    this.network.send(from, to, bytes, claimed);
  }

  after(delay: Micros, action: () => void): void {
    this.queue.after(delay, { k: CALL, fn: action });
  }

  scheduleExecuted(time: Micros, replica: number, incarnation: number, seq: number, requests: readonly Request[]): void {
    this.queue.at(time, { k: EXECUTED, replica, incarnation, seq, requests });
  }

  lagging(replica: number, delivered: number, stable: number): void {
    if (this.isCorrect(replica)) this.laggards.add(replica);
    this.cutIfUnchecked();
    if (this.trace.verbose) {
      this.trace.line(this.now(), `r${replica} is behind its stable checkpoint (delivered s${delivered}, stable s${stable}): it needs state transfer`);
    }
  }

  checkpointInstalled(): void {
    this.checkpointsInstalled++;
  }

  viewEvent(replica: number, what: 'started' | 'installed', view: number): void {
    if (what === 'installed') this.views.installed++;
    else this.views.started++;
    if (view > this.views.highest) this.views.highest = view;
    this.trace.rec(what === 'installed' ? Rec.ViewInstalled : Rec.ViewChange, this.now(), replica, view);
    if (this.trace.verbose) {
      this.trace.line(this.now(), what === 'installed' ? `r${replica} installs view ${view}` : `r${replica} starts a view change to view ${view}`);
    }
  }

  clientName(clientId: number): string {
    for (const [endpoint, base] of this.bases) {
      if (clientId >= base && clientId < base + 0x10000) return `c${endpoint - this.scenario.n}.${clientId - base}`;
    }
    return `c?${clientId}`;
  }

  clientBase(endpoint: number): number {
    return this.bases.get(endpoint) ?? -1;
  }

  isCorrect(r: number): boolean {
    return this.correct[r] === true;
  }

  clientSigner(endpoint: number, keyIndex = 0): RequestSigner {
    return this.keys.clientSigner(this.clientBase(endpoint) + keyIndex * SESSIONS_PER_CLIENT_KEY);
  }

  verifyRequest(request: Request): boolean {
    return this.keys.verifyRequest(request);
  }

  clientKey(base: number): Uint8Array {
    return this.keys.clientKey(base);
  }

  forgedRequest(): void {
    this.faults.forgedRequests++;
  }

  malformed(at: number, from: number, reason: string): void {
    this.faults.malformed++;
    this.trace.rec(Rec.Malformed, this.now(), at, from, hashString(reason));
    if (this.trace.verbose) this.trace.line(this.now(), `${this.endpointName(at)} drops a malformed frame from ${this.endpointName(from)}: ${reason}`);
  }

  rejected(at: ReplicaId, from: string, messageType: string, rejection: Rejection, fromReplica: number | undefined): void {
    this.trace.rec(Rec.Rejected, this.now(), at, fromReplica ?? -1, hashString(rejection.reason));
    if (this.trace.verbose) {
      const verb = rejection.action === 'reject-peer' ? 'rejects' : 'ignores';
      this.trace.line(this.now(), `r${at} ${verb} ${messageType} from ${from}: ${rejection.reason}`);
    }
    if (rejection.reason === 'forged-request' && this.isCorrect(at)) this.faults.forgedRejected++;
    // A message a correct receiver drops for being ahead of its window is as lost as a dropped one.
    if (
      fromReplica !== undefined &&
      (rejection.reason === 'above-window' || rejection.reason === 'future-view') &&
      this.isCorrect(at) &&
      this.isCorrect(fromReplica)
    ) {
      this.lostAgreement++;
    }
  }

  byzantineAction(behaviour: string, by: number): void {
    this.faults.byzantineActions++;
    this.faults.byzantine[behaviour] = (this.faults.byzantine[behaviour] ?? 0) + 1;
    this.trace.rec(Rec.Byzantine, this.now(), by, hashString(behaviour));
    if (this.trace.verbose) this.trace.line(this.now(), `${this.endpointName(by)} (Byzantine) ${behaviour}`);
  }

  clientDone(): void {
    this.clientsDone++;
    this.maybeDrain();
  }

  progress(): void {
    // While correct requests keep completing, the run goes on (up to a hard cap);
    // it ends once nothing completed for a whole liveness bound.
    if (this.faultPhase || this.draining || this.unchecked) return;
    this.stopAt = Math.min(this.hardStop, Math.max(this.stopAt, this.now() + this.scenario.livenessBound));
  }

  // --- the run ----------------------------------------------------------------------

  run(): RunResult {
    const s = this.scenario;
    let failure: Failure | undefined;
    let liveness: LivenessVerdict = 'not-reached';
    if (this.trace.verbose) for (const line of describeScenario(s)) this.trace.line(0, line);
    try {
      this.schedule();
      for (;;) {
        const t = this.queue.peekTime();
        if (t === undefined || (t > this.stopAt && !this.awaitsCatchUp(t))) break;
        const event = this.queue.pop() as SimEvent;
        this.dispatch(event);
        if (this.catchingUp) this.maybeDrain();
        if (++this.events > EVENTS_MAX) throw new CheckFailure('bounded-work', `more than ${EVENTS_MAX} events: messages multiply faster than the run progresses`);
      }
      this.queue.now = Math.max(this.queue.now, this.stopAt);
      liveness = this.livenessVerdict();
      if (liveness === 'checked') {
        this.checkLiveness();
        this.checkNothingLost();
      }
    } catch (error) {
      failure = classify(error, this.now());
      if (this.trace.verbose) this.trace.line(this.now(), `FAILURE ${failure.kind}: ${failure.message}`);
    }
    const c = this.network.counters;
    for (const r of this.replicas) {
      this.faults.heldSends += r.heldSends;
      if (r.disk === undefined) continue;
      this.faults.syncs += r.disk.syncs;
      this.faults.slowSyncs += r.disk.slowSyncs;
      this.faults.rotations += r.disk.rotations;
    }
    Object.assign(this.faults, {
      dropped: c.dropped,
      duplicated: c.duplicated,
      reordered: c.reordered,
      delayed: c.delayed,
      partitionLost: c.partitionLost,
      resetLost: c.resetLost,
      authRejected: c.authRejected,
    });
    return {
      seed: s.seed,
      ok: failure === undefined,
      failure,
      n: s.n,
      f: s.f,
      requests: this.clients.reduce((sum, cl) => sum + cl.operations, 0),
      requestsCompleted: this.clients.reduce((sum, cl) => sum + cl.resolved, 0),
      batchesOrdered: this.checkers.batchesOrdered,
      liveness,
      views: { ...this.views },
      checkpointsInstalled: this.checkpointsInstalled,
      slowNetwork: s.slowNetwork !== undefined,
      sessionFlood: s.byzantineClients.some((c) => c.flood !== undefined),
      reexecutedByzantine: this.checkers.reexecutedByzantine,
      earlyBytesPeak: this.checkers.earlyBytesPeak,
      faults: this.faults,
      events: this.events,
      simTime: this.now(),
      traceDigest: this.trace.digest(),
    };
  }

  private schedule(): void {
    const s = this.scenario;
    const q = this.queue;
    const phase = (e: number): Micros => Math.floor((this.rng('clocks').float() * s.tickPeriod * (s.clockRate[e] ?? 1)));
    for (const c of this.clients) {
      q.at(phase(c.endpoint), { k: CLIENT_TICK, node: this.clients.indexOf(c) });
      c.spec.operations.forEach((op, index) => q.at(op.at, { k: INVOKE, node: this.clients.indexOf(c), index }));
    }
    for (const r of this.replicas) {
      if (REPLICA_CORE_TAKES_TICKS) q.at(phase(r.id), { k: REPLICA_TICK, node: r.id });
      if (r.byzantine !== undefined) q.at(phase(r.id), { k: BYZ_TICK, node: r.id });
    }
    this.byzClients.forEach((b, i) => {
      for (const at of b.spec.actions) q.at(at, { k: BYZ_CLIENT, node: i });
    });
    for (const crash of s.crashes) {
      q.at(crash.at, { k: CALL, fn: () => this.crash(crash.replica, false) });
      if (crash.restartAt !== undefined) {
        const at = crash.restartAt;
        const mode = s.storage.durable && crash.lostDisk !== true ? 'durable' : 'amnesic';
        q.at(at, { k: CALL, fn: () => this.restart(crash.replica, mode) });
      }
    }
    for (const crash of s.powerLoss?.crashes ?? []) {
      q.at(crash.at, { k: CALL, fn: () => this.crash(crash.replica, true) });
      if (crash.restartAt !== undefined) q.at(crash.restartAt, { k: CALL, fn: () => this.restart(crash.replica, 'durable') });
    }
    for (const p of s.partitions) {
      q.at(p.start, {
        k: CALL,
        fn: () => {
          this.faults.partitions++;
          this.network.partition(p, 1);
          this.trace.rec(Rec.PartitionStart, this.now(), p.a.length, p.b.length, p.kind === 'symmetric' ? 1 : 0);
          if (this.trace.verbose) {
            const names = (xs: readonly number[]): string => xs.map((x) => this.endpointName(x)).join(',');
            this.trace.line(this.now(), `partition (${p.kind}) {${names(p.a)}} ${p.kind === 'one-way' ? '-/->' : '<-/->'} {${names(p.b)}}`);
          }
        },
      });
      q.at(p.end, {
        k: CALL,
        fn: () => {
          this.network.partition(p, -1);
          this.trace.rec(Rec.PartitionEnd, this.now());
          if (this.trace.verbose) this.trace.line(this.now(), 'partition healed');
        },
      });
    }
    q.at(s.faultEnd, {
      k: CALL,
      fn: () => {
        this.faultPhase = false;
        this.network.faulty = false;
        const slow = s.slowNetwork;
        if (slow !== undefined) this.network.setLatency(slow.latencyMin, slow.latencyMax);
        this.trace.rec(Rec.Phase, this.now(), 1);
        if (this.trace.verbose) {
          this.trace.line(this.now(), '--- faults stop: liveness phase ---');
          if (slow !== undefined) this.trace.line(this.now(), `--- the network is slow from now on: ${slow.latencyMin}-${slow.latencyMax}us per hop ---`);
        }
        this.maybeDrain();
        this.cutIfUnchecked();
      },
    });
  }

  private dispatch(e: SimEvent): void {
    const s = this.scenario;
    switch (e.k) {
      case DELIVER:
        this.deliver(e.frame);
        break;
      case EXECUTED:
        (this.replicas[e.replica] as ReplicaNode).onExecuted(e.incarnation, e.seq, e.requests);
        break;
      case CLIENT_TICK: {
        const c = this.clients[e.node] as ClientNode;
        c.tick();
        this.queue.after(Math.round(s.tickPeriod * (s.clockRate[c.endpoint] ?? 1)), e);
        break;
      }
      case INVOKE:
        (this.clients[e.node] as ClientNode).invoke(e.index);
        break;
      case BYZ_TICK: {
        const r = this.replicas[e.node] as ReplicaNode;
        r.byzantine?.tick();
        this.queue.after(Math.round(BYZ_TICK_PERIOD * (s.clockRate[e.node] ?? 1)), e);
        break;
      }
      case REPLICA_TICK: {
        (this.replicas[e.node] as ReplicaNode).tick();
        this.queue.after(Math.round(s.tickPeriod * (s.clockRate[e.node] ?? 1)), e);
        break;
      }
      case BYZ_CLIENT:
        (this.byzClients[e.node] as ByzantineClientNode).act();
        break;
      case CALL:
        e.fn();
        break;
    }
  }

  private deliver(frame: Frame): void {
    if (!this.network.arrive(frame)) {
      if (frame.claimed !== frame.from) {
        this.trace.rec(Rec.AuthReject, this.now(), frame.from, frame.claimed, frame.to);
        if (this.trace.verbose) {
          this.trace.line(
            this.now(),
            `${this.endpointName(frame.to)}'s channel refuses a frame from ${this.endpointName(frame.from)} claiming to be ${this.endpointName(frame.claimed)}`,
          );
        }
      }
      return;
    }
    if (frame.claimed !== frame.from) {
      throw new CheckFailure('authentication', `${this.endpointName(frame.to)} received a frame from ${this.endpointName(frame.from)} as from ${this.endpointName(frame.claimed)}`);
    }
    this.trace.rec(Rec.Deliver, this.now(), frame.from, frame.to, frame.bytes.length, checksum(frame.bytes));
    if (this.trace.verbose) this.traceFrame(Rec.Deliver, '', frame);
    const n = this.scenario.n;
    if (frame.to < n) {
      (this.replicas[frame.to] as ReplicaNode).onFrame(frame.from, frame.bytes);
    } else {
      const c = frame.to - n;
      const client = this.clients[c];
      if (client !== undefined) client.onFrame(frame.from, frame.bytes);
      else this.byzClients[c - this.clients.length]?.onFrame(frame.from, frame.bytes);
    }
  }

  private lost(frame: Frame, reason: LossReason): void {
    const kind = reason === 'drop' ? Rec.Drop : reason === 'crash' ? Rec.CrashLoss : Rec.PartitionLoss;
    const verb = { drop: 'drop', partition: 'cut', crash: 'lost (crash)', reset: 'lost (reset)' }[reason];
    this.traceFrame(kind, verb, frame);
    const n = this.scenario.n;
    if (frame.from < n && frame.to < n && this.isCorrect(frame.from) && this.isCorrect(frame.to)) {
      this.lostAgreement++;
      if (frame.bytes[1] === TAG_VIEW_CHANGE || frame.bytes[1] === TAG_NEW_VIEW) this.lostViewChanges++;
      this.cutIfUnchecked();
    }
  }

  private traceFrame(kind: Rec, verb: string, frame: Frame): void {
    if (kind !== Rec.Deliver) this.trace.rec(kind, this.now(), frame.from, frame.to, frame.linkSeq);
    if (this.trace.verbose) {
      const what = describeFrame(frame.bytes, this.limits, (id) => this.clientName(id));
      this.trace.line(this.now(), `${verb ? `${verb} ` : ''}${this.endpointName(frame.from)} -> ${this.endpointName(frame.to)} ${what}`);
    }
  }

  /** Replica `r` crashes; `powerLoss`: a benign crash of a power loss (generator 7). */
  private crash(r: number, powerLoss: boolean): void {
    const node = this.replicas[r] as ReplicaNode;
    if (node.down) return;
    const outcome = node.crash();
    this.faults.crashes++;
    if (powerLoss) this.faults.powerLossCrashes++;
    this.trace.rec(Rec.Crash, this.now(), r);
    if (outcome !== undefined) {
      this.trace.rec(Rec.DiskCrash, this.now(), r, outcome.keptTailBytes, outcome.lostTailBytes, outcome.torn ? 1 : 0);
      if (outcome.keptTailBytes > 0) this.faults.keptTails++;
      if (outcome.torn) this.faults.tornTails++;
      this.faults.lostTailBytes += outcome.lostTailBytes;
    }
    if (this.trace.verbose) {
      const disk =
        outcome === undefined
          ? ''
          : `; its disk keeps ${outcome.keptTailBytes} unsynced byte(s)${outcome.torn ? ' (torn mid-frame)' : ''} and loses ${outcome.lostTailBytes}`;
      this.trace.line(this.now(), `r${r} crashes${powerLoss ? ' (power loss)' : ''}${disk}`);
    }
  }

  private restart(r: number, mode: 'durable' | 'amnesic'): void {
    const node = this.replicas[r] as ReplicaNode;
    if (!node.down) return;
    this.faults.restarts++;
    this.trace.rec(Rec.Restart, this.now(), r, mode === 'durable' ? 1 : 0); // an empty restart is recorded as before generator 7
    if (mode === 'durable') this.faults.durableRestarts++;
    else this.faults.amnesicRestarts++;
    if (this.trace.verbose) {
      this.trace.line(this.now(), mode === 'durable' ? `r${r} restarts from its disk` : `r${r} restarts with empty state (no data)`);
    }
    const recovery = node.restart(mode);
    if (recovery !== undefined && this.trace.verbose) {
      const st = node.status();
      this.trace.line(
        this.now(),
        `r${r} recovered ${recovery.records} journal record(s)${recovery.truncatedBytes > 0 ? `, cut a torn tail of ${recovery.truncatedBytes} byte(s)` : ''}: ` +
          `view ${st.view}${st.viewActive ? '' : ' (changing)'}, stable checkpoint s${st.stableCheckpoint}, delivered s${st.lastDelivered}`,
      );
    }
  }

  /**
   * Whether the drain, over at `t`, goes on: G grew during it (a Byzantine
   * client's requests) and no correct replica that is up holds all of it;
   * for at most a liveness bound.
   */
  private awaitsCatchUp(t: Micros): boolean {
    if (!this.draining || this.unchecked || t > Math.min(this.hardStop, this.drainStart + this.scenario.livenessBound)) return false;
    return this.holderOfG(true) === undefined;
  }

  /**
   * A correct replica that is up and executed (handed its service) or
   * installed all of G, if any — with `ran`, one whose service also ran it
   * all; the first replica if every correct one is down.
   */
  private holderOfG(ran: boolean): ReplicaNode | undefined {
    let up = false;
    const g = this.checkers.batchesOrdered;
    for (const r of this.replicas) {
      if (r.down || !r.checked) continue;
      up = true;
      if (this.checkers.caughtUp(r.id, r.incarnation) && (!ran || r.ranThrough >= g)) return r;
    }
    return up ? undefined : this.replicas[0];
  }

  /**
   * Nothing executed is lost (generator 7): once every correct request
   * completed, some correct replica that is up holds all of G, each request
   * once (its service state is the reference replay's after G). The others
   * hold prefixes of G (total order, agreement); a correct replica may stay
   * behind in a quiet cluster (alone in a view change, or a few batches
   * past the last stable checkpoint with nothing pending), so "every" would
   * be a liveness property PBFT does not have.
   */
  private checkNothingLost(): void {
    const holder = this.holderOfG(false);
    if (holder === undefined) {
      const ends = this.replicas.filter((r) => !r.down && r.checked).map((r) => `r${r.id} at s${this.checkers.lastExecutedBy(r.id, r.incarnation)}`);
      throw new CheckFailure(
        'nothing-lost',
        `no correct replica that is up holds the ${this.checkers.batchesOrdered} agreed batches (${ends.join(', ')}): executed batches were lost`,
      );
    }
    // Its state is compared once its service ran all of G (a run cut at its hard stop may end with batches in the executor).
    const ran = this.holderOfG(true);
    if (ran !== undefined && !ran.down) this.checkers.holdsEverything(ran.id, ran.incarnation, ran.serviceState());
  }

  /**
   * Once the liveness verdict can no longer be `checked` (a gate's condition
   * happened), the liveness phase only serves the safety checkers: keep it
   * short (UNCHECKED_TAIL past the fault phase and workload).
   */
  private cutIfUnchecked(): void {
    if (this.faultPhase || this.unchecked || this.livenessVerdict() === 'checked') return;
    const s = this.scenario;
    this.unchecked = true;
    this.stopAt = Math.min(this.stopAt, Math.max(this.now(), s.faultEnd, s.workloadEnd) + UNCHECKED_TAIL);
  }

  /**
   * Once faults are over, every correct request completed and (in a run held
   * to liveness) some correct replica that is up holds all of G, run DRAIN
   * longer and stop. Until one does, the run goes on (up to its stop), and
   * the nothing-lost checker then fails it.
   */
  private maybeDrain(): void {
    if (this.faultPhase || this.clientsDone < this.clients.length || this.draining) return;
    this.catchingUp = !this.unchecked && this.holderOfG(true) === undefined;
    if (this.catchingUp) return;
    this.draining = true;
    this.drainStart = this.now();
    this.stopAt = Math.min(this.stopAt, this.now() + DRAIN);
  }

  private livenessVerdict(): LivenessVerdict {
    const s = this.scenario;
    if (this.faultPhase) return 'not-reached';
    const g = this.gates;
    if (g.LIVENESS_NEEDS_CORRECT_PRIMARY && !this.isCorrect(0)) return 'faulty-primary';
    if (g.LIVENESS_NEEDS_NO_LOST_AGREEMENT_MESSAGES && this.lostAgreement > 0) return 'lost-agreement-messages';
    if (g.LIVENESS_NEEDS_NO_LOST_VIEW_CHANGE && this.lostViewChanges > 0) return 'lost-view-change';
    if (g.LIVENESS_NEEDS_NO_LAGGING_REPLICA) {
      // Checkpoints (hence the window) need a quorum of replicas that execute: correct ones that never lagged.
      let executing = 0;
      for (let r = 0; r < s.n; r++) if (this.isCorrect(r) && !this.laggards.has(r)) executing++;
      if (executing < quorumSizes(s.n, s.f).quorum) return 'lagging-replicas';
    }
    if (g.LIVENESS_NEEDS_PENDING_ROOM && s.options.pendingRequestsMax < 2 * sessionCount(s)) return 'admission-pressure';
    if (g.LIVENESS_NEEDS_ROOM_FOR_SESSIONS && s.options.clientSessionsMax < sessionsInUse(s)) return 'client-table-full';
    return 'checked';
  }

  private checkLiveness(): void {
    const s = this.scenario;
    const late = this.clients.flatMap((c) => c.late(s.faultEnd, s.livenessBound, this.now()));
    if (late.length > 0) {
      throw new CheckFailure(
        'liveness',
        `${late.length} request(s) of correct clients not completed within ${s.livenessBound / MS} ms after faults stopped: ${late.slice(0, 5).join(', ')}${late.length > 5 ? ', ...' : ''}`,
      );
    }
  }

  private endpointName(e: number): string {
    const n = this.scenario.n;
    if (e < n) return `r${e}`;
    const base = this.bases.get(e);
    return base === undefined ? `?${e}` : `c${e - n}`;
  }
}

const stringHashes = new Map<string, number>();

function hashString(text: string): number {
  let h = stringHashes.get(text);
  if (h === undefined) {
    h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    h >>>= 0;
    stringHashes.set(text, h);
  }
  return h;
}

function classify(error: unknown, time: Micros): Failure {
  if (error instanceof CheckFailure) return { kind: error.checker, message: error.message, time };
  if (error instanceof InvariantViolation) {
    const where = (error.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()).join(' < ');
    return { kind: 'invariant', message: `assertion: ${error.message} (${where})`, time };
  }
  const e = error as Error;
  return { kind: 'error', message: `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}\n${e?.stack ?? ''}`, time };
}
