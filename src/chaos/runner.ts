/**
 * The chaos runner: starts a local cluster of replica processes and a steady
 * client load, lets a scenario inject its faults, then stops the load and
 * checks the outcome (no acknowledged write lost, equal survivor states,
 * recovery in time). Everything it starts is stopped in `finally`, and every
 * wait is bounded, so a cluster that never recovers makes a failed report,
 * not a hang.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LocalCluster } from '../cluster/local-cluster.js';
import { resolveProtocolOptions } from '../runtime/protocol-options.js';
import { KV_ENTRIES_MAX } from '../services/kv.js';
import { validStateBytes } from '../services/slots.js';
import { ChaosLoad } from './load.js';
import { LossyNetwork } from './lossy-network.js';
import { findScenario, scenarioNames } from './registry.js';
import { byzantineLines } from './scenarios/byzantine-replica.js';
import {
  defaultChaosOptions,
  type ChaosOptions,
  type ByzantineReport,
  type ChaosReport,
  type ClusterSetup,
  type FaultReport,
  type NetworkReport,
  type ScenarioContext,
} from './types.js';
import { readBack, settle } from './verify.js';
import { kvWorkload } from './workload.js';

/** How long in-flight requests may take to finish once the load stops (after a recovered fault). */
const STOP_GRACE_MS = 2_000;
/** Sessions of the client that reads every key back. */
const READ_BACK_SESSIONS = 16;

/**
 * `partial` over the defaults (an undefined field counts as absent; the
 * duration defaults to the scenario's, the seed is drawn at random), checked;
 * throws RangeError naming the first bad option.
 */
