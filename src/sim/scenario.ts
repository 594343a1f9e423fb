/**
 * A seed, expanded into everything a run does: cluster size and protocol
 * limits, the workload, network behaviour, partitions, crashes, which
 * replicas and clients are Byzantine and how. Pure: the same seed (and bias)
 * gives the same scenario.
 */
import { defaultProtocolOptions, protocolOptionsProblem, type ProtocolOptions } from '../core/options.js';
import { maxFaults } from '../core/quorum.js';
import { SESSIONS_PER_CLIENT_KEY } from '../core/ids.js';
import { CLIENT_BEHAVIOURS, lateBehaviours, REPLICA_BEHAVIOURS, selectableBehaviours } from './byzantine.js';
import { MS, type Micros } from './event-queue.js';
import { Rng } from './rng.js';
import { KEYS, type SimOperationKind } from './service.js';

/** Which links random drops and partitions may hit during the fault phase. */
export type LossScope =
  /** any link */
  | 'all'
  /** only links with a client at one end */
  | 'clients'
  /** only links with a client or a faulty (Byzantine or crashing) replica at one end */
  | 'faulty';

export interface NetworkParams {
  /** One-way latency, uniform in [latencyMin, latencyMax] µs. */
  readonly latencyMin: Micros;
  readonly latencyMax: Micros;
  /** Fault-phase probabilities, per frame. */
  readonly dropP: number;
  readonly duplicateP: number;
  /** A frame that leaves its link's FIFO order (later frames overtake it). */
  readonly reorderP: number;
  /** A frame (and, FIFO, the frames behind it on its link) delayed by up to spikeMax. */
  readonly spikeP: number;
  readonly spikeMax: Micros;
  readonly lossScope: LossScope;
}

export interface PartitionSpec {
  readonly start: Micros;
  readonly end: Micros;
  /**
   * Symmetric: no frame crosses between the sides. One-way: frames from `a`
   * to `b` are lost. Reset (generator 5): the connections between the sides
   * die at `start`, losing every frame in flight on them either way, and
   * come back (redialled) at `end`; symmetric meanwhile.
   */
  readonly kind: 'symmetric' | 'one-way' | 'reset';
  /** Endpoints (replica ids, then client endpoints) on each side. */
  readonly a: readonly number[];
  readonly b: readonly number[];
}

export interface CrashSpec {
  readonly replica: number;
  readonly at: Micros;
  /** Undefined: stays down. */
  readonly restartAt: Micros | undefined;
  /**
   * Generator 7: the replica restarts without its data (a lost disk, or a
   * replica without a data directory): it counts against f until it caught
   * up (docs/DURABILITY.md D15). Always so when `storage.durable` is false.
   */
  readonly lostDisk?: boolean;
}

/**
 * Generator 7: the replicas' disks (docs/SIMULATOR.md, "Disks"). With
 * `durable`, every replica journals its `persist` effects to a simulated
 * disk and holds its sends until they are synced [D10]; a crash keeps what
 * was synced (and maybe part of the rest) and the replica restarts from it.
 * Without, replicas are in memory only, as before generator 7.
 */
export interface StorageSpec {
  readonly durable: boolean;
  /** Time one fsync takes, uniform in [syncMin, syncMax] µs. */
  readonly syncMin: Micros;
  readonly syncMax: Micros;
  /** In the fault phase, a sync is slow with this chance: up to slowSyncMax more. */
  readonly slowSyncP: number;
  readonly slowSyncMax: Micros;
  /** On a crash: the chance that a prefix of the unsynced tail survives, and that it ends mid-frame (torn). */
  readonly tailKeepP: number;
  readonly tornP: number;
  /** The journal is rotated at every rotateEvery-th stable checkpoint [D8] (0: never). */
  readonly rotateEvery: number;
}

/**
 * Generator 7: crashes of replicas with durable storage, which are benign
 * (not counted against f): a power cut of the whole cluster at once, or
 * restarts one after another (`rolling`), every replica restarting from its
 * disk within the fault phase.
 */
export interface PowerLossSpec {
  readonly kind: 'power-cut' | 'rolling';
  readonly crashes: readonly CrashSpec[];
}

export interface ByzantineReplicaSpec {
  readonly replica: number;
  readonly behaviours: readonly string[];
}

export interface Operation {
  readonly at: Micros;
  readonly kind: SimOperationKind;
  readonly key: number;
}

export interface ClientSpec {
  /** Endpoint number (n + index). */
  readonly endpoint: number;
  /** First client id it owns (`clientIdBase` of its simulated key). */
  readonly base: number;
  readonly sessions: number;
  readonly firstRequestNo: number;
  readonly operations: readonly Operation[];
}

export interface ByzantineClientSpec {
  readonly endpoint: number;
  readonly base: number;
  readonly behaviours: readonly string[];
  /** Times of its misbehaviours. */
  readonly actions: readonly Micros[];
  /** `session-flood` (generator 4): how it floods. */
  readonly flood?: SessionFloodSpec;
}

/** A `session-flood` client's plan (generator 4). */
export interface SessionFloodSpec {
  /** Sessions it opens in all, one request each. */
  readonly sessions: number;
  /**
   * Client keys it spreads them over, round-robin (generator 6; 1 before):
   * its own and the next ones (ids `base + k * 65,536`), each with its signer.
   */
  readonly keys: number;
  /** New sessions per action. */
  readonly burst: number;
  /**
   * A session opened at least this many sessions ago has been evicted from a
   * client table this large (its retransmission is late): the honest
   * sessions plus the slack, which is clientSessionsMax unless the table has
   * room for the flood.
   */
  readonly lateAfter: number;
}

/** The liveness phase's network when it is slow but steady (generator 4). */
export interface SlowNetwork {
  /** Per-hop latency of every frame of the liveness phase, uniform in [latencyMin, latencyMax] µs. */
  readonly latencyMin: Micros;
  readonly latencyMax: Micros;
  /** latencyMin as a fraction of viewChangeTimeoutTicks (in ticks of an exact clock). */
  readonly factor: number;
}

