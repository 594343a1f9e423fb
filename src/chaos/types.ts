/**
 * Types shared by the chaos runner and its scenarios: options, the context a
 * scenario runs in, what it reports about each fault, and the final report.
 */
import type { LocalCluster } from '../cluster/local-cluster.js';
import type { ProtocolOptions } from '../core/options.js';
import type { LogLevel } from '../log.js';
import type { AckWindowsSummary } from './ack-windows.js';
import type { LinkEventsSummary } from './link-events.js';
import type { ChaosLoad } from './load.js';
import type { FaultEvent, LossyNetwork } from './lossy-network.js';
import type { MiddleboxCounts, MiddleboxFaults } from './middlebox.js';
import type { ChaosWorkload } from './workload.js';
import type { AttackerReport } from './attacker/report.js';
import type { RssReport } from './byzantine-memory.js';

/** Options of one chaos run (see {@link defaultChaosOptions}). */
export interface ChaosOptions {
  /** Registered scenario name (`kill-primary`, `kill-backup`, ...). */
  readonly scenario: string;
  /** How many times the scenario injects its fault. */
  readonly cycles: number;
  /**
   * Seconds of steady load per cycle, recovery not included: 40 % runs
   * before the fault, 60 % after recovery (default 5: 2 s + 3 s).
   * `lossy-network`: seconds of load under faults (default 180).
   */
  readonly durationSec: number;
  /** Concurrent client sessions of the load, each in a closed loop. */
  readonly clients: number;
  /** Replica processes (n); f is the most n allows. */
  readonly replicas: number;
  /** The load client's first retransmission delay (Client.connect `retransmitMs`). */
  readonly retransmitMs: number;
  /** The load client's retransmission backoff ceiling (Client.connect `retransmitMsMax`). */
  readonly retransmitMsMax: number;
  /** Bound on waiting for recovery after a fault; the run fails if it passes. */
  readonly recoveryTimeoutMs: number;
  /** `recoveryMs` must be below this to pass. */
  readonly recoveryLimitMs: number;
  /** Bound on reading back every acknowledged key at the end. */
  readonly verifyTimeoutMs: number;
  /** Bound on waiting for the surviving replicas to execute the same last batch. */
  readonly settleTimeoutMs: number;
  /** Log level of the replica processes (their logs go to stderr). */
  readonly logLevel: LogLevel;
  /** Scenarios that restart a replica: requests acknowledged while it is down, at least (`lagging-replica`, `large-state`). */
  readonly downRequests: number;
  /** Bound on the load reaching `downRequests` while the replica is down. */
  readonly downTimeoutMs: number;
  /** Bound on a restarted replica catching up; the run fails if it passes. */
  readonly catchUpTimeoutMs: number;
  /** Checkpoint interval of the replicas, in batches; undefined: the scenario's choice. */
  readonly checkpointInterval: number | undefined;
  /** Size of the `slots` service state (`large-state`), bytes. */
  readonly stateBytes: number;
  /** `lossy-network`: seed of the middleboxes' fault decisions; undefined: drawn at random (and reported). */
  readonly seed: number | undefined;
  /** `lossy-network`: faults injected per second over all links, about (see docs/CHAOS.md). */
  readonly faultsPerSec: number;
}

export const defaultChaosOptions: Omit<ChaosOptions, 'scenario'> = {
  cycles: 1,
  durationSec: 5,
  clients: 16,
  replicas: 4,
  retransmitMs: 300,
  retransmitMsMax: 600,
  recoveryTimeoutMs: 10_000,
  recoveryLimitMs: 3_000,
  verifyTimeoutMs: 10_000,
  settleTimeoutMs: 10_000,
  logLevel: 'error',
  downRequests: 50_000,
  downTimeoutMs: 600_000,
  catchUpTimeoutMs: 120_000,
  checkpointInterval: undefined,
  stateBytes: 200 * 1024 * 1024,
  seed: undefined,
  faultsPerSec: 1,
};

