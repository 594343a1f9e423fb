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

/** Runs batches of encoded requests through a service. */
export interface Executor {
  /**
   * Queue batch `seq` (strictly increasing, caller guarantees order).
   * `operations` are encoded requests; they are copied before this returns,
   * so the caller may reuse their buffers. A no-op after `close()` or a fatal
   * error.
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
   * `CheckpointFileError`, deletes the file and is not fatal.
   */
  snapshotToFile(chunkBytes: number, path: string): Promise<StateDigests>;
  /** Like {@link snapshot}, keeping nothing but the digests. */
  stateDigests(chunkBytes: number): Promise<StateDigests>;
  /**
   * Replaces the service state with the decoding of `state`, after every
   * batch queued so far and before any later one. `state` is copied before
   * this returns. Resolves once replaced; rejects after `close()` or a fatal
   * error. The caller has verified `state` (a checkpoint's), so a decode
   * failure is a bug and fatal, reported to `onFatal` like a service failure.
   */
  restore(state: Uint8Array): Promise<void>;
  /**
   * Like {@link restore} from the file at `path`, which the caller leaves
   * unchanged until this settles: read in pieces of `pieceBytes` into
   * `service.stateStream.decode` as it asks for them, or whole into
   * `service.state.decode` without the hook. A read failure is fatal too.
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
   */
  onExecuted(seq: number, results: Uint8Array[]): void;
  /**
   * The service threw or the worker died: the replica must stop (fail-stop,
   * loudly). Called at most once; nothing executes afterwards.
   */
  onFatal(error: Error): void;
}
