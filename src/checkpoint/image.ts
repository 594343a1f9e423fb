/**
 * A checkpoint image a replica keeps to serve (docs/STATE-TRANSFER.md S1,
 * S3): its client-table and service-state parts and the manifest that
 * describes them, chunk by chunk.
 */
import { assert } from '../core/assert.js';
import type { Digest } from '../core/ids.js';
import type { CheckpointManifest } from '../core/messages.js';
import { chunkCount, chunkDigests, chunkOf } from './chunks.js';

/** The two parts of a checkpoint's state and their manifest. Immutable. */
export class CheckpointImage {
  /** Chunks of the client-table part; the service-state chunks follow them. */
  private readonly clientTableChunks: number;

  /**
   * The image of `clientTable` and `serviceState` as `manifest` describes
   * them; asserts that its sizes and chunk count match the parts.
   */
  constructor(
    readonly manifest: CheckpointManifest,
    readonly clientTable: Uint8Array,
    readonly serviceState: Uint8Array,
  ) {
    const { chunkBytes } = manifest;
    assert(
      manifest.clientTableBytes === clientTable.length && manifest.serviceStateBytes === serviceState.length,
      'manifest sizes differ from the image parts',
    );
    this.clientTableChunks = chunkCount(clientTable.length, chunkBytes);
    assert(
      manifest.chunkDigests.length === this.clientTableChunks + chunkCount(serviceState.length, chunkBytes),
      'manifest chunk count differs from the image parts',
    );
  }

  /**
   * Builds the image of a checkpoint taken here: hashes the client-table
   * chunks and takes the service state's chunk digests as computed by the
   * executor, off the protocol loop.
   */
  static build(
    clientTable: Uint8Array,
    serviceState: Uint8Array,
    serviceStateDigests: readonly Digest[],
    chunkBytes: number,
  ): CheckpointImage {
    const manifest: CheckpointManifest = {
      chunkBytes,
      clientTableBytes: clientTable.length,
      serviceStateBytes: serviceState.length,
      chunkDigests: [...chunkDigests(clientTable, chunkBytes), ...serviceStateDigests],
    };
    return new CheckpointImage(manifest, clientTable, serviceState);
  }

  /** Chunk `index` as a view into its part (no copy), or undefined if there is no such chunk. */
  chunk(index: number): Uint8Array | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.manifest.chunkDigests.length) return undefined;
    const { chunkBytes } = this.manifest;
    return index < this.clientTableChunks
      ? chunkOf(this.clientTable, chunkBytes, index)
      : chunkOf(this.serviceState, chunkBytes, index - this.clientTableChunks);
  }
}
