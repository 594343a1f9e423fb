/**
 * Bounded slice of the decoder fuzzing (test/fuzz/run.ts runs it at
 * length): the wire codec and its oversized-request peek, the client-table
 * image, stream framing and the cluster configuration, each a fixed-seed
 * fast-check run of its target's `testRuns` cases. Also checks that the
 * corpus captured from the simulator covers every message type, so a
 * target never silently fuzzes fewer kinds than exist.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { clientTableTarget } from './client-table.js';
import { clusterConfigTarget } from './cluster-config.js';
import { frameDecoderTarget } from './frame-decoder.js';
import { coverage, MESSAGE_TYPES, simCorpus } from './sim-corpus.js';
import { erased } from './target.js';
import { wireMessageTarget } from './wire-message.js';

/** Fixed, so that a failure in `npm test` replays; the long run draws its own. */
const SEED = 11;

describe('decoder fuzzing (bounded)', () => {
  it('the simulator corpus has every message type and client-table images', () => {
    const covered = coverage(simCorpus());
    for (const type of MESSAGE_TYPES) assert.ok((covered[type] ?? 0) > 0, `no ${type} captured: ${JSON.stringify(covered)}`);
    assert.ok((covered['client-table'] ?? 0) > 0, 'no client-table image captured');
  });

  for (const target of [erased(wireMessageTarget), erased(clientTableTarget), erased(frameDecoderTarget), erased(clusterConfigTarget)]) {
    it(`${target.name}: ${target.testRuns} cases`, () => {
      fc.assert(target.property(), { seed: SEED, numRuns: target.testRuns });
    });
  }
});
