/**
 * Fuzz target: the stream framing (`FrameDecoder`, src/net/framing.ts),
 * the first thing that reads a peer's bytes. A stream is a list of frames
 * (captured messages, mutants of them, heartbeats) encoded with
 * `encodeFrames`, optionally damaged (the byte mutations of mutate.ts), then
 * cut into chunks anywhere, as TCP delivers it.
 *
 * Properties:
 * - the only error is FrameTooLargeError (its documented one);
 * - no payload is longer than maxFrameBytes, and no more than
 *   maxFrameBytes (plus the stream's own size) is allocated whatever a
 *   length prefix claims;
 * - chunking does not matter: the payloads yielded, and whether and after
 *   which payload it throws, are those of feeding the stream in one chunk;
 * - an undamaged stream of frames within the limit yields exactly its
 *   payloads, heartbeats as empty ones.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesEqual } from '../../src/core/ids.js';
import { encodeFrames, FrameDecoder, FrameTooLargeError } from '../../src/net/framing.js';
import { withinBounds } from './bounds.js';
import { reporting } from './failure.js';
import { applyMutant, mutantArbitrary, type Mutant } from './mutate.js';
import { allMessages, simCorpus } from './sim-corpus.js';
import type { FuzzTarget } from './target.js';

export interface FrameCase {
  /** Indexes of captured messages; -1 is a heartbeat. */
  readonly payloads: readonly number[];
  /** A mutation of the whole encoded stream, or none. */
  readonly damage: Mutant | null;
  readonly maxFrameBytes: number;
  /** Chunk boundaries, as positions taken modulo the stream's length. */
  readonly cuts: readonly number[];
}

interface Outcome {
  readonly payloads: Uint8Array[];
  /** The error's length field, or undefined if the stream was consumed. */
  readonly tooLarge: number | undefined;
}

let inputs: Uint8Array[] | undefined;
const corpus = (): Uint8Array[] => (inputs ??= allMessages(simCorpus()).map((e) => e.bytes));

export const frameDecoderTarget: FuzzTarget<FrameCase> = {
  name: 'frame-decoder',
  weight: 15,
  testRuns: 1500,
  arbitrary: () => {
    const size = corpus().length;
    return fc.record({
      payloads: fc.array(fc.integer({ min: -1, max: size - 1 }), { maxLength: 6 }),
      damage: fc.option(mutantArbitrary(1), { freq: 2 }),
      maxFrameBytes: fc.oneof(fc.constantFrom(0, 1, 2, 64, 1024, 64 * 1024, 16 * 1024 * 1024), fc.nat({ max: 4096 })),
      cuts: fc.array(fc.nat({ max: 0xffff }), { maxLength: 8 }),
    });
  },
  check: (c) => {
    const all = corpus();
    const payloads = c.payloads.map((i) => (i < 0 ? new Uint8Array(0) : (all[i] as Uint8Array)));
    const clean = encodeFrames(payloads);
    const stream = c.damage === null ? clean : applyMutant({ ...c.damage, base: 0 }, [clean]);
    reporting(stream, { maxFrameBytes: c.maxFrameBytes, cuts: c.cuts }, () => {
      const whole = feed(stream, [], c.maxFrameBytes);
      const cut = feed(stream, c.cuts, c.maxFrameBytes);
      assert.deepStrictEqual(cut.tooLarge, whole.tooLarge, 'chunking changed whether the stream fails');
      assert.equal(cut.payloads.length, whole.payloads.length, 'chunking changed the number of payloads');
      cut.payloads.forEach((p, i) => assert.ok(bytesEqual(p, whole.payloads[i] as Uint8Array), `chunking changed payload ${i}`));
      for (const p of whole.payloads) assert.ok(p.length <= c.maxFrameBytes, `a payload of ${p.length} bytes > maxFrameBytes`);
      if (c.damage === null && payloads.every((p) => p.length <= c.maxFrameBytes)) {
        assert.equal(whole.tooLarge, undefined, 'frames within the limit were refused');
        assert.equal(whole.payloads.length, payloads.length, 'payloads lost or invented');
        whole.payloads.forEach((p, i) => assert.ok(bytesEqual(p, payloads[i] as Uint8Array), `payload ${i} differs`));
      }
    });
  },
};

/** Feeds `stream` to a fresh decoder in the chunks `cuts` make; copies each payload (views die with their chunk). */
function feed(stream: Uint8Array, cuts: readonly number[], maxFrameBytes: number): Outcome {
  const bounds = [...new Set(cuts.map((p) => p % (stream.length + 1)))].sort((a, b) => a - b);
  const decoder = new FrameDecoder(maxFrameBytes);
  const payloads: Uint8Array[] = [];
  let at = 0;
  try {
    // By design a frame's buffer is allocated from its length prefix, once that is checked against the limit;
    // the chunk and payload copies here take twice the stream.
    withinBounds('FrameDecoder.feed', maxFrameBytes + 2 * stream.length, () => {
      for (const end of [...bounds, stream.length]) {
        // A copy per chunk, as a socket hands out fresh buffers.
        for (const payload of decoder.feed(stream.slice(at, end))) payloads.push(new Uint8Array(payload));
        at = end;
      }
    });
  } catch (error) {
    if (!(error instanceof FrameTooLargeError)) throw error;
    assert.ok(error.length > maxFrameBytes, 'FrameTooLargeError for a frame within the limit');
    return { payloads, tooLarge: error.length };
  }
  return { payloads, tooLarge: undefined };
}
