/** Runs the service in a worker thread, so user code never blocks the protocol loop. */
import { Worker } from 'node:worker_threads';
import { assert } from '../core/assert.js';
import { ClosedError } from '../errors.js';
import type { Executor, ExecutorCallbacks, ExecutorSnapshot, QueryAnswer, StateDigests } from './executor.js';
import { CheckpointFileError, describeError, ServiceError, ServiceLoadError } from './errors.js';
import { serviceModuleUrl } from './load.js';
import {
  fromWire,
  pack,
  transferList,
  unpack,
  type FromWorker,
  type SnapshotReply,
  type SnapshotTarget,
  type ToWorker,
  type WorkerInit,
} from './protocol.js';

/** Where `WorkerExecutor.start` finds the service. */
export interface WorkerExecutorOptions {
  /**
   * The module exporting the service: a URL or a filesystem path (see
   * `serviceModuleUrl`), e.g. `new URL('./my-service.js', import.meta.url)`.
   */
  readonly serviceModule: string | URL;
  /** The export holding the service; default `'default'`. */
  readonly exportName?: string;
}

interface Deferred<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * An {@link Executor} whose service runs in a `worker_threads` Worker, one
 * postMessage round trip per batch (never per request). Results arrive
 * asynchronously, as worker messages on the event loop. The worker keeps the
 * process alive until `close()`.
 */
export class WorkerExecutor implements Executor {
  readonly #worker: Worker;
  readonly #callbacks: ExecutorCallbacks;
  // The worker answers each kind of request in the order it was asked.
  readonly #snapshots: Deferred<SnapshotReply>[] = [];
  readonly #restores: Deferred<void>[] = [];
  readonly #queries: Deferred<QueryAnswer>[] = [];
  /** Settles `start()`; unset once the service has loaded. */
  #loading: Deferred<void> | undefined;
  #lastSeq = -1;
  /** Set once, by close() or a fatal error; every later call is refused. */
  #stopped: Error | undefined;