export interface Scenario {
  readonly seed: number;
  readonly n: number;
  readonly f: number;
  readonly options: ProtocolOptions;
  /** Network faults, partitions, crashes and restarts all happen before this. */
  readonly faultEnd: Micros;
  /** Last invocation of a correct client. */
  readonly workloadEnd: Micros;
  /** Every correct client's invocation must complete by max(faultEnd, workloadEnd) + this (if liveness applies). */
  readonly livenessBound: Micros;
  readonly network: NetworkParams;
  readonly partitions: readonly PartitionSpec[];
  readonly crashes: readonly CrashSpec[];
  readonly byzantine: readonly ByzantineReplicaSpec[];
  readonly clients: readonly ClientSpec[];
  readonly byzantineClients: readonly ByzantineClientSpec[];
  /** Clock rate of each endpoint (timer skew), e.g. 1.05 = its ticks come 5% late. */
  readonly clockRate: readonly number[];
  readonly tickPeriod: Micros;
  readonly retransmitTicks: number;
  readonly retransmitTicksMax: number;
  /** Service time of one batch, uniform in [0, executeDelayMax]. */
  readonly executeDelayMax: Micros;
  /** Generator 4: the liveness phase's latency, near the view-change timers, if the network is slow then. */
  readonly slowNetwork: SlowNetwork | undefined;
  /** Generator 5: which replicas lag, miss quorums and crash, if the seed draws that (lateDraws5). */
  readonly isolation: { readonly lagging: number; readonly isolated: number; readonly crashed: number | undefined } | undefined;
  /** Generator 7: the replicas' disks. */
  readonly storage: StorageSpec;
  /** Generator 7: benign crashes of replicas with durable storage (a power cut, rolling restarts). */
  readonly powerLoss: PowerLossSpec | undefined;
}

/** Steers generation toward what makes a planted bug observable (mutant runs). */
export interface ScenarioBias {
  readonly sizes?: readonly number[];
  /** Replica 0 (primary of view 0) is Byzantine with these behaviours. */
  readonly primary?: readonly string[];
  /** One Byzantine backup with these behaviours (if the fault budget allows). */
  readonly backup?: readonly string[];
  readonly network?: Partial<NetworkParams>;
  readonly options?: Partial<ProtocolOptions>;
  readonly noCrashes?: boolean;
  /**
   * Generator 4: the liveness phase's network is slow but steady, every hop
   * taking this fraction of viewChangeTimeoutTicks (e.g. 0.7).
   */
  readonly slowNetwork?: number;
  /**
   * Generator 4: a Byzantine client floods sessions (`session-flood`); the
   * client table then holds the honest sessions plus a few, unless
   * `options.clientSessionsMax` says otherwise.
   */
  readonly sessionFlood?: boolean;
  /** Generator 5: one correct replica hears nothing for a while and another crashes meanwhile (`isolateThenCrash`). */
  readonly isolateThenCrash?: boolean;
  /** Generator 5: correct clients send some `poison` operations, on which the service throws. */
  readonly poison?: boolean;
  /** Generator 5: connections die and are redialled (`reset` partitions). */
  readonly resets?: boolean;
  /** Generator 6: a session flood spreads over keys and meets per-key quotas (`quotaDraws`). */
  readonly quotas?: boolean;
  /** Generator 6: the seed's Byzantine clients send badly signed requests (`bad-signatures`). */
  readonly badSignatures?: boolean;
  /**
   * Generator 7: replicas have durable storage, with these disk parameters
   * (a biased seed is otherwise in memory only, as in generator 6).
   */
  readonly storage?: Partial<StorageSpec>;
  /** Generator 7: a power cut of the whole cluster, or rolling restarts (implies durable storage). */
  readonly powerLoss?: PowerLossSpec['kind'];
}

/**
 * Bump when generation changes what a seed means (a seed's scenario is only
 * reproducible within one version; regression seeds are re-found after a bump,
 * see test/sim/regressions.test.ts).
 */
export const GENERATOR_VERSION = 7;

export const TICK_PERIOD: Micros = 10 * MS;

/** Options with the seed's limits and timeouts, consistent by construction (protocolOptionsProblem is checked too). */
function protocolOptions(r: Rng, bias: Partial<ProtocolOptions> | undefined): ProtocolOptions {
  const pipelineMax = bias?.pipelineMax ?? r.pick([1, 2, 4, 8, 16]);
  const requestBytesMax = r.pick([64, 256, 1024]);
  const logWindow =
    bias?.logWindow ??
    r.weighted([
      [Math.max(2, pipelineMax), 1],
      [Math.max(2, pipelineMax * 2), 1],
      [Math.max(32, pipelineMax), 2],
      [128, 2],
      [256, 2],
    ]);
  const intervals = [1, 2, 4, Math.floor(logWindow / 4), Math.floor(logWindow / 2)].filter((i) => i >= 1 && 2 * i <= logWindow);
  const viewChangeResendTicks = r.pick([3, 5, 10, 30]);
  const requestTimeoutTicks = r.pick([5, 10, 20, 40]);
  const candidate: ProtocolOptions = {
    ...defaultProtocolOptions,
    pipelineMax,
    logWindow,
    batchRequestsMax: r.pick([1, 2, 4, 16, 64]),
    requestBytesMax,
    batchBytesMax: requestBytesMax * r.pick([1, 4, 64]),
    executeBacklogMax: r.pick([1, 2, 8, 32]),
    checkpointInterval: r.pick(intervals),
    viewChangeResendTicks,
    requestTimeoutTicks,
    viewChangeTimeoutTicks: Math.max(2 * viewChangeResendTicks, requestTimeoutTicks) + r.pick([1, 10, 30, 60]),
    newViewTimeoutTicks: r.pick([10, 20, 50, 200]),
    ...bias,
  };
  const problem = protocolOptionsProblem(candidate);
  if (problem !== undefined) throw new Error(`scenario generator made bad options: ${problem.field} ${problem.message}`);
  return candidate;
}

/**
 * How long, after faults stop, every correct request must take at most: a
 * base for the network and execution, plus the worst case of f + 1
 * consecutive faulty primaries (each: T2's starvation timeout, then T4's
 * doubling NEW-VIEW timeout), in ticks at the slowest clock.
 */
export function livenessBoundFor(options: ProtocolOptions, f: number, clockRateMax: number, tickPeriod: Micros): Micros {
  const views = f + 1;
  const ticks =
    views * (4 * options.viewChangeTimeoutTicks + 2 * options.viewChangeResendTicks) + options.newViewTimeoutTicks * (2 ** views - 1);
  return 3000 * MS + Math.ceil(ticks * tickPeriod * clockRateMax);
}

function pickBehaviours(r: Rng, role: 'primary' | 'backup', count: number): string[] {
  const candidates = selectableBehaviours(REPLICA_BEHAVIOURS, role);
  const chosen: string[] = [];
  for (let i = 0; i < count && chosen.length < candidates.length; i++) {
    const left = candidates.filter((b) => !chosen.includes(b.spec.name));
    chosen.push(r.weighted(left.map((b) => [b.spec.name, b.weight] as const)));
  }
  return chosen;
}

