import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { InvariantViolation } from '../../src/core/assert.js';
import { ClosedError } from '../../src/errors.js';
import { ServiceError, ServiceLoadError } from '../../src/executor/errors.js';
import type { Executor, ExecutorCallbacks } from '../../src/executor/executor.js';
import { InlineExecutor } from '../../src/executor/inline-executor.js';
import { WorkerExecutor, type WorkerExecutorOptions } from '../../src/executor/worker-executor.js';
import { kvService, type KvRequest } from '../../src/services/kv.js';
import { SLOW_REQUEST_MS, throwingService } from '../fixtures/services.js';

const fixtures = new URL('../fixtures/services.js', import.meta.url);
const kvModule = new URL('../../src/services/kv.js', import.meta.url);
const counterModule = new URL('../../src/services/counter.js', import.meta.url);
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Resolves once `condition()` holds, polling; rejects after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Callbacks that record what they are told. */
function recorder() {
  const executed: { seq: number; results: Uint8Array[] }[] = [];
  const fatal: Error[] = [];
  const callbacks: ExecutorCallbacks = {
    onExecuted: (seq, results) => executed.push({ seq, results }),
    onFatal: (error) => fatal.push(error),
  };
  return { executed, fatal, callbacks };
}

const executors: Executor[] = [];
async function startWorker(options: WorkerExecutorOptions, callbacks: ExecutorCallbacks): Promise<WorkerExecutor> {
  const executor = await WorkerExecutor.start(options, callbacks);
  executors.push(executor);
  return executor;
}
afterEach(async () => {
  await Promise.all(executors.splice(0).map((executor) => executor.close()));
});

const liveWorkers = (): number => (process.report.getReport() as { workers: unknown[] }).workers.length;

/** Kv batches whose operations are views into one larger buffer, as they would be in a network frame. */
function kvBatches(): Uint8Array[][] {
  const requests: KvRequest[][] = [
    [{ op: 'put', key: 'b', value: '2' }, { op: 'put', key: 'a', value: '1' }, { op: 'get', key: 'a' }],
    [],
    [{ op: 'delete', key: 'b' }, { op: 'get', key: 'b' }, { op: 'put', key: 'c', value: 'é' }],
    [{ op: 'put', key: 'a', value: '3' }, { op: 'get', key: 'a' }],
  ];
  const frame = new Uint8Array(64 * 1024);
  let offset = 0;
  return requests.map((batch) => {
    const operations = batch.map((request) => {
      const bytes = kvService.request.encode(request);
      frame.set(bytes, offset);
      offset += bytes.length;
      return frame.subarray(offset - bytes.length, offset);
    });
    // A request no replica can decode: answered with an empty reply, not fatal.
    return batch.length === 0 ? operations : [...operations, utf8.encode('not json')];
  });
}

