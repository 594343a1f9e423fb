/**
 * A request the service fails on fails alone: its result is the failure's
 * description, it is listed in `failed`, and the state afterwards is the
 * state of a run without it, whatever the executor's rollback base (the
 * initial state, a snapshot in memory or in a file, a restored state).
 * Every scenario runs inline and in a real worker thread, with the kv
 * service's stateStream hook and without it, against a reference
 * InlineExecutor of the plain kv service fed the same steps minus the
 * failing requests; states are compared by chunk digests.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { ServiceError } from '../../src/executor/errors.js';
import type { Executor, ExecutorCallbacks } from '../../src/executor/executor.js';
import { InlineExecutor } from '../../src/executor/inline-executor.js';
import { FAILURE_RESULT_BYTES_MAX } from '../../src/executor/runner.js';
import { WorkerExecutor } from '../../src/executor/worker-executor.js';
import { jsonCodec, utf8Codec } from '../../src/codecs.js';
import { defineService, type AnyService } from '../../src/service.js';
import { kvService, type KvRequest } from '../../src/services/kv.js';
import { waitFor } from '../support/wait-for.js';

const kvModule = new URL('../../src/services/kv.js', import.meta.url);
const codecsModule = new URL('../../src/codecs.js', import.meta.url);
const utf8 = new TextEncoder();
const text = new TextDecoder('utf-8', { fatal: true });
/** Small enough to cut the test states into several chunks. */
const CHUNK_BYTES = 64;
/** File pieces that never line up with chunks. */
const PIECE_BYTES = 7;

/**
 * The kv service, but a `poison…` key changes the state (writes itself,
 * deletes `a`) and then throws, and a put of the value `bigint` writes its
 * key and returns a reply JSON cannot encode. Module source, so a worker
 * loads the very same code as the inline executors.
 */
const poisonedKvModule = `data:text/javascript,${encodeURIComponent(`
  import { kvService } from ${JSON.stringify(kvModule.href)};
  const poisoned = (kv) => ({
    ...kv,
    name: 'poisoned-kv',
    update(state, request) {
      const key = request?.key;
      if (typeof key === 'string' && key.startsWith('poison')) {
        state.set(key, 'half-done');
        state.delete('a');
        throw new RangeError('poisoned ' + key);
      }
      if (request?.op === 'put' && request.value === 'bigint') {
        state.set(key, 'bigint');
        return { ok: true, value: 1n };
      }
      return kv.update(state, request);
    },
  });
  const { stateStream, ...kvWithoutHook } = kvService;
  export const withHook = poisoned(kvService);
  export const withoutHook = poisoned(kvWithoutHook);
`)}`;

/**
 * A utf8 service recording its requests; the request `async` returns a
 * promise that changes the state before and after its first await, then
 * rejects.
 */
const asyncModule = `data:text/javascript,${encodeURIComponent(`
  import { jsonCodec, utf8Codec } from ${JSON.stringify(codecsModule.href)};
  export default {
    name: 'sometimes-async',
    request: utf8Codec,
    reply: utf8Codec,
    state: jsonCodec(),
    initialState: () => [],
    update(state, request) {
      if (request === 'async') {
        return (async () => {
          state.push('before await');
          await null;
          state.push('after await');
          throw new Error('rejected late');
        })();
      }
      state.push(request);
      return 'done ' + request;
    },
  };
`)}`;

interface Executed {
  seq: number;
  results: Uint8Array[];
  failed: readonly number[];
}

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
afterEach(async () => {
  await Promise.all(executors.splice(0).map((executor) => executor.close()));
});
const tracked = <E extends Executor>(executor: E): E => {
  executors.push(executor);
  return executor;
};

