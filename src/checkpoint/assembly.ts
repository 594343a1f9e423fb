/**
 * A checkpoint image being fetched into memory (docs/STATE-TRANSFER.md S10,
 * S12): the core hands over each chunk once it has checked it against the
 * manifest, and the assembly copies it into place, so the chunks never exist
 * twice. `FileAssembly` is the same into a file.
 */
import { assert } from '../core/assert.js';
import type { CheckpointManifest } from '../core/messages.js';
import type { SeqNo } from '../core/ordering.js';
import { assertChunkCount, chunkPlace, type ChunkPlace } from './chunks.js';
import { CheckpointImage } from './image.js';

interface Parts {
  readonly clientTable: Uint8Array;
  readonly serviceState: Uint8Array;
}

/**
 * Which chunks of an image arrived: the bookkeeping both assemblies share.
 * The core checked every chunk against the manifest, which a quorum vouches
 * for, so a chunk that does not fit, or comes twice, is a local bug.
 */
export class StoredChunks {
  private readonly stored: boolean[];
  private storedCount = 0;

  /** `manifest` is one the core accepted: its chunk count matches its sizes. */
  constructor(
    readonly seq: SeqNo,
    readonly manifest: CheckpointManifest,
  ) {
    assertChunkCount(manifest, `checkpoint ${seq}`);
    this.stored = new Array<boolean>(manifest.chunkDigests.length).fill(false);
  }

  /** Whether every chunk is stored. */
  get complete(): boolean {
    return this.storedCount === this.stored.length;
  }

  /** Records chunk `index` of `bytes` bytes and returns where it goes; asserts it is expected and of its size. */
  take(index: number, bytes: Uint8Array): ChunkPlace {
    const place = chunkPlace(this.manifest, index);
    assert(place !== undefined && this.stored[index] === false, `chunk ${index} of checkpoint ${this.seq} is not expected`);
    assert(bytes.length === place.length, `chunk ${index} of checkpoint ${this.seq} has ${bytes.length} bytes, not ${place.length}`);
    this.stored[index] = true;
    this.storedCount++;
    return place;
  }
}

/** Collects the chunks of checkpoint `seq`'s image into its two parts in memory. */
export class CheckpointAssembly {
  private readonly chunks: StoredChunks;
  /** Allocated on the first chunk: an assembly that never receives one costs nothing. */
  private parts: Parts | undefined;

  /** `manifest` is one the core accepted: its chunk count matches its sizes. */
  constructor(
    readonly seq: SeqNo,
    readonly manifest: CheckpointManifest,
  ) {
    this.chunks = new StoredChunks(seq, manifest);
  }

  /** Whether every chunk is stored. */
  get complete(): boolean {
    return this.chunks.complete;
  }

  /** Copies chunk `index` into its place (see {@link StoredChunks.take} for what it asserts). */
  store(index: number, bytes: Uint8Array): void {
    const place = this.chunks.take(index, bytes);
    this.parts ??= {
      clientTable: new Uint8Array(this.manifest.clientTableBytes),
      serviceState: new Uint8Array(this.manifest.serviceStateBytes),
    };
    (place.inClientTable ? this.parts.clientTable : this.parts.serviceState).set(bytes, place.offset);
  }

  /** The assembled image; asserts that every chunk is stored. */
  image(): CheckpointImage {
    assert(this.complete, `checkpoint ${this.seq} is missing chunks`);
    const parts = this.parts ?? { clientTable: new Uint8Array(0), serviceState: new Uint8Array(0) };
    return new CheckpointImage(this.manifest, parts.clientTable, parts.serviceState);
  }
}