export function generateScenario(seed: number, bias?: ScenarioBias): Scenario {
  const r = Rng.derive(seed, 'scenario');
  const n =
    bias?.sizes !== undefined
      ? r.pick(bias.sizes)
      : r.weighted([
          [4, 45],
          [5, 8],
          [7, 40],
          [10, 7],
        ]);
  const f = maxFaults(n);
  const baseOptions = protocolOptions(r, bias?.options);
  /** Pending-request room: the default, exactly enough for every session, or less (admission pressure). */
  const pendingMode = r.weighted([
    ['default', 6],
    ['exact', 2],
    ['small', 2],
  ] as const);

  const faultEnd = r.int(300, 2000) * MS;
  const workloadEnd = faultEnd + r.int(0, 500) * MS;

  // --- faulty replicas: Byzantine and crashing, at most f together ---------
  const byzantine: ByzantineReplicaSpec[] = [];
  let budget = f;
  const faulty = new Set<number>();
  const wantPrimary = bias?.primary !== undefined;
  const wantBackup = bias?.backup !== undefined;
  const forced = (wantPrimary ? 1 : 0) + (wantBackup ? 1 : 0);
  const byzCount = forced > 0 ? Math.min(f, forced + (r.chance(0.3) ? r.int(0, f) : 0)) : r.chance(0.6) ? r.int(1, f) : 0;
  const byzPrimary = wantPrimary || (!wantBackup && byzCount > 0 && r.chance(0.35));
  if (byzPrimary && byzCount > 0) {
    byzantine.push({
      replica: 0,
      behaviours: bias?.primary !== undefined ? [...bias.primary] : pickBehaviours(r, 'primary', r.int(1, 3)),
    });
    faulty.add(0);
    budget--;
  }
  const backups = r.shuffled(Array.from({ length: n - 1 }, (_, i) => i + 1));
  const primaryEquivocates = byzantine[0]?.behaviours.includes('equivocate') === true;
  while (byzantine.length < byzCount && budget > 0) {
    const replica = backups.pop() as number;
    const useBias = wantBackup && !byzantine.some((b) => b.replica !== 0);
    let behaviours = useBias && bias?.backup !== undefined ? [...bias.backup] : pickBehaviours(r, 'backup', r.int(1, 3));
    // An equivocating primary's accomplices back it more often than chance would have them.
    if (primaryEquivocates && !behaviours.includes('collude') && r.chance(0.5)) behaviours = [...behaviours, 'collude'];
    byzantine.push({ replica, behaviours });
    faulty.add(replica);
    budget--;
  }
  const crashes: CrashSpec[] = [];
  if (bias?.noCrashes !== true && budget > 0 && r.chance(0.35)) {
    const count = r.int(1, budget);
    const candidates = r.shuffled(Array.from({ length: n }, (_, i) => i).filter((i) => !faulty.has(i)));
    for (let i = 0; i < count; i++) {
      const replica = candidates[i] as number;
      if (replica === 0 && !r.chance(0.3)) continue; // crash the primary less often
      const at = r.int(5, Math.floor((faultEnd / MS) * 0.9)) * MS;
      const restartAt = r.chance(0.7) ? Math.min(faultEnd - MS, at + r.int(1, 500) * MS) : undefined;
      crashes.push({ replica, at, restartAt: restartAt !== undefined && restartAt > at ? restartAt : undefined });
      faulty.add(replica);
    }
  }

  // --- clients ---------------------------------------------------------------
  const usedBases = new Set<number>();
  const newBase = (): number => {
    for (;;) {
      const base = (Math.floor(r.float() * 2 ** 37) || 1) * SESSIONS_PER_CLIENT_KEY;
      if (!usedBases.has(base)) {
        usedBases.add(base);
        return base;
      }
    }
  };
  const clientCount = r.int(1, 5);
  const totalRequests = r.weighted([
    [r.int(20, 60), 3],
    [r.int(60, 200), 4],
    [r.int(200, 400), 2],
  ]);
  const clients: ClientSpec[] = [];
  for (let c = 0; c < clientCount; c++) {
    const count = Math.max(1, Math.round(totalRequests / clientCount));
    const bursty = r.chance(0.3);
    const operations: Operation[] = [];
    let t = 0;
    for (let i = 0; i < count; i++) {
      t = bursty ? (r.chance(0.1) ? r.int(0, workloadEnd) : t) : r.int(0, workloadEnd);
      operations.push({ at: t, kind: r.chance(0.8) ? 'append' : 'read', key: r.int(0, KEYS - 1) });
    }
    operations.sort((x, y) => x.at - y.at);
    clients.push({
      endpoint: n + c,
      base: newBase(),
      sessions: r.int(1, 4),
      firstRequestNo: r.int(1, 1_000_000),
      operations,
    });
  }
  const byzantineClients: ByzantineClientSpec[] = [];
  const byzClientCount = r.chance(0.3) ? r.int(1, 2) : 0;
  for (let c = 0; c < byzClientCount; c++) {
    const behaviours = r.sample(
      CLIENT_BEHAVIOURS.map((b) => b.name),
      r.int(1, CLIENT_BEHAVIOURS.length),
    );
    const actions = Array.from({ length: r.int(5, 40) }, () => r.int(0, faultEnd));
    actions.sort((x, y) => x - y);
    byzantineClients.push({ endpoint: n + clientCount + c, base: newBase(), behaviours, actions });
  }
  const endpoints = n + clientCount + byzClientCount;
  const sessions = clients.reduce((sum, c) => sum + c.sessions, 0) + 2 * byzClientCount; // as sessionCount()
  const options: ProtocolOptions =
    pendingMode === 'default' || bias?.options?.pendingRequestsMax !== undefined
      ? baseOptions
      : { ...baseOptions, pendingRequestsMax: pendingMode === 'exact' ? 2 * sessions : r.pick([2, 8]) };

  // --- network ---------------------------------------------------------------
  const calm = r.chance(0.15);
  const latencyMin = r.int(50, 2000);
  const network: NetworkParams = {
    latencyMin,
    latencyMax: latencyMin + r.pick([0, 500, 2000, 10_000]),
    dropP: calm ? 0 : r.pick([0, 0.01, 0.05, 0.15]),
    duplicateP: calm ? 0 : r.pick([0, 0.01, 0.05, 0.2]),
    reorderP: calm ? 0 : r.pick([0, 0.02, 0.1, 0.3]),
    spikeP: calm ? 0 : r.pick([0, 0.01, 0.05]),
    spikeMax: r.int(10, 300) * MS,
    lossScope: r.weighted([
      ['all', 4],
      ['clients', 3],
      ['faulty', 3],
    ]),
    ...bias?.network,
  };

  const partitions: PartitionSpec[] = [];
  const partitionCount = calm ? 0 : r.weighted([
    [0, 4],
    [1, 3],
    [2, 2],
    [3, 1],
  ]);
  const replicaIds = Array.from({ length: n }, (_, i) => i);
  const clientIds = Array.from({ length: endpoints - n }, (_, i) => n + i);
  for (let i = 0; i < partitionCount; i++) {
    const start = r.int(0, faultEnd - MS);
    const end = Math.min(faultEnd, start + r.int(10, 500) * MS);
    let a: number[];
    let b: number[];
    if (network.lossScope === 'all') {
      const shuffled = r.shuffled(replicaIds);
      const cut = r.int(1, n - 1);
      a = shuffled.slice(0, cut);
      b = shuffled.slice(cut);
      for (const c of clientIds) (r.chance(0.5) ? a : b).push(c);
    } else if (network.lossScope === 'faulty' && faulty.size > 0) {
      a = [...faulty].sort((x, y) => x - y);
      b = replicaIds.filter((x) => !faulty.has(x));
      for (const c of clientIds) (r.chance(0.3) ? a : b).push(c);
    } else {
      a = r.sample(clientIds, r.int(1, clientIds.length));
      b = r.sample(replicaIds, r.int(1, n));
    }
    partitions.push({ start, end, kind: r.chance(0.5) ? 'symmetric' : 'one-way', a, b });
  }

  const skew = r.pick([0, 0.02, 0.1, 0.25]);
  const clockRate = Array.from({ length: endpoints }, () => 1 + (r.float() * 2 - 1) * skew);
  const livenessBound = livenessBoundFor(options, f, Math.max(...clockRate.slice(0, n)), TICK_PERIOD);
  const retransmitTicks = r.pick([5, 10, 20]);

  const late = lateDraws(seed, options, byzantine, bias);
  const scenario: Scenario = {
    seed,
    n,
    f,
    options: late.options,
    faultEnd,
    workloadEnd,
    livenessBound,
    network,
    partitions,
    crashes,
    byzantine: late.byzantine,
    clients,
    byzantineClients,
    clockRate,
    tickPeriod: TICK_PERIOD,
    retransmitTicks,
    retransmitTicksMax: retransmitTicks * r.pick([2, 4, 8]),
    executeDelayMax: r.pick([0, 200, 2000, 20_000]),
    slowNetwork: undefined,
    isolation: undefined,
    storage: IN_MEMORY,
    powerLoss: undefined,
  };
  const g6 = quotaDraws(lateDraws6(resetDraws(poisonDraws(lateDraws5(lateDraws4(scenario, usedBases, bias), bias), bias), bias), bias), usedBases, bias);
  return diskDraws7(g6, bias);
}

