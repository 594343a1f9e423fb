/**
 * The chaos runner's lossy-network scenario, in process, against 4 real
 * replica processes: a middlebox on every link (12 between replicas, 4 for
 * the load client) corrupts bytes, duplicates chunks, cuts and stalls
 * connections for 25 s of closed-loop kv load. Every link must be noticed
 * dead and replaced (a stall only by the idle timeout, since a blackhole
 * closes nothing), so that every 5-second window has acknowledgements, every
 * invocation in flight at the end completes with the faults still on, no
 * acknowledged write is lost and the replicas end in the same state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from '../../src/chaos/runner.js';

describe('chaos: lossy network (4 replica processes, a middlebox on every link)', { timeout: 120_000 }, () => {
  it('keeps acknowledging in every 5 s window and loses nothing', async () => {
    const lines: string[] = [];
    // Twice the default fault rate, so that a short slice still meets every kind of fault; every wait inside is bounded.
    const report = await runChaos({ scenario: 'lossy-network', durationSec: 25, faultsPerSec: 2, clients: 16 }, (line) => lines.push(line));
    const context = `${JSON.stringify(report)}\n${lines.join('\n')}`;
    const network = report.network;
    assert.ok(network !== undefined, context);
    assert.equal(network.middleboxes, 16, context);
    assert.equal(network.acksPerWindow.length, 5, context);
    assert.ok(network.acksPerWindow.every((acks) => acks > 0), `a window without acknowledgements\n${context}`);
    assert.ok(network.longestStallMs < 5000, context);
    assert.equal(network.invocationsIncomplete, 0, context);
    assert.equal(report.invocationsFailed, 0, context);
    const injected = network.faultsInjected;
    assert.ok(injected.corruptedBytes + injected.duplicatedChunks + injected.cuts + injected.stalls > 0, `no fault injected\n${context}`);
    // Every fault kills a connection, and the replaced ones were dialled through the boxes again.
    assert.ok(injected.connections > 0, context);
    assert.equal(report.requestsUnverified, 0, context);
    assert.equal(report.requestsLost, 0, context);
    assert.equal(report.wrongReplies, 0, context);
    assert.deepEqual(report.survivors, [0, 1, 2, 3], context);
    assert.ok(report.digestsEqual, context);
    assert.ok(report.passed, context);
  });
});
