/**
 * The boundary between the replica's protocol loop and user code: the loop
 * hands committed batches to an {@link Executor} and hears back through
 * {@link ExecutorCallbacks}, so it never runs `Service.update` itself.
 *
 * An executor does not bound its own queue: the replica core limits the
 * batches in flight (`ProtocolOptions.executeBacklogMax`).
 */

/** A service state snapshot. */
export interface ExecutorSnapshot {
  /** The state, encoded with the service's state codec. */
  readonly state: Uint8Array;
  /** SHA-256 of `state`. */
  readonly digest: Uint8Array;
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
   * Encoded service state and its SHA-256 digest, taken after every batch
   * queued so far has executed. Rejects after `close()` or a fatal error.
   */
  snapshot(): Promise<ExecutorSnapshot>;
  /**
   * Stops the executor. Queued batches are dropped and no callback fires
   * afterwards; pending snapshots reject with `ClosedError`. Idempotent.
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