/**
 * What generator 3 added (state transfer), drawn from a stream of its own
 * after the rest, so every earlier draw — and what the regression seeds'
 * scenarios contain — stayed as in generator 2: the state-transfer limits
 * (small chunks: the simulated service's states are small, and a transfer
 * should span many chunks) and the behaviours drawn separately
 * (lie-state-transfer), added to Byzantine replicas unless a mutant's bias
 * chose their behaviours.
 */
function lateDraws(
  seed: number,
  options: ProtocolOptions,
  byzantine: readonly ByzantineReplicaSpec[],
  bias: ScenarioBias | undefined,
): { options: ProtocolOptions; byzantine: ByzantineReplicaSpec[] } {
  const r = Rng.derive(seed, 'scenario-late');
  const late: ProtocolOptions = {
    ...options,
    chunkBytes: r.pick([16, 64, 1024]),
    chunksInFlightMax: r.pick([1, 2, 8]),
    logEntriesMax: r.pick([1, 4, 16]),
    ...bias?.options,
  };
  const extra = lateBehaviours(REPLICA_BEHAVIOURS, 3);
  const biased = bias?.primary !== undefined || bias?.backup !== undefined;
  return {
    options: late,
    byzantine: byzantine.map((b) => {
      const added = biased ? [] : extra.filter((spec) => r.chance(spec.weight / 10)).map((spec) => spec.name);
      return added.length === 0 ? b : { ...b, behaviours: [...b.behaviours, ...added] };
    }),
  };
}

/** Seeds whose liveness phase runs on a slow but steady network (generator 4). */
export const SLOW_NETWORK_P = 0.1;
/** The slow network's per-hop delay, as a fraction of viewChangeTimeoutTicks, is uniform between these. */
export const SLOW_NETWORK_FACTOR_MIN = 0.3;
export const SLOW_NETWORK_FACTOR_MAX = 0.9;
/** Seeds with a session-flooding Byzantine client (generator 4); most have a small client table. */
export const SESSION_FLOOD_P = 0.1;
/**
 * Session-flood seeds whose client table has room for the flood too (no
 * eviction: exactly-once is kept trivially, and liveness is checked).
 */
export const FLOOD_ROOMY_P = 0.25;
/**
 * The most sessions a flooder opens in a run: a key owns 65,536, but a few
 * hundred past the client table already evict every honest session.
 */
export const FLOOD_SESSIONS_MAX = 2048;

/**
 * A slow network's share of the liveness bound: the hops of a few rounds of
 * requests and view changes at the slow delay (SLOW_BOUND_HOPS), and the
 * timer terms again SLOW_BOUND_TIMER_GROWTH times over: a core whose
 * timers back off may need a few failed views, each longer than the last,
 * before its timeouts outlast the round trips (docs/SIMULATOR.md,
 * "Checkers", liveness).
 */
export const SLOW_BOUND_HOPS = 60;
export const SLOW_BOUND_TIMER_GROWTH = 4;

export function slowLivenessBound(options: ProtocolOptions, f: number, clockRateMax: number, tickPeriod: Micros, hopMax: Micros): Micros {
  const base = livenessBoundFor(options, f, clockRateMax, tickPeriod);
  return base + (SLOW_BOUND_TIMER_GROWTH - 1) * (base - 3000 * MS) + SLOW_BOUND_HOPS * hopMax;
}

/**
 * What ordering a session flood's requests may add to a correct request's
 * wait: the correct request may queue behind all of them (admission is in
 * arrival order), and the cluster orders at worst batchRequestsMax requests
 * per batch and pipelineMax batches per round of four hops (request,
 * PRE-PREPARE, PREPARE, COMMIT), plus the service time.
 */
export function floodLoadBound(options: ProtocolOptions, requests: number, hopMax: Micros, executeDelayMax: Micros): Micros {
  const rounds = Math.ceil(requests / options.batchRequestsMax / options.pipelineMax);
  return rounds * (4 * hopMax + executeDelayMax);
}

/**
 * Generator 4's stream. Its suffix is the first, counting from 0, whose draws
 * add nothing to the seeds of test/sim/regressions.test.ts, so they kept
 * their scenarios (and trace digests) from generator 3; the rates below are
 * the same for any suffix.
 */
const LATE_4_STREAM = 'scenario-late-4/365';

/**
 * What generator 4 added, drawn from a stream of its own after everything
 * else (generator 3's late draws included), so every earlier draw is as in
 * generator 3. Always drawn in full and in this order, then overridden by a
 * bias (a mutant's bias gets none of the random additions, only what it asks
 * for), so the stream stays aligned whatever the bias:
 *
 * 1. a slow but steady network for the whole liveness phase (SLOW_NETWORK_P):
 *    a per-hop delay of 0.3-0.9 x viewChangeTimeoutTicks, constant or
 *    jittered by 2% or 10%; the liveness bound grows with it;
 * 2. a session-flooding Byzantine client (SESSION_FLOOD_P), a client of its
 *    own after the others, with the client table (`clientSessionsMax`) only a
 *    few entries larger than the honest sessions, or in FLOOD_ROOMY_P of
 *    them with room for the flood as well; the liveness bound grows by what
 *    ordering the flood's requests takes (floodLoadBound);
 * 3. the behaviours rows marked `late: 4` (hook-state-transfer,
 *    withhold-checkpoints, flood-early), each added to a Byzantine replica
 *    with chance weight / 10.
 */
