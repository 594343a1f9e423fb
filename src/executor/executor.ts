/**
 * The boundary between the replica's protocol loop and user code: the loop
 * hands committed batches to an {@link Executor} and hears back through
 * {@link ExecutorCallbacks}, so it never runs `Service.update` itself.
 *
 * An executor does not bound its own queue: the replica core limits the
 * batches in flight (`ProtocolOptions.executeBacklogMax`).
 */

/** A service state snapshot, cut into checkpoint chunks (docs/STATE-TRANSFER.md). */
export interface ExecutorSnapshot {
  /** The state, encoded with the service's state codec, in a buffer of its own. */
  readonly state: Uint8Array;
  /** SHA-256 of each `chunkBytes` chunk of `state`, in order (none for an empty state). */
  readonly chunkDigests: readonly Uint8Array[];
}

/** The size and chunk digests of an encoded state the executor did not hand over. */
export interface StateDigests {
  readonly bytes: number;
  /** SHA-256 of each `chunkBytes` chunk of the encoding, in order (none for an empty state). */
  readonly chunkDigests: readonly Uint8Array[];
}

/**
 * What the service answered to a read-only request ({@link Executor.query}):
 * - `ok`: `result` is the encoded reply of `Service.query`;
 * - `not-read-only`: the service does not declare the request read-only
 *   (no `readOnly`, or it did not return `true`): nothing ran [Q5]; `result`
 *   is empty;
 * - `failed`: the request did not decode, `readOnly` or `query` threw or
 *   returned a promise, or the reply did not encode; `result` is the
 *   failure's one-line description, UTF-8, at most 1024 bytes.
 */
export interface QueryAnswer {
  readonly status: 'ok' | 'not-read-only' | 'failed';
  /** In a buffer of its own. */
  readonly result: Uint8Array;
}

/** Runs batches of encoded requests through a service. */
export interface Executor {
  /**
   * Queue batch `seq` (strictly increasing, caller guarantees order).
   * `operations` are encoded requests; they are copied before this returns,
   * so the caller may reuse their buffers. A no-op after `close()` or a fatal
   * error.
   *
   * The executor keeps the requests of the batches since its latest
   * snapshot or restore, to roll back a failed request (see
   * {@link ExecutorCallbacks.onExecuted}): snapshot regularly, as a replica
   * does every `checkpointInterval` batches, to bound that memory.
   */
  execute(seq: number, operations: readonly Uint8Array[]): void;
  /**
   * Encoded service state and the SHA-256 digests of its `chunkBytes`
   * chunks, taken after every batch queued so far has executed and before
   * any later one; hashed by the executor, off the caller's thread where it
   * has one. Rejects after `close()` or a fatal error.
   */
  snapshot(chunkBytes: number): Promise<ExecutorSnapshot>;
  /**
   * Like {@link snapshot}, but the encoding is written to a new file at
   * `path` (absolute; it must not exist) as it is produced, chunk by chunk,
   * and never held whole beyond what `service.state.encode` returns (nothing
   * with `service.stateStream`). A write failure rejects with
   * `CheckpointFileError`, deletes the file and is not fatal. The executor
   * keeps the file open as its rollback base until its next snapshot or
   * restore: the caller may delete the file whenever it likes, but never
   * write to it.
   */
  snapshotToFile(chunkBytes: number, path: string): Promise<StateDigests>;
  /**
   * Answers read-only request `operation` with the service's `query`, at
   * the state after every batch queued so far and before any later one
   * (docs/PROTOCOL.md Q6); `operation` is copied before this returns. The
   * request is decoded, checked with `readOnly` and answered in the
   * executor's thread (the worker's), never the caller's. Nothing is kept:
   * a query is not replayed by rollbacks, and never changes the state as
   * long as the service keeps its promise. Rejects after `close()` or a
   * fatal error; a failing query is an answer (`failed`), not an error.
   */
  query(operation: Uint8Array): Promise<QueryAnswer>;
  /** Like {@link snapshot}, keeping nothing but the digests. */
  stateDigests(chunkBytes: number): Promise<StateDigests>;
  /**
   * Replaces the service state with the decoding of `state`, after every
   * batch queued so far and before any later one. `state` is copied before
   * this returns. Resolves once replaced; rejects after `close()` or a fatal
   * error. The caller has verified `state` (a checkpoint's), so a decode
   * failure is a bug and fatal, reported to `onFatal`.
   */
  restore(state: Uint8Array): Promise<void>;
  /**
   * Like {@link restore} from the file at `path`, which the caller leaves
   * unchanged until this settles: read in pieces of `pieceBytes` into
   * `service.stateStream.decode` as it asks for them, or whole into
   * `service.state.decode` without the hook. A read failure is fatal too.
   * The executor then holds the file open as its rollback base: once this
   * settles the caller may delete it, but never write to it.
   */
  restoreFromFile(path: string, pieceBytes: number): Promise<void>;
  /**
   * Stops the executor. Queued batches are dropped and no callback fires
   * afterwards; pending snapshots and restores reject with `ClosedError`.
   * Idempotent.
   */
  close(): Promise<void>;
}

/** How an executor reports back. Callbacks never fire after `close()`. */
export interface ExecutorCallbacks {
  /**
   * Called once per execute(), in the same order; results[i] is the encoded
   * reply to operations[i]. Each result owns its own buffer, so keeping one
   * (e.g. in a reply cache) does not pin the rest of the batch.
   *
   * `failed` lists, ascending, the requests that failed: the request did not
   * decode, `update` threw or returned a promise, or the reply codec could
   * not encode the reply. The state is exactly as if such a request had
   * never run (the executor rolls back), and results[i] is a deterministic
   * one-line description of the failure in UTF-8, at most 1024 bytes (the
   * error's name and message, never its stack). Every correct replica fails
   * the same requests with the same results.
   */
  onExecuted(seq: number, results: Uint8Array[], failed: readonly number[]): void;
  /**
   * The executor cannot go on: the state codec failed on the service's own
   * state (snapshot, restore, or rebuilding it for a rollback), a request
   * replayed for a rollback threw where it had not (a nondeterministic
   * service), or the worker died. The replica must stop (fail-stop,
   * loudly). Called at most once; nothing executes afterwards. A request
   * whose `update` throws is not fatal: it is reported in `failed`.
   */
  onFatal(error: Error): void;
}
