/**
 * The chaos runner's restart-all scenario, in process, against 4 real
 * replica processes with data directories: under a steady closed-loop kv
 * load every replica is killed with SIGKILL at once and restarted from its
 * data directory, twice. Each time the restarted cluster must serve a new
 * request within a few seconds and still hold every write acknowledged
 * before the kill; at the end nothing acknowledged is lost and the replicas
 * are in the same state. Without data directories the same cycle must fail:
 * the replicas restart empty and the read-back after the restart finds the
 * acknowledged writes gone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChaosLoad } from '../../src/chaos/load.js';
import { resolveChaosOptions, runChaos } from '../../src/chaos/runner.js';
import { restartAll, type RestartFaultReport } from '../../src/chaos/scenarios/restart-all.js';
import type { ScenarioOutcome } from '../../src/chaos/types.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { resolveProtocolOptions } from '../../src/runtime/protocol-options.js';

/**
 * Kill to the first acknowledged request sent after the restart: it includes
 * starting 4 Node processes at once on 2 cores (1 to 4 s here, depending on
 * the machine's load), their local recovery, the redials and the first order.
 */
const RECOVERY_LIMIT_MS = 10_000;
/** The last ready line to that request: the cluster serving again once its processes are up. */
const FROM_RESTART_LIMIT_MS = 5_000;

describe('chaos: restart every replica at once (4 replica processes with data directories)', { timeout: 120_000 }, () => {
  it('serves again after each restart and loses no acknowledged write', async () => {
    const lines: string[] = [];
    const report = await runChaos(
      // 0.8 s of load before each kill, 1.2 s after the check; every wait inside is bounded.
      { scenario: 'restart-all', cycles: 2, durationSec: 2, clients: 8, recoveryTimeoutMs: 20_000, recoveryLimitMs: RECOVERY_LIMIT_MS, verifyTimeoutMs: 15_000 },
      (line) => lines.push(line),
    );
    const context = `${JSON.stringify(report)}\n${lines.join('\n')}`;
    const faults = report.faults as readonly RestartFaultReport[];
    assert.equal(faults.length, 2, context);
    for (const fault of faults) {
      const { restart } = fault;
      assert.ok(restart.dataDirs, `the replicas ran with data directories\n${context}`);
      assert.deepEqual(restart.replicas, [0, 1, 2, 3], context);
      assert.ok(fault.recovered && fault.recoveryMs !== null && fault.recoveryMs < RECOVERY_LIMIT_MS, context);
      assert.ok(restart.fromRestartMs !== null && restart.fromRestartMs < FROM_RESTART_LIMIT_MS && restart.fromRestartMs <= fault.recoveryMs, context);
      assert.ok(restart.writesAtKill > 0, context);
      assert.ok(restart.check !== null, context);
      assert.equal(restart.check.unverifiedKeys, 0, context);
      assert.ok(restart.check.keysVerified > 0, `some keys still held their write from before the kill\n${context}`);
      assert.equal(restart.check.lostWrites, 0, `writes acknowledged before the kill survive the restart\n${context}`);
      assert.equal(restart.check.corruptKeys, 0, context);
      assert.equal(restart.divergences, 0, context);
      assert.ok(fault.requestsAfterRecovery > 0, context);
    }
    assert.equal(report.requestsUnverified, 0, context);
    assert.equal(report.requestsLost, 0, context);
    assert.equal(report.wrongReplies, 0, context);
    assert.equal(report.invocationsFailed, 0, context);
    assert.deepEqual(report.survivors, [0, 1, 2, 3], context);
    assert.ok(report.settled && report.digestsEqual, context);
    assert.ok(report.passed, context);
  });

  it('fails when the replicas have no data directories: they restart empty', async () => {
    const lines: string[] = [];
    const options = resolveChaosOptions({ scenario: 'restart-all', cycles: 1, durationSec: 1, clients: 8, recoveryTimeoutMs: 15_000, verifyTimeoutMs: 15_000 });
    const setup = restartAll.setup!(options);
    const cluster = await LocalCluster.start({ replicas: 4, service: setup.workload.service, logLevel: 'error', protocol: setup.protocol });
    let load: ChaosLoad | undefined;
    try {
      load = await ChaosLoad.start({ config: cluster.config, sessions: 8, retransmitMs: 300, retransmitMsMax: 600, workload: setup.workload, protocol: setup.protocol });
      const context = { cluster, load, options, protocol: resolveProtocolOptions(setup.protocol), say: (line: string) => void lines.push(line) };
      const outcome = (await restartAll.run(context)) as ScenarioOutcome;
      const text = `${JSON.stringify(outcome)}\n${lines.join('\n')}`;
      assert.equal(outcome.faults.length, 1, text);
      const { restart } = outcome.faults[0] as RestartFaultReport;
      assert.equal(restart.dataDirs, false, text);
      assert.ok(restart.check !== null && restart.check.lostWrites > 0, `the read-back after the restart found the loss\n${text}`);
      assert.ok(outcome.failures.some((f) => f.includes('without data directories')), text);
      assert.ok(outcome.failures.some((f) => /cycle 1: \d+ of \d+ writes acknowledged before the kill missing/.test(f)), text);
    } finally {
      await load?.close();
      await cluster.stop();
    }
  });
});