function lateDraws4(s: Scenario, usedBases: ReadonlySet<number>, bias: ScenarioBias | undefined): Scenario {
  const r = Rng.derive(s.seed, LATE_4_STREAM);
  const biased = bias !== undefined;
  const o = s.options;

  // 1. slow but steady liveness phase
  const slowDrawn = r.chance(SLOW_NETWORK_P);
  const drawnFactor = SLOW_NETWORK_FACTOR_MIN + (SLOW_NETWORK_FACTOR_MAX - SLOW_NETWORK_FACTOR_MIN) * r.float();
  const jitter = r.pick([0, 0, 0.02, 0.1]);
  const factor = bias?.slowNetwork ?? (slowDrawn && !biased ? drawnFactor : undefined);
  let slowNetwork: SlowNetwork | undefined;
  let livenessBound = s.livenessBound;
  if (factor !== undefined) {
    const latencyMin = Math.max(1, Math.round(factor * o.viewChangeTimeoutTicks * s.tickPeriod));
    const latencyMax = latencyMin + Math.round(jitter * latencyMin);
    slowNetwork = { latencyMin, latencyMax, factor };
    livenessBound = slowLivenessBound(o, s.f, Math.max(...s.clockRate.slice(0, s.n)), s.tickPeriod, latencyMax);
  }

  // 2. a session flood, and a client table a few entries larger than the honest sessions
  const floodDrawn = r.chance(SESSION_FLOOD_P);
  const tableSlack = r.pick([0, 1, 4, 16]);
  const floodExtra = r.pick([16, 64, 256]);
  const burst = r.pick([1, 4, 16]);
  let base = 0;
  do base = (Math.floor(r.float() * 2 ** 37) || 1) * SESSIONS_PER_CLIENT_KEY;
  while (usedBases.has(base));
  const flooding = bias?.sessionFlood ?? (floodDrawn && !biased);
  let options = o;
  const byzantineClients = [...s.byzantineClients];
  const clockRate = [...s.clockRate];
  if (flooding) {
    // A table a few entries above the honest sessions (the flood overflows it), or, in some seeds, room for the flood too.
    const small = sessionCount(s) + tableSlack;
    const sessions = Math.min(SESSIONS_PER_CLIENT_KEY - 2, FLOOD_SESSIONS_MAX, small + floodExtra);
    const roomy = r.chance(FLOOD_ROOMY_P);
    const clientSessionsMax = bias?.options?.clientSessionsMax ?? (roomy ? small + sessions : small);
    options = { ...o, clientSessionsMax };
    const count = Math.ceil((1.5 * sessions) / burst) + 10;
    const end = s.workloadEnd + 500 * MS;
    const actions = Array.from({ length: count }, () => r.int(0, end));
    actions.sort((x, y) => x - y);
    const hopMax = Math.max(s.network.latencyMax, slowNetwork?.latencyMax ?? 0);
    livenessBound += floodLoadBound(o, sessions + count, hopMax, s.executeDelayMax);
    byzantineClients.push({
      endpoint: s.n + s.clients.length + s.byzantineClients.length,
      base,
      behaviours: ['session-flood'],
      actions,
      flood: { sessions, burst, lateAfter: small, keys: 1 },
    });
    clockRate.push(1);
  }

  // 3. behaviours added by generator 4
  const extra = lateBehaviours(REPLICA_BEHAVIOURS, 4);
  const byzantine = s.byzantine.map((b) => {
    const added = extra.filter((spec) => r.chance(spec.weight / 10)).map((spec) => spec.name);
    return added.length === 0 || biased ? b : { ...b, behaviours: [...b.behaviours, ...added] };
  });
  return { ...s, options, livenessBound, slowNetwork, byzantine, byzantineClients, clockRate };
}

/**
 * Client sessions that may hold pending requests: correct clients' and
 * Byzantine clients' (two each; a session flooder's are not counted).
 */
export function sessionCount(s: Pick<Scenario, 'clients' | 'byzantineClients'>): number {
  return s.clients.reduce((sum, c) => sum + c.sessions, 0) + 2 * s.byzantineClients.filter((c) => c.flood === undefined).length;
}

/** Sessions clients use: the honest ones (sessionCount) and a session flooder's. */
export function sessionsInUse(s: Pick<Scenario, 'clients' | 'byzantineClients'>): number {
  return sessionCount(s) + s.byzantineClients.reduce((sum, c) => sum + (c.flood?.sessions ?? 0), 0);
}

/**
 * Replicas that are Byzantine or crash at some point, counted against f: not
 * the benign power loss of replicas with durable storage (generator 7).
 */
export function faultyReplicas(s: Scenario): Set<number> {
  return new Set([...s.byzantine.map((b) => b.replica), ...s.crashes.map((c) => c.replica)]);
}

