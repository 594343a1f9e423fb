/**
 * A checkpoint image's manifest (docs/STATE-TRANSFER.md): the empty one,
 * and the limits a manifest another replica sent must keep [S7].
 */
import type { CheckpointManifest } from './messages.js';
import type { PeerFault } from './rejection.js';

/** The manifest of an empty image: the initial state's, and what a summary without an image carries [S6]. */
export function emptyManifest(chunkBytes: number): CheckpointManifest {
  return { chunkBytes, clientTableBytes: 0, serviceStateBytes: 0, chunkDigests: [] };
}

/** Why a manifest cannot describe an image within the limits, or undefined. */
export function manifestProblem(manifest: CheckpointManifest, chunkBytes: number, checkpointBytesMax: number): PeerFault | undefined {
  const { clientTableBytes, serviceStateBytes, chunkDigests } = manifest;
  if (manifest.chunkBytes !== chunkBytes) return 'manifest-chunk-size';
  if (clientTableBytes + serviceStateBytes > checkpointBytesMax) return 'manifest-too-large';
  const expected = Math.ceil(clientTableBytes / chunkBytes) + Math.ceil(serviceStateBytes / chunkBytes);
  if (chunkDigests.length !== expected) return 'manifest-chunk-count';
  return undefined;
}
