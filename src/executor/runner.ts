/**
 * Executes batches against one service instance; the engine of both
 * executors. A request whose `update` throws fails alone: the state is
 * rolled back to what it was before that request (see {@link ServiceRunner}).
 */
import { ChunkSplitter, chunkDigests } from '../checkpoint/chunks.js';
import { StateFileWriter } from '../checkpoint/state-file.js';
import type { AnyService } from '../service.js';
import type { ExecutorSnapshot, QueryAnswer, StateDigests } from './executor.js';
import { CheckpointFileError, describeError, ServiceError } from './errors.js';
import { KEPT_REQUEST_OVERHEAD_BYTES, type KeptBatch, type StateBase } from './state-base.js';
import { OpenStateFile } from '../checkpoint/state-file.js';

/** Most bytes of a failed request's result: its failure's description, cut on a character boundary. */
export const FAILURE_RESULT_BYTES_MAX = 1024;

/**
 * Default bound on the requests kept since the base, in bytes (each request
 * counted {@link KEPT_REQUEST_OVERHEAD_BYTES} above its own). A replica
 * snapshots every `checkpointInterval` batches, which keeps far fewer (64
 * batches of at most 256 KiB with the default options): the bound only
 * bites when snapshots keep failing (a full disk) or nobody takes any.
 */
export const REPLAY_BYTES_MAX = 64 * 1024 * 1024;

/** What {@link ServiceRunner.run} returns for a batch. */
export interface BatchResults {
  /** One per request: its encoded reply, or for a failed one the UTF-8 description of its failure. */
  readonly results: Uint8Array[];
  /** Indices (ascending) of the requests that failed and left the state unchanged. */
  readonly failed: number[];
}

export interface ServiceRunnerOptions {
  /** Bound on the requests kept for rollbacks; default {@link REPLAY_BYTES_MAX}. */
  readonly replayBytesMax?: number;
}

const utf8 = new TextEncoder();

/**
 * `description` in UTF-8, cut to at most {@link FAILURE_RESULT_BYTES_MAX}
 * bytes at a character boundary: the result of a failed request.
 */
export function failureResult(description: string): Uint8Array {
  const bytes = utf8.encode(description);
  if (bytes.length <= FAILURE_RESULT_BYTES_MAX) return bytes;
  let end = FAILURE_RESULT_BYTES_MAX;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--; // back off a continuation byte
  return bytes.slice(0, end);
}

/** Runs `step` on a state file, reporting its failure as a {@link CheckpointFileError}. */
function fileStep<T>(path: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    throw new CheckpointFileError(`cannot write checkpoint state file ${path}: ${describeError(error)}`, { cause: error });
  }
}

/** The answer to a request the service does not declare read-only [Q5]. */
const NOT_READ_ONLY: QueryAnswer = { status: 'not-read-only', result: new Uint8Array(0) };

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as { then?: unknown } | null | undefined)?.then === 'function';

/**
 * Holds a service's state and applies batches to it. Not thread-aware.
 *
 * Rollback: the runner keeps a *base*, the state as of its latest snapshot
 * or restore (a private copy of the encoding for one in memory, the file
 * held open for one in a file, `initialState()` before any), and the
 * requests of every batch run since, with which of them failed. When a
 * request fails after `update` may have changed the state, the state is
 * rebuilt: decode the base (with `service.state.decode` from memory,
 * streamed into `service.stateStream` from a file when it has one), replay
 * the kept batches and the current one up to the failed request, skipping
 * failed requests. This is exact because services are deterministic (and
 * the hook decodes what the codec does). Replays neither encode replies
 * nor report.
 *
 * Memory: the requests kept are those since the last snapshot or restore,
 * so a replica (which snapshots every `checkpointInterval` batches) keeps
 * one checkpoint interval of requests. Past `replayBytesMax`, the runner
 * re-bases on an encoding of the state it takes itself, in memory.
 */
export class ServiceRunner {
  #state: unknown;
  #base: StateBase = { kind: 'initial' };
  /** The batches run since the base, in order; empty ones are not kept. */
  #kept: KeptBatch[] = [];
  #keptBytes = 0;
  readonly #replayBytesMax: number;
  /** The last batch run, naming a base in messages. */
  #lastSeq: number | undefined;

  /** Calls `service.initialState()`, which may throw. */
  constructor(
    readonly service: AnyService,
    options: ServiceRunnerOptions = {},
  ) {
    this.#replayBytesMax = options.replayBytesMax ?? REPLAY_BYTES_MAX;
    this.#state = service.initialState();
  }

