/**
 * How a checkpoint image is cut into chunks (docs/STATE-TRANSFER.md): each
 * of its two parts, the client table and the service state, is split into
 * `chunkBytes` pieces from its start, the last one possibly shorter; an empty
 * part has no chunks. Every chunk is named by its SHA-256 digest.
 */
import { createHash } from 'node:crypto';
import { assert } from '../core/assert.js';
import type { Digest } from '../core/ids.js';
import type { CheckpointManifest } from '../core/messages.js';

/** SHA-256 of one chunk: the digest a manifest lists for it and receivers check it against. */
export function chunkDigest(bytes: Uint8Array): Digest {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** The number of chunks of a part of `partBytes` bytes. */
export function chunkCount(partBytes: number, chunkBytes: number): number {
  assert(Number.isSafeInteger(chunkBytes) && chunkBytes > 0, `chunk size ${chunkBytes} is not a positive integer`);
  return Math.ceil(partBytes / chunkBytes);
}

/** Chunk `index` of `part`, a view (no copy); `index` must be below its chunk count. */
export function chunkOf(part: Uint8Array, chunkBytes: number, index: number): Uint8Array {
  assert(Number.isInteger(index) && index >= 0 && index < chunkCount(part.length, chunkBytes), `no chunk ${index}`);
  return part.subarray(index * chunkBytes, Math.min((index + 1) * chunkBytes, part.length));
}

/** The digests of every chunk of `part`, in order. */
export function chunkDigests(part: Uint8Array, chunkBytes: number): Digest[] {
  const digests: Digest[] = [];
  const count = chunkCount(part.length, chunkBytes);
  for (let i = 0; i < count; i++) digests.push(chunkDigest(chunkOf(part, chunkBytes, i)));
  return digests;
}

/** Asserts that `manifest` lists one digest per chunk of its two parts (`what` names the image in the message). */
export function assertChunkCount(manifest: CheckpointManifest, what: string): void {
  const { chunkBytes, clientTableBytes, serviceStateBytes, chunkDigests } = manifest;
  const expected = chunkCount(clientTableBytes, chunkBytes) + chunkCount(serviceStateBytes, chunkBytes);
  assert(chunkDigests.length === expected, `manifest of ${what} lists ${chunkDigests.length} chunks, not ${expected}`);
}

/** Where a chunk lies in its image: in which part, from which offset of that part, and its size. */
export interface ChunkPlace {
  readonly inClientTable: boolean;
  readonly offset: number;
  readonly length: number;
}

/** The place of chunk `index` of the image `manifest` describes, or undefined if it has no such chunk. */
export function chunkPlace(manifest: CheckpointManifest, index: number): ChunkPlace | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= manifest.chunkDigests.length) return undefined;
  const { chunkBytes, clientTableBytes, serviceStateBytes } = manifest;
  const clientTableChunks = chunkCount(clientTableBytes, chunkBytes);
  const inClientTable = index < clientTableChunks;
  const offset = (inClientTable ? index : index - clientTableChunks) * chunkBytes;
  const length = Math.min(chunkBytes, (inClientTable ? clientTableBytes : serviceStateBytes) - offset);
  return { inClientTable, offset, length };
}

/**
 * Cuts a stream of pieces of any sizes into `chunkBytes` chunks and hashes
 * each, as {@link chunkDigests} would hash the pieces' concatenation. Each
 * chunk goes to `onChunk` before the next piece is taken: a view into the
 * piece when it holds a whole chunk from a chunk boundary, else into one
 * staging buffer of `chunkBytes`, reused. Nothing else is kept.
 */
export class ChunkSplitter {
  readonly #chunkBytes: number;
  readonly #onChunk: (chunk: Uint8Array) => void;
  readonly #digests: Digest[] = [];
  #bytes = 0;
  /** Allocated when a chunk straddles pieces. */
  #staged: Uint8Array | undefined;
  #stagedBytes = 0;

  constructor(chunkBytes: number, onChunk: (chunk: Uint8Array) => void = () => {}) {
    assert(Number.isSafeInteger(chunkBytes) && chunkBytes > 0, `chunk size ${chunkBytes} is not a positive integer`);
    this.#chunkBytes = chunkBytes;
    this.#onChunk = onChunk;
  }

  /** Takes the next piece; it is not kept, so its buffer may be reused once this returns. */
  push(piece: Uint8Array): void {
    const chunkBytes = this.#chunkBytes;
    let at = 0;
    while (at < piece.length) {
      if (this.#stagedBytes === 0 && piece.length - at >= chunkBytes) {
        this.#emit(piece.subarray(at, at + chunkBytes));
        at += chunkBytes;
        continue;
      }
      this.#staged ??= new Uint8Array(chunkBytes);
      const taken = Math.min(chunkBytes - this.#stagedBytes, piece.length - at);
      this.#staged.set(piece.subarray(at, at + taken), this.#stagedBytes);
      this.#stagedBytes += taken;
      at += taken;
      if (this.#stagedBytes === chunkBytes) {
        this.#emit(this.#staged);
        this.#stagedBytes = 0;
      }
    }
  }

  /** Emits the last, shorter chunk if any; returns the total size and every chunk's digest, in order. */
  end(): { bytes: number; chunkDigests: Digest[] } {
    if (this.#stagedBytes > 0) this.#emit((this.#staged as Uint8Array).subarray(0, this.#stagedBytes));
    this.#stagedBytes = 0;
    return { bytes: this.#bytes, chunkDigests: this.#digests };
  }

  #emit(chunk: Uint8Array): void {
    this.#digests.push(chunkDigest(chunk));
    this.#bytes += chunk.length;
    this.#onChunk(chunk);
  }
}