/** The cluster a scenario runs against and the load's requests. */
export interface ClusterSetup {
  /** The load's service and requests. */
  readonly workload: ChaosWorkload;
  /** Protocol options of every replica (and of the clients), over the defaults. */
  readonly protocol: Partial<ProtocolOptions>;
}

/** What a scenario gets to work with. The runner owns (starts and stops) all of it. */
export interface ScenarioContext {
  readonly cluster: LocalCluster;
  /** The steady client load, already running. */
  readonly load: ChaosLoad;
  readonly options: ChaosOptions;
  /** The protocol options the replicas run with, resolved (defaults included). */
  readonly protocol: ProtocolOptions;
  /** The middleboxes on every link, if the scenario asked for them ({@link Scenario.interposesNetwork}); the load dials through them. */
  readonly network?: LossyNetwork;
  /** A progress line on stderr. */
  readonly say: (line: string) => void;
}

/** One injected fault and the recovery from it. */
export interface FaultReport {
  /** 1-based cycle number. */
  readonly cycle: number;
  /** What was done, e.g. `kill -9`. */
  readonly fault: string;
  /** The replica it was done to. */
  readonly replica: number;
  /** Its role when the fault was injected. */
  readonly role: 'primary' | 'backup';
  /** The cluster's view when the fault was injected. */
  readonly view: number;
  /** Whether the scenario's recovery condition was met within `recoveryTimeoutMs`. */
  readonly recovered: boolean;
  /** From the fault to the first acknowledged request that meets the recovery condition; null if none. */
  readonly recoveryMs: number | null;
  /** The view of the reply that marked recovery; null if none. */
  readonly recoveryView: number | null;
  /** Requests acknowledged in the steady-load phase after recovery (0 if none ran): the load must go on, not just one request. */
  readonly requestsAfterRecovery: number;
  /** Scenarios that restart the replica after a while: how it caught up. */
  readonly catchUp?: CatchUpReport;
}

/** A killed replica restarted empty, and how it caught up with the others (state transfer, then the log). */
export interface CatchUpReport {
  /** Requests acknowledged between the kill and the restart. */
  readonly requestsWhileDown: number;
  /** Checkpoints the others made stable while it was down. */
  readonly checkpointsWhileDown: number;
  /** The others' stable checkpoint when it was restarted. */
  readonly stableAtRestart: number;
  /** From the restart (spawn) to its ready line: process start, service state, listening. */
  readonly readyMs: number;
  /** Whether its lastExecuted reached the others' within `catchUpTimeoutMs`. */
  readonly caughtUp: boolean;
  /**
   * From the restart (spawn) to the first status in which its lastExecuted is
   * at least the lowest lastExecuted of the others, asked just before while
   * they keep executing; null if it did not catch up.
   */
  readonly catchUpMs: number | null;
  /** Checkpoints it fetched and installed (its status `checkpointsInstalled`). */
  readonly checkpointsInstalled: number;
  /** Bytes of the first checkpoint image it installed (client table and service state), from its log; null if none. */
  readonly stateBytes: number | null;
  /**
   * From its ready line to the log line of its first installed checkpoint:
   * the fetch of that image with the state query before it and the restore
   * after it, so an upper bound of the fetch alone; null if none.
   */
  readonly transferMs: number | null;
  /** stateBytes / transferMs in MB/s (10^6 bytes): a lower bound of the fetch's throughput; null if none. */
  readonly transferMBps: number | null;
  /** Whether, after catching up, it executed batches ordered after that point (within `catchUpTimeoutMs`). */
  readonly executedNew: boolean;
}

