/**
 * What rolling back failed requests costs (src/executor/runner.ts), on the
 * demo key-value workload (src/cluster/kv-load.ts: sessions alternating a
 * put and a get of their own 64 keys) over a store of 10,000 keys:
 *
 * 1. the normal path: ns per request of `ServiceRunner.run`, which keeps
 *    every batch since the base, against the loop it replaced (decode,
 *    update, encode; nothing kept), for batches of 16 and 64, a snapshot
 *    (untimed) every 64 batches as a replica takes one every
 *    checkpointInterval; and what the inline executor's copy of each batch
 *    adds;
 * 2. a checkpoint: a snapshot in memory and one to a file, and the part of
 *    each that keeps the base (a copy of the encoding; opening the file);
 * 3. one rollback, as a function of the batches of 64 run since the base,
 *    from a base in memory and from a file.
 *
 * Every figure is the median of several runs. Usage:
 *   npm run bench:rollback -- [--runs 7] [--quick]
 */
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pack, unpack } from '../src/executor/protocol.js';
import { ServiceRunner } from '../src/executor/runner.js';
import type { AnyService } from '../src/service.js';
import { KV_ENTRIES_MAX, kvService, type KvRequest, type KvState } from '../src/services/kv.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : quick ? 3 : 7;
/** The replica's default checkpointInterval: a snapshot every this many batches. */
const CHECKPOINT_INTERVAL = 64;
/** The replica's default chunkBytes. */
const CHUNK_BYTES = 1024 * 1024;
/** kv-load's sessions and keys per session. */
const SESSIONS = 16;
const KEYS_PER_SESSION = 64;
/** Requests timed per run of the normal path. */
const REQUESTS_PER_RUN = quick ? 16_384 : 131_072;

const service = kvService as unknown as AnyService;
/** kv, but a `poison` key changes the state and throws. */
const poisoned: AnyService = {
  ...service,
  update(state, request) {
    const key = (request as { key?: unknown } | null)?.key;
    if (typeof key === 'string' && key.startsWith('poison')) {
      (state as KvState).set(key, 'half-done');
      throw new RangeError(`poisoned ${key}`);
    }
    return service.update(state, request);
  },
};

const encode = (request: KvRequest): Uint8Array => kvService.request.encode(request);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Batches of puts filling the store so that, with the workload's keys, it holds KV_ENTRIES_MAX keys. */
function fillBatches(): Uint8Array[][] {
  const keys = KV_ENTRIES_MAX - SESSIONS * KEYS_PER_SESSION;
  const batches: Uint8Array[][] = [];
  for (let i = 0; i < keys; i += 256) {
    const batch: Uint8Array[] = [];
    for (let k = i; k < Math.min(keys, i + 256); k++) batch.push(encode({ op: 'put', key: `fill-${k}`, value: `value-${k}-`.padEnd(32, 'x') }));
    batches.push(batch);
  }
  return batches;
}

/** `count` requests of kv-load's sessions, round robin, cut into batches of `batchSize`, each packed as the worker receives it. */
function workload(count: number, batchSize: number, from = 0): Uint8Array[][] {
  const requests: Uint8Array[] = [];
  for (let n = from; n < from + count; n++) {
    const session = n % SESSIONS;
    const i = Math.floor(n / SESSIONS);
    const key = `s${session}-k${i % KEYS_PER_SESSION}`;
    requests.push(encode(i % 2 === 1 ? { op: 'get', key } : { op: 'put', key, value: `v${i}` }));
  }
  const batches: Uint8Array[][] = [];
  for (let at = 0; at < requests.length; at += batchSize) batches.push(unpack(pack(requests.slice(at, at + batchSize))));
  return batches;
}

/** The loop `ServiceRunner.run` replaced: nothing kept, a throw fatal. */
function runWithoutBookkeeping(state: unknown, operations: readonly Uint8Array[]): Uint8Array[] {
  const results: Uint8Array[] = [];
  for (let i = 0; i < operations.length; i++) {
    let request: unknown;
    try {
      request = service.request.decode(operations[i]!);
    } catch {
      results.push(new Uint8Array(0));
      continue;
    }
    try {
      const reply = service.update(state, request);
      if (typeof (reply as { then?: unknown } | null)?.then === 'function') throw new TypeError('update returned a promise');
      results.push(service.reply.encode(reply));
    } catch (error) {
      throw new Error(`failed on request ${i}`, { cause: error });
    }
  }
  return results;
}

