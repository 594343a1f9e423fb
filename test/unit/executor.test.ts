import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { InvariantViolation } from '../../src/core/assert.js';
import { ClosedError } from '../../src/errors.js';
import { CheckpointFileError, ServiceError, ServiceLoadError } from '../../src/executor/errors.js';
import type { Executor, ExecutorCallbacks } from '../../src/executor/executor.js';
import { InlineExecutor } from '../../src/executor/inline-executor.js';
import { WorkerExecutor, type WorkerExecutorOptions } from '../../src/executor/worker-executor.js';
import { bytesCodec } from '../../src/codecs.js';
import { defineService, type AnyService } from '../../src/service.js';
import { kvService, type KvRequest } from '../../src/services/kv.js';
import { SLOW_REQUEST_MS, throwingService } from '../fixtures/services.js';

const fixtures = new URL('../fixtures/services.js', import.meta.url);
const kvModule = new URL('../../src/services/kv.js', import.meta.url);
const counterModule = new URL('../../src/services/counter.js', import.meta.url);
const utf8 = new TextEncoder();
const text = new TextDecoder();
/** A chunk size small enough to cut the test states into several chunks. */
const CHUNK_BYTES = 8;

/** Resolves once `condition()` holds, polling; rejects after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** What `onExecuted` was told about one batch. */
interface Executed {
  seq: number;
  results: Uint8Array[];
  failed: readonly number[];
}