describe('WorkerExecutor', () => {
  it('executes kv batches in order, with aligned results, and snapshots like an inline run', async () => {
    const batches = kvBatches();
    const worker = recorder();
    const inline = recorder();
    const executor = await startWorker({ serviceModule: kvModule }, worker.callbacks);
    const reference = new InlineExecutor(kvService, inline.callbacks);
    batches.forEach((operations, i) => {
      executor.execute(i + 1, operations);
      reference.execute(i + 1, operations);
    });
    // Queued after the batches, so it sees all of them without waiting for their results.
    const snapshot = await executor.snapshot();
    await waitFor(() => worker.executed.length === batches.length, 'all batches');

    assert.deepEqual(worker.executed.map((e) => e.seq), [1, 2, 3, 4]);
    assert.deepEqual(worker.executed, inline.executed);
    const replies = worker.executed.map((e) => e.results.map((r) => (r.length === 0 ? 'malformed' : text.decode(r))));
    assert.deepEqual(replies, [
      ['{"ok":true}', '{"ok":true}', '{"ok":true,"value":"1"}', 'malformed'],
      [],
      ['{"ok":true}', '{"ok":true,"value":null}', '{"ok":true}', 'malformed'],
      ['{"ok":true}', '{"ok":true,"value":"3"}', 'malformed'],
    ]);
    for (const { results } of worker.executed) {
      for (const result of results) assert.equal(result.byteLength, result.buffer.byteLength, 'result owns its buffer');
    }
    // The caller's buffers are copied, not transferred away.
    assert.equal(batches[0]![0]!.buffer.byteLength, 64 * 1024);

    assert.deepEqual(snapshot, await reference.snapshot());
    assert.deepEqual(snapshot.digest, new Uint8Array(createHash('sha256').update(snapshot.state).digest()));
    assert.deepEqual(kvService.state.decode(snapshot.state), new Map([['a', '3'], ['c', 'é']]));
    assert.deepEqual(worker.fatal, []);
  });

  it('keeps the main thread responsive while a slow service runs', async () => {
    const { executed, callbacks } = recorder();
    const executor = await startWorker({ serviceModule: fixtures, exportName: 'slowService' }, callbacks);
    let ticks = 0;
    const interval = setInterval(() => ticks++, 5);
    try {
      const requests = 4;
      executor.execute(1, Array.from({ length: requests }, (_, i) => utf8.encode(`r${i}`)));
      await waitFor(() => executed.length === 1, 'the slow batch');
      // The batch blocked the worker for requests * SLOW_REQUEST_MS; a blocked
      // main thread would have ticked at most once or twice.
      assert.ok(ticks >= (requests * SLOW_REQUEST_MS) / 5 / 4, `only ${ticks} ticks`);
      assert.deepEqual(executed[0]!.results.map((r) => text.decode(r)), ['done r0', 'done r1', 'done r2', 'done r3']);
    } finally {
      clearInterval(interval);
    }
  });

  it('reports a throwing service as fatal, naming service and batch, and stops', async () => {
    const { executed, fatal, callbacks } = recorder();
    const executor = await startWorker({ serviceModule: fixtures, exportName: 'throwingService' }, callbacks);
    executor.execute(1, [utf8.encode('a')]);
    executor.execute(2, [utf8.encode('b'), utf8.encode('boom'), utf8.encode('c')]);
    executor.execute(3, [utf8.encode('d')]);
    const snapshot = assert.rejects(executor.snapshot(), (e) => e === fatal[0]);
    await waitFor(() => fatal.length > 0, 'onFatal');

    const [error] = fatal;
    assert.ok(error instanceof ServiceError);
    assert.match(error.message, /service "throwing" failed on request 1 of batch 2: RangeError: refusing/);
    assert.doesNotMatch(error.message, /boom/);
    assert.equal((error.cause as Error).name, 'RangeError');
    assert.deepEqual(executed.map((e) => e.seq), [1]);
    await snapshot;
    await assert.rejects(executor.snapshot(), (e) => e === error);
    executor.execute(4, [utf8.encode('e')]);
    assert.equal(fatal.length, 1);
  });

  it('reports a worker that dies as fatal', async () => {
    const { fatal, callbacks } = recorder();
    const executor = await startWorker({ serviceModule: fixtures, exportName: 'exitingService' }, callbacks);
    executor.execute(1, [utf8.encode('exit')]);
    await waitFor(() => fatal.length > 0, 'onFatal');
    assert.ok(fatal[0] instanceof ServiceError);
    assert.match(fatal[0].message, /exitingService: worker exited unexpectedly with code 3/);
  });

  it('rejects start() clearly when the service cannot be loaded', async () => {
    const { callbacks } = recorder();
    const cases: [WorkerExecutorOptions, RegExp][] = [
      [{ serviceModule: new URL('./no-such-module.js', fixtures) }, /cannot import service module .*no-such-module/],
      [{ serviceModule: fixtures, exportName: 'nope' }, /export "nope" of .* does not exist/],
      [
        { serviceModule: fixtures, exportName: 'notAService' },
        /is not a service: missing request, reply, state, initialState, update/,
      ],
      [
        { serviceModule: fixtures, exportName: 'brokenInitService' },
        /initialState\(\) of service "slow" threw: Error: no state today/,
      ],
    ];
    const before = liveWorkers();
    for (const [options, message] of cases) {
      await assert.rejects(WorkerExecutor.start(options, callbacks), (error) => {
        assert.ok(error instanceof ServiceLoadError);
        assert.match(error.message, message);
        return true;
      });
    }
    assert.equal(liveWorkers(), before, 'failed starts leave no worker behind');
  });

  it('accepts a filesystem path for the service module', async () => {
    const { executed, callbacks } = recorder();
    const executor = await startWorker({ serviceModule: counterModule.pathname }, callbacks);
    executor.execute(1, [utf8.encode('{"op":"add","amount":2}')]);
    await waitFor(() => executed.length === 1, 'the batch');
    assert.equal(text.decode(executed[0]!.results[0]), '{"value":2}');
  });

  it('close() terminates the worker and silences the executor', async () => {
    const { executed, fatal, callbacks } = recorder();
    const before = liveWorkers();
    const executor = await WorkerExecutor.start({ serviceModule: kvModule }, callbacks);
    assert.equal(liveWorkers(), before + 1);
    executor.execute(1, [kvService.request.encode({ op: 'get', key: 'a' })]);
    const pending = assert.rejects(executor.snapshot(), ClosedError);
    await executor.close();

    assert.equal(liveWorkers(), before);
    await pending;
    await assert.rejects(executor.snapshot(), ClosedError);
    executor.execute(2, []);
    await executor.close();
    assert.deepEqual([executed, fatal], [[], []]);
  });

  it('refuses sequence numbers out of order', async () => {
    const executor = await startWorker({ serviceModule: kvModule }, recorder().callbacks);
    executor.execute(5, []);
    assert.throws(() => executor.execute(5, []), InvariantViolation);
  });
});

describe('InlineExecutor', () => {
  it('reports in a microtask, in order, never from inside execute()', async () => {
    const { executed, callbacks } = recorder();
    const executor = new InlineExecutor(kvService, callbacks);
    executor.execute(1, [kvService.request.encode({ op: 'put', key: 'k', value: 'v' })]);
    executor.execute(2, [kvService.request.encode({ op: 'get', key: 'k' })]);
    assert.equal(executed.length, 0);
    await Promise.resolve();
    assert.deepEqual(executed.map((e) => [e.seq, text.decode(e.results[0])]), [
      [1, '{"ok":true}'],
      [2, '{"ok":true,"value":"v"}'],
    ]);
  });

  it('stops at a throwing service, after reporting the batches before it', async () => {
    const { executed, fatal, callbacks } = recorder();
    const executor = new InlineExecutor(throwingService, callbacks);
    executor.execute(1, [utf8.encode('a')]);
    executor.execute(2, [utf8.encode('b'), utf8.encode('boom'), utf8.encode('c')]);
    executor.execute(3, [utf8.encode('d')]);
    await Promise.resolve();
    assert.deepEqual(executed.map((e) => e.seq), [1]);
    assert.equal(fatal.length, 1);
    assert.match(fatal[0]!.message, /service "throwing" failed on request 1 of batch 2/);
    await assert.rejects(executor.snapshot(), (e) => e === fatal[0]);
  });

  it('fires no callback after close()', async () => {
    const { executed, callbacks } = recorder();
    const executor = new InlineExecutor(kvService, callbacks);
    executor.execute(1, []);
    await executor.close();
    await Promise.resolve();
    assert.deepEqual(executed, []);
    await assert.rejects(executor.snapshot(), ClosedError);
  });
});