function filledRunner(target: AnyService = service): ServiceRunner {
  const runner = new ServiceRunner(target);
  fillBatches().forEach((batch, i) => runner.run(i + 1, unpack(pack(batch))));
  return runner;
}

/**
 * ns per request of one run of the normal path, without and with the
 * bookkeeping: each on its own state, as full, fed the same batches; timed
 * a checkpoint interval at a time, alternating which goes first, with a
 * snapshot (untimed) after each interval.
 */
function normalPathRun(batchSize: number): { without: number; with: number } {
  const batches = workload(REQUESTS_PER_RUN, batchSize);
  const runner = filledRunner();
  const state = kvService.stateStream!.decode([runner.snapshot(CHUNK_BYTES).state]);
  let [without, with_] = [0, 0];
  for (let at = 0; at < batches.length; at += CHECKPOINT_INTERVAL) {
    const interval = batches.slice(at, at + CHECKPOINT_INTERVAL);
    const timeWithout = (): number => timeMs(() => interval.forEach((batch) => runWithoutBookkeeping(state, batch)));
    const timeWith = (): number => timeMs(() => interval.forEach((batch, i) => runner.run(1000 + at + i, batch)));
    if ((at / CHECKPOINT_INTERVAL) % 2 === 0) {
      without += timeWithout();
      with_ += timeWith();
    } else {
      with_ += timeWith();
      without += timeWithout();
    }
    runner.snapshot(CHUNK_BYTES);
    for (const _ of kvService.stateStream!.encode(state)) void _;
  }
  const perRequest = (ms: number): number => (ms * 1e6) / (batches.length * batchSize);
  return { without: perRequest(without), with: perRequest(with_) };
}

/** ns per request of the inline executor's copy of a batch (pack into one buffer, views out). */
function inlineCopyRun(batchSize: number): number {
  const batches = workload(REQUESTS_PER_RUN, batchSize).map((batch) => batch.map((operation) => operation.slice()));
  const started = performance.now();
  let kept = 0;
  for (const batch of batches) kept += unpack(pack(batch)).length;
  return ((performance.now() - started) * 1e6) / kept;
}

function timeMs(task: () => unknown): number {
  const started = performance.now();
  task();
  return performance.now() - started;
}

interface CheckpointFigures {
  stateBytes: number;
  encodeMs: number;
  decodeMs: number;
  streamDecodeMs: number;
  snapshotMs: number;
  baseCopyMs: number;
  snapshotToFileMs: number;
  openMs: number;
}

function checkpointRun(directory: string, run: number): CheckpointFigures {
  const runner = filledRunner();
  workload(4096, 64).forEach((batch, b) => runner.run(b + 1000, batch));
  const state = runner.snapshot(CHUNK_BYTES).state;
  const decoded = kvService.stateStream!.decode([state.slice()]);
  for (const _ of kvService.stateStream!.encode(decoded)) void _; // once untimed: the first pass over a fresh map is slower
  const encodeMs = timeMs(() => {
    for (const _ of kvService.stateStream!.encode(decoded)) void _;
  });
  const decodeMs = timeMs(() => kvService.state.decode(state.slice()));
  const streamDecodeMs = timeMs(() => kvService.stateStream!.decode([state.slice()]));
  const snapshotMs = timeMs(() => runner.snapshot(CHUNK_BYTES));
  const baseCopyMs = timeMs(() => state.slice());
  const path = join(directory, `checkpoint-${run}`);
  const snapshotToFileMs = timeMs(() => runner.snapshotToFile(CHUNK_BYTES, path));
  // What keeping the file as the base adds: opening it (and, at the next base, closing it).
  const openMs = timeMs(() => closeSync(openSync(path, 'r')));
  runner.close();
  return { stateBytes: state.length, encodeMs, decodeMs, streamDecodeMs, snapshotMs, baseCopyMs, snapshotToFileMs, openMs };
}

/**
 * ms of one rollback: a batch of 64 with a poison request in its middle,
 * less the same batch without it, `since` batches of 64 after the base.
 */
