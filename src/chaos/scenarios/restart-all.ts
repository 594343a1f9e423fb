/**
 * `restart-all`: under steady load, kill -9 every replica process at once,
 * restart them all from their data directories (LocalCluster `dataDirs`,
 * `bafomet replica --data-dir`), and let the load go on. Each cycle:
 *
 * - recovery is the first acknowledged request that was *sent* after every
 *   restarted process reported ready, so one the restarted cluster ordered
 *   and executed from start to end (`recoveryMs` from the SIGKILLs,
 *   `restart.fromRestartMs` from the last ready line);
 * - right after it, every key of the load is read back (ordered gets, f + 1
 *   matching replies) and judged against a copy of the load's ledger taken
 *   when every process had exited: each write acknowledged before the kill
 *   must still be there after the restart (`restart.check`);
 * - the replicas' status counters: where each restarted process resumed
 *   (`lastExecuted`), and no state divergence from the certified
 *   checkpoints while it ran.
 *
 * Replicas without data directories restart empty: the cluster starts over
 * from nothing, and the read-back finds the acknowledged writes gone.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { LocalCluster } from '../../cluster/local-cluster.js';
import { defaultProtocolOptions, type ProtocolOptions } from '../../core/options.js';
import { currentView } from '../kill-cycles.js';
import type { LedgerEntry } from '../load.js';
import { protocolForInterval } from '../protocol.js';
import type { FaultReport, Scenario, ScenarioContext, ScenarioOutcome } from '../types.js';
import { lostWrites, readKeys } from '../verify.js';
import { kvWorkload, type ChaosWorkload } from '../workload.js';

/** Bound on the load's first acknowledgement, before any fault. */
const FIRST_ACK_TIMEOUT_MS = 15_000;
/** Share of `durationSec` before the fault; the rest runs after recovery and the read-back. */
const BEFORE_SHARE = 0.4;
/** Sessions of the client that reads every key back after each restart (as the runner's at the end). */
const READ_BACK_SESSIONS = 16;

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** What one restart of every replica did, beyond a {@link FaultReport}. */
export interface RestartReport {
  /** The replicas killed and restarted (all of them). */
  readonly replicas: readonly number[];
  /** Whether they ran with data directories (LocalCluster `dataDirs`); without, each restart starts them empty. */
  readonly dataDirs: boolean;
  /** Requests and puts the load had acknowledged when every process had exited (the copy of the ledger checked after the restart). */
  readonly acknowledgedAtKill: number;
  readonly writesAtKill: number;
  /** The highest `lastExecuted` the replicas reported just before the kill. */
  readonly lastExecutedAtKill: number;
  /** Each restarted replica's `lastExecuted` in its first status after every one was ready (by id): where it resumed. */
  readonly resumedAt: readonly number[];
  /** From the SIGKILLs to the exit of every process. */
  readonly killMs: number;
  /** From the first spawn to the last ready line: process start and local recovery, listening. */
  readonly readyMs: number;
  /** From the last ready line to the recovery acknowledgement; null if none within `recoveryTimeoutMs` of the kill. */
  readonly fromRestartMs: number | null;
  /** The read-back after recovery against the ledger at the kill; null if there was no recovery. */
  readonly check: RestartCheck | null;
  /**
   * Divergences (status `divergences`: state found differing from the one a
   * quorum certified at a checkpoint, then repaired) the restarted processes
   * reported over their life: until the next cycle's kill, or the end of the
   * run after the last cycle; null if they could not be asked.
   */
  readonly divergences: number | null;
}

/** The read-back after a restart, against the ledger at the kill (see {@link checkAfterRestart}). */
export interface RestartCheck {
  readonly keysChecked: number;
  /** Of those, keys judged against the ledger at the kill: holding a write acknowledged before it, the one in flight then, an older write, or nothing. */
  readonly keysVerified: number;
  /** Writes acknowledged before the kill that the state after the restart no longer has (stale or absent keys, and every write of a corrupt key). */
  readonly lostWrites: number;
  /** Keys already holding a write sent after the kill (the load goes on): what they held before cannot be told any more. */
  readonly keysRewritten: number;
  /** Keys holding a value never written to them, or whose read failed. */
  readonly corruptKeys: number;
  /** Writes acknowledged before the kill whose key could not be read back within `verifyTimeoutMs`. */
  readonly unverifiedWrites: number;
  readonly unverifiedKeys: number;
}

