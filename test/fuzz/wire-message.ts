/**
 * Fuzz target: the message decoder (`decodeMessage`) and the oversized
 * request peek (`oversizedRequest`), src/wire/codec.ts, on frames a
 * Byzantine peer could send: valid frames captured from the simulator,
 * mutants of them, random bodies behind a valid header, random bytes, and
 * valid frames against limits tightened to an edge.
 *
 * Properties (docs/WIRE.md, "Decoding untrusted input"):
 * - neither function throws, and each finishes within the time and
 *   allocation bounds of test/fuzz/bounds.ts (no allocation sized by a
 *   claimed length);
 * - the encoding is canonical: whatever decodes re-encodes (without an
 *   assertion failing) to exactly the input bytes;
 * - every captured frame decodes, and decode(encode(m)) deep-equals m;
 * - a frame a peek (`oversizedRequest`, `oversizedReadRequest`) reports as
 *   oversized is one decodeMessage refuses as `request-too-large`, with an
 *   operation above requestBytesMax.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesEqual } from '../../src/core/ids.js';
import { decodeMessage, encodeMessage, oversizedReadRequest, oversizedRequest, type WireLimits } from '../../src/wire/codec.js';
import { withinBounds } from './bounds.js';
import { reporting } from './failure.js';
import { applyMutant, mutantArbitrary, type Mutant } from './mutate.js';
import { allMessages, simCorpus, type CorpusEntry } from './sim-corpus.js';
import type { FuzzTarget } from './target.js';

export type LimitTweak = { readonly key: number; readonly value: 0 | 1 | 2 | 'half' | '-1' };

export type WireCase =
  | { readonly kind: 'valid'; readonly base: number; readonly limitTweak: LimitTweak | null }
  | { readonly kind: 'mutant'; readonly mutant: Mutant; readonly limitTweak: LimitTweak | null }
  | { readonly kind: 'random'; readonly base: number; readonly tag: number; readonly body: Uint8Array }
  | { readonly kind: 'bytes'; readonly base: number; readonly bytes: Uint8Array };

/** Highest tag drawn for random bodies: the 17 known ones and a few unknown. */
const TAG_DRAWN_MAX = 19;

let entries: CorpusEntry[] | undefined;
let frames: Uint8Array[] | undefined;

function corpus(): { entries: CorpusEntry[]; frames: Uint8Array[] } {
  entries ??= allMessages(simCorpus());
  frames ??= entries.map((e) => e.bytes);
  return { entries, frames };
}

export const limitTweakArbitrary: fc.Arbitrary<LimitTweak | null> = fc.option(
  fc.record({ key: fc.nat({ max: 31 }), value: fc.constantFrom<LimitTweak['value']>(0, 1, 2, 'half', '-1') }),
  { freq: 3 },
);

/** `limits` with one of its fields moved to an edge. */
export function tweakLimits<L extends object>(limits: L, tweak: LimitTweak | null): L {
  if (tweak === null) return limits;
  const keys = Object.keys(limits).sort();
  const key = keys[tweak.key % keys.length] as keyof L & string;
  const current = limits[key] as number;
  const value = tweak.value === 'half' ? Math.floor(current / 2) : tweak.value === '-1' ? Math.max(0, current - 1) : tweak.value;
  return { ...limits, [key]: value };
}

export const wireMessageTarget: FuzzTarget<WireCase> = {
  name: 'wire-message',
  weight: 40,
  testRuns: 3000,
  arbitrary: () => {
    const size = corpus().entries.length;
    const base = fc.nat({ max: size - 1 });
    return fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('valid' as const), base, limitTweak: limitTweakArbitrary }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('mutant' as const), mutant: mutantArbitrary(size), limitTweak: limitTweakArbitrary }), weight: 6 },
      {
        arbitrary: fc.record({
          kind: fc.constant('random' as const),
          base,
          tag: fc.nat({ max: TAG_DRAWN_MAX }),
          body: fc.uint8Array({ maxLength: 256 }),
        }),
        weight: 2,
      },
      { arbitrary: fc.record({ kind: fc.constant('bytes' as const), base, bytes: fc.uint8Array({ maxLength: 64 }) }), weight: 1 },
    );
  },
  check: (c) => {
    const { entries: all, frames: inputs } = corpus();
    let bytes: Uint8Array;
    let limits: WireLimits;
    switch (c.kind) {
      case 'valid':
        bytes = (all[c.base] as CorpusEntry).bytes;
        limits = tweakLimits((all[c.base] as CorpusEntry).limits, c.limitTweak);
        break;
      case 'mutant':
        bytes = applyMutant(c.mutant, inputs);
        limits = tweakLimits((all[c.mutant.base] as CorpusEntry).limits, c.limitTweak);
        break;
      case 'random':
        bytes = new Uint8Array([1, c.tag, ...c.body]);
        limits = (all[c.base] as CorpusEntry).limits;
        break;
      case 'bytes':
        bytes = c.bytes;
        limits = (all[c.base] as CorpusEntry).limits;
        break;
    }
    reporting(bytes, limits, () => checkFrame(bytes, limits, c.kind === 'valid' && c.limitTweak === null));
  },
};

function checkFrame(bytes: Uint8Array, limits: WireLimits, mustDecode: boolean): void {
  const decoded = withinBounds('decodeMessage', 2 * bytes.length, () => decodeMessage(bytes, limits));
  const peek = withinBounds('oversizedRequest', 0, () => oversizedRequest(bytes, limits));
  const readPeek = withinBounds('oversizedReadRequest', 0, () => oversizedReadRequest(bytes, limits));
  if (mustDecode) assert.ok(decoded.ok, `a captured frame does not decode: ${decoded.ok ? '' : decoded.reason}`);
  if (decoded.ok) {
    let encoded: Uint8Array;
    try {
      encoded = encodeMessage(decoded.message);
    } catch (error) {
      assert.fail(`a decoded ${decoded.message.type} does not encode: ${(error as Error).message}`);
    }
    assert.ok(bytesEqual(encoded, bytes), `a decoded ${decoded.message.type} re-encodes to other bytes (not canonical)`);
    if (mustDecode) {
      const again = decodeMessage(encoded, limits);
      assert.ok(again.ok);
      assert.deepStrictEqual(again.message, decoded.message, 'decode(encode(m)) differs from m');
    }
  }
  for (const found of [peek, readPeek]) {
    if (found === undefined) continue;
    assert.ok(!decoded.ok && decoded.reason === 'request-too-large', `the peek reports an oversized request that decodeMessage answers ${decoded.ok ? 'ok' : decoded.reason}`);
    assert.ok(found.operationBytes > limits.requestBytesMax, 'the peek reports a request within requestBytesMax');
  }
}