function rollbackRun(since: number, base: 'memory' | 'file', directory: string, run: number, poisons = 1): number {
  const runner = filledRunner(poisoned);
  const path = join(directory, `base-${since}-${base}-${run}`);
  const state = runner.snapshot(CHUNK_BYTES).state;
  if (base === 'file') runner.snapshotToFile(CHUNK_BYTES, path);
  const [clean, poisonedBatch] = [false, true].map((poison) => {
    const batch: Uint8Array[] = workload(64, 64, 64 * (since + 1))[0]!.map((operation) => operation.slice());
    if (poison && poisons === 1) batch[32] = encode({ op: 'put', key: 'poison', value: 'x' });
    if (poison && poisons > 1) for (let i = 0; i < poisons; i++) batch[i] = encode({ op: 'put', key: `poison-${i}`, value: 'x' });
    return unpack(pack(batch));
  });
  const rebase = (): void => {
    if (base === 'memory') runner.restore(state.slice());
    else runner.restoreFromFile(path, CHUNK_BYTES);
  };
  const runSince = (): void => workload(64 * since, 64).forEach((batch, b) => runner.run(b + 10_000, batch));
  rebase();
  runSince();
  const cleanMs = timeMs(() => runner.run(20_000, clean!));
  rebase();
  runSince();
  const poisonedMs = timeMs(() => runner.run(20_000, poisonedBatch!));
  runner.close();
  rmSync(path, { force: true });
  return poisonedMs - cleanMs;
}

const fmt = (value: number, digits = 0): string => value.toFixed(digits).padStart(8);

function main(): void {
  const cpu = cpus();
  console.log(`bafomet rollback benchmark: node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, median of ${RUNS} runs`);
  const directory = mkdtempSync(join(tmpdir(), 'bafomet-bench-rollback-'));
  try {
    // Warm-up: every path once, so that the first measured run is not the JIT's.
    normalPathRun(64);
    rollbackRun(1, 'memory', directory, -1);

    console.log(`\nnormal path, ns/request (${REQUESTS_PER_RUN} requests per run, snapshot every ${CHECKPOINT_INTERVAL} batches untimed)`);
    console.log('   batch   without      with     delta   inline copy');
    for (const batchSize of [16, 64]) {
      const runs = Array.from({ length: RUNS }, () => normalPathRun(batchSize));
      const copy = Array.from({ length: RUNS }, () => inlineCopyRun(batchSize));
      const [a, b] = [median(runs.map((r) => r.without)), median(runs.map((r) => r.with))];
      const delta = median(runs.map((r) => r.with - r.without));
      console.log(`${fmt(batchSize)}  ${fmt(a)}  ${fmt(b)}  ${fmt(delta)}  ${fmt(median(copy))}`);
    }

    const checkpoints = Array.from({ length: RUNS }, (_, run) => checkpointRun(directory, run));
    const of = (key: keyof CheckpointFigures): number => median(checkpoints.map((figures) => figures[key]));
    console.log(`\ncheckpoint of a ${(of('stateBytes') / 1024).toFixed(0)} KiB state, ms`);
    console.log(`  encode alone (what re-encoding the base would cost) ${fmt(of('encodeMs'), 2)}`);
    console.log(`  decode with the codec (a rollback from memory)      ${fmt(of('decodeMs'), 2)}`);
    console.log(`  decode with the stateStream hook (from a file)      ${fmt(of('streamDecodeMs'), 2)}`);
    console.log(`  snapshot in memory                                  ${fmt(of('snapshotMs'), 2)}`);
    console.log(`    of which the base copy                            ${fmt(of('baseCopyMs'), 3)}`);
    console.log(`  snapshot to a file                                  ${fmt(of('snapshotToFileMs'), 2)}`);
    console.log(`    of which opening the file as the base             ${fmt(of('openMs'), 3)}`);

    console.log('\none rollback (batch of 64, poison at request 32), ms');
    console.log('   batches since base   memory base   file base   replayed requests');
    for (const since of [0, 1, 4, 16, 64]) {
      const memory = median(Array.from({ length: RUNS }, (_, run) => rollbackRun(since, 'memory', directory, run)));
      const file = median(Array.from({ length: RUNS }, (_, run) => rollbackRun(since, 'file', directory, run)));
      console.log(`${fmt(since)}              ${fmt(memory, 2)}      ${fmt(file, 2)}    ${fmt(64 * since + 32)}`);
    }
    // The worst a client can do to one batch: every request fails, and each failure rebuilds the state.
    const runs = Math.max(1, Math.floor(RUNS / 2));
    const memory = median(Array.from({ length: runs }, (_, run) => rollbackRun(16, 'memory', directory, run, 64)));
    const file = median(Array.from({ length: runs }, (_, run) => rollbackRun(16, 'file', directory, run, 64)));
    console.log(`\na batch of 64 failing requests, 16 batches since base, ms: memory base ${fmt(memory, 1)}, file base ${fmt(file, 1)}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

main();