/** The scenario in a few readable lines (verbose traces). */
export function describeScenario(s: Scenario): string[] {
  const ms = (t: Micros): string => `${(t / MS).toFixed(1)}ms`;
  const name = (e: number): string => (e < s.n ? `r${e}` : `c${e - s.n}`);
  const o = s.options;
  const lines = [
    `seed ${s.seed}: n=${s.n} f=${s.f}; pipelineMax=${o.pipelineMax} logWindow=${o.logWindow} batchRequestsMax=${o.batchRequestsMax} ` +
      `batchBytesMax=${o.batchBytesMax} requestBytesMax=${o.requestBytesMax} executeBacklogMax=${o.executeBacklogMax} pendingRequestsMax=${o.pendingRequestsMax}`,
    `faults until ${ms(s.faultEnd)}, workload until ${ms(s.workloadEnd)}, liveness bound ${ms(s.livenessBound)}; service time <= ${ms(s.executeDelayMax)}`,
    `network: latency ${s.network.latencyMin}-${s.network.latencyMax}us, drop ${s.network.dropP} (${s.network.lossScope} links), ` +
      `duplicate ${s.network.duplicateP}, reorder ${s.network.reorderP}, spikes ${s.network.spikeP} up to ${ms(s.network.spikeMax)}`,
    ...s.partitions.map(
      (p) => `partition ${p.kind} ${ms(p.start)}-${ms(p.end)}: {${p.a.map(name).join(',')}} ${p.kind === 'one-way' ? '-/->' : '<-/->'} {${p.b.map(name).join(',')}}`,
    ),
    ...s.crashes.map(
      (c) =>
        `crash r${c.replica} at ${ms(c.at)}${c.restartAt !== undefined ? `, restart at ${ms(c.restartAt)}${c.lostDisk === true || !s.storage.durable ? ' without its data' : ' from its disk'}` : ', no restart'}`,
    ),
    ...s.byzantine.map((b) => `Byzantine r${b.replica}: ${b.behaviours.join(', ')}`),
    ...s.clients.map((c) => `client c${c.endpoint - s.n}: ${c.sessions} session(s), ${c.operations.length} operations`),
    ...s.byzantineClients.map(
      (c) =>
        `Byzantine client c${c.endpoint - s.n}: ${c.behaviours.join(', ')} (${c.actions.length} actions)` +
        (c.flood !== undefined ? `: ${c.flood.sessions} sessions, ${c.flood.burst} per action; client table ${o.clientSessionsMax}` : ''),
    ),
    ...(s.slowNetwork !== undefined
      ? [
          `liveness phase on a slow network: ${s.slowNetwork.latencyMin}-${s.slowNetwork.latencyMax}us per hop ` +
            `(${s.slowNetwork.factor.toFixed(2)} x viewChangeTimeoutTicks ${o.viewChangeTimeoutTicks})`,
        ]
      : []),
    s.storage.durable
      ? `disks: sync ${s.storage.syncMin}-${s.storage.syncMax}us` +
        (s.storage.slowSyncP > 0 ? `, slow (fault phase) with ${s.storage.slowSyncP} up to ${ms(s.storage.slowSyncMax)} more` : '') +
        `; a crash keeps unsynced bytes with ${s.storage.tailKeepP}, torn ${s.storage.tornP}; rotation ${s.storage.rotateEvery > 0 ? `every ${s.storage.rotateEvery} stable checkpoint(s)` : 'never'}`
      : 'replicas in memory only (no data directory)',
    ...(s.powerLoss !== undefined
      ? [
          `${s.powerLoss.kind}: ` +
            s.powerLoss.crashes.map((c) => `r${c.replica} ${ms(c.at)}-${c.restartAt !== undefined ? ms(c.restartAt) : 'never'}`).join(', '),
        ]
      : []),
    ...(s.isolation !== undefined
      ? [
          `generator 5: r${s.isolation.lagging} lags, r${s.isolation.isolated} misses quorums` +
            (s.isolation.crashed !== undefined ? `, r${s.isolation.crashed} crashes` : ' (no room to crash a third)'),
        ]
      : []),
    `clock rates: ${s.clockRate.map((r) => r.toFixed(3)).join(' ')}`,
  ];
  return lines;
}

/** Seeds in which correct replicas miss quorums while another crashes (generator 5). */
export const ISOLATE_THEN_CRASH_P = 0.05;

/** Generator 5's stream: its suffix is the first, from 0, whose draws add nothing to the regression seeds (8221 included). */
const LATE_5_STREAM = 'scenario-late-5/1';

/**
 * What generator 5 added, from a stream of its own after everything else, so
 * every earlier draw is as in generator 4. With ISOLATE_THEN_CRASH_P (or a
 * bias), among the correct replicas other than the first primary: one lags
 * (every other endpoint's frames to it are lost for 100-1000 ms of the fault
 * phase), a second hears nothing for a shorter while inside that, and, if
 * the fault budget leaves room once the Byzantine replicas are counted, a
 * third crashes meanwhile, restarted later or not (replacing the seed's
 * crashes). The second misses the quorums the others form (a checkpoint it
 * took becomes stable without it knowing), the crash takes away a replica
 * that had them, and the laggard needs what is left (docs/SIMULATOR.md
 * finding 12).
 */
function lateDraws5(s: Scenario, bias: ScenarioBias | undefined): Scenario {
  const r = Rng.derive(s.seed, LATE_5_STREAM);
  const drawn = r.chance(ISOLATE_THEN_CRASH_P);
  const lagStart = r.int(0, Math.max(0, s.faultEnd - 100 * MS));
  const lagEnd = Math.min(s.faultEnd, lagStart + r.int(100, 1000) * MS);
  const start = r.int(lagStart, lagEnd);
  const end = Math.min(lagEnd, start + r.int(20, 300) * MS);
  const crashAt = r.int(start, lagEnd);
  const restartAt = r.chance(0.7) ? Math.min(s.faultEnd - MS, crashAt + r.int(1, 500) * MS) : undefined;
  const byzantine = new Set(s.byzantine.map((b) => b.replica));
  const roles = r.shuffled(Array.from({ length: s.n - 1 }, (_, i) => i + 1).filter((i) => !byzantine.has(i)));
  if (!(bias?.isolateThenCrash ?? (drawn && bias === undefined))) return s;
  const [lagging, isolated, crashed] = roles as [number, number, number | undefined];
  const endpoints = s.n + s.clients.length + s.byzantineClients.length;
  const into = (replica: number, from: Micros, to: Micros): PartitionSpec => ({
    start: from,
    end: to,
    kind: 'one-way',
    a: Array.from({ length: endpoints }, (_, i) => i).filter((i) => i !== replica),
    b: [replica],
  });
  // (n >= 4 and at most f Byzantine replicas leave at least two correct backups.)
  const partitions = [...s.partitions, into(lagging, lagStart, lagEnd), into(isolated, start, end)];
  const room = crashed !== undefined && s.f - byzantine.size > 0;
  const crashes: CrashSpec[] = room
    ? [{ replica: crashed, at: crashAt, restartAt: restartAt !== undefined && restartAt > crashAt ? restartAt : undefined }]
    : [...s.crashes];
  return { ...s, partitions, crashes, isolation: { lagging, isolated, crashed: room ? crashed : undefined } };
}

/** Seeds whose correct clients send some operations the service throws on (generator 5), and the share of them. */
export const POISON_P = 0.1;
export const POISON_OPERATION_P = 0.05;

/** Its own stream (like LATE_5_STREAM's suffix, the first from 0 adding nothing to the regression and mutant seeds). */
const POISON_STREAM = 'scenario-poison-5/5';

/**
 * Generator 5's poison: in POISON_P of the seeds (or with a bias), each
 * operation of a correct client is a `poison` one with POISON_OPERATION_P:
 * the service appends, then throws. Every replica must roll the append back
 * and answer the request as failed, identically (the checkers replay G with
 * the same runner), through view changes, checkpoints and state transfer.
 */
function poisonDraws(s: Scenario, bias: ScenarioBias | undefined): Scenario {
  const r = Rng.derive(s.seed, POISON_STREAM);
  const drawn = r.chance(POISON_P);
  const flips = s.clients.map((c) => c.operations.map(() => r.chance(POISON_OPERATION_P)));
  if (!(bias?.poison ?? (drawn && bias === undefined))) return s;
  const clients = s.clients.map((c, i) => ({
    ...c,
    operations: c.operations.map((op, j) => (flips[i]?.[j] === true ? { ...op, kind: 'poison' as const } : op)),
  }));
  return { ...s, clients };
}

