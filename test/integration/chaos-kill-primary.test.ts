/**
 * The chaos runner's kill-primary scenario, in process, against 4 real
 * replica processes: under a steady closed-loop kv load the primary is
 * killed with SIGKILL; the backups must change the view, the first request
 * committed in the new view must be acknowledged within 3 s of the kill, and
 * every acknowledged write must be in the final replicated state (read back
 * through a fresh client), with equal state digests on the survivors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from '../../src/chaos/runner.js';

describe('chaos: kill the primary (4 replica processes)', { timeout: 120_000 }, () => {
  it('changes the view, recovers within 3 s and loses no acknowledged write', async () => {
    const lines: string[] = [];
    const report = await runChaos(
      // 1 s of load before the kill, 1.5 s after recovery; every wait inside is bounded.
      { scenario: 'kill-primary', durationSec: 2.5, clients: 8, recoveryTimeoutMs: 10_000, verifyTimeoutMs: 15_000 },
      (line) => lines.push(line),
    );
    const context = `${JSON.stringify(report)}\n${lines.join('\n')}`;
    assert.equal(report.faults.length, 1, context);
    const fault = report.faults[0]!;
    assert.equal(fault.role, 'primary', context);
    assert.equal(fault.view, 0, context);
    assert.equal(fault.replica, 0, 'the primary of view 0 is replica 0');
    assert.ok(fault.recovered, `no request committed in a new view within 10 s of the kill\n${context}`);
    assert.ok(report.viewChanges >= 1, context);
    assert.ok(fault.recoveryView !== null && fault.recoveryView >= 1, context);
    assert.ok(report.recoveryMs !== null && report.recoveryMs < 3000, context);
    assert.ok(report.requestsAcknowledged > 0, context);
    assert.equal(report.requestsUnverified, 0, context);
    assert.equal(report.requestsLost, 0, context);
    assert.equal(report.wrongReplies, 0, context);
    assert.deepEqual(report.survivors, [1, 2, 3], context);
    assert.ok(report.digestsEqual, context);
    assert.ok(report.passed, context);
  });
});