/** A fault scenario: injects faults into a running cluster under load and measures recovery. */
export interface Scenario {
  readonly name: string;
  /** One line, for `--help` and the summary. */
  readonly description: string;
  /** Whether passing requires the survivors to have installed a new view. */
  readonly requiresViewChange: boolean;
  /** `durationSec` when none is given; default 5. */
  readonly defaultDurationSec?: number;
  /** `recoveryLimitMs` when none is given; default 3000. */
  readonly defaultRecoveryLimitMs?: number;
  /**
   * Whether every replica process gets a data directory (LocalCluster
   * `dataDirs`), the same one at each restart: it recovers from it.
   */
  readonly dataDirs?: boolean;
  /**
   * Whether the runner puts a middlebox on every link (lossy-network.ts)
   * before the load starts: the replicas are restarted to dial each other
   * through them, the load dials through them, and `context.network` has them.
   */
  readonly interposesNetwork?: boolean;
  /** The cluster and load it needs; default the kv store with the default protocol options. */
  setup?(options: ChaosOptions): ClusterSetup;
  /**
   * Runs `options.cycles` cycles of steady load, fault, recovery, steady
   * load. Every wait must be bounded. Returns one report per injected fault,
   * or a {@link ScenarioOutcome} when the faults are not one per cycle.
   */
  run(context: ScenarioContext): Promise<FaultReport[] | ScenarioOutcome>;
}

/** What a scenario whose faults are not one per cycle (lossy-network) reports. */
export interface ScenarioOutcome {
  /** Faults that are one per cycle, if any (none for lossy-network). */
  readonly faults: FaultReport[];
  /** Why it did not pass, beyond the runner's own checks. */
  readonly failures: readonly string[];
  /** The lossy-network figures. */
  readonly network?: NetworkReport;
  /** The byzantine-replica figures. */
  readonly byzantine?: ByzantineReport;
}

/** The lossy-network scenario's figures (docs/CHAOS.md, "lossy-network"). */
export interface NetworkReport extends AckWindowsSummary, LinkEventsSummary {
  /** The seed of the middleboxes' decisions. */
  readonly seed: number;
  /** Middleboxes (links): n × (n − 1) between replicas, n for the clients. */
  readonly middleboxes: number;
  /** Load under faults, ms (the windows cover it). */
  readonly faultyMs: number;
  /** Traffic over every box before the faults, measured to derive the probabilities. */
  readonly bytesPerSec: number;
  readonly chunksPerSec: number;
  /** The probabilities every box applied. */
  readonly faultProbabilities: MiddleboxFaults;
  /** Counts of every box, summed, from the start of the faults to the end of the drain. */
  readonly faultsInjected: MiddleboxCounts;
  /** Invocations still not acknowledged when the drain gave up (0 to pass). */
  readonly invocationsIncomplete: number;
  /** From the end of the faulty load to the last in-flight invocation's acknowledgement (or the bound), ms. */
  readonly drainMs: number;
  /** The faults injected, each with its link and time (ms after the faults started; the first 512). */
  readonly faultTimeline: readonly FaultEvent[];
}