/** One cycle's fault: all replicas. `replica` and `role` name the primary of the view they were killed in. */
export interface RestartFaultReport extends FaultReport {
  readonly restart: RestartReport;
}

/** A copy of the load's ledger as it is now: the acknowledged writes that must survive whatever happens next. */
function ledgerCopy(ledger: ReadonlyMap<string, LedgerEntry>): Map<string, LedgerEntry> {
  return new Map([...ledger].map(([key, { session, index, entry }]) => [key, { session, index, entry: { acked: [...entry.acked], pending: entry.pending } }]));
}

/**
 * Reads every key of `atKill` (the ledger copied when every process had
 * exited) with ordered gets through a fresh client, while the load goes on,
 * and judges each value with {@link lostWrites} against that copy. A value
 * the copy does not know but the load's live ledger does is a write sent
 * after the kill: ordered after everything acknowledged before it, so the
 * key cannot tell any more whether those survived (`keysRewritten`, neither
 * lost nor verified). The runner's `readBack` judges against the live
 * ledger, which is sound only once the load has stopped: under load a put
 * acknowledged between the get's ordering and its reply would count as
 * lost. Bounded by `timeoutMs`: keys not read by then are unverified.
 */
async function checkAfterRestart(
  cluster: LocalCluster,
  atKill: ReadonlyMap<string, LedgerEntry>,
  live: ReadonlyMap<string, LedgerEntry>,
  options: { readonly workload: ChaosWorkload; readonly protocol: ProtocolOptions; readonly timeoutMs: number },
): Promise<RestartCheck> {
  let keysVerified = 0;
  let lost = 0;
  let keysRewritten = 0;
  let corruptKeys = 0;
  const read = await readKeys(cluster, atKill, { ...options, sessions: READ_BACK_SESSIONS }, (key, { session, entry }, value) => {
    const verdict = lostWrites(session, entry, value);
    if (!verdict.corrupt) {
      keysVerified++;
      lost += verdict.lost;
    } else if (!lostWrites(session, live.get(key)!.entry, value).corrupt) {
      keysRewritten++;
    } else {
      corruptKeys++;
      lost += verdict.lost;
    }
  });
  return { ...read, keysVerified, lostWrites: lost, keysRewritten, corruptKeys };
}

/** Sum of the running replicas' status `divergences`; null if one did not answer. */
async function divergences(cluster: LocalCluster): Promise<number | null> {
  const answers = await Promise.allSettled(cluster.running.map((id) => cluster.status(id)));
  let sum = 0;
  for (const a of answers) {
    if (a.status !== 'fulfilled') return null;
    sum += a.value.divergences;
  }
  return sum;
}

/** The median (lower middle) and the maximum of `values`; nulls if empty. */
function medianMax(values: readonly number[]): { median: number | null; max: number | null } {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? { median: null, max: null } : { median: sorted[Math.floor((sorted.length - 1) / 2)] as number, max: sorted[sorted.length - 1] as number };
}

