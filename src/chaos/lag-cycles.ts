/**
 * The cycle of the catch-up scenarios (`lagging-replica`, `large-state`):
 * steady load; kill -9 a backup; keep the load until `downRequests` more
 * requests are acknowledged, past several checkpoints; restart it, empty (no
 * durable storage); wait (bounded) until it has caught up — state transfer,
 * then the log — and executes batches ordered after that; steady load again.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { currentView } from './kill-cycles.js';
import type { CatchUpReport, FaultReport, ScenarioContext } from './types.js';

/** Bound on the load's first acknowledgement, before any fault. */
const FIRST_ACK_TIMEOUT_MS = 15_000;
/** Share of `durationSec` before the fault; the rest runs after the catch-up. */
const BEFORE_SHARE = 0.4;
/** Status poll period while waiting for the catch-up: the resolution of catchUpMs. */
const CATCH_UP_POLL_MS = 25;

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** The highest stable checkpoint `ids` report. */
async function highestStable(cluster: LocalCluster, ids: readonly number[]): Promise<number> {
  const statuses = await Promise.all(ids.map((id) => cluster.status(id)));
  return Math.max(0, ...statuses.map((s) => s.stableCheckpoint));
}

interface CaughtUp {
  /** performance.now() when the restarted replica's status showed it. */
  readonly at: number;
  /** The highest lastExecuted of the others in that round. */
  readonly othersHighest: number;
}

/**
 * Polls (bounded by `deadline`) until `victim`'s lastExecuted is at least the
 * lowest lastExecuted of `others`, asked just before it in the same round.
 */
async function waitForCatchUp(cluster: LocalCluster, victim: number, others: readonly number[], deadline: number): Promise<CaughtUp | undefined> {
  for (;;) {
    const ahead = await Promise.all(others.map((id) => cluster.status(id)));
    const own = await cluster.status(victim);
    const at = performance.now();
    const executed = ahead.map((s) => s.lastExecuted);
    if (own.lastExecuted >= Math.min(...executed)) return { at, othersHighest: Math.max(...executed) };
    if (at > deadline) return undefined;
    await delay(CATCH_UP_POLL_MS);
  }
}

/** Polls (bounded by `deadline`) until `victim` executed a batch above `seq`. */
async function waitForExecutionAbove(cluster: LocalCluster, victim: number, seq: number, deadline: number): Promise<boolean> {
  for (;;) {
    if ((await cluster.status(victim)).lastExecuted > seq) return true;
    if (performance.now() > deadline) return false;
    await delay(CATCH_UP_POLL_MS);
  }
}

/** The first `checkpoint installed` line of a replica's log: when it arrived and the image's bytes. */
class InstallWatch {
  first: { readonly at: number; readonly bytes: number } | undefined;

  readonly onLogLine = (line: string, at: number): void => {
    if (this.first !== undefined || !line.includes('"msg":"checkpoint installed"')) return;
    let bytes: unknown;
    try {
      bytes = (JSON.parse(line) as { bytes?: unknown }).bytes;
    } catch {
      return; // not a whole JSON line
    }
    if (typeof bytes === 'number' && Number.isSafeInteger(bytes)) this.first = { at, bytes };
  };
}

/**
 * Runs `options.cycles` cycles; each kills a backup (highest id first, in
 * turn), and restarts it before the cycle ends, so the next cycle starts
 * with every replica running. Stops early if a cycle fails.
 */