const root = mkdtempSync(join(tmpdir(), 'bafomet-rollback-'));
after(() => rmSync(root, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(root, `state-${files++}`);

const { withHook, withoutHook } = (await import(poisonedKvModule)) as { withHook: AnyService; withoutHook: AnyService };

type Kind = readonly [string, (callbacks: ExecutorCallbacks) => Promise<Executor>];
const kinds: readonly Kind[] = [
  ['inline, with the hook', async (callbacks) => tracked(new InlineExecutor(withHook, callbacks))],
  ['inline, without it', async (callbacks) => tracked(new InlineExecutor(withoutHook, callbacks))],
  [
    'in a worker, with the hook',
    async (callbacks) => tracked(await WorkerExecutor.start({ serviceModule: poisonedKvModule, exportName: 'withHook' }, callbacks)),
  ],
  [
    'in a worker, without it',
    async (callbacks) => tracked(await WorkerExecutor.start({ serviceModule: poisonedKvModule, exportName: 'withoutHook' }, callbacks)),
  ],
];

type Op = KvRequest | 'garbage';
const put = (key: string, value: string): Op => ({ op: 'put', key, value });
const get = (key: string): Op => ({ op: 'get', key });
const del = (key: string): Op => ({ op: 'delete', key });
const poison = (n: number): Op => put(`poison-${n}`, 'x');
const unencodable = (key: string): Op => put(key, 'bigint');

/** How the poisoned kv service fails `op`: its exact result, a pattern for it, or undefined if it does not fail. */
function failureOf(op: Op): string | RegExp | undefined {
  if (op === 'garbage') return /^request does not decode: SyntaxError: /;
  if (op.key.startsWith('poison')) return `RangeError: poisoned ${op.key}`;
  if (op.op === 'put' && op.value === 'bigint') return 'reply does not encode: TypeError: Do not know how to serialize a BigInt';
  return undefined;
}
const encode = (op: Op): Uint8Array => (op === 'garbage' ? utf8.encode('not json') : kvService.request.encode(op));

type Step =
  | { readonly batch: readonly Op[] }
  | { readonly snapshot: 'memory' | 'file' }
  | { readonly restore: 'memory' | 'file'; readonly state: ReadonlyMap<string, string> };

const restored = new Map([
  ['a', 'restored'],
  ['r', '1'],
]);

const scenarios: readonly (readonly [string, readonly Step[]])[] = [
  [
    'before any snapshot (base: the initial state)',
    [
      { batch: [put('a', '1'), put('b', '2')] },
      { batch: [put('c', '3'), poison(1), get('a'), get('poison-1')] },
      { batch: [get('a'), del('b')] },
    ],
  ],
  [
    'across a checkpoint in memory',
    [
      { batch: [put('a', '1'), put('b', '2')] },
      { snapshot: 'memory' },
      { batch: [put('a', '2'), put('d', '4')] },
      { batch: [get('a'), poison(1), get('a'), put('e', '5')] },
      { batch: [get('e'), get('poison-1')] },
    ],
  ],
  [
    'across checkpoints in files, deleted as soon as taken',
    [
      { batch: [put('a', '1'), put('b', '2')] },
      { snapshot: 'file' },
      { batch: [put('a', '2'), put('d', '4')] },
      { batch: [get('a'), poison(1), get('a'), put('e', '5')] },
      { snapshot: 'file' },
      { batch: [poison(2), get('a'), put('a', '6')] },
      { batch: [get('a')] },
    ],
  ],
  [
    'in the first batch after a restore in memory',
    [
      { batch: [put('x', 'gone'), put('a', '1')] },
      { restore: 'memory', state: restored },
      { batch: [poison(1), get('a'), put('a', '7'), get('x')] },
      { batch: [get('a')] },
    ],
  ],
  [
    'in the first batch after a restore from a file, deleted once restored',
    [
      { batch: [put('x', 'gone'), put('a', '1')] },
      { restore: 'file', state: restored },
      { batch: [poison(1), get('a'), put('a', '7'), get('x')] },
      { batch: [poison(2), get('a')] },
    ],
  ],
  [
    'two failures and a request that does not decode in one batch',
    [
      { batch: [put('a', '1')] },
      { batch: [put('b', '2'), poison(1), put('c', '3'), 'garbage', poison(2), get('a'), get('c'), get('poison-2')] },
      { batch: [get('a')] },
    ],
  ],
  [
    'a reply the reply codec cannot encode',
    [
      { batch: [put('a', '1')] },
      { batch: [unencodable('k'), get('k'), get('a')] },
      { snapshot: 'memory' },
      { batch: [put('k', 'v'), unencodable('k'), get('k')] },
    ],
  ],
  [
    'batches of failures only, in consecutive checkpoint intervals',
    [
      { batch: [put('a', '1'), poison(1)] },
      { snapshot: 'memory' },
      { batch: [poison(2), poison(3), 'garbage'] },
      { snapshot: 'file' },
      { batch: [] },
      { batch: [poison(4)] },
      { snapshot: 'memory' },
      { batch: [get('a'), poison(5), unencodable('a'), get('a')] },
    ],
  ],
];

/**
 * Runs `steps` on `executor` and on a reference without the failing
 * requests; checks snapshots along the way, then every batch's results
 * and `failed`, and the final state.
 */
async function checkScenario(kind: string, executor: Executor, executed: Executed[], steps: readonly Step[]): Promise<void> {
  const reference = recorder();
  const plain = tracked(new InlineExecutor(kvService, reference.callbacks));
  const batches: (readonly Op[])[] = [];
  for (const step of steps) {
    if ('batch' in step) {
      batches.push(step.batch);
      executor.execute(batches.length, step.batch.map(encode));
      plain.execute(batches.length, step.batch.filter((op) => failureOf(op) === undefined).map(encode));
    } else if ('snapshot' in step) {
      const expected = (await plain.snapshot(CHUNK_BYTES)).chunkDigests;
      if (step.snapshot === 'memory') {
        assert.deepEqual((await executor.snapshot(CHUNK_BYTES)).chunkDigests, expected, `${kind}: snapshot`);
      } else {
        const path = freshPath();
        assert.deepEqual((await executor.snapshotToFile(CHUNK_BYTES, path)).chunkDigests, expected, `${kind}: snapshot`);
        rmSync(path); // the replica may drop the image at once: the executor's base must not depend on it
      }
    } else {
      const state = kvService.state.encode(new Map(step.state));
      await plain.restore(state);
      if (step.restore === 'memory') {
        await executor.restore(state);
      } else {
        const path = freshPath();
        writeFileSync(path, state);
        await executor.restoreFromFile(path, PIECE_BYTES);
        rmSync(path);
      }
    }
  }
  const final = await executor.snapshot(CHUNK_BYTES);
  assert.deepEqual(final.chunkDigests, (await plain.snapshot(CHUNK_BYTES)).chunkDigests, `${kind}: final state`);
  await waitFor(() => executed.length === batches.length, { timeoutMs: 5000, what: `${kind}: all batches` });
  batches.forEach((batch, b) => {
    const { seq, results, failed } = executed[b]!;
    const where = `${kind}: batch ${seq}`;
    assert.equal(seq, b + 1, where);
    assert.equal(results.length, batch.length, where);
    assert.deepEqual(failed, batch.flatMap((op, i) => (failureOf(op) === undefined ? [] : [i])), where);
    const replies = [...reference.executed[b]!.results];
    batch.forEach((op, i) => {
      const failure = failureOf(op);
      const result = text.decode(results[i]);
      if (failure === undefined) assert.equal(result, text.decode(replies.shift()), `${where}, request ${i}`);
      else if (typeof failure === 'string') assert.equal(result, failure, `${where}, request ${i}`);
      else assert.match(result, failure, `${where}, request ${i}`);
    });
  });
}

describe('a failed request is rolled back', () => {
  for (const [name, steps] of scenarios) {
    it(name, async () => {
      for (const [kind, start] of kinds) {
        const { executed, fatal, callbacks } = recorder();
        const executor = await start(callbacks);
        await checkScenario(kind, executor, executed, steps);
        assert.deepEqual(fatal, [], kind);
      }
    });
  }

  it('rolls back the synchronous part of a returned promise and keeps its rejection from ending the worker', async () => {
    const { executed, fatal, callbacks } = recorder();
    const executor = tracked(await WorkerExecutor.start({ serviceModule: asyncModule }, callbacks));
    // The worker handles each message as a task of its own: the rejection surfaces before the next batch.
    executor.execute(1, ['a', 'async', 'b'].map((r) => utf8.encode(r)));
    executor.execute(2, [utf8.encode('c')]);
    const state = await executor.snapshot(CHUNK_BYTES);
    assert.equal(text.decode(state.state), '["a","b","c"]');
    assert.deepEqual(
      executed.map((e) => [e.results.map((r) => text.decode(r)), e.failed]),
      [
        [['done a', 'TypeError: update returned a promise; it must be synchronous', 'done b'], [1]],
        [['done c'], []],
      ],
    );
    assert.deepEqual(fatal, []);
  });

  it('re-bases on an encoding of its own once the requests kept pass replayBytesMax', async () => {
    let encodings = 0;
    const counting: AnyService = {
      ...withHook,
      stateStream: {
        encode: (state) => {
          encodings++;
          return withHook.stateStream!.encode(state);
        },
        decode: (pieces) => withHook.stateStream!.decode(pieces),
      },
    };
    const { executed, fatal, callbacks } = recorder();
    const executor = tracked(new InlineExecutor(counting, callbacks, { replayBytesMax: 1000 }));
    const steps: Step[] = Array.from({ length: 12 }, (_, i) => ({ batch: [put(`k${i}`, `${i}`), put('a', `${i}`), get('a')] }));
    steps.push({ batch: [poison(1), get('a'), get('k3')] });
    await checkScenario('inline, replayBytesMax 1000', executor, executed, steps);
    // About 290 bytes kept per batch: a re-base every fourth, and the final snapshot.
    assert.equal(encodings, 4);
    assert.deepEqual(fatal, []);
  });
});

describe('the batches replayed', () => {
  /** Appends each request, then throws on `boom`: replaying a batch twice, or one from before the base, shows. */
  const appending = defineService<string[], string, string>({
    name: 'appending',
    request: utf8Codec,
    reply: utf8Codec,
    state: jsonCodec<string[]>(),
    initialState: () => [],
    update(state, request) {
      state.push(request);
      if (request.startsWith('boom')) throw new RangeError(request);
      return `done ${request}`;
    },
  });
  const bases: [string, (executor: Executor) => Promise<unknown>][] = [
    ['initial', async () => {}],
    ['memory', (executor) => executor.snapshot(CHUNK_BYTES)],
    ['file', (executor) => executor.snapshotToFile(CHUNK_BYTES, freshPath())],
    ['restored', (executor) => executor.restore(utf8.encode('["a","b"]'))],
  ];

  it('are exactly those since the base, skipping the failed requests (a service whose updates do not commute)', async () => {
    for (const [base, rebase] of bases) {
      const { executed, fatal, callbacks } = recorder();
      const executor = tracked(new InlineExecutor(appending, callbacks));
      executor.execute(1, ['a', 'b'].map((r) => utf8.encode(r)));
      await rebase(executor);
      executor.execute(2, ['c', 'boom1', 'd'].map((r) => utf8.encode(r)));
      executor.execute(3, ['boom2', 'e', 'boom3', 'f'].map((r) => utf8.encode(r)));
      assert.equal(text.decode((await executor.snapshot(CHUNK_BYTES)).state), '["a","b","c","d","e","f"]', base);
      assert.deepEqual(executed.map((e) => e.failed), [[], [1], [0, 2]], base);
      assert.deepEqual(executed[2]!.results.map((r) => text.decode(r)), ['RangeError: boom2', 'done e', 'RangeError: boom3', 'done f'], base);
      assert.deepEqual(fatal, [], base);
    }
  });
});

describe('the result of a failed request', () => {
  const throwing = (thrown: () => unknown) =>
    defineService<string[], string, string>({
      name: 'throwing',
      request: utf8Codec,
      reply: utf8Codec,
      state: jsonCodec<string[]>(),
      initialState: () => [],
      update(state, request) {
        state.push(request);
        throw thrown();
      },
    });

  const resultOf = async (thrown: () => unknown): Promise<Uint8Array> => {
    const { executed, fatal, callbacks } = recorder();
    const executor = tracked(new InlineExecutor(throwing(thrown), callbacks));
    executor.execute(1, [utf8.encode('r')]);
    assert.equal(text.decode((await executor.snapshot(CHUNK_BYTES)).state), '[]');
    assert.deepEqual([executed[0]?.failed, fatal], [[0], []]);
    return executed[0]!.results[0]!;
  };

  it('is one line, name and message, never a stack', async () => {
    const result = text.decode(await resultOf(() => new TypeError('first line\n   second line\r\nthird')));
    assert.equal(result, 'TypeError: first line second line third');
    assert.equal(text.decode(await resultOf(() => 'a string')), 'a string');
    const unprintable = { toString: () => { throw new Error('no'); } };
    assert.equal(text.decode(await resultOf(() => unprintable)), 'a value that cannot be converted to a string');
  });

  it(`is cut to ${FAILURE_RESULT_BYTES_MAX} bytes on a character boundary`, async () => {
    // "Error: " is 7 bytes, then 2-byte characters: byte 1024 falls inside one.
    const result = await resultOf(() => new Error('é'.repeat(2000)));
    assert.equal(result.length, FAILURE_RESULT_BYTES_MAX - 1);
    assert.equal(text.decode(result), `Error: ${'é'.repeat(508)}`);
    const exact = await resultOf(() => new Error('x'.repeat(FAILURE_RESULT_BYTES_MAX)));
    assert.equal(exact.length, FAILURE_RESULT_BYTES_MAX);
  });
});

describe('a rollback that cannot rebuild the state is fatal', () => {
  /** A recording utf8 service that throws on `boom` after recording it; `overrides` replace its members. */
  const recording = (overrides: Partial<AnyService>): AnyService =>
    ({
      ...defineService<string[], string, string>({
        name: 'recording',
        request: utf8Codec,
        reply: utf8Codec,
        state: jsonCodec<string[]>(),
        initialState: () => [],
        update(state, request) {
          state.push(request);
          if (request === 'boom') throw new RangeError('boom');
          return `done ${request}`;
        },
      }),
      ...overrides,
    }) as AnyService;

  const fatalOf = async (service: AnyService, prepare: (executor: Executor) => Promise<unknown>): Promise<Error> => {
    const { executed, fatal, callbacks } = recorder();
    const executor = tracked(new InlineExecutor(service, callbacks));
    executor.execute(1, [utf8.encode('a')]);
    await prepare(executor);
    executor.execute(2, [utf8.encode('b'), utf8.encode('boom')]);
    await waitFor(() => fatal.length === 1, { timeoutMs: 5000, what: 'onFatal' });
    assert.deepEqual(executed.map((e) => e.seq), [1], 'the batch that could not be rolled back is not reported');
    await assert.rejects(executor.snapshot(CHUNK_BYTES), (e) => e === fatal[0]);
    assert.ok(fatal[0] instanceof ServiceError);
    return fatal[0];
  };

  it('when the base does not decode', async () => {
    const error = await fatalOf(
      recording({ state: { encode: (state) => jsonCodec().encode(state), decode: () => { throw new SyntaxError('cannot'); } } }),
      (executor) => executor.snapshot(CHUNK_BYTES),
    );
    assert.match(
      error.message,
      /^service "recording" cannot roll back request 1 of batch 2: rebuilding the state from the snapshot after batch 1 in memory failed: SyntaxError: cannot$/,
    );
  });

  it('when a request replayed throws where it did not (a nondeterministic service)', async () => {
    let calls = 0;
    const error = await fatalOf(
      recording({
        update(state, request) {
          if (request === 'a' && ++calls > 1) throw new Error('changed my mind');
          (state as string[]).push(request as string);
          if (request === 'boom') throw new RangeError('boom');
          return 'done';
        },
      }),
      async () => {},
    );
    assert.match(error.message, /cannot roll back request 1 of batch 2: request 0 of batch 1 threw when replayed but not when first run/);
  });

  it('when initialState() hands out the same state object again', async () => {
    const shared: string[] = [];
    const error = await fatalOf(recording({ initialState: () => shared }), async () => {});
    assert.match(error.message, /rebuilding the state from the initial state failed: Error: initialState\(\) returned the state object/);
  });

  it('in a worker too: reported once, and the executor stops', async () => {
    const module = `data:text/javascript,${encodeURIComponent(`
      import { jsonCodec, utf8Codec } from ${JSON.stringify(codecsModule.href)};
      export default {
        name: 'undecodable', request: utf8Codec, reply: utf8Codec,
        state: { encode: (state) => jsonCodec().encode(state), decode: () => { throw new SyntaxError('cannot'); } },
        initialState: () => [],
        update(state, request) { state.push(request); if (request === 'boom') throw new RangeError('boom'); return 'done'; },
      };
    `)}`;
    const { executed, fatal, callbacks } = recorder();
    const executor = tracked(await WorkerExecutor.start({ serviceModule: module }, callbacks));
    executor.execute(1, [utf8.encode('a')]);
    await executor.snapshot(CHUNK_BYTES);
    executor.execute(2, [utf8.encode('boom')]);
    executor.execute(3, [utf8.encode('c')]);
    await waitFor(() => fatal.length === 1, { timeoutMs: 5000, what: 'onFatal' });
    assert.match(fatal[0]!.message, /cannot roll back request 0 of batch 2: rebuilding the state from the snapshot after batch 1 in memory/);
    assert.deepEqual(executed.map((e) => e.seq), [1]);
    await assert.rejects(executor.snapshot(CHUNK_BYTES), (e) => e === fatal[0]);
  });
});

describe('the base file', () => {
  /** Descriptors of this process open on `path` (deleted or not); undefined where /proc is missing. */
  const openOn = (path: string): number | undefined => {
    let names: string[];
    try {
      names = readdirSync('/proc/self/fd');
    } catch {
      return undefined;
    }
    return names.filter((name) => {
      try {
        return readlinkSync(`/proc/self/fd/${name}`).startsWith(path);
      } catch {
        return false;
      }
    }).length;
  };

  it('is held open until the next base or close(), and only then let go', async (t) => {
    const executor = tracked(new InlineExecutor(withHook, recorder().callbacks));
    const first = freshPath();
    await executor.snapshotToFile(CHUNK_BYTES, first);
    if (openOn(first) === undefined) return t.skip('no /proc/self/fd here');
    assert.equal(openOn(first), 1);
    const second = freshPath();
    await executor.snapshotToFile(CHUNK_BYTES, second);
    assert.deepEqual([openOn(first), openOn(second)], [0, 1]);
    await executor.snapshot(CHUNK_BYTES); // a base in memory
    assert.equal(openOn(second), 0);
    const third = freshPath();
    await executor.snapshotToFile(CHUNK_BYTES, third);
    await executor.close();
    assert.equal(openOn(third), 0);
  });
});