  /**
   * Runs `operations` in order and returns a result for each, which may
   * share memory with the service (copy before handing it out), and the
   * requests that failed. A request fails, leaving the state exactly as it
   * was before it, when it does not decode, when `update` throws or returns
   * a promise, or when the reply codec cannot encode its reply.
   *
   * The runner keeps `operations` (the list and the bytes) until the next
   * snapshot or restore: hand it buffers nobody changes or reuses.
   *
   * Throws {@link ServiceError} only if a rollback cannot rebuild the state
   * (the base does not decode, its file cannot be read, a replayed request
   * throws), or a re-base past `replayBytesMax` cannot encode it.
   */
  run(seq: number, operations: readonly Uint8Array[]): BatchResults {
    const { service } = this;
    const results: Uint8Array[] = [];
    const failed: number[] = [];
    for (let i = 0; i < operations.length; i++) {
      let request: unknown;
      try {
        request = service.request.decode(operations[i]!);
      } catch (error) {
        // Nothing ran: the state is untouched.
        results.push(failureResult(`request does not decode: ${describeError(error)}`));
        failed.push(i);
        continue;
      }
      let reply: unknown;
      try {
        reply = service.update(this.#state, request);
        if (isThenable(reply)) {
          ignoreRejection(reply);
          throw new TypeError('update returned a promise; it must be synchronous');
        }
      } catch (error) {
        results.push(failureResult(describeError(error)));
        failed.push(i);
        this.#rollBack(seq, operations, failed);
        continue;
      }
      let result: Uint8Array;
      try {
        result = service.reply.encode(reply);
      } catch (error) {
        results.push(failureResult(`reply does not encode: ${describeError(error)}`));
        failed.push(i);
        this.#rollBack(seq, operations, failed);
        continue;
      }
      results.push(result);
    }
    this.#keep(seq, operations, failed);
    return { results, failed };
  }

  /**
   * Answers read-only request `operation` from the current state
   * (docs/PROTOCOL.md Q5-Q6): decodes it, asks `service.readOnly`, and only
   * if that returns `true` runs `service.query` and encodes its reply. The
   * result may share memory with the service (copy before handing it out).
   * Never throws, keeps nothing and takes no part in rollbacks: `query`
   * must not change the state, and nothing here could undo it if it did.
   */
  query(operation: Uint8Array): QueryAnswer {
    const { service } = this;
    if (service.readOnly === undefined || service.query === undefined) return NOT_READ_ONLY;
    let request: unknown;
    try {
      request = service.request.decode(operation);
    } catch (error) {
      return { status: 'failed', result: failureResult(`request does not decode: ${describeError(error)}`) };
    }
    let declared: unknown;
    try {
      declared = service.readOnly(request);
    } catch (error) {
      return { status: 'failed', result: failureResult(`readOnly threw: ${describeError(error)}`) };
    }
    if (declared !== true) return NOT_READ_ONLY; // [Q5] never run unordered
    let reply: unknown;
    try {
      reply = service.query(this.#state, request);
      if (isThenable(reply)) {
        ignoreRejection(reply);
        throw new TypeError('query returned a promise; it must be synchronous');
      }
    } catch (error) {
      return { status: 'failed', result: failureResult(describeError(error)) };
    }
    try {
      return { status: 'ok', result: service.reply.encode(reply) };
    } catch (error) {
      return { status: 'failed', result: failureResult(`reply does not encode: ${describeError(error)}`) };
    }
  }

  /**
   * The encoded state (a private copy in its own buffer) and the SHA-256
   * digests of its `chunkBytes` chunks; throws {@link ServiceError} if
   * encoding fails. With `service.stateStream`, its pieces are copied chunk
   * by chunk, then joined. Becomes the base, in a copy of its own (the
   * caller may transfer or keep the one returned).
   */
  snapshot(chunkBytes: number): ExecutorSnapshot {
    let taken: ExecutorSnapshot;
    if (this.service.stateStream === undefined) {
      let state: Uint8Array;
      try {
        state = this.service.state.encode(this.#state).slice();
      } catch (error) {
        throw this.#encodeFailure(error);
      }
      taken = { state, chunkDigests: chunkDigests(state, chunkBytes) };
    } else {
      const chunks: Uint8Array[] = [];
      const { bytes, chunkDigests: digests } = this.#split(chunkBytes, (chunk) => chunks.push(chunk.slice()));
      taken = { state: join(chunks, bytes), chunkDigests: digests };
    }
    this.#setBase({ kind: 'bytes', bytes: taken.state.slice(), what: this.#snapshotName('in memory') });
    return taken;
  }

  /**
   * Writes the encoded state to a new file at `path` chunk by chunk as it is
   * produced, and returns its size and chunk digests. Throws
   * {@link ServiceError} if encoding fails, {@link CheckpointFileError} if
   * the file cannot be written; either way the file is deleted (and the base
   * stays what it was). The file, held open, becomes the base: deleting it
   * later does not take the base away.
   */
  snapshotToFile(chunkBytes: number, path: string): StateDigests {
    const file = fileStep(path, () => new StateFileWriter(path));
    let digests: StateDigests;
    try {
      digests = this.#split(chunkBytes, (chunk) => fileStep(path, () => file.write(chunk)));
      fileStep(path, () => file.close());
    } catch (error) {
      file.discard();
      throw error;
    }
    let base: OpenStateFile;
    try {
      base = new OpenStateFile(path);
    } catch {
      // Written but not readable back: the older base and the batches since it still rebuild the state.
      return digests;
    }
    this.#setBase({ kind: 'file', file: base, pieceBytes: chunkBytes, what: this.#snapshotName(`in file ${path}`) });
    return digests;
  }

  /** The size and chunk digests of the encoded state, keeping none of it (the base stays). */
  stateDigests(chunkBytes: number): StateDigests {
    return this.#split(chunkBytes);
  }

  /**
   * Replaces the state with the decoding of `state`, which becomes the base
   * (copied first: the service may keep views into `state` and change them,
   * so `state` must not be reused either). Throws {@link ServiceError} if
   * decoding fails: the bytes were a checkpoint's, verified against a digest
   * a quorum signed, so the service cannot decode what it encoded.
   */
  restore(state: Uint8Array): void {
    const base = state.slice();
    this.#install(() => this.#decodeBytes(state), { kind: 'bytes', bytes: base, what: `the state restored in memory` });
  }

  /**
   * Replaces the state with the decoding of the file at `path`: streamed in
   * pieces of `pieceBytes` with `service.stateStream`, else read whole. The
   * file, held open, becomes the base. Throws {@link ServiceError} if
   * reading or decoding fails.
   */
  restoreFromFile(path: string, pieceBytes: number): void {
    let file: OpenStateFile | undefined;
    try {
      this.#install(
        () => {
          file = new OpenStateFile(path);
          return this.#decodeFile(file, pieceBytes);
        },
        () => ({ kind: 'file', file: file!, pieceBytes, what: `the state restored from file ${path}` }),
      );
    } catch (error) {
      file?.close();
      throw error;
    }
  }

  /** Lets go of the base's file, if any. The runner must not be used afterwards. */
  close(): void {
    if (this.#base.kind === 'file') this.#base.file.close();
  }

  /** Keeps a batch just run for later rollbacks; past the bound, re-bases instead. */
  #keep(seq: number, operations: readonly Uint8Array[], failed: readonly number[]): void {
    this.#lastSeq = seq;
    if (operations.length === 0) return;
    this.#kept.push({ seq, operations, failed });
    let bytes = 0;
    for (const operation of operations) bytes += operation.byteLength + KEPT_REQUEST_OVERHEAD_BYTES;
    this.#keptBytes += bytes;
    if (this.#keptBytes > this.#replayBytesMax) {
      this.#setBase({ kind: 'bytes', bytes: this.#encodeWhole(), what: `the state the runner encoded after batch ${seq}` });
    }
  }

  #setBase(base: StateBase): void {
    if (this.#base.kind === 'file' && this.#base !== base) this.#base.file.close();
    this.#base = base;
    this.#kept = [];
    this.#keptBytes = 0;
  }

  /**
   * Rolls back the last request in `failed` of batch `seq`: rebuilds the
   * state from the base, replays the kept batches, then the requests of
   * this batch before it, skipping failed requests everywhere.
   */
  #rollBack(seq: number, operations: readonly Uint8Array[], failed: readonly number[]): void {
    const at = failed[failed.length - 1]!;
    const what = `request ${at} of batch ${seq}`;
    const state = this.#rebuild(what);
    for (const batch of this.#kept) this.#replay(state, batch, batch.operations.length, what);
    this.#replay(state, { seq, operations, failed }, at, what);
    this.#state = state;
  }

  /** A fresh state decoded from the base; a failure is fatal. */
  #rebuild(what: string): unknown {
    const base = this.#base;
    try {
      switch (base.kind) {
        case 'initial': {
          const state = this.service.initialState();
          // A state object handed out before would carry the failed request's changes.
          if (typeof state === 'object' && state !== null && state === this.#state) {
            throw new Error('initialState() returned the state object it returned before; it must return a fresh one each call');
          }
          return state;
        }
        case 'bytes':
          // The whole encoding is in hand: the codec decodes it, without the hook's pieces (2-3x
          // faster for kv). A copy: the decoded state may keep views into it and change them.
          return this.service.state.decode(base.bytes.slice());
        case 'file':
          return this.#decodeFile(base.file, base.pieceBytes);
      }
    } catch (error) {
      const from = base.kind === 'initial' ? 'the initial state' : base.what;
      throw new ServiceError(
        `service "${this.service.name}" cannot roll back ${what}: rebuilding the state from ${from} failed: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  /** Applies the requests of `batch` before `end` to `state`, but for the failed ones; a throw is fatal. */
  #replay(state: unknown, batch: KeptBatch, end: number, what: string): void {
    const { service } = this;
    const { operations, failed } = batch;
    let next = 0; // the next failed index to skip
    for (let i = 0; i < end; i++) {
      if (failed[next] === i) {
        next++;
        continue;
      }
      try {
        service.update(state, service.request.decode(operations[i]!));
      } catch (error) {
        throw new ServiceError(
          `service "${service.name}" cannot roll back ${what}: request ${i} of batch ${batch.seq} threw when replayed ` +
            `but not when first run, so the service is not deterministic: ${describeError(error)}`,
          { cause: error },
        );
      }
    }
  }

  #decodeBytes(bytes: Uint8Array): unknown {
    const stream = this.service.stateStream;
    return stream === undefined ? this.service.state.decode(bytes) : stream.decode([bytes]);
  }

  #decodeFile(file: OpenStateFile, pieceBytes: number): unknown {
    const stream = this.service.stateStream;
    if (stream === undefined) return this.service.state.decode(file.whole());
    const pieces = file.pieces(pieceBytes);
    try {
      return stream.decode(pieces);
    } finally {
      pieces.return(); // ends the reads if the decoder stopped early
    }
  }

  /**
   * Replaces the state with what `decode` returns and the base with `base`
   * (or what it returns, once decoded); a decode failure is fatal and
   * changes neither.
   */
  #install(decode: () => unknown, base: StateBase | (() => StateBase)): void {
    let state: unknown;
    try {
      state = decode();
    } catch (error) {
      throw new ServiceError(`service "${this.service.name}" failed to decode a checkpoint's state: ${describeError(error)}`, {
        cause: error,
      });
    }
    this.#state = state;
    this.#setBase(typeof base === 'function' ? base() : base);
  }