export async function lagCycles(context: ScenarioContext): Promise<FaultReport[]> {
  const { cluster, load, options, protocol, say } = context;
  const beforeMs = options.durationSec * 1000 * BEFORE_SHARE;
  const afterMs = options.durationSec * 1000 - beforeMs;
  const faults: FaultReport[] = [];
  if (!(await load.waitForAcks(1, FIRST_ACK_TIMEOUT_MS))) {
    throw new Error(`the load got no reply within ${FIRST_ACK_TIMEOUT_MS} ms, before any fault`);
  }
  for (let cycle = 1; cycle <= options.cycles; cycle++) {
    say(`cycle ${cycle}: steady load for ${Math.round(beforeMs)} ms`);
    await delay(beforeMs);
    const { view, primary } = await currentView(cluster);
    const backups = cluster.running.filter((id) => id !== primary).reverse();
    const victim = backups[(cycle - 1) % Math.max(1, backups.length)];
    if (victim === undefined) throw new Error(`cycle ${cycle}: no running backup to kill (view ${view}, primary ${primary})`);
    const others = cluster.running.filter((id) => id !== victim);
    const stableAtKill = await highestStable(cluster, others);

    say(`cycle ${cycle}: kill -9 replica ${victim} (backup of view ${view}) after ${load.acknowledged} acknowledged requests`);
    const killedAt = performance.now();
    const acknowledgedAtKill = load.acknowledged;
    const recovery = load.nextAck((ack) => ack.sentAt > killedAt, options.recoveryTimeoutMs);
    await cluster.kill(victim);
    const ack = await recovery;
    const recoveryMs = ack === undefined ? null : round1(ack.at - killedAt);
    const report = { cycle, fault: 'kill -9', replica: victim, role: 'backup' as const, view, recovered: ack !== undefined, recoveryMs, recoveryView: ack?.view ?? null };
    if (ack === undefined) {
      faults.push({ ...report, requestsAfterRecovery: 0 });
      say(`cycle ${cycle}: no request acknowledged within ${options.recoveryTimeoutMs} ms of the kill; stopping`);
      break;
    }

    say(`cycle ${cycle}: replica ${victim} down; load until ${options.downRequests} more requests are acknowledged`);
    if (!(await load.waitForAcks(acknowledgedAtKill + options.downRequests, options.downTimeoutMs))) {
      throw new Error(`cycle ${cycle}: ${load.acknowledged - acknowledgedAtKill} of ${options.downRequests} requests acknowledged within ${options.downTimeoutMs} ms with replica ${victim} down`);
    }
    const requestsWhileDown = load.acknowledged - acknowledgedAtKill;
    const stableAtRestart = await highestStable(cluster, others);
    const checkpointsWhileDown = Math.round((stableAtRestart - stableAtKill) / protocol.checkpointInterval);

    say(`cycle ${cycle}: restarting replica ${victim} empty after ${requestsWhileDown} requests (others' stable checkpoint ${stableAtRestart}, ${checkpointsWhileDown} checkpoints later)`);
    const installs = new InstallWatch();
    const restartedAt = performance.now();
    // Its own info level: the one line that tells the size of the image it installed.
    await cluster.startReplica(victim, { logLevel: 'info', onLogLine: installs.onLogLine });
    const readyAt = performance.now();
    const deadline = restartedAt + options.catchUpTimeoutMs;
    const caught = await waitForCatchUp(cluster, victim, others, deadline);
    const executedNew = caught !== undefined && (await waitForExecutionAbove(cluster, victim, caught.othersHighest, caught.at + options.catchUpTimeoutMs));
    const first = installs.first;
    const transferMs = first === undefined ? null : round1(first.at - readyAt);
    const catchUp: CatchUpReport = {
      requestsWhileDown,
      checkpointsWhileDown,
      stableAtRestart,
      readyMs: round1(readyAt - restartedAt),
      caughtUp: caught !== undefined,
      catchUpMs: caught === undefined ? null : round1(caught.at - restartedAt),
      checkpointsInstalled: (await cluster.status(victim)).checkpointsInstalled,
      stateBytes: first?.bytes ?? null,
      transferMs,
      transferMBps: first === undefined || transferMs === null || transferMs <= 0 ? null : Math.round(first.bytes / transferMs) / 1000,
      executedNew,
    };
    if (caught === undefined || !executedNew) {
      faults.push({ ...report, requestsAfterRecovery: 0, catchUp });
      say(`cycle ${cycle}: replica ${victim} ${caught === undefined ? `did not catch up within ${options.catchUpTimeoutMs} ms` : 'caught up but executed nothing new'}; stopping`);
      break;
    }
    say(
      `cycle ${cycle}: replica ${victim} caught up ${catchUp.catchUpMs} ms after its restart (${catchUp.checkpointsInstalled} checkpoint(s) installed, first ${catchUp.stateBytes ?? 0} bytes in ${transferMs ?? '-'} ms); steady load for ${Math.round(afterMs)} ms`,
    );
    const acknowledgedBefore = load.acknowledged;
    await delay(afterMs);
    faults.push({ ...report, requestsAfterRecovery: load.acknowledged - acknowledgedBefore, catchUp });
  }
  return faults;
}
