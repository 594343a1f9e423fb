/** Runs the service on the calling thread: for unit tests and deterministic simulation. */
import { assert } from '../core/assert.js';
import { ClosedError } from '../errors.js';
import type { AnyService } from '../service.js';
import type { Executor, ExecutorCallbacks, ExecutorSnapshot, QueryAnswer, StateDigests } from './executor.js';
import { CheckpointFileError } from './errors.js';
import { pack, unpack } from './protocol.js';
import { ServiceRunner, type ServiceRunnerOptions } from './runner.js';

const assertChunkBytes = (chunkBytes: number): void =>
  assert(Number.isSafeInteger(chunkBytes) && chunkBytes > 0, `chunk size ${chunkBytes} is not a positive integer`);

/**
 * An {@link Executor} that runs `update` synchronously inside `execute()`
 * (a failed request's rollback included), then reports through a microtask: never re-entrantly from `execute()`,
 * but before any timer or I/O callback, in `execute()` order. No threads, no
 * timing: the same calls give the same callbacks every run. A service that
 * blocks blocks the caller, and so do state files.
 */
export class InlineExecutor implements Executor {
  readonly #runner: ServiceRunner;
  readonly #callbacks: ExecutorCallbacks;
  #lastSeq = -1;
  #closed = false;
  /** The service failure that stopped this executor, if any. */
  #failure: Error | undefined;

  /** Runs `service.initialState()` now; throws whatever it throws. `options` are the runner's (tests, benchmarks). */
  constructor(service: AnyService, callbacks: ExecutorCallbacks, options?: ServiceRunnerOptions) {
    this.#runner = new ServiceRunner(service, options);
    this.#callbacks = callbacks;
  }

  execute(seq: number, operations: readonly Uint8Array[]): void {
    assert(Number.isSafeInteger(seq) && seq > this.#lastSeq, `execute(${seq}) after ${this.#lastSeq}`);
    this.#lastSeq = seq;
    if (this.#closed || this.#failure !== undefined) return;
    let results: Uint8Array[];
    let failed: number[];
    try {
      // The runner keeps the requests until the next snapshot: one copy of the batch, in one buffer.
      const batch = this.#runner.run(seq, unpack(pack(operations)));
      // Copies, so results never share memory with the service state.
      results = batch.results.map((result) => result.slice());
      failed = batch.failed;
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    this.#report(() => this.#callbacks.onExecuted(seq, results, failed));
  }

  snapshot(chunkBytes: number): Promise<ExecutorSnapshot> {
    assertChunkBytes(chunkBytes);
    return this.#run(() => this.#runner.snapshot(chunkBytes));
  }

  snapshotToFile(chunkBytes: number, path: string): Promise<StateDigests> {
    assertChunkBytes(chunkBytes);
    return this.#run(() => this.#runner.snapshotToFile(chunkBytes, path));
  }

  stateDigests(chunkBytes: number): Promise<StateDigests> {
    assertChunkBytes(chunkBytes);
    return this.#run(() => this.#runner.stateDigests(chunkBytes));
  }

  query(operation: Uint8Array): Promise<QueryAnswer> {
    // Copies in and out, as the worker's: the service never shares memory with the caller.
    return this.#run(() => {
      const { status, result } = this.#runner.query(operation.slice());
      return { status, result: result.slice() };
    });
  }

  restore(state: Uint8Array): Promise<void> {
    // A copy: the service may keep views into what it decodes, and the caller keeps `state`.
    return this.#run(() => this.#runner.restore(state.slice()));
  }

  restoreFromFile(path: string, pieceBytes: number): Promise<void> {
    assertChunkBytes(pieceBytes);
    return this.#run(() => this.#runner.restoreFromFile(path, pieceBytes));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#runner.close();
  }

  /** Runs `task` now unless stopped; a failure is fatal, but for a state file's. */
  #run<T>(task: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError('executor'));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    try {
      return Promise.resolve(task());
    } catch (error) {
      if (!(error instanceof CheckpointFileError)) this.#fail(error as Error);
      return Promise.reject(error);
    }
  }

  /** The runner only throws `ServiceError`s (codec, state or replay failures), or `CheckpointFileError`s, which are not fatal. */
  #fail(error: Error): void {
    this.#failure = error;
    this.#report(() => this.#callbacks.onFatal(error));
  }

  #report(callback: () => void): void {
    queueMicrotask(() => {
      if (!this.#closed) callback();
    });
  }
}
