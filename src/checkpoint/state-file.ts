/**
 * Service-state files of checkpoint images (`ReplicaOptions.checkpointDir`).
 * The executor's worker writes and reads them synchronously: that thread
 * only runs the service, and a snapshot must end before the next batch
 * changes the state. The protocol loop only uses the asynchronous
 * {@link readRange} and {@link writeRange}.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
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
 * The bytes of the file at `path` as pieces of `pieceBytes` (the last one
 * shorter), each in a buffer of its own, read as the iteration asks for
 * them. The file is closed when the iteration ends or is abandoned.
 */
export function* readStatePieces(path: string, pieceBytes: number): Generator<Uint8Array, void, undefined> {
  const fd = openSync(path, 'r');
  try {
    for (let left = fstatSync(fd).size; left > 0; ) {
      const piece = new Uint8Array(Math.min(pieceBytes, left));
      for (let at = 0; at < piece.length; ) {
        const read = readSync(fd, piece, at, piece.length - at, null);
        if (read === 0) throw new Error(`state file ${path} shrank while read`);
        at += read;
      }
      left -= piece.length;
      yield piece;
    }
  } finally {
    closeSync(fd);
  }
}

/** The whole file at `path`, as a plain Uint8Array. */
export function readStateFile(path: string): Uint8Array {
  const bytes = readFileSync(path);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
