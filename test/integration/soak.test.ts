/**
 * A short real slice of `npm run soak`: 4 replica processes execute a few
 * thousand requests with a checkpoint every 16 batches while their RSS and
 * status are sampled. Too short for a memory verdict; it checks that the
 * sampling works and that every replica's log stays within its window.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSoak } from '../../src/chaos/soak.js';

describe('soak: a short slice (4 replica processes)', { timeout: 120_000 }, () => {
  it('executes every request, samples every replica and keeps each log within its window', async () => {
    const lines: string[] = [];
    const report = await runSoak({ requests: 15_000, clients: 16, sampleMs: 200, checkpointInterval: 16 }, (line) => lines.push(line));
    const context = `${JSON.stringify({ ...report, series: undefined })}\n${lines.join('\n')}`;
    assert.equal(report.error, undefined, context);
    assert.ok(report.completed >= 15_000, context);
    assert.equal(report.wrongReplies, 0, context);
    assert.ok(report.statesEqual, context);
    assert.ok(report.samples >= 4, context);
    assert.equal(report.perReplica.length, 4, context);
    for (const p of report.perReplica) {
      assert.ok(p.maxMB > 0, context);
      assert.ok(p.slotsMax <= report.logWindow, `replica ${p.id}: log within its window\n${context}`);
    }
    const { tMs, requests, rssMB } = report.series;
    assert.equal(requests.length, tMs.length);
    for (const id of ['0', '1', '2', '3']) assert.equal(rssMB[id]?.length, tMs.length, context);
    assert.ok(tMs.every((t, i) => i === 0 || t >= tMs[i - 1]!), 'samples in time order');
  });
});
