/**
 * Fuzz target: the client-table image decoder (`decodeClientTable`,
 * src/wire/client-table.ts), the first part of a checkpoint image, which a
 * recovering replica assembles from chunks other replicas sent. Inputs:
 * images correct replicas of the simulator encoded for their checkpoints,
 * mutants of them, and random bytes, against their run's limits or limits
 * tightened to an edge.
 *
 * Properties (docs/WIRE.md, "The client-table image"): it never throws and
 * stays within the time and allocation bounds (results are copied, so up to
 * the input's size); whatever decodes re-encodes to exactly the input (one
 * encoding per table); every captured image decodes.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesEqual } from '../../src/core/ids.js';
import { decodeClientTable, encodeClientTable } from '../../src/wire/client-table.js';
import type { WireLimits } from '../../src/wire/codec.js';
import { withinBounds } from './bounds.js';
import { reporting } from './failure.js';
import { applyMutant, mutantArbitrary, type Mutant } from './mutate.js';
import { simCorpus, type CorpusEntry } from './sim-corpus.js';
import type { FuzzTarget } from './target.js';
import { limitTweakArbitrary, tweakLimits, type LimitTweak } from './wire-message.js';

export type ClientTableCase =
  | { readonly kind: 'valid'; readonly base: number; readonly limitTweak: LimitTweak | null }
  | { readonly kind: 'mutant'; readonly mutant: Mutant; readonly limitTweak: LimitTweak | null }
  | { readonly kind: 'bytes'; readonly base: number; readonly bytes: Uint8Array };

const images = (): readonly CorpusEntry[] => simCorpus().clientTables;

export const clientTableTarget: FuzzTarget<ClientTableCase> = {
  name: 'client-table',
  weight: 15,
  testRuns: 2000,
  arbitrary: () => {
    const size = images().length;
    const base = fc.nat({ max: size - 1 });
    return fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('valid' as const), base, limitTweak: limitTweakArbitrary }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('mutant' as const), mutant: mutantArbitrary(size), limitTweak: limitTweakArbitrary }), weight: 6 },
      { arbitrary: fc.record({ kind: fc.constant('bytes' as const), base, bytes: fc.uint8Array({ maxLength: 128 }) }), weight: 1 },
    );
  },
  check: (c) => {
    const all = images();
    const base = all[c.kind === 'mutant' ? c.mutant.base : c.base] as CorpusEntry;
    const bytes = c.kind === 'valid' ? base.bytes : c.kind === 'mutant' ? applyMutant(c.mutant, all.map((e) => e.bytes)) : c.bytes;
    const limits: WireLimits = c.kind === 'bytes' ? base.limits : tweakLimits(base.limits, c.limitTweak);
    reporting(bytes, limits, () => {
      const entries = withinBounds('decodeClientTable', 2 * bytes.length, () => decodeClientTable(bytes, limits));
      if (c.kind === 'valid' && c.limitTweak === null) assert.ok(entries !== undefined, 'a captured client table does not decode');
      if (entries === undefined) return;
      let encoded: Uint8Array;
      try {
        encoded = encodeClientTable(entries);
      } catch (error) {
        assert.fail(`a decoded client table does not encode: ${(error as Error).message}`);
      }
      assert.ok(bytesEqual(encoded, bytes), 'a decoded client table re-encodes to other bytes (not canonical)');
    });
  },
};
