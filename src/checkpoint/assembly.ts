/**
 * A checkpoint image being fetched (docs/STATE-TRANSFER.md S10, S12): the
 * core hands over each chunk once it has checked it against the manifest,
 * and the assembly copies it into place, so the chunks never exist twice.
 */
import { assert } from '../core/assert.js';
import type { CheckpointManifest } from '../core/messages.js';
import type { SeqNo } from '../core/ordering.js';
import { chunkCount } from './chunks.js';
import { CheckpointImage } from './image.js';

interface Parts {
  readonly clientTable: Uint8Array;
  readonly serviceState: Uint8Array;
}

/** Collects the chunks of checkpoint `seq`'s image into its two parts. */
export class CheckpointAssembly {
  private readonly clientTableChunks: number;
  private readonly stored: boolean[];
  private storedCount = 0;
  /** Allocated on the first chunk: an assembly that never receives one costs nothing. */
  private parts: Parts | undefined;

  /** `manifest` is one the core accepted: its chunk count matches its sizes. */
  constructor(
    readonly seq: SeqNo,
    readonly manifest: CheckpointManifest,
  ) {
    const { chunkBytes, clientTableBytes, serviceStateBytes, chunkDigests } = manifest;
    this.clientTableChunks = chunkCount(clientTableBytes, chunkBytes);
    assert(
      chunkDigests.length === this.clientTableChunks + chunkCount(serviceStateBytes, chunkBytes),
      `manifest of checkpoint ${seq} lists the wrong number of chunks`,
    );
    this.stored = new Array<boolean>(chunkDigests.length).fill(false);
  }

  /** Whether every chunk is stored. */
  get complete(): boolean {
    return this.storedCount === this.stored.length;
  }

  /**
   * Copies chunk `index` into its place. The core checked `bytes` against the
   * manifest's digest, which a quorum vouches for, so a chunk that does not
   * fit, or comes twice, is a local bug.
   */
  store(index: number, bytes: Uint8Array): void {
    assert(this.stored[index] === false, `chunk ${index} of checkpoint ${this.seq} is not expected`);
    this.parts ??= {
      clientTable: new Uint8Array(this.manifest.clientTableBytes),
      serviceState: new Uint8Array(this.manifest.serviceStateBytes),
    };
    const inClientTable = index < this.clientTableChunks;
    const part = inClientTable ? this.parts.clientTable : this.parts.serviceState;
    const offset = (inClientTable ? index : index - this.clientTableChunks) * this.manifest.chunkBytes;
    assert(
      bytes.length === Math.min(this.manifest.chunkBytes, part.length - offset),
      `chunk ${index} of checkpoint ${this.seq} has ${bytes.length} bytes, not its size`,
    );
    part.set(bytes, offset);
    this.stored[index] = true;
    this.storedCount++;
  }

  /** The assembled image; asserts that every chunk is stored. */
  image(): CheckpointImage {
    assert(this.complete, `checkpoint ${this.seq} is missing chunks`);
    const parts = this.parts ?? { clientTable: new Uint8Array(0), serviceState: new Uint8Array(0) };
    return new CheckpointImage(this.manifest, parts.clientTable, parts.serviceState);
  }
}