/** Seeds with connection resets (generator 5). */
export const RESET_P = 0.2;

/** Its own stream (suffix: the first from 0 adding nothing to the regression and mutant seeds). */
const RESET_STREAM = 'scenario-resets-5/184';

/**
 * Generator 5's connection resets: in RESET_P of the seeds (or with a bias),
 * one to five times in the fault phase a connection dies, between two
 * replicas or a client and a replica: every frame in flight on it is lost,
 * both ways, and nothing crosses until it is redialled 10-2000 ms later (the
 * runtime redials within about 2 s). What a dead TLS connection costs: the
 * protocol's retransmission must recover what it lost, promptly.
 */
function resetDraws(s: Scenario, bias: ScenarioBias | undefined): Scenario {
  const r = Rng.derive(s.seed, RESET_STREAM);
  const drawn = r.chance(RESET_P);
  const count = r.int(1, 5);
  const endpoints = s.n + s.clients.length + s.byzantineClients.length;
  const resets: PartitionSpec[] = [];
  for (let i = 0; i < count; i++) {
    const x = r.int(0, s.n - 1);
    let y = r.int(0, endpoints - 2);
    if (y >= x) y++;
    const start = r.int(0, Math.max(0, s.faultEnd - 10 * MS));
    const end = Math.min(s.faultEnd, start + r.int(10, 2000) * MS);
    resets.push({ start, end, kind: 'reset', a: [x], b: [y] });
  }
  if (!(bias?.resets ?? (drawn && bias === undefined))) return s;
  return { ...s, partitions: [...s.partitions, ...resets] };
}

/** Its own stream (suffix: the first from 0 adding nothing to the regression and mutant seeds). */
const LATE_6_STREAM = 'scenario-late-6/0';

/**
 * Behaviours added by generator 6 (`late: 6`: `extreme-ordinals`), drawn for
 * each Byzantine replica from a stream of their own, each with chance
 * weight / 10, so every earlier draw is as before; none with a bias.
 */
function lateDraws6(s: Scenario, bias: ScenarioBias | undefined): Scenario {
  const r = Rng.derive(s.seed, LATE_6_STREAM);
  const extra = lateBehaviours(REPLICA_BEHAVIOURS, 6);
  const byzantine = s.byzantine.map((b) => {
    const added = extra.filter((spec) => r.chance(spec.weight / 10)).map((spec) => spec.name);
    return added.length === 0 || bias !== undefined ? b : { ...b, behaviours: [...b.behaviours, ...added] };
  });
  // Byzantine clients (not a session flooder) send badly signed requests of their own sessions too, half of them.
  const badSigners = s.byzantineClients.map((c) => c.flood === undefined && r.chance(BAD_SIGNATURES_P));
  const wanted = (i: number): boolean => (bias === undefined ? badSigners[i] === true : bias.badSignatures === true && s.byzantineClients[i]?.flood === undefined);
  const byzantineClients = s.byzantineClients.map((c, i) => (wanted(i) ? { ...c, behaviours: [...c.behaviours, 'bad-signatures'] } : c));
  return { ...s, byzantine, byzantineClients };
}

/** Byzantine clients that also send badly signed requests (generator 6). */
export const BAD_SIGNATURES_P = 0.5;

/** Session-flood seeds whose flood meets per-key quotas (generator 6). */
export const QUOTA_P = 0.5;

/** Its own stream (suffix: the first from 0 adding nothing to the regression and mutant seeds). */
const QUOTA_STREAM = 'scenario-quotas-6/0';

/**
 * Generator 6's client quotas: in QUOTA_P of the seeds with a session flood
 * (or with a bias), the flood spreads its sessions over 1, 4 or 16 keys, and
 * the table admits only a few more sessions per key than the most an honest
 * client uses (`clientSessionsPerKeyMax`), and holds about two pending
 * requests per honest session per key (`pendingRequestsPerKeyMax`): the
 * flooding keys are refused while every honest session completes, and no
 * key ever has more sessions in the agreed history than its quota (the
 * bounded-memory checker).
 */
function quotaDraws(s: Scenario, usedBases: ReadonlySet<number>, bias: ScenarioBias | undefined): Scenario {
  const r = Rng.derive(s.seed, QUOTA_STREAM);
  const drawn = r.chance(QUOTA_P);
  const keys = r.pick([1, 4, 16]);
  const sessionSlack = r.int(0, 3);
  const pendingSlack = r.int(0, 8);
  const floodIndex = s.byzantineClients.findIndex((c) => c.flood !== undefined);
  const flooder = s.byzantineClients[floodIndex];
  if (flooder?.flood === undefined || !(bias?.quotas ?? (drawn && bias === undefined))) return s;
  // The flood's next keys must belong to nobody else and stay below 2^53.
  const spans = (k: number): boolean => {
    for (let i = 1; i < k; i++) {
      const base = flooder.base + i * SESSIONS_PER_CLIENT_KEY;
      if (usedBases.has(base) || base + SESSIONS_PER_CLIENT_KEY > Number.MAX_SAFE_INTEGER) return false;
    }
    return true;
  };
  const honestPerKey = Math.max(2, ...s.clients.map((c) => c.sessions));
  const options: ProtocolOptions = {
    ...s.options,
    clientSessionsPerKeyMax: honestPerKey + sessionSlack,
    pendingRequestsPerKeyMax: 2 * honestPerKey + pendingSlack,
  };
  const byzantineClients = [...s.byzantineClients];
  byzantineClients[floodIndex] = { ...flooder, flood: { ...flooder.flood, keys: spans(keys) ? keys : 1 } };
  return { ...s, options, byzantineClients };
}

/** Replicas in memory only: no disk (as before generator 7, and a biased seed unless its bias asks for storage). */
export const IN_MEMORY: StorageSpec = {
  durable: false,
  syncMin: 0,
  syncMax: 0,
  slowSyncP: 0,
  slowSyncMax: 0,
  tailKeepP: 0,
  tornP: 0,
  rotateEvery: 0,
};

/** Seeds whose replicas have durable storage (generator 7); the others are in memory only. */
export const DURABLE_P = 0.85;
/** Of the durable seeds: a power cut of every replica at once, and rolling restarts of every replica. */
export const POWER_CUT_P = 0.15;
export const ROLLING_P = 0.1;
/** Of the durable seeds, those whose syncs are now and then slow in the fault phase. */
export const SLOW_SYNC_P = 0.25;
/** A restart of a crash counted against f (generator 1's crashes) in a durable seed loses its disk with this chance. */
export const LOST_DISK_P = 0.25;
/** Fsync latencies: a fast SSD, an ordinary one, a slow disk (µs). */
export const SYNC_LATENCIES: readonly (readonly [Micros, Micros])[] = [
  [20, 200],
  [100, 2000],
  [2000, 15_000],
];
/**
 * The liveness bound grows by this many syncs at the slowest latency (each
 * protocol step of a replica may wait for one: a few rounds of requests and
 * view changes), plus one slow sync, plus {@link diskLoadBound}.
 */