export function resolveChaosOptions(partial: Partial<ChaosOptions> & { readonly scenario: string }): ChaosOptions {
  const scenario = findScenario(partial.scenario);
  if (scenario === undefined) {
    throw new RangeError(`unknown scenario '${partial.scenario}' (known: ${scenarioNames().join(', ')})`);
  }
  const given = Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined)) as Partial<ChaosOptions>;
  const options: ChaosOptions = {
    ...defaultChaosOptions,
    durationSec: scenario.defaultDurationSec ?? defaultChaosOptions.durationSec,
    recoveryLimitMs: scenario.defaultRecoveryLimitMs ?? defaultChaosOptions.recoveryLimitMs,
    seed: randomInt(0x7fff_ffff),
    ...given,
    scenario: partial.scenario,
  };
  const integerIn = (name: keyof ChaosOptions, min: number, max: number): void => {
    const value = options[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be an integer in ${min}..${max}`);
    }
  };
  integerIn('cycles', 1, 1000);
  integerIn('clients', 1, KV_ENTRIES_MAX / 2);
  integerIn('replicas', 4, 64);
  integerIn('retransmitMs', 10, 60_000);
  integerIn('retransmitMsMax', options.retransmitMs, 600_000);
  integerIn('recoveryTimeoutMs', 1, 600_000);
  integerIn('recoveryLimitMs', 1, 600_000);
  integerIn('verifyTimeoutMs', 1, 600_000);
  integerIn('settleTimeoutMs', 1, 600_000);
  integerIn('downRequests', 1, 1_000_000_000);
  integerIn('downTimeoutMs', 1, 86_400_000);
  integerIn('catchUpTimeoutMs', 1, 3_600_000);
  if (options.checkpointInterval !== undefined) integerIn('checkpointInterval', 1, 1_000_000);
  if (!validStateBytes(options.stateBytes)) throw new RangeError('stateBytes must be a positive multiple of 64 below 2 GiB');
  if (!(Number.isFinite(options.durationSec) && options.durationSec > 0 && options.durationSec <= 86_400)) {
    throw new RangeError('durationSec must be a number in (0, 86400]');
  }
  integerIn('seed', 0, Number.MAX_SAFE_INTEGER);
  if (!(Number.isFinite(options.faultsPerSec) && options.faultsPerSec >= 0 && options.faultsPerSec <= 10_000)) {
    throw new RangeError('faultsPerSec must be a number in [0, 10000]');
  }
  return options;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Runs one scenario end to end and reports. Throws only if the cluster or
 * the load cannot be started; a scenario that fails or throws makes a
 * report with `passed: false`.
 */
export async function runChaos(
  partial: Partial<ChaosOptions> & { readonly scenario: string },
  say: (line: string) => void = (line) => void process.stderr.write(`chaos: ${line}\n`),
): Promise<ChaosReport> {
  const options = resolveChaosOptions(partial);
  const scenario = findScenario(options.scenario)!;
  const setup: ClusterSetup = scenario.setup?.(options) ?? { workload: kvWorkload(options.clients), protocol: {} };
  const { workload } = setup;
  // Throws a ConfigError naming the field if the scenario's options do not fit together.
  const protocol = resolveProtocolOptions(setup.protocol);
  const protocolOverrides = Object.keys(setup.protocol).length > 0 ? { protocol: setup.protocol } : {};
  const started = performance.now();
  say(`${scenario.name}: ${scenario.description}`);
  say(
    `starting ${options.replicas} replica processes on 127.0.0.1 (service ${workload.service}, checkpoint every ${protocol.checkpointInterval} batches, log window ${protocol.logWindow})`,
  );
  const cluster = await LocalCluster.start({
    replicas: options.replicas,
    service: workload.service,
    logLevel: options.logLevel,
    dataDirs: scenario.dataDirs === true,
    ...protocolOverrides,
  });
  let load: ChaosLoad | undefined;
  let network: LossyNetwork | undefined;
  try {
    if (scenario.interposesNetwork === true) network = await LossyNetwork.start(cluster, { seed: options.seed as number, say });
    load = await ChaosLoad.start({
      config: network?.clientConfig ?? cluster.config,
      sessions: options.clients,
      retransmitMs: options.retransmitMs,
      retransmitMsMax: options.retransmitMsMax,
      workload,
      ...protocolOverrides,
    });
    say(`cluster up (n=${options.replicas}, f=${cluster.f}); ${options.clients} client sessions in closed loop`);
    const context: ScenarioContext = { cluster, load, options, protocol, say, ...(network === undefined ? {} : { network }) };
    let faults: FaultReport[] = [];
    let perCycle = true;
    let scenarioFailures: readonly string[] = [];
    let networkReport: NetworkReport | undefined;
    let byzantineReport: ByzantineReport | undefined;
    let error: string | undefined;
    try {
      const outcome = await scenario.run(context);
      if (Array.isArray(outcome)) faults = outcome;
      else {
        perCycle = false;
        ({ faults, failures: scenarioFailures, network: networkReport, byzantine: byzantineReport } = outcome);
      }
    } catch (e) {
      error = errorText(e);
      say(`scenario failed: ${error}`);
    }
    // The faults stop here whatever happened, so that the checks below measure the replicas, not the network.
    network?.quiet();
    const recoveredAll = error === undefined && faults.every((f) => f.recovered);
    await load.stop(recoveredAll ? STOP_GRACE_MS : 0);
    say(`load stopped: ${load.acknowledged} requests acknowledged (${load.writesAcknowledged} writes); reading back ${load.ledger.size} keys`);
    const read = await readBack(cluster, load.ledger, { sessions: READ_BACK_SESSIONS, timeoutMs: options.verifyTimeoutMs, workload, ...protocolOverrides });
    const settled = await settle(cluster, options.settleTimeoutMs);
    const survivors = cluster.running;
    const statuses = (await Promise.allSettled(survivors.map((id) => cluster.status(id)))).flatMap((s) =>
      s.status === 'fulfilled' ? [s.value] : [],
    );
    const viewChanges = Math.max(0, ...statuses.map((s) => s.viewChanges));
    const finalView = Math.max(0, ...statuses.map((s) => s.view));
    const recoveryMs =
      faults.length > 0 && faults.every((f) => f.recoveryMs !== null) ? Math.max(...faults.map((f) => f.recoveryMs as number)) : null;
    const catchUps = faults.flatMap((f) => (f.catchUp === undefined ? [] : [f.catchUp]));
    const worst = (values: (number | null)[], pick: (...xs: number[]) => number): number | null =>
      values.length > 0 && values.every((v) => v !== null) ? pick(...(values as number[])) : null;
    const catchUpSummary =
      catchUps.length === 0
        ? {}
        : {
            catchUpMs: worst(catchUps.map((c) => c.catchUpMs), Math.max),
            stateBytes: worst(catchUps.map((c) => c.stateBytes), Math.max),
            transferMBps: worst(catchUps.map((c) => c.transferMBps), Math.min),
          };

    const failures: string[] = [];
    if (error !== undefined) failures.push(`scenario error: ${error}`);
    if (perCycle && faults.length < options.cycles) failures.push(`${faults.length} of ${options.cycles} faults injected`);
    failures.push(...scenarioFailures);
    for (const f of faults) {
      if (f.recoveryMs === null) failures.push(`cycle ${f.cycle}: no recovery within ${options.recoveryTimeoutMs} ms`);
      else {
        if (f.recoveryMs >= options.recoveryLimitMs) {
          failures.push(`cycle ${f.cycle}: recovery took ${f.recoveryMs} ms (limit ${options.recoveryLimitMs} ms)`);
        }
        if (f.requestsAfterRecovery === 0) failures.push(`cycle ${f.cycle}: no request acknowledged in the load phase after recovery`);
      }
      const c = f.catchUp;
      if (c === undefined) continue;
      if (!c.caughtUp) failures.push(`cycle ${f.cycle}: restarted replica ${f.replica} did not catch up within ${options.catchUpTimeoutMs} ms`);
      else if (!c.executedNew) failures.push(`cycle ${f.cycle}: restarted replica ${f.replica} caught up but executed no later batch`);
      // The slots up to the others' stable checkpoint are gone everywhere: an empty replica can only get past them by a transfer.
      if (c.caughtUp && c.stableAtRestart > 0 && c.checkpointsInstalled === 0) {
        failures.push(`cycle ${f.cycle}: restarted replica ${f.replica} reports no installed checkpoint`);
      }
    }
    if (scenario.requiresViewChange && viewChanges < 1) failures.push('no view change');
    if (read.lostWrites > 0) failures.push(`${read.lostWrites} acknowledged writes lost (among the keys read back)`);
    if (read.corruptKeys > 0) failures.push(`${read.corruptKeys} keys hold a value never written to them`);
    if (read.unverifiedWrites > 0 || read.unverifiedKeys > 0) {
      failures.push(`${read.unverifiedKeys} keys (${read.unverifiedWrites} acknowledged writes) not read back within ${options.verifyTimeoutMs} ms`);
    }
    if (load.wrongReplies > 0) failures.push(`${load.wrongReplies} wrong replies`);
    if (load.failedInvocations > 0) failures.push(`${load.failedInvocations} invocations rejected (${load.failureKinds.join(', ')}), each ending its session`);
    if (!settled.settled) failures.push(`survivors did not reach the same last batch within ${options.settleTimeoutMs} ms`);
    else if (!settled.digestsEqual) failures.push(`survivors' state digests differ after batch ${settled.seq}`);

    return {
      scenario: scenario.name,
      passed: failures.length === 0,
      failures,
      replicas: options.replicas,
      f: cluster.f,
      clients: options.clients,
      cycles: options.cycles,
      service: workload.service,
      checkpointInterval: protocol.checkpointInterval,
      logWindow: protocol.logWindow,
      requestsAcknowledged: load.acknowledged,
      writesAcknowledged: load.writesAcknowledged,
      requestsLost: read.unverifiedKeys > 0 ? null : read.lostWrites,
      requestsUnverified: read.unverifiedWrites,
      wrongReplies: load.wrongReplies,
      invocationsFailed: load.failedInvocations,
      viewChanges,
      finalView,
      recoveryMs,
      recoveryLimitMs: options.recoveryLimitMs,
      survivors,
      settled: settled.settled,
      digestsEqual: settled.settled && settled.digestsEqual,
      faults,
      ...catchUpSummary,
      ...(networkReport === undefined ? {} : { network: networkReport }),
      ...(byzantineReport === undefined ? {} : { byzantine: byzantineReport }),
      elapsedMs: Math.round(performance.now() - started),
      ...(error === undefined ? {} : { error }),
    };
  } finally {
    await load?.close();
    await cluster.stop();
    await network?.close();
  }
}