/** Callbacks that record what they are told. */
function recorder() {
  const executed: Executed[] = [];
  const fatal: Error[] = [];
  const callbacks: ExecutorCallbacks = {
    onExecuted: (seq, results, failed) => executed.push({ seq, results, failed }),
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

/** SHA-256 of each `chunkBytes` chunk of `state`, computed here independently of the executors. */
function chunkDigestsOf(state: Uint8Array, chunkBytes = CHUNK_BYTES): Uint8Array[] {
  const digests: Uint8Array[] = [];
  for (let at = 0; at < state.length; at += chunkBytes) {
    digests.push(new Uint8Array(createHash('sha256').update(state.subarray(at, at + chunkBytes)).digest()));
  }
  return digests;
}

const kv = (request: KvRequest): Uint8Array => kvService.request.encode(request);

/** The kv state after `batches`, as the state codec encodes it, computed without the executors. */
function kvCheckpointStateOf(batches: Uint8Array[][]): Uint8Array {
  const state = kvService.initialState();
  for (const operations of batches) {
    for (const operation of operations) {
      try {
        kvService.update(state, kvService.request.decode(operation));
      } catch {
        // a request no replica can decode
      }
    }
  }
  return kvService.state.encode(state);
}

/** The kv state after `kvBatches()`, as a checkpoint would carry it: {a: 3, c: é}. */
const kvCheckpointState = (): Uint8Array => kvCheckpointStateOf(kvBatches());

/**
 * Restores a checkpoint's state between two batches: the batch before it
 * is reported first, the batch after it sees the checkpoint's state only,
 * and the caller's buffer is left alone.
 */
async function checkRestoreInQueueOrder(executor: Executor, executed: Executed[]): Promise<void> {
  const state = kvCheckpointState();
  const kept = state.slice();
  executor.execute(1, [kv({ op: 'put', key: 'x', value: 'gone' })]);
  const restored = executor.restore(state);
  executor.execute(2, [kv({ op: 'get', key: 'a' }), kv({ op: 'get', key: 'x' })]);
  await restored;
  assert.equal(executed[0]?.seq, 1, 'the batch before the restore is reported before it');
  await waitFor(() => executed.length === 2, 'the batch after the restore');
  assert.deepEqual(executed[1]!.results.map((r) => text.decode(r)), ['{"ok":true,"value":"3"}', '{"ok":true,"value":null}']);
  assert.deepEqual((await executor.snapshot(CHUNK_BYTES)).state, kept);
  assert.deepEqual(state, kept, "the caller's buffer is neither moved nor changed");
}

/**
 * `throwingService` refuses `boom`: that request fails, with its error's name
 * and message as the result, and the batches around it execute.
 */
async function checkThrowingRequestFailsAlone(executor: Executor, executed: Executed[]): Promise<void> {
  executor.execute(1, [utf8.encode('a')]);
  executor.execute(2, [utf8.encode('b'), utf8.encode('boom'), utf8.encode('c')]);
  executor.execute(3, [utf8.encode('d')]);
  const snapshot = await executor.snapshot(CHUNK_BYTES);
  await waitFor(() => executed.length === 3, 'all batches');
  assert.deepEqual(
    executed.map((e) => [e.seq, e.results.map((r) => text.decode(r)), e.failed]),
    [
      [1, ['done a'], []],
      [2, ['done b', 'RangeError: refusing this request', 'done c'], [1]],
      [3, ['done d'], []],
    ],
  );
  assert.equal(text.decode(snapshot.state), '["a","b","c","d"]');
}

/** A service whose state is raw bytes, decoded without a copy and updated in place. */
const bytesService = defineService<Uint8Array, Uint8Array, Uint8Array>({
  name: 'bytes',
  request: bytesCodec,
  reply: bytesCodec,
  state: bytesCodec,
  initialState: () => new Uint8Array(4),
  update(state, request) {
    state.set(request);
    return new Uint8Array(0);
  },
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
    // A request no replica can decode: a failed request, not a fatal error.
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
    const snapshot = await executor.snapshot(CHUNK_BYTES);
    await waitFor(() => worker.executed.length === batches.length, 'all batches');

    assert.deepEqual(worker.executed.map((e) => e.seq), [1, 2, 3, 4]);
    assert.deepEqual(worker.executed, inline.executed);
    assert.deepEqual(worker.executed.map((e) => e.failed), [[3], [], [3], [2]]);
    const replies = worker.executed.map((e) =>
      e.results.map((r, i) => (e.failed.includes(i) ? text.decode(r).replace(/^(request does not decode: SyntaxError): .*/, '$1') : text.decode(r))),
    );
    assert.deepEqual(replies, [
      ['{"ok":true}', '{"ok":true}', '{"ok":true,"value":"1"}', 'request does not decode: SyntaxError'],
      [],
      ['{"ok":true}', '{"ok":true,"value":null}', '{"ok":true}', 'request does not decode: SyntaxError'],
      ['{"ok":true}', '{"ok":true,"value":"3"}', 'request does not decode: SyntaxError'],
    ]);
    for (const { results } of worker.executed) {
      for (const result of results) assert.equal(result.byteLength, result.buffer.byteLength, 'result owns its buffer');
    }
    // The caller's buffers are copied, not transferred away.
    assert.equal(batches[0]![0]!.buffer.byteLength, 64 * 1024);

    assert.deepEqual(snapshot, await reference.snapshot(CHUNK_BYTES));
    assert.deepEqual(snapshot.chunkDigests, chunkDigestsOf(snapshot.state));
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

  it('fails a request whose update throws alone, with its error as the result, and carries on', async () => {
    const { executed, fatal, callbacks } = recorder();
    const executor = await startWorker({ serviceModule: fixtures, exportName: 'throwingService' }, callbacks);
    await checkThrowingRequestFailsAlone(executor, executed);
    assert.deepEqual(fatal, []);
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
      [
        {
          serviceModule: `data:text/javascript,${encodeURIComponent(
            `import { kvService } from ${JSON.stringify(kvModule.href)}; export default { ...kvService, stateStream: { encode() {} } };`,
          )}`,
        },
        /is not a service: missing stateStream \(encode and decode\)/,
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
    const pending = assert.rejects(executor.snapshot(CHUNK_BYTES), ClosedError);
    await executor.close();

    assert.equal(liveWorkers(), before);
    await pending;
    await assert.rejects(executor.snapshot(CHUNK_BYTES), ClosedError);
    executor.execute(2, []);
    await executor.close();
    assert.deepEqual([executed, fatal], [[], []]);
  });

  it('restores a state in queue order, after the batches before it and before the later ones', async () => {
    const { executed, fatal, callbacks } = recorder();
    const executor = await startWorker({ serviceModule: kvModule }, callbacks);
    await checkRestoreInQueueOrder(executor, executed);
    assert.deepEqual(fatal, []);
  });

  it('reports a state the service cannot decode as fatal, and stops', async () => {
    const { executed, fatal, callbacks } = recorder();
    const executor = await startWorker({ serviceModule: kvModule }, callbacks);
    const restored = executor.restore(utf8.encode('not json'));
    executor.execute(1, [kv({ op: 'get', key: 'a' })]);
    await assert.rejects(restored, (e) => e === fatal[0]);
    assert.ok(fatal[0] instanceof ServiceError);
    assert.match(fatal[0].message, /service "kv" failed to decode a checkpoint's state: TypeError: kv state is not a list/);
    await assert.rejects(executor.restore(new Uint8Array(0)), (e) => e === fatal[0]);
    await assert.rejects(executor.snapshot(CHUNK_BYTES), (e) => e === fatal[0]);
    assert.deepEqual(executed, []);
    assert.equal(fatal.length, 1);
  });

  it('close() rejects pending restores', async () => {
    const executor = await startWorker({ serviceModule: kvModule }, recorder().callbacks);
    const pending = assert.rejects(executor.restore(kvCheckpointState()), ClosedError);
    await executor.close();
    await pending;
    await assert.rejects(executor.restore(new Uint8Array(0)), ClosedError);
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

  it('fails a request whose update throws alone, with its error as the result, and carries on', async () => {
    const { executed, fatal, callbacks } = recorder();
    await checkThrowingRequestFailsAlone(new InlineExecutor(throwingService, callbacks), executed);
    assert.deepEqual(fatal, []);
  });

  it('fires no callback after close()', async () => {
    const { executed, callbacks } = recorder();
    const executor = new InlineExecutor(kvService, callbacks);
    executor.execute(1, []);
    await executor.close();
    await Promise.resolve();
    assert.deepEqual(executed, []);
    await assert.rejects(executor.snapshot(CHUNK_BYTES), ClosedError);
    await assert.rejects(executor.restore(new Uint8Array(0)), ClosedError);
  });

  it('restores a state in queue order, after the batches before it and before the later ones', async () => {
    const { executed, fatal, callbacks } = recorder();
    await checkRestoreInQueueOrder(new InlineExecutor(kvService, callbacks), executed);
    assert.deepEqual(fatal, []);
  });

  it('restores from a copy: a service updating the decoded state in place never writes to the caller', async () => {
    const executor = new InlineExecutor(bytesService, recorder().callbacks);
    const state = new Uint8Array([1, 2, 3, 4]);
    await executor.restore(state);
    executor.execute(1, [new Uint8Array([7, 7])]);
    assert.deepEqual(state, new Uint8Array([1, 2, 3, 4]));
    state.fill(0);
    assert.deepEqual((await executor.snapshot(CHUNK_BYTES)).state, new Uint8Array([7, 7, 3, 4]));
  });

  it('reports a state the service cannot decode as fatal, and stops', async () => {
    const { executed, fatal, callbacks } = recorder();
    const executor = new InlineExecutor(kvService, callbacks);
    await assert.rejects(executor.restore(utf8.encode('not json')), ServiceError);
    executor.execute(1, [kv({ op: 'get', key: 'a' })]);
    await Promise.resolve();
    assert.equal(fatal.length, 1);
    assert.match(fatal[0]!.message, /service "kv" failed to decode a checkpoint's state: TypeError: kv state is not a list/);
    await assert.rejects(executor.snapshot(CHUNK_BYTES), (e) => e === fatal[0]);
    assert.deepEqual(executed, []);
  });

  it('snapshots an empty state as no chunks, and refuses a chunk size below 1', async () => {
    const executor = new InlineExecutor({ ...bytesService, initialState: () => new Uint8Array(0) }, recorder().callbacks);
    assert.deepEqual(await executor.snapshot(CHUNK_BYTES), { state: new Uint8Array(0), chunkDigests: [] });
    for (const chunkBytes of [0, -1, 1.5]) assert.throws(() => executor.snapshot(chunkBytes), InvariantViolation);
  });
});

describe('state files and the stateStream hook', () => {
  const root = mkdtempSync(join(tmpdir(), 'bafomet-executor-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let files = 0;
  const freshPath = (): string => join(root, `state-${files++}`);

  const { stateStream: _, ...kvWithoutHook } = kvService;
  /** kv without its hook, as a module a worker can load. */
  const kvWithoutHookModule = `data:text/javascript,${encodeURIComponent(
    `import { kvService } from ${JSON.stringify(kvModule.href)}; const { stateStream, ...rest } = kvService; export default rest;`,
  )}`;
  /** Chunks and file pieces that never line up with the hook's pieces of about 64 KiB. */
  const chunkBytes = 1000;
  const pieceBytes = 333;
  /** A kv state of a few hundred KiB, in several pieces from the hook. */
  const bigBatches = (): Uint8Array[][] =>
    Array.from({ length: 4 }, (_, b) =>
      Array.from({ length: 60 }, (_, i) => kv({ op: 'put', key: `k${b}-${i}`, value: `é${i}`.repeat(400) })),
    );
  const kinds: [string, (callbacks: ExecutorCallbacks) => Promise<Executor>][] = [
    ['inline, with the hook', async (callbacks) => new InlineExecutor(kvService, callbacks)],
    ['inline, without it', async (callbacks) => new InlineExecutor(kvWithoutHook as AnyService, callbacks)],
    ['in a worker, with the hook', (callbacks) => startWorker({ serviceModule: kvModule }, callbacks)],
    ['in a worker, without it', (callbacks) => startWorker({ serviceModule: kvWithoutHookModule }, callbacks)],
  ];

  it('snapshots to a file the bytes and chunk digests of a memory snapshot, with the hook or without', async () => {
    const batches = bigBatches();
    const expected = await kvCheckpointStateOf(batches);
    for (const [kind, start] of kinds) {
      const { fatal, callbacks } = recorder();
      const executor = await start(callbacks);
      batches.forEach((operations, i) => executor.execute(i + 1, operations));
      const path = freshPath();
      const [memory, file, digests] = await Promise.all([
        executor.snapshot(chunkBytes),
        executor.snapshotToFile(chunkBytes, path),
        executor.stateDigests(chunkBytes),
      ]);
      assert.deepEqual(memory.state, expected, kind);
      assert.deepEqual(memory.chunkDigests, chunkDigestsOf(expected, chunkBytes), kind);
      assert.deepEqual(new Uint8Array(readFileSync(path)), expected, kind);
      assert.deepEqual(file, { bytes: expected.length, chunkDigests: memory.chunkDigests }, kind);
      assert.deepEqual(digests, file, kind);
      assert.deepEqual(fatal, [], kind);
    }
  });

  it('restores from a file in queue order, streamed into the hook or read whole', async () => {
    const path = freshPath();
    const source = new InlineExecutor(kvService, recorder().callbacks);
    bigBatches().forEach((operations, i) => source.execute(i + 1, operations));
    await source.snapshotToFile(chunkBytes, path);
    const expected = (await source.snapshot(chunkBytes)).state;
    for (const [kind, start] of kinds) {
      const { executed, fatal, callbacks } = recorder();
      const executor = await start(callbacks);
      executor.execute(1, [kv({ op: 'put', key: 'x', value: 'gone' })]);
      const restored = executor.restoreFromFile(path, pieceBytes);
      executor.execute(2, [kv({ op: 'get', key: 'k3-59' }), kv({ op: 'get', key: 'x' })]);
      await restored;
      await waitFor(() => executed.length === 2, `the batch after the restore (${kind})`);
      const replies = executed[1]!.results.map((r) => kvService.reply.decode(r));
      assert.deepEqual(replies, [{ ok: true, value: 'é59'.repeat(400) }, { ok: true, value: null }], kind);
      assert.deepEqual((await executor.snapshot(chunkBytes)).state, expected, kind);
      assert.deepEqual(fatal, [], kind);
    }
  });

  it('fails only the snapshot whose file cannot be written, and deletes nothing else', async () => {
    const taken = freshPath();
    await new InlineExecutor(kvService, recorder().callbacks).snapshotToFile(chunkBytes, taken);
    for (const [kind, start] of kinds) {
      const { executed, fatal, callbacks } = recorder();
      const executor = await start(callbacks);
      executor.execute(1, [kv({ op: 'put', key: 'a', value: '1' })]);
      for (const path of [taken, join(root, 'no-such-directory', 'state')]) {
        await assert.rejects(executor.snapshotToFile(chunkBytes, path), CheckpointFileError, kind);
      }
      assert.equal(readFileSync(taken).length, 2, 'the existing file is left alone');
      executor.execute(2, [kv({ op: 'get', key: 'a' })]);
      assert.deepEqual(kvService.state.decode((await executor.snapshot(chunkBytes)).state), new Map([['a', '1']]), kind);
      await waitFor(() => executed.length === 2, `both batches (${kind})`);
      assert.deepEqual(fatal, [], kind);
    }
  });

  it('is fatal when the hook yields something other than bytes, or the file to restore is missing', async () => {
    const stringly = defineService({
      ...bytesService,
      stateStream: { encode: () => ['not bytes' as unknown as Uint8Array], decode: () => new Uint8Array(4) },
    });
    const inline = recorder();
    const executor = new InlineExecutor(stringly, inline.callbacks);
    await assert.rejects(executor.snapshotToFile(chunkBytes, freshPath()), ServiceError);
    await waitFor(() => inline.fatal.length === 1, 'onFatal');
    assert.match(inline.fatal[0]!.message, /service "bytes" failed to encode its state: TypeError: the state encoding yielded a piece/);

    for (const [kind, start] of kinds) {
      const { fatal, callbacks } = recorder();
      const restoring = await start(callbacks);
      await assert.rejects(restoring.restoreFromFile(join(root, 'missing'), pieceBytes), ServiceError, kind);
      await waitFor(() => fatal.length === 1, `onFatal (${kind})`);
      assert.match(fatal[0]!.message, /service "kv" failed to decode a checkpoint's state: Error: ENOENT/, kind);
    }
  });
});