/** The outcome of one run; the JSON line is this object. */
export interface ChaosReport {
  readonly scenario: string;
  /** lost 0, nothing unverified, no wrong replies, equal survivor digests, every fault recovered in time (and a view change if the scenario needs one). */
  readonly passed: boolean;
  /** Why `passed` is false (empty when it is true). */
  readonly failures: readonly string[];
  readonly replicas: number;
  readonly f: number;
  readonly clients: number;
  readonly cycles: number;
  /** The service the replicas ran (`kv`, `slots?bytes=N`). */
  readonly service: string;
  /** The checkpoint interval and log window they ran with. */
  readonly checkpointInterval: number;
  readonly logWindow: number;
  /** Requests (puts and gets) the load had acknowledged: f + 1 matching replies. */
  readonly requestsAcknowledged: number;
  /** Of those, puts. */
  readonly writesAcknowledged: number;
  /**
   * Acknowledged puts missing from the final replicated state: for each key,
   * the acknowledged puts newer than the value read back at the end (all of
   * them if the key is absent or holds a value never written to it). Null
   * when it cannot be known: some keys could not be read back (see
   * `requestsUnverified`), e.g. because the cluster can no longer order requests.
   */
  readonly requestsLost: number | null;
  /** Acknowledged puts whose key could not be read back within `verifyTimeoutMs`. */
  readonly requestsUnverified: number;
  /** Replies that contradicted the session's own acknowledged writes, or errors from the service. */
  readonly wrongReplies: number;
  /** Invocations of the load that rejected (a deadline, say) instead of being acknowledged; each ended its session. */
  readonly invocationsFailed: number;
  /** Max over the surviving replicas of `status.viewChanges`: views each installed beyond view 0. */
  readonly viewChanges: number;
  /** Highest view reported by a surviving replica at the end. */
  readonly finalView: number;
  /** Worst recovery of all faults, ms; null if some fault was not recovered from. */
  readonly recoveryMs: number | null;
  readonly recoveryLimitMs: number;
  /** Replicas running at the end. */
  readonly survivors: readonly number[];
  /** Whether the survivors executed the same last batch within `settleTimeoutMs`. */
  readonly settled: boolean;
  /** Whether the survivors' state digests were equal (after the same batch). */
  readonly digestsEqual: boolean;
  readonly faults: readonly FaultReport[];
  /** Catch-up scenarios only: the slowest `catchUp.catchUpMs` of the faults (null if one did not catch up). */
  readonly catchUpMs?: number | null;
  /** Catch-up scenarios only: the largest `catchUp.stateBytes` (null if one installed nothing). */
  readonly stateBytes?: number | null;
  /** Catch-up scenarios only: the lowest `catchUp.transferMBps` (null if one installed nothing). */
  readonly transferMBps?: number | null;
  /** lossy-network only: throughput windows, faults injected, disconnections, longest stall. */
  readonly network?: NetworkReport;
  /** byzantine-replica only: the attacks, forged requests, throughput windows, memory. */
  readonly byzantine?: ByzantineReport;
  /** Wall time of the whole run, cluster start to verification end. */
  readonly elapsedMs: number;
  /** An exception that cut the scenario short, if any. */
  readonly error?: string;
}

/** What a correct replica's status says about the attack it withstood; null where it did not answer. */
export interface ReplicaDefenceCounters {
  readonly id: number;
  /** Frames it could not decode or did not admit on their channel. */
  readonly malformedFrames: number | null;
  /** Well-formed messages it refused or ignored. */
  readonly rejectedMessages: number | null;
  /** Requests whose client signature failed; null while the runtime does not report it. */
  readonly forgedRequestsRejected: number | null;
  readonly viewChanges: number | null;
  /** What it holds at the end that an attacker could try to fill: messages held for a later view, pending requests, log slots. */
  readonly earlyMessages: number | null;
  readonly earlyMessageBytes: number | null;
  readonly pendingRequests: number | null;
  readonly slots: number | null;
}

/** The byzantine-replica scenario's figures (docs/CHAOS.md, "byzantine-replica"). */
export interface ByzantineReport extends AckWindowsSummary {
  /** The seed of the attacker's choices (`--seed`). */
  readonly seed: number;
  /** The replica whose key and port the attacker took. */
  readonly attacker: number;
  /** Load under attack, ms (the windows cover it). */
  readonly attackMs: number;
  /** Invocations still not acknowledged when the drain gave up (0 to pass), and how long the drain took. */
  readonly invocationsIncomplete: number;
  readonly drainMs: number;
  /** Forged requests the attacker made, all kinds; null without its report. */
  readonly forgedRequestsAttempted: number | null;
  /** The attacker's own report: counts per attack and per forgery; null if it gave none. */
  readonly attacks: AttackerReport | null;
  /** Keys of forged requests found written at the end (empty to pass). */
  readonly forgedKeysFound: readonly string[];
  /** Keys of forged requests that could not be read back in time. */
  readonly forgedKeysUnread: number;
  /** Whether the attacker's genuine control request was executed; null if unread. */
  readonly controlExecuted: boolean | null;
  /** The RSS growth over the baseline allowed, MiB, and the samples. */
  readonly rssGrowthBoundMB: number;
  readonly rss: RssReport;
  /** Each correct replica's defence counters at the end. */
  readonly defences: readonly ReplicaDefenceCounters[];
}
