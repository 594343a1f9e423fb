/**
 * A checkpoint's state digest (docs/STATE-TRANSFER.md): SHA-256 over a
 * domain prefix and the manifest's canonical encoding, so the digest a
 * quorum signs in CHECKPOINT messages pins every chunk's digest.
 */
import { createHash } from 'node:crypto';
import type { Digest } from '../core/ids.js';
import type { CheckpointManifest } from '../core/messages.js';
import { encodeManifest } from '../wire/codec.js';

const MANIFEST_DOMAIN = new TextEncoder().encode('bafomet/checkpoint-manifest/v1');

export function manifestDigest(manifest: CheckpointManifest): Digest {
  return new Uint8Array(createHash('sha256').update(MANIFEST_DOMAIN).update(encodeManifest(manifest)).digest());
}
