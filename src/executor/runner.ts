/** Executes batches against one service instance; the engine of both executors. */
import { chunkDigests } from '../checkpoint/chunks.js';
import type { AnyService } from '../service.js';
import type { ExecutorSnapshot } from './executor.js';
import { describeError, ServiceError } from './errors.js';

/** Holds a service's state and applies batches to it. Not thread-aware. */
export class ServiceRunner {
  #state: unknown;

  /** Calls `service.initialState()`, which may throw. */
  constructor(readonly service: AnyService) {
    this.#state = service.initialState();
  }

  /**
   * Runs `operations` in order and returns their encoded replies, which may
   * share memory with the service (copy before handing them out). A request
   * that fails to decode gets an empty reply (see `Service.request`). Throws
   * {@link ServiceError}, naming the service and `seq` but never the request,
   * if `update` throws or returns something the reply codec cannot encode.
   */
  run(seq: number, operations: readonly Uint8Array[]): Uint8Array[] {
    const { service } = this;
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
        const reply = service.update(this.#state, request);
        if (typeof (reply as { then?: unknown } | null)?.then === 'function') {
          throw new TypeError('update returned a promise; it must be synchronous');
        }
        results.push(service.reply.encode(reply));
      } catch (error) {
        throw new ServiceError(
          `service "${service.name}" failed on request ${i} of batch ${seq}: ${describeError(error)}`,
          { cause: error },
        );
      }
    }
    return results;
  }

  /**
   * The encoded state (a private copy in its own buffer) and the SHA-256
   * digests of its `chunkBytes` chunks; throws {@link ServiceError} if
   * encoding fails.
   */
  snapshot(chunkBytes: number): ExecutorSnapshot {
    let state: Uint8Array;
    try {
      state = this.service.state.encode(this.#state).slice();
    } catch (error) {
      throw new ServiceError(`service "${this.service.name}" failed to encode its state: ${describeError(error)}`, {
        cause: error,
      });
    }
    return { state, chunkDigests: chunkDigests(state, chunkBytes) };
  }

  /**
   * Replaces the state with `service.state.decode(state)`; the service may
   * keep views into `state`, so it must not be reused. Throws
   * {@link ServiceError} if decoding fails: the bytes were a checkpoint's,
   * verified against a digest a quorum signed, so the service cannot decode
   * what it encoded.
   */
  restore(state: Uint8Array): void {
    try {
      this.#state = this.service.state.decode(state);
    } catch (error) {
      throw new ServiceError(`service "${this.service.name}" failed to decode a checkpoint's state: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}
