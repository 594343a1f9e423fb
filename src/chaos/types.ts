/**
 * Types shared by the chaos runner and its scenarios: options, the context a
 * scenario runs in, what it reports about each fault, and the final report.
 */
import type { LocalCluster } from '../cluster/local-cluster.js';
import type { LogLevel } from '../log.js';
import type { ChaosLoad } from './load.js';

/** Options of one chaos run (see {@link defaultChaosOptions}). */
export interface ChaosOptions {
  /** Registered scenario name (`kill-primary`, `kill-backup`, ...). */
  readonly scenario: string;
  /** How many times the scenario injects its fault. */
  readonly cycles: number;
  /**
   * Seconds of steady load per cycle, recovery not included: 40 % runs
   * before the fault, 60 % after recovery (default 5: 2 s + 3 s).
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
};

/** What a scenario gets to work with. The runner owns (starts and stops) all of it. */
export interface ScenarioContext {
  readonly cluster: LocalCluster;
  /** The steady client load, already running. */
  readonly load: ChaosLoad;
  readonly options: ChaosOptions;
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
}

/** A fault scenario: injects faults into a running cluster under load and measures recovery. */
export interface Scenario {
  readonly name: string;
  /** One line, for `--help` and the summary. */
  readonly description: string;
  /** Whether passing requires the survivors to have installed a new view. */
  readonly requiresViewChange: boolean;
  /**
   * Runs `options.cycles` cycles of steady load, fault, recovery, steady
   * load. Every wait must be bounded. Returns one report per injected fault.
   */
  run(context: ScenarioContext): Promise<FaultReport[]>;
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
  /** Wall time of the whole run, cluster start to verification end. */
  readonly elapsedMs: number;
  /** An exception that cut the scenario short, if any. */
  readonly error?: string;
}
