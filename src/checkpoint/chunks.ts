/**
 * How a checkpoint image is cut into chunks (docs/STATE-TRANSFER.md): each
 * of its two parts, the client table and the service state, is split into
 * `chunkBytes` pieces from its start, the last one possibly shorter; an empty
 * part has no chunks. Every chunk is named by its SHA-256 digest.
 */
import { createHash } from 'node:crypto';
import { assert } from '../core/assert.js';
import type { Digest } from '../core/ids.js';

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
