/**
 * Checkpoint images whose service-state part is a file in the replica's
 * `checkpointDir` (docs/STATE-TRANSFER.md S3, S10, S12), read and written
 * asynchronously so the protocol loop never waits on the disk. The
 * client-table part stays in memory: the core holds the client table itself
 * in memory, its encoding is bounded by `clientSessionsMax` entries, and
 * only the service state grows with the application.
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import { assert } from '../core/assert.js';
import type { Digest } from '../core/ids.js';
import type { CheckpointManifest } from '../core/messages.js';
import type { SeqNo } from '../core/ordering.js';
import { StoredChunks } from './assembly.js';
import { assertChunkCount, chunkPlace } from './chunks.js';
import { imageManifest } from './image.js';
import { readRange, writeRange } from './state-file.js';

/** A kept image served from its file; it owns the file and deletes it when released. */
export class FileImage {
  /** Opened on the first read: most images are never served. */
  #file: Promise<FileHandle> | undefined;
  #reads = 0;
  #drained: (() => void) | undefined;
  #released: Promise<void> | undefined;

  /** The image `manifest` describes, its service state in the file at `path`; asserts the sizes. */
  constructor(
    readonly manifest: CheckpointManifest,
    readonly clientTable: Uint8Array,
    readonly path: string,
  ) {
    assert(manifest.clientTableBytes === clientTable.length, 'manifest size differs from the client-table part');
    assertChunkCount(manifest, 'an image');
  }

  /**
   * The image of a checkpoint taken here: `clientTable`, and the service
   * state the executor wrote to `path` with its size and chunk digests.
   */
  static build(
    clientTable: Uint8Array,
    path: string,
    serviceStateBytes: number,
    serviceStateDigests: readonly Digest[],
    chunkBytes: number,
  ): FileImage {
    return new FileImage(imageManifest(clientTable, serviceStateBytes, serviceStateDigests, chunkBytes), clientTable, path);
  }

  /**
   * Chunk `index`: a view into the client table, or a new buffer read from
   * the file; undefined if there is no such chunk or the image is released.
   * Rejects if the file cannot be read.
   */
  async chunk(index: number): Promise<Uint8Array | undefined> {
    const place = chunkPlace(this.manifest, index);
    if (place === undefined || this.#released !== undefined) return undefined;
    if (place.inClientTable) return this.clientTable.subarray(place.offset, place.offset + place.length);
    this.#reads++;
    try {
      this.#file ??= open(this.path, 'r');
      return await readRange(await this.#file, place.length, place.offset);
    } finally {
      if (--this.#reads === 0) this.#drained?.();
    }
  }

  /**
   * No longer kept: serves nothing more, and deletes the file once the
   * reads in flight end — unless `deleteFile` is false (a data directory
   * keeps it for the next start). Idempotent: the first call decides.
   */
  release(deleteFile = true): Promise<void> {
    this.#released ??= this.#release(deleteFile);
    return this.#released;
  }

  async #release(deleteFile: boolean): Promise<void> {
    if (this.#reads > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    // A file that failed to open has nothing to close.
    const file = await this.#file?.catch(() => undefined);
    await file?.close();
    if (deleteFile) await rm(this.path, { force: true });
  }
}

/**
 * A checkpoint image being fetched into a file: each verified chunk is
 * written at its offset as it arrives, at most `writesMax` at a time (the
 * caller takes no chunk while {@link full}), so a disk slower than the
 * network costs retransmitted chunks, not memory.
 */
export class FileAssembly {
  readonly #chunks: StoredChunks;
  readonly #clientTable: Uint8Array;
  /** Undefined if it could not be created: the failure is kept for finish(). */
  readonly #file: Promise<FileHandle | undefined>;
  #writes = 0;
  #drained: (() => void) | undefined;
  /** The first I/O error: the image cannot be completed. */
  #failure: { readonly error: unknown } | undefined;
  #closed: Promise<void> | undefined;

  /** Creates the file at `path` (which must not exist) for checkpoint `seq`'s image that `manifest` describes. */
  constructor(
    readonly seq: SeqNo,
    readonly manifest: CheckpointManifest,
    readonly path: string,
    private readonly writesMax: number,
  ) {
    assert(Number.isSafeInteger(writesMax) && writesMax > 0, `writes in flight must be positive, not ${writesMax}`);
    this.#chunks = new StoredChunks(seq, manifest);
    this.#clientTable = new Uint8Array(manifest.clientTableBytes);
    // Created at once, so that an image without service-state chunks has its (empty) file too.
    this.#file = open(path, 'wx').catch((error: unknown) => {
      this.#failure ??= { error };
      return undefined;
    });
  }

  /** Whether every chunk is stored. */
  get complete(): boolean {
    return this.#chunks.complete;
  }

  /** Whether `writesMax` writes are in flight: take no chunk until one ends. */
  get full(): boolean {
    return this.#writes >= this.writesMax;
  }

  /**
   * Keeps chunk `index`: copied into the client table, or written to the
   * file at its offset (`bytes` is held until then, not copied). Asserts
   * that the assembly is not full, and what {@link StoredChunks.take} does.
   */
  store(index: number, bytes: Uint8Array): void {
    assert(!this.full, `chunk ${index} of checkpoint ${this.seq} arrived with ${this.#writes} writes in flight`);
    const place = this.#chunks.take(index, bytes);
    if (place.inClientTable) {
      this.#clientTable.set(bytes, place.offset);
      return;
    }
    this.#writes++;
    void this.#write(bytes, place.offset);
  }

  /**
   * Every chunk is stored: once written and the file closed, the image,
   * which owns the file from then on. Rejects with the first I/O error,
   * after deleting the file.
   */
  async finish(): Promise<FileImage> {
    assert(this.complete, `checkpoint ${this.seq} is missing chunks`);
    await this.#close();
    if (this.#failure !== undefined) {
      await rm(this.path, { force: true });
      throw this.#failure.error;
    }
    return new FileImage(this.manifest, this.#clientTable, this.path);
  }

  /** The core moved on to another checkpoint [S11]: deletes the file once the writes in flight end. */
  async abandon(): Promise<void> {
    await this.#close();
    await rm(this.path, { force: true });
  }

  async #write(bytes: Uint8Array, position: number): Promise<void> {
    try {
      const file = await this.#file;
      if (file !== undefined && this.#failure === undefined) await writeRange(file, bytes, position);
    } catch (error) {
      this.#failure ??= { error };
    } finally {
      if (--this.#writes === 0) this.#drained?.();
    }
  }

  #close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#writes > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      await (await this.#file)?.close();
    })();
    return this.#closed;
  }
}
