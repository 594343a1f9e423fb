/**
 * A checkpoint image a replica keeps in memory to serve (docs/STATE-TRANSFER.md
 * S1, S3): its client-table and service-state parts and the manifest that
 * describes them, chunk by chunk.
 */
import { assert } from '../core/assert.js';
import type { Digest } from '../core/ids.js';
import type { CheckpointManifest } from '../core/messages.js';
import { assertChunkCount, chunkDigests, chunkPlace } from './chunks.js';

/** The two parts of a checkpoint's state and their manifest. Immutable. */
export class CheckpointImage {
  /**
   * The image of `clientTable` and `serviceState` as `manifest` describes
   * them; asserts that its sizes and chunk count match the parts.
   */
  constructor(
    readonly manifest: CheckpointManifest,
    readonly clientTable: Uint8Array,
    readonly serviceState: Uint8Array,
  ) {
    assert(
      manifest.clientTableBytes === clientTable.length && manifest.serviceStateBytes === serviceState.length,
      'manifest sizes differ from the image parts',
    );
    assertChunkCount(manifest, 'an image');
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
    const manifest = imageManifest(clientTable, serviceState.length, serviceStateDigests, chunkBytes);
    return new CheckpointImage(manifest, clientTable, serviceState);
  }

  /** Chunk `index` as a view into its part (no copy), or undefined if there is no such chunk. */
  chunk(index: number): Uint8Array | undefined {
    const place = chunkPlace(this.manifest, index);
    if (place === undefined) return undefined;
    const part = place.inClientTable ? this.clientTable : this.serviceState;
    return part.subarray(place.offset, place.offset + place.length);
  }
}

/** The manifest of a checkpoint taken here: `clientTable`'s chunk digests, then the service state's. */
export function imageManifest(
  clientTable: Uint8Array,
  serviceStateBytes: number,
  serviceStateDigests: readonly Digest[],
  chunkBytes: number,
): CheckpointManifest {
  return {
    chunkBytes,
    clientTableBytes: clientTable.length,
    serviceStateBytes,
    chunkDigests: [...chunkDigests(clientTable, chunkBytes), ...serviceStateDigests],
  };
}
