/**
 * The cycle shared by the crash scenarios: steady load, kill -9 one replica
 * chosen by its role, wait (bounded) for the first acknowledged request that
 * shows recovery, steady load again.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { LocalCluster } from '../cluster/local-cluster.js';
import type { Ack } from './load.js';
import type { FaultReport, ScenarioContext } from './types.js';

/** Bound on the load's first acknowledgement, before any fault. */
const FIRST_ACK_TIMEOUT_MS = 15_000;
/** Share of `durationSec` before the fault; the rest runs after recovery. */
const BEFORE_SHARE = 0.4;

export interface ClusterView {
  readonly view: number;
  readonly primary: number;
}

/**
 * The view most running replicas report (the highest on a tie) and its
 * primary, from their control-channel status.
 */
export async function currentView(cluster: LocalCluster): Promise<ClusterView> {
  const answers = await Promise.allSettled(cluster.running.map((id) => cluster.status(id)));
  const votes = new Map<number, { count: number; primary: number }>();
  for (const a of answers) {
    if (a.status !== 'fulfilled') continue;
    const vote = votes.get(a.value.view) ?? { count: 0, primary: a.value.primary };
    vote.count++;
    votes.set(a.value.view, vote);
  }
  let best: (ClusterView & { count: number }) | undefined;
  for (const [view, { count, primary }] of votes) {
    if (best === undefined || count > best.count || (count === best.count && view > best.view)) best = { view, primary, count };
  }
  if (best === undefined) throw new Error('no running replica answered status');
  return { view: best.view, primary: best.primary };
}

export interface KillCyclesSpec {
  /** Which replica each cycle kills. */
  readonly victim: 'primary' | 'backup';
  /**
   * The recovery condition: true for the first acknowledgement that counts
   * as recovery from a kill made in view `fault.view` at `fault.at`
   * (performance.now()).
   */
  readonly recoveredBy: (ack: Ack, fault: { readonly view: number; readonly at: number }) => boolean;
}

/** A deliberately timed load phase, measured by the clock. */

/**
 * Runs `options.cycles` kill cycles. Before the second and later cycles the
 * replica killed in the previous one is restarted (a fresh process with no
 * state, which catches up by state transfer; this cycle does not wait for
 * that, lag-cycles.ts does), so at most one replica is down at a time. Stops
 * early if a fault is not recovered from within `recoveryTimeoutMs`.
 */
export async function killCycles(context: ScenarioContext, spec: KillCyclesSpec): Promise<FaultReport[]> {
  const { cluster, load, options, say } = context;
  const beforeMs = options.durationSec * 1000 * BEFORE_SHARE;
  const afterMs = options.durationSec * 1000 - beforeMs;
  const faults: FaultReport[] = [];
  if (!(await load.waitForAcks(1, FIRST_ACK_TIMEOUT_MS))) {
    throw new Error(`the load got no reply within ${FIRST_ACK_TIMEOUT_MS} ms, before any fault`);
  }
  let down: number | undefined;
  for (let cycle = 1; cycle <= options.cycles; cycle++) {
    if (down !== undefined) {
      say(`cycle ${cycle}: restarting replica ${down}`);
      await cluster.startReplica(down);
      down = undefined;
    }
    say(`cycle ${cycle}: steady load for ${Math.round(beforeMs)} ms`);
    await delay(beforeMs);
    const { view, primary } = await currentView(cluster);
    const running = cluster.running;
    // Backups in turn, highest id first, so later cycles do not keep killing the replica just restarted.
    const backups = running.filter((id) => id !== primary).reverse();
    const victim = spec.victim === 'primary' ? primary : backups[(cycle - 1) % Math.max(1, backups.length)];
    if (victim === undefined || !running.includes(victim)) {
      throw new Error(`cycle ${cycle}: no running ${spec.victim} to kill (view ${view}, primary ${primary}, running ${running.join(',')})`);
    }
    say(`cycle ${cycle}: kill -9 replica ${victim} (${spec.victim} of view ${view}) after ${load.acknowledged} acknowledged requests`);
    const killedAt = performance.now();
    const recovery = load.nextAck((ack) => spec.recoveredBy(ack, { view, at: killedAt }), options.recoveryTimeoutMs);
    await cluster.kill(victim);
    down = victim;
    const ack = await recovery;
    const recoveryMs = ack === undefined ? null : Math.round((ack.at - killedAt) * 10) / 10;
    const report = {
      cycle,
      fault: 'kill -9',
      replica: victim,
      role: spec.victim,
      view,
      recovered: ack !== undefined,
      recoveryMs,
      recoveryView: ack?.view ?? null,
    };
    if (ack === undefined) {
      faults.push({ ...report, requestsAfterRecovery: 0 });
      say(`cycle ${cycle}: no recovery within ${options.recoveryTimeoutMs} ms; stopping`);
      break;
    }
    say(`cycle ${cycle}: recovered after ${recoveryMs} ms (view ${ack.view}); steady load for ${Math.round(afterMs)} ms`);
    const acknowledgedBefore = load.acknowledged;
    await delay(afterMs);
    const requestsAfterRecovery = load.acknowledged - acknowledgedBefore;
    faults.push({ ...report, requestsAfterRecovery });
    say(`cycle ${cycle}: ${requestsAfterRecovery} requests acknowledged after recovery`);
  }
  return faults;
}