  #snapshotName(where: string): string {
    return this.#lastSeq === undefined ? `the snapshot ${where}` : `the snapshot after batch ${this.#lastSeq} ${where}`;
  }

  /** The whole encoding, in a buffer of its own; throws {@link ServiceError} if encoding fails. */
  #encodeWhole(): Uint8Array {
    const { stateStream, state } = this.service;
    try {
      if (stateStream === undefined) return state.encode(this.#state).slice();
      const pieces: Uint8Array[] = [];
      let bytes = 0;
      for (const piece of stateStream.encode(this.#state)) {
        if (!(piece instanceof Uint8Array)) throw new TypeError('the state encoding yielded a piece that is not a Uint8Array');
        pieces.push(piece.slice());
        bytes += piece.length;
      }
      return join(pieces, bytes);
    } catch (error) {
      throw this.#encodeFailure(error);
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
}

/** `pieces`, of `bytes` bytes in all, laid end to end in a new buffer. */
function join(pieces: readonly Uint8Array[], bytes: number): Uint8Array {
  const joined = new Uint8Array(bytes);
  let offset = 0;
  for (const piece of pieces) {
    joined.set(piece, offset);
    offset += piece.length;
  }
  return joined;
}

/** Keeps a promise `update` returned from rejecting unhandled, which would end a worker thread. */
function ignoreRejection(thenable: PromiseLike<unknown>): void {
  try {
    thenable.then(undefined, () => {});
  } catch {
    // a thenable whose then() throws rejects nothing
  }
}