/** The report as a human summary, or as one JSON line (the last line of stdout). */
export function formatReport(report: ChaosReport, json: boolean): string {
  if (json) return JSON.stringify(report) + '\n';
  const lines = [
    `scenario             ${report.scenario}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    `cluster              n=${report.replicas} f=${report.f}, ${report.clients} client sessions, ${report.cycles} cycle(s), ${round1(report.elapsedMs / 1000)} s`,
    `acknowledged         ${report.requestsAcknowledged} requests (${report.writesAcknowledged} writes)`,
    `lost writes          ${report.requestsLost ?? `unknown: ${report.requestsUnverified} acknowledged writes could not be read back`}`,
    `wrong replies        ${report.wrongReplies}`,
    `failed invocations   ${report.invocationsFailed}`,
    `view changes         ${report.viewChanges} (final view ${report.finalView})`,
    `recovery             ${report.recoveryMs === null ? 'none' : `${report.recoveryMs} ms`} (limit ${report.recoveryLimitMs} ms)`,
    `survivors            ${report.survivors.join(', ')}: ${report.settled ? (report.digestsEqual ? 'equal state digests' : 'state digests DIFFER') : 'not settled'}`,
    ...report.faults.flatMap((f) => [
      `  cycle ${f.cycle}: ${f.fault} replica ${f.replica} (${f.role}, view ${f.view}) -> ${f.recovered ? `recovered in ${f.recoveryMs} ms, view ${f.recoveryView}; ${f.requestsAfterRecovery} requests after` : 'not recovered'}`,
      ...(f.catchUp === undefined
        ? []
        : [
            `    restarted after ${f.catchUp.requestsWhileDown} requests (${f.catchUp.checkpointsWhileDown} checkpoints): ${f.catchUp.caughtUp ? `caught up in ${f.catchUp.catchUpMs} ms` : 'did not catch up'}, ${f.catchUp.checkpointsInstalled} checkpoint(s) installed` +
              (f.catchUp.stateBytes === null ? '' : `, first ${f.catchUp.stateBytes} bytes in ${f.catchUp.transferMs} ms (>= ${f.catchUp.transferMBps} MB/s)`),
          ]),
    ]),
    ...(report.network === undefined ? [] : networkLines(report.network)),
    ...(report.byzantine === undefined ? [] : byzantineLines(report.byzantine)),
    ...report.failures.map((f) => `  failure: ${f}`),
  ];
  return lines.join('\n') + '\n';
}

/** The lossy-network figures of a human summary. */
function networkLines(n: NetworkReport): string[] {
  const f = n.faultsInjected;
  return [
    `network              ${n.middleboxes} middleboxes, seed ${n.seed}, ${round1(n.faultyMs / 1000)} s of faults over ${round1(n.bytesPerSec / 1e6)} MB/s of clean traffic`,
    `faults injected      ${f.corruptedBytes} corrupted bytes, ${f.duplicatedChunks} duplicated chunks, ${f.cuts} cuts, ${f.stalls} stalls (${f.connections} connections)`,
    `acks per ${n.windowMs / 1000} s        min ${n.acksPerWindowMin ?? '-'}, median ${n.acksPerWindowMedian ?? '-'} over ${n.acksPerWindow.length} windows`,
    `longest stall        ${n.longestStallMs} ms (at ${round1(n.longestStallAtMs / 1000)} s); slowest invocation ${n.invocationMsMax ?? '-'} ms`,
    `drain                ${n.invocationsIncomplete} invocations incomplete after ${n.drainMs} ms`,
    `disconnections       ${n.disconnections} logged; views installed ${n.viewsInstalled.length}`,
  ];
}
