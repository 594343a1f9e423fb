/**
 * State transfer between real replica processes: a backup is killed, the
 * others go on past many checkpoints, and the backup restarts empty; it must
 * fetch the latest stable checkpoint from the others, replay the log after
 * it, execute new requests and end with their state digest. Short slices of
 * `npm run chaos -- --scenario lagging-replica` and `large-state` (small
 * checkpoint interval, few requests, a small slots state).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from '../../src/chaos/runner.js';
import type { ChaosReport } from '../../src/chaos/types.js';
import { resolveServiceModule } from '../../src/cluster/service-module.js';
import { SLOT_VALUE_BYTES_MAX, slotsService, stateBytesOf } from '../../src/services/slots.js';

function assertCaughtUp(report: ChaosReport, lines: readonly string[]): void {
  const context = `${JSON.stringify(report)}\n${lines.join('\n')}`;
  assert.equal(report.faults.length, 1, context);
  const catchUp = report.faults[0]!.catchUp;
  assert.ok(catchUp !== undefined, context);
  assert.ok(catchUp.checkpointsWhileDown >= 2, `the others moved on past several checkpoints\n${context}`);
  assert.ok(catchUp.caughtUp && catchUp.catchUpMs !== null && catchUp.executedNew, context);
  assert.ok(catchUp.checkpointsInstalled >= 1, `it caught up by state transfer\n${context}`);
  assert.ok(catchUp.stateBytes !== null && catchUp.stateBytes > 0, context);
  assert.deepEqual(report.survivors, [0, 1, 2, 3], `the restarted replica runs at the end\n${context}`);
  assert.ok(report.settled && report.digestsEqual, `its state digest equals the others'\n${context}`);
  assert.equal(report.requestsLost, 0, context);
  assert.equal(report.requestsUnverified, 0, context);
  assert.equal(report.wrongReplies, 0, context);
  assert.ok(report.passed, context);
}

describe('chaos: a restarted replica catches up by state transfer (4 replica processes)', { timeout: 240_000 }, () => {
  it('lagging-replica: kv, a checkpoint every 16 batches', async () => {
    const lines: string[] = [];
    const report = await runChaos(
      { scenario: 'lagging-replica', durationSec: 2, clients: 8, downRequests: 3_000, checkpointInterval: 16, catchUpTimeoutMs: 60_000 },
      (line) => lines.push(line),
    );
    assert.equal(report.checkpointInterval, 16);
    assertCaughtUp(report, lines);
  });

  it('large-state in miniature: an 8 MiB slots state, a checkpoint every 32 batches', async () => {
    const lines: string[] = [];
    const stateBytes = 8 * 1024 * 1024;
    const report = await runChaos(
      { scenario: 'large-state', durationSec: 2, clients: 8, downRequests: 3_000, checkpointInterval: 32, stateBytes, catchUpTimeoutMs: 60_000 },
      (line) => lines.push(line),
    );
    assert.equal(report.service, `slots?bytes=${stateBytes}`);
    assertCaughtUp(report, lines);
    // The image is the client table and the whole service state.
    assert.ok(report.stateBytes! > stateBytes && report.stateBytes! < stateBytes + 64 * 1024, JSON.stringify(report));
  });
});

describe('the slots service', () => {
  it('is named with its size, which its module URL carries', () => {
    const url = resolveServiceModule('slots?bytes=4096');
    assert.ok(url instanceof URL && url.pathname.endsWith('/services/slots.js') && url.search === '?bytes=4096');
    assert.equal(stateBytesOf(url.href), 4096);
    const bad = new URL(url);
    bad.search = '?bytes=100';
    assert.throws(() => stateBytesOf(bad.href), RangeError, 'not a whole number of cells');
    assert.equal(resolveServiceModule('./my-service.js?x=1'), './my-service.js?x=1', 'paths are passed on as given');
  });

  it('writes and reads cells, tells an empty cell from an empty value, and round-trips its state', () => {
    const service = slotsService(64 * 16);
    const state = service.initialState();
    assert.deepEqual(service.update(state, { op: 'get', slot: 3 }), { ok: true, value: null });
    assert.deepEqual(service.update(state, { op: 'put', slot: 3, value: '' }), { ok: true });
    assert.deepEqual(service.update(state, { op: 'get', slot: 3 }), { ok: true, value: '' });
    assert.deepEqual(service.update(state, { op: 'put', slot: 15, value: 'é'.repeat(SLOT_VALUE_BYTES_MAX / 2) }), { ok: true });
    assert.equal(service.update(state, { op: 'put', slot: 15, value: 'x'.repeat(SLOT_VALUE_BYTES_MAX + 1) }).ok, false);
    assert.equal(service.update(state, { op: 'get', slot: 16 }).ok, false);
    const copy = service.state.decode(service.state.encode(state).slice());
    assert.deepEqual(service.update(copy, { op: 'get', slot: 15 }), { ok: true, value: 'é'.repeat(SLOT_VALUE_BYTES_MAX / 2) });
    assert.deepEqual(service.state.encode(copy), service.state.encode(state));
    assert.throws(() => service.state.decode(new Uint8Array(64)), TypeError, 'a state of another size');
  });

  it('starts from the same filler on every replica, different in every chunk', () => {
    const a = slotsService(4 * 1024 * 1024).initialState().cells;
    const b = slotsService(4 * 1024 * 1024).initialState().cells;
    assert.deepEqual(a, b);
    const chunks = new Set<string>();
    for (let i = 0; i < a.length; i += 1024 * 1024) chunks.add(Buffer.from(a.subarray(i, i + 64)).toString('hex'));
    assert.equal(chunks.size, 4);
  });
});
