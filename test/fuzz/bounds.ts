/**
 * Cost bounds for decoding untrusted input: a decoder must finish quickly
 * and must not allocate memory sized by what the input claims (docs/WIRE.md,
 * "lengths and counts are checked ... before anything is done with them").
 *
 * Time is bounded generously (a loaded 2-core machine pauses for GC): the
 * bound catches a hang or a quadratic loop, not a slow case. Allocation is
 * measured with `process.memoryUsage().arrayBuffers` around the call: every
 * byte array of more than a few dozen bytes lives outside the JS heap and is
 * counted there, so a 100-byte input that makes the decoder allocate the
 * 4 GiB its length field claims (or 1 MiB) shows, while a decoder that only
 * copies digests and signatures out of its input stays within the input's
 * own size.
 */
import assert from 'node:assert/strict';

/** A decode of an input of a few KiB taking this long is a hang, not noise. */
export const DECODE_MS_MAX = 1_000;
/** Allocation any call may make regardless of its input (pools, small buffers). */
export const ALLOCATION_SLACK_BYTES = 64 * 1024;

/**
 * Runs `decode` and asserts it took at most DECODE_MS_MAX and allocated at
 * most `bytesMax` + ALLOCATION_SLACK_BYTES of array buffers. `what` names
 * the input in the failure message.
 */
export function withinBounds<T>(what: string, bytesMax: number, decode: () => T): T {
  const before = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  const value = decode();
  const ms = performance.now() - start;
  const allocated = process.memoryUsage().arrayBuffers - before;
  assert.ok(ms <= DECODE_MS_MAX, `${what}: took ${ms.toFixed(1)} ms (> ${DECODE_MS_MAX} ms)`);
  assert.ok(
    allocated <= bytesMax + ALLOCATION_SLACK_BYTES,
    `${what}: allocated ${allocated} bytes of array buffers (> ${bytesMax} + ${ALLOCATION_SLACK_BYTES})`,
  );
  return value;
}