async function run(context: ScenarioContext): Promise<ScenarioOutcome> {
  const { cluster, load, options, protocol, say } = context;
  const beforeMs = options.durationSec * 1000 * BEFORE_SHARE;
  const afterMs = options.durationSec * 1000 - beforeMs;
  const ids = cluster.config.replicas.map((r) => r.id);
  const dataDirs = ids.every((id) => cluster.dataDir(id) !== undefined);
  const faults: RestartFaultReport[] = [];
  const failures: string[] = [];
  if (!dataDirs) {
    failures.push('the replicas ran without data directories: every restart started them empty');
    say('the replicas run without data directories: they will restart empty');
  }
  if (!(await load.waitForAcks(1, FIRST_ACK_TIMEOUT_MS))) {
    throw new Error(`the load got no reply within ${FIRST_ACK_TIMEOUT_MS} ms, before any fault`);
  }
  for (let cycle = 1; cycle <= options.cycles; cycle++) {
    say(`cycle ${cycle}: steady load for ${Math.round(beforeMs)} ms`);
    await delay(beforeMs);
    const { view, primary } = await currentView(cluster);
    const atKill = await Promise.all(ids.map((id) => cluster.status(id)));
    // The killed processes' divergences over their life: those the previous cycle started, or the first ones.
    const diverged = atKill.reduce((sum, s) => sum + s.divergences, 0);
    const previous = faults[faults.length - 1];
    if (previous !== undefined) faults[faults.length - 1] = { ...previous, restart: { ...previous.restart, divergences: diverged } };
    else if (diverged > 0) failures.push(`the replicas found their state differing from a certified checkpoint ${diverged} times before the first kill`);
    const lastExecutedAtKill = Math.max(...atKill.map((s) => s.lastExecuted));

    say(`cycle ${cycle}: kill -9 all ${ids.length} replicas (view ${view}, last executed ${lastExecutedAtKill}) after ${load.acknowledged} acknowledged requests`);
    let readyAt = Infinity;
    const killedAt = performance.now();
    // Registered before the kill; only a request sent once every process is ready again counts.
    const recovery = load.nextAck((ack) => ack.sentAt > readyAt, options.recoveryTimeoutMs);
    // Every SIGKILL is sent before the first exit is awaited.
    await Promise.all(ids.map((id) => cluster.kill(id)));
    const exitedAt = performance.now();
    // Nothing is acknowledged with every process gone but replies they sent before; those are in the copy or are not: either way it holds only acknowledged writes.
    const ledgerAtKill = ledgerCopy(load.ledger);
    const acknowledgedAtKill = load.acknowledged;
    const writesAtKill = [...ledgerAtKill.values()].reduce((sum, { entry }) => sum + entry.acked.length, 0);

    say(`cycle ${cycle}: all exited after ${round1(exitedAt - killedAt)} ms; restarting all${dataDirs ? ' from their data directories' : ' (empty)'}`);
    const spawnedAt = performance.now();
    await Promise.all(ids.map((id) => cluster.startReplica(id)));
    readyAt = performance.now();
    const resumed = await Promise.all(ids.map((id) => cluster.status(id)));
    const ack = await recovery;
    const base = {
      cycle,
      fault: 'kill -9 all',
      replica: primary,
      role: 'primary' as const,
      view,
      recovered: ack !== undefined,
      recoveryMs: ack === undefined ? null : round1(ack.at - killedAt),
      recoveryView: ack?.view ?? null,
    };
    const restart = {
      replicas: ids,
      dataDirs,
      acknowledgedAtKill,
      writesAtKill,
      lastExecutedAtKill,
      resumedAt: resumed.map((s) => s.lastExecuted),
      killMs: round1(exitedAt - killedAt),
      readyMs: round1(readyAt - spawnedAt),
      fromRestartMs: ack === undefined ? null : round1(ack.at - readyAt),
      divergences: null,
    };
    say(`cycle ${cycle}: all ready ${restart.readyMs} ms after the spawn, resumed at ${restart.resumedAt.join(', ')} (last executed before the kill ${lastExecutedAtKill})`);
    if (ack === undefined) {
      faults.push({ ...base, requestsAfterRecovery: 0, restart: { ...restart, check: null } });
      say(`cycle ${cycle}: no request sent after the restart acknowledged within ${options.recoveryTimeoutMs} ms of the kill; stopping`);
      break;
    }
    say(`cycle ${cycle}: serving again ${base.recoveryMs} ms after the kill, ${restart.fromRestartMs} ms after the restart (view ${ack.view}); reading back ${ledgerAtKill.size} keys`);

    const check = await checkAfterRestart(cluster, ledgerAtKill, load.ledger, { workload: load.workload, protocol, timeoutMs: options.verifyTimeoutMs });
    const lines: string[] = [];
    if (check.lostWrites > 0) lines.push(`cycle ${cycle}: ${check.lostWrites} of ${writesAtKill} writes acknowledged before the kill missing after the restart`);
    if (check.corruptKeys > 0) lines.push(`cycle ${cycle}: ${check.corruptKeys} keys hold a value never written to them after the restart`);
    if (check.keysVerified === 0 && writesAtKill > 0) lines.push(`cycle ${cycle}: no key still held a write from before the kill when read back: nothing verified`);
    if (check.unverifiedKeys > 0) {
      lines.push(`cycle ${cycle}: ${check.unverifiedKeys} keys (${check.unverifiedWrites} writes acknowledged before the kill) not read back within ${options.verifyTimeoutMs} ms after the restart`);
    }
    say(
      `cycle ${cycle}: read back ${check.keysChecked} keys: ${check.keysVerified} verified, ${check.keysRewritten} rewritten since the kill, ${check.corruptKeys} corrupt, ${check.unverifiedKeys} unread; ${check.lostWrites} writes acknowledged before the kill lost`,
    );
    failures.push(...lines);

    say(`cycle ${cycle}: steady load for ${Math.round(afterMs)} ms`);
    const acknowledgedBefore = load.acknowledged;
    await delay(afterMs);
    const requestsAfterRecovery = load.acknowledged - acknowledgedBefore;
    faults.push({ ...base, requestsAfterRecovery, restart: { ...restart, check } });
    say(`cycle ${cycle}: ${requestsAfterRecovery} requests acknowledged after recovery`);
    if (lines.length > 0) {
      say(`cycle ${cycle}: the check after the restart failed; stopping`);
      break;
    }
  }

  const last = faults[faults.length - 1];
  if (last !== undefined) faults[faults.length - 1] = { ...last, restart: { ...last.restart, divergences: await divergences(cluster) } };
  for (const f of faults) {
    const d = f.restart.divergences;
    if (d === null) failures.push(`cycle ${f.cycle}: the restarted replicas did not all report their divergences`);
    else if (d > 0) failures.push(`cycle ${f.cycle}: the restarted replicas found their state differing from a certified checkpoint ${d} times`);
  }
  if (faults.length < options.cycles) failures.push(`${faults.length} of ${options.cycles} cycles ran`);

  const fromKill = medianMax(faults.flatMap((f) => (f.recoveryMs === null ? [] : [f.recoveryMs])));
  const fromRestart = medianMax(faults.flatMap((f) => (f.restart.fromRestartMs === null ? [] : [f.restart.fromRestartMs])));
  say(
    `serving again after each restart: from the kill median ${fromKill.median ?? '-'} ms, max ${fromKill.max ?? '-'} ms; ` +
      `from the restart median ${fromRestart.median ?? '-'} ms, max ${fromRestart.max ?? '-'} ms (${faults.length} cycles)`,
  );
  return { faults, failures };
}

/**
 * Recovery is measured from the kill, so it includes starting n Node
 * processes at once: 1.5-3.7 s of it on a busy 2-core machine.
 */
export const RESTART_ALL_RECOVERY_LIMIT_MS = 8000;

/**
 * `dataDirs`: every replica process gets `--data-dir`, the same directory at
 * each restart, removed with the cluster folder at the end.
 */
export const restartAll: Scenario = {
  name: 'restart-all',
  description: 'kill -9 every replica at once under load and restart them from their data directories; nothing acknowledged may be lost',
  requiresViewChange: false,
  dataDirs: true,
  defaultRecoveryLimitMs: RESTART_ALL_RECOVERY_LIMIT_MS,
  setup: (options) => ({
    workload: kvWorkload(options.clients),
    protocol: protocolForInterval(options.checkpointInterval ?? defaultProtocolOptions.checkpointInterval),
  }),
  run,
};
