/**
 * Service-state files of checkpoint images (`ReplicaOptions.checkpointDir`).
 * The executor's worker writes and reads them synchronously: that thread
 * only runs the service, and a snapshot must end before the next batch
 * changes the state. The protocol loop only uses the asynchronous
 * {@link readRange} and {@link writeRange}.
 */
import { closeSync, fstatSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** A new state file written from its start, on the worker's thread. */
export class StateFileWriter {
  readonly #fd: number;
  #open = true;

  /** Creates `path`, which must not exist yet. */
  constructor(readonly path: string) {
    this.#fd = openSync(path, 'wx');
  }

  /** Appends `bytes`, which may be reused once this returns. */
  write(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) at += writeSync(this.#fd, bytes, at, bytes.length - at);
  }

  close(): void {
    this.#open = false;
    closeSync(this.#fd);
  }

  /** Closes (if still open) and deletes a file that will not be completed. */
  discard(): void {
    if (this.#open) this.close();
    rmSync(this.path, { force: true });
  }
}

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

/** `length` bytes of `file` from `position`, in a new buffer; rejects if the file ends before. */
export async function readRange(file: FileHandle, length: number, position: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; ) {
    const { bytesRead } = await file.read(bytes, at, length - at, position + at);
    if (bytesRead === 0) throw new Error(`state file ends before byte ${position + length}`);
    at += bytesRead;
  }
  return bytes;
}

/** Writes all of `bytes` into `file` at `position`. */
export async function writeRange(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, at, bytes.length - at, position + at);
    at += bytesWritten;
  }
}
