/**
 * The chaos runner's byzantine-replica scenario, in process, against real
 * processes: 4 replicas start, the last one is killed and an attacker
 * process takes its key and port for 20 s of closed-loop kv load. It forges
 * client requests (FORWARDed, in PRE-PREPAREs, on client connections of its
 * own; for the load's own sessions and for arbitrary ones, up to request
 * number 2^53 - 1), sends garbage, oversized and cut-short frames, messages
 * it may not send or in other replicas' names, replays of the others'
 * traffic, and floods. The three correct replicas must keep acknowledging
 * in every 5 s window, lose nothing, execute none of the forged requests
 * (while the attacker's genuine control request is executed), end in the
 * same state, and stay within the RSS bound.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FORGERY_KINDS } from '../../src/chaos/attacker/forgery.js';
import { ATTACK_KINDS } from '../../src/chaos/attacker/report.js';
import { runChaos } from '../../src/chaos/runner.js';
import { RSS_GROWTH_BOUND_MIB } from '../../src/chaos/scenarios/byzantine-replica.js';

describe('chaos: a Byzantine replica (3 correct replica processes, 1 attacker process)', { timeout: 150_000 }, () => {
  it('keeps serving, executes no forged request and stays within its memory bound', async () => {
    const lines: string[] = [];
    const report = await runChaos({ scenario: 'byzantine-replica', durationSec: 20, clients: 16, seed: 11 }, (line) => lines.push(line));
    const context = `${JSON.stringify(report)}\n${lines.join('\n')}`;
    const byzantine = report.byzantine;
    assert.ok(byzantine !== undefined, context);
    assert.equal(byzantine.attacker, 3, context);

    // The attacker really attacked: every kind ran (but pre-prepares as the primary, which need a view of its own), every forgery kind too.
    const attacks = byzantine.attacks;
    assert.ok(attacks !== null, `no report from the attacker\n${context}`);
    for (const kind of ATTACK_KINDS) if (kind !== 'prePreparesAsPrimary') assert.ok(attacks.counts[kind] > 0, `${kind} never ran\n${context}`);
    for (const kind of FORGERY_KINDS) assert.ok(attacks.forgedRequests[kind] > 0, `no ${kind} forgery\n${context}`);
    assert.ok(attacks.forgedAtRequestNoMax > 0, context);
    assert.ok(attacks.victimSessionsSeen > 0, `the attacker never saw a load session to impersonate\n${context}`);

    // Safety: no forged request executed, while the genuine control request was.
    assert.equal(byzantine.forgedKeysUnread, 0, context);
    assert.deepEqual(byzantine.forgedKeysFound, [], `forged requests executed\n${context}`);
    assert.equal(byzantine.controlExecuted, true, context);

    // Liveness under attack.
    assert.equal(byzantine.acksPerWindow.length, 4, context);
    assert.ok(byzantine.acksPerWindow.every((acks) => acks > 0), `a window without acknowledgements\n${context}`);
    assert.equal(byzantine.invocationsIncomplete, 0, context);
    assert.equal(report.invocationsFailed, 0, context);

    // Bounded memory, nobody died.
    assert.equal(byzantine.rss.perReplica.length, 3, context);
    for (const r of byzantine.rss.perReplica) assert.ok(r.growthMB <= RSS_GROWTH_BOUND_MIB, `replica ${r.id} grew ${r.growthMB} MiB\n${context}`);
    assert.deepEqual(report.survivors, [0, 1, 2], context);

    // The runner's checks.
    assert.equal(report.requestsUnverified, 0, context);
    assert.equal(report.requestsLost, 0, context);
    assert.equal(report.wrongReplies, 0, context);
    assert.ok(report.digestsEqual, context);
    assert.ok(report.passed, context);
  });
});
