/**
 * What a `ServiceRunner` rolls back from: the state as of its latest
 * snapshot or restore (the initial state before any), and the batches
 * executed since. Services are deterministic, so decoding the base and
 * replaying those batches, without the requests that failed, gives back
 * exactly the state a failed request found.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * A state file held open by descriptor: it stays readable, unchanged, after
 * its path is deleted (the replica drops checkpoint images on its own
 * schedule), on POSIX and on Windows, where Node opens files with
 * FILE_SHARE_DELETE. In a worker thread Node closes it when the worker ends
 * (`trackUnmanagedFds`); elsewhere the owner calls {@link close}.
 * Synchronous, like every state file read on the executor's thread.
 */
export class OpenStateFile {
  readonly #fd: number;
  #open = true;

  /** Opens `path` for reading; throws what `openSync` throws (ENOENT, say). */
  constructor(readonly path: string) {
    this.#fd = openSync(path, 'r');
  }

  /** The whole file, in a buffer of its own. */
  whole(): Uint8Array {
    const bytes = new Uint8Array(this.#size());
    this.#read(bytes, 0);
    return bytes;
  }

  /**
   * The file as pieces of `pieceBytes` (the last one shorter), each in a
   * buffer of its own, read from the start as the iteration asks for them.
   * Every call reads the file anew.
   */
  *pieces(pieceBytes: number): Generator<Uint8Array, void, undefined> {
    const size = this.#size();
    for (let at = 0; at < size; ) {
      const piece = new Uint8Array(Math.min(pieceBytes, size - at));
      this.#read(piece, at);
      at += piece.length;
      yield piece;
    }
  }

  /** Idempotent. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    closeSync(this.#fd);
  }

  #size(): number {
    if (!this.#open) throw new Error(`state file ${this.path} is closed`);
    return fstatSync(this.#fd).size;
  }

  /** Fills `into` from `position`: positional reads, so nothing depends on where an earlier read stopped. */
  #read(into: Uint8Array, position: number): void {
    for (let at = 0; at < into.length; ) {
      const read = readSync(this.#fd, into, at, into.length - at, position + at);
      if (read === 0) throw new Error(`state file ${this.path} shrank while read`);
      at += read;
    }
  }
}

/**
 * Where the state is rebuilt from: `initialState()`, a private copy of an
 * encoding the runner produced or was given, or a state file it wrote or
 * restored from, held open.
 */
export type StateBase =
  | { readonly kind: 'initial' }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly what: string }
  | { readonly kind: 'file'; readonly file: OpenStateFile; readonly pieceBytes: number; readonly what: string };

/** A batch executed since the base: replayed, but for its `failed` requests, by a rollback. */
export interface KeptBatch {
  readonly seq: number;
  /** The encoded requests, owned by the runner: nobody changes or reuses them. */
  readonly operations: readonly Uint8Array[];
  /** Indices (ascending) of the requests that failed, and left the state as it was. */
  readonly failed: readonly number[];
}

/** Bytes a kept request is counted for on top of its own, for its view and slot in the batch. */
export const KEPT_REQUEST_OVERHEAD_BYTES = 64;