export const SYNC_BOUND_ROUNDS = 60;
/** Syncs one batch waits for in a row: the primary's PRE-PREPARE, the backups' PREPAREs, the COMMITs. */
export const SYNCS_PER_BATCH = 3;

/**
 * What the disk adds to ordering a seed's load: a correct request may queue
 * behind all the others (admission is in arrival order), and the cluster
 * orders at worst min(pendingRequestsMax, batchRequestsMax x pipelineMax)
 * requests per round, each round waiting for SYNCS_PER_BATCH syncs in a row
 * (seed 1763 of a first draft of generator 7: pendingRequestsMax 2, 340
 * requests and 2-15 ms syncs order one request per 20 ms, 7 s in all, and
 * failed a bound that left the load out).
 */
export function diskLoadBound(options: ProtocolOptions, requests: number, syncMax: Micros): Micros {
  const perRound = Math.max(1, Math.min(options.pendingRequestsMax, options.batchRequestsMax * options.pipelineMax));
  return Math.ceil(requests / perRound) * SYNCS_PER_BATCH * syncMax;
}

/**
 * Its own stream. The suffix is the first from 0 whose draws add no fault (no
 * power loss, no lost disk) to the regression seeds and keep the two seeds at
 * which mutants are caught without bias (636, 5926) in memory, as in
 * generator 6.
 */
const DISK_STREAM = 'scenario-disk-7/8796';

/**
 * Generator 7's disks and benign crashes, from a stream of their own after
 * everything else, so every earlier draw is as in generator 6 (always drawn
 * in full and in this order, then chosen or overridden by a bias):
 *
 * 1. storage: durable in DURABLE_P of the seeds (else in memory, as before),
 *    a sync latency class, slow syncs in the fault phase (SLOW_SYNC_P of
 *    them), what a crash keeps of the unsynced tail and whether it is torn,
 *    and how often the journal is rotated;
 * 2. whether each restart of the seed's own crashes (counted against f)
 *    loses the disk (LOST_DISK_P);
 * 3. benign power loss, in durable seeds: a power cut of every replica at
 *    once (POWER_CUT_P; restarted together or each after its own delay), or
 *    rolling restarts of every replica in a random order, each down for
 *    5-300 ms, the next one crashing -100 to +300 ms after the previous one
 *    restarted (ROLLING_P). A replica down then for a crash of its own is
 *    left out. Everything restarts within the fault phase.
 *
 * A bias gets memory-only replicas and none of this unless it asks
 * (`storage`, `powerLoss`), so mutants' biased seeds are as in generator 6.
 */
function diskDraws7(s: Scenario, bias: ScenarioBias | undefined): Scenario {
  const r = Rng.derive(s.seed, DISK_STREAM);
  const durableDrawn = r.chance(DURABLE_P);
  const [syncMin, syncMax] = r.pick(SYNC_LATENCIES) as readonly [Micros, Micros];
  const slow = r.chance(SLOW_SYNC_P);
  const slowP = r.pick([0.02, 0.1, 0.3]);
  const slowMax = r.int(20, 400) * MS;
  const tailKeepP = r.pick([0, 0.5, 1]);
  const tornP = r.pick([0, 0.5, 1]);
  const rotateEvery = r.pick([0, 1, 1, 2, 4]);
  const lost = s.crashes.map(() => r.chance(LOST_DISK_P));
  const lossDraw = r.float();
  const faultMs = Math.floor(s.faultEnd / MS);
  const cutAt = r.int(5, Math.max(5, Math.floor(faultMs * 0.8))) * MS;
  const together = r.chance(0.5);
  const cutDown = Array.from({ length: s.n }, () => r.int(1, 300) * MS);
  const rollStart = r.int(0, Math.floor(faultMs / 3)) * MS;
  const order = r.shuffled(Array.from({ length: s.n }, (_, i) => i));
  const downs = order.map(() => r.int(5, 300) * MS);
  const gaps = order.map(() => r.int(-100, 300) * MS);

  const biased = bias !== undefined;
  const durable = biased ? bias.powerLoss !== undefined || bias.storage !== undefined : durableDrawn;
  if (!durable) {
    return { ...s, storage: IN_MEMORY };
  }
  const storage: StorageSpec = {
    durable: true,
    syncMin,
    syncMax,
    slowSyncP: slow && !biased ? slowP : 0,
    slowSyncMax: slow && !biased ? slowMax : 0,
    tailKeepP,
    tornP,
    rotateEvery,
    ...bias?.storage,
  };
  const crashes = s.crashes.map((c, i) => (c.restartAt !== undefined && lost[i] === true && !biased ? { ...c, lostDisk: true } : c));
  const kind: PowerLossSpec['kind'] | undefined = biased
    ? bias.powerLoss
    : lossDraw < POWER_CUT_P
      ? 'power-cut'
      : lossDraw < POWER_CUT_P + ROLLING_P
        ? 'rolling'
        : undefined;
  // A replica down for a crash of its own meanwhile is left out of the power loss.
  const free = (replica: number, from: Micros, to: Micros): boolean =>
    !crashes.some((c) => c.replica === replica && c.at <= to && (c.restartAt ?? Infinity) >= from);
  const last = s.faultEnd - MS;
  const lossCrashes: CrashSpec[] = [];
  if (kind === 'power-cut') {
    for (let replica = 0; replica < s.n; replica++) {
      const restartAt = Math.min(last, cutAt + (together ? (cutDown[0] as Micros) : (cutDown[replica] as Micros)));
      if (restartAt > cutAt && free(replica, cutAt, restartAt)) lossCrashes.push({ replica, at: cutAt, restartAt });
    }
  } else if (kind === 'rolling') {
    let t = rollStart;
    for (let i = 0; i < order.length; i++) {
      const replica = order[i] as number;
      if (t >= last - MS) break;
      const restartAt = Math.min(last, t + (downs[i] as Micros));
      if (free(replica, t, restartAt)) lossCrashes.push({ replica, at: t, restartAt });
      t = Math.max(t + MS, restartAt + (gaps[i] as Micros));
    }
  }
  const powerLoss = kind !== undefined && lossCrashes.length > 0 ? { kind, crashes: lossCrashes } : undefined;
  const requests =
    s.clients.reduce((sum, c) => sum + c.operations.length, 0) +
    s.byzantineClients.reduce((sum, c) => sum + (c.flood !== undefined ? c.flood.sessions + c.actions.length : 0), 0);
  const livenessBound =
    s.livenessBound + SYNC_BOUND_ROUNDS * storage.syncMax + storage.slowSyncMax + diskLoadBound(s.options, requests, storage.syncMax);
  return { ...s, crashes, storage, powerLoss, livenessBound };
}
