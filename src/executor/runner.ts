/** Executes batches against one service instance; the engine of both executors. */
import { ChunkSplitter, chunkDigests } from '../checkpoint/chunks.js';
import { readStateFile, readStatePieces, StateFileWriter } from '../checkpoint/state-file.js';
import type { AnyService } from '../service.js';
import type { ExecutorSnapshot, StateDigests } from './executor.js';
import { CheckpointFileError, describeError, ServiceError } from './errors.js';

/** Runs `step` on a state file, reporting its failure as a {@link CheckpointFileError}. */
function fileStep<T>(path: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    throw new CheckpointFileError(`cannot write checkpoint state file ${path}: ${describeError(error)}`, { cause: error });
  }
}

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
   * encoding fails. With `service.stateStream`, its pieces are copied chunk
   * by chunk, then joined.
   */
  snapshot(chunkBytes: number): ExecutorSnapshot {
    if (this.service.stateStream === undefined) {
      let state: Uint8Array;
      try {
        state = this.service.state.encode(this.#state).slice();
      } catch (error) {
        throw this.#encodeFailure(error);
      }
      return { state, chunkDigests: chunkDigests(state, chunkBytes) };
    }
    const chunks: Uint8Array[] = [];
    const { bytes, chunkDigests: digests } = this.#split(chunkBytes, (chunk) => chunks.push(chunk.slice()));
    const state = new Uint8Array(bytes);
    let offset = 0;
    for (const chunk of chunks) {
      state.set(chunk, offset);
      offset += chunk.length;
    }
    return { state, chunkDigests: digests };
  }

  /**
   * Writes the encoded state to a new file at `path` chunk by chunk as it is
   * produced, and returns its size and chunk digests. Throws
   * {@link ServiceError} if encoding fails, {@link CheckpointFileError} if
   * the file cannot be written; either way the file is deleted.
   */
  snapshotToFile(chunkBytes: number, path: string): StateDigests {
    const file = fileStep(path, () => new StateFileWriter(path));
    try {
      const digests = this.#split(chunkBytes, (chunk) => fileStep(path, () => file.write(chunk)));
      fileStep(path, () => file.close());
      return digests;
    } catch (error) {
      file.discard();
      throw error;
    }
  }

  /** The size and chunk digests of the encoded state, keeping none of it. */
  stateDigests(chunkBytes: number): StateDigests {
    return this.#split(chunkBytes);
  }

  /**
   * Replaces the state with the decoding of `state`; the service may keep
   * views into `state`, so it must not be reused. Throws
   * {@link ServiceError} if decoding fails: the bytes were a checkpoint's,
   * verified against a digest a quorum signed, so the service cannot decode
   * what it encoded.
   */
  restore(state: Uint8Array): void {
    const stream = this.service.stateStream;
    this.#decode(() => (stream === undefined ? this.service.state.decode(state) : stream.decode([state])));
  }

  /**
   * Replaces the state with the decoding of the file at `path`: streamed in
   * pieces of `pieceBytes` with `service.stateStream`, else read whole.
   * Throws {@link ServiceError} if reading or decoding fails.
   */
  restoreFromFile(path: string, pieceBytes: number): void {
    const stream = this.service.stateStream;
    if (stream === undefined) {
      this.#decode(() => this.service.state.decode(readStateFile(path)));
      return;
    }
    const pieces = readStatePieces(path, pieceBytes);
    try {
      this.#decode(() => stream.decode(pieces));
    } finally {
      pieces.return(); // closes the file if the decoder stopped early
    }
  }

  /**
   * Feeds the encoded state, from the hook or the codec, through a
   * {@link ChunkSplitter} handing each chunk to `onChunk`. A
   * {@link CheckpointFileError} from `onChunk` passes through; anything else
   * is the service's failure.
   */
  #split(chunkBytes: number, onChunk?: (chunk: Uint8Array) => void): StateDigests {
    const splitter = new ChunkSplitter(chunkBytes, onChunk);
    const { stateStream, state } = this.service;
    try {
      const pieces = stateStream === undefined ? [state.encode(this.#state)] : stateStream.encode(this.#state);
      for (const piece of pieces) {
        // A string would pass for an array of bytes and hash as zeros.
        if (!(piece instanceof Uint8Array)) throw new TypeError('the state encoding yielded a piece that is not a Uint8Array');
        splitter.push(piece);
      }
      return splitter.end();
    } catch (error) {
      if (error instanceof CheckpointFileError) throw error;
      throw this.#encodeFailure(error);
    }
  }

  #encodeFailure(error: unknown): ServiceError {
    return new ServiceError(`service "${this.service.name}" failed to encode its state: ${describeError(error)}`, {
      cause: error,
    });
  }

  #decode(decode: () => unknown): void {
    try {
      this.#state = decode();
    } catch (error) {
      throw new ServiceError(`service "${this.service.name}" failed to decode a checkpoint's state: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}