  private constructor(worker: Worker, service: string, callbacks: ExecutorCallbacks) {
    this.#worker = worker;
    this.#callbacks = callbacks;
    worker.on('message', (message: FromWorker) => this.#onMessage(message));
    worker.on('error', (error: unknown) =>
      this.#fail(new ServiceError(`${service}: worker crashed: ${describeError(error)}`, { cause: error })),
    );
    worker.on('messageerror', (error) =>
      this.#fail(new ServiceError(`${service}: worker sent an unreadable message`, { cause: error })),
    );
    worker.on('exit', (code) =>
      this.#fail(new ServiceError(`${service}: worker exited unexpectedly with code ${code}`)),
    );
  }

  /**
   * Starts a worker, loads the service in it and runs `initialState()`.
   * Rejects with `ServiceLoadError` if any of that fails.
   */
  static async start(options: WorkerExecutorOptions, callbacks: ExecutorCallbacks): Promise<WorkerExecutor> {
    const init: WorkerInit = {
      moduleUrl: serviceModuleUrl(options.serviceModule),
      exportName: options.exportName ?? 'default',
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    const executor = new WorkerExecutor(worker, `service ${init.moduleUrl}#${init.exportName}`, callbacks);
    try {
      await new Promise<void>((resolve, reject) => (executor.#loading = { resolve, reject }));
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return executor;
  }

  execute(seq: number, operations: readonly Uint8Array[]): void {
    assert(Number.isSafeInteger(seq) && seq > this.#lastSeq, `execute(${seq}) after ${this.#lastSeq}`);
    this.#lastSeq = seq;
    if (this.#stopped !== undefined) return;
    const packed = pack(operations);
    this.#post({ type: 'execute', seq, operations: packed }, transferList(packed));
  }

  snapshot(chunkBytes: number): Promise<ExecutorSnapshot> {
    return this.#snapshot(chunkBytes, { kind: 'memory' }).then((reply) => ({
      state: new Uint8Array(reply.state as ArrayBuffer),
      chunkDigests: unpack(reply.chunkDigests),
    }));
  }

  snapshotToFile(chunkBytes: number, path: string): Promise<StateDigests> {
    return this.#digests(this.#snapshot(chunkBytes, { kind: 'file', path }));
  }

  stateDigests(chunkBytes: number): Promise<StateDigests> {
    return this.#digests(this.#snapshot(chunkBytes, { kind: 'digests' }));
  }

  query(operation: Uint8Array): Promise<QueryAnswer> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    // One copy, transferred: the caller's buffer (a view into a network frame) stays here.
    const copy = operation.slice().buffer;
    return new Promise((resolve, reject) => {
      this.#queries.push({ resolve, reject });
      this.#post({ type: 'query', operation: copy }, [copy]);
    });
  }

  restore(state: Uint8Array): Promise<void> {
    // One copy, in a buffer of its own that is transferred: the caller keeps `state`.
    const copy = state.slice().buffer;
    return this.#restore({ type: 'restore', state: copy }, [copy]);
  }

  restoreFromFile(path: string, pieceBytes: number): Promise<void> {
    assert(Number.isSafeInteger(pieceBytes) && pieceBytes > 0, `piece size ${pieceBytes} is not a positive integer`);
    return this.#restore({ type: 'restore-file', path, pieceBytes });
  }

  async close(): Promise<void> {
    this.#stop(new ClosedError('executor'));
    await this.#worker.terminate();
  }

  /** Asks the worker for a snapshot (the answers come in the order asked). */
  #snapshot(chunkBytes: number, to: SnapshotTarget): Promise<SnapshotReply> {
    // Checked here, where the caller's bug shows, rather than as a fatal error in the worker.
    assert(Number.isSafeInteger(chunkBytes) && chunkBytes > 0, `chunk size ${chunkBytes} is not a positive integer`);
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    return new Promise((resolve, reject) => {
      this.#snapshots.push({ resolve, reject });
      this.#post({ type: 'snapshot', chunkBytes, to });
    });
  }

  #digests(reply: Promise<SnapshotReply>): Promise<StateDigests> {
    return reply.then(({ bytes, chunkDigests }) => ({ bytes, chunkDigests: unpack(chunkDigests) }));
  }

  #restore(message: ToWorker, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    return new Promise((resolve, reject) => {
      this.#restores.push({ resolve, reject });
      this.#post(message, transfer);
    });
  }

  #post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(message, transfer);
  }

  #onMessage(message: FromWorker): void {
    if (this.#stopped !== undefined) return;
    switch (message.type) {
      case 'ready':
        assert(this.#loading !== undefined, 'worker loaded twice');
        this.#loading.resolve();
        this.#loading = undefined;
        break;
      case 'load-failed':
        this.#fail(fromWire(message.error, (m, o) => new ServiceLoadError(m, o)));
        break;
      case 'executed':
        // Copy each result out of the shared batch buffer: a reply cache keeping
        // one must not pin the whole batch.
        this.#callbacks.onExecuted(
          message.seq,
          unpack(message.results).map((view) => view.slice()),
          message.failed,
        );
        break;
      case 'snapshot':
      case 'snapshot-failed': {
        const pending = this.#snapshots.shift();
        assert(pending !== undefined, 'snapshot reply without a request');
        if (message.type === 'snapshot') pending.resolve(message);
        else pending.reject(fromWire(message.error, (m, o) => new CheckpointFileError(m, o)));
        break;
      }
      case 'restored': {
        const pending = this.#restores.shift();
        assert(pending !== undefined, 'restore reply without a request');
        pending.resolve();
        break;
      }
      case 'queried': {
        const pending = this.#queries.shift();
        assert(pending !== undefined, 'query answer without a query');
        pending.resolve({ status: message.status, result: new Uint8Array(message.result) });
        break;
      }
      case 'fatal':
        this.#fail(fromWire(message.error, (m, o) => new ServiceError(m, o)));
        break;
    }
  }

  /**
   * Fail-stop: report once (to `start()` while loading, else to `onFatal`),
   * refuse everything after and free the thread.
   */
  #fail(error: Error): void {
    if (this.#stopped !== undefined) return;
    this.#stop(error);
    void this.#worker.terminate();
    if (this.#loading === undefined) {
      this.#callbacks.onFatal(error);
      return;
    }
    const loadError = error instanceof ServiceLoadError ? error : new ServiceLoadError(error.message, { cause: error });
    this.#loading.reject(loadError);
    this.#loading = undefined;
  }

  #stop(reason: Error): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = reason;
    for (const pending of [...this.#snapshots.splice(0), ...this.#restores.splice(0), ...this.#queries.splice(0)]) pending.reject(reason);
  }
}
