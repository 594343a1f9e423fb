/**
 * Bounded slice of the fuzzing of the cores' message handling
 * (test/fuzz/run.ts runs it at length): a replica core among four with one
 * Byzantine peer (test/fuzz/replica-core.ts) and the client core with one
 * Byzantine replica (test/fuzz/client-core.ts), fixed-seed fast-check runs
 * of their targets' `testRuns` cases. Also checks that the script the
 * replica target's histories follow (test/fuzz/cluster-script.ts) makes
 * every replica-to-replica type appear.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { clientCoreTarget } from './client-core.js';
import { scriptCoverage } from './cluster-script.js';
import { MESSAGE_TYPES } from './sim-corpus.js';
import { replicaCoreTarget } from './replica-core.js';
import { erased } from './target.js';

/** Fixed, so that a failure in `npm test` replays; the long run draws its own. */
const SEED = 13;

describe('core fuzzing (bounded)', () => {
  it('the cluster script makes the cores send every replica-to-replica message type', () => {
    const types = scriptCoverage();
    const clientTypes = new Set(['request', 'reply', 'read-request', 'read-reply']);
    for (const type of MESSAGE_TYPES.filter((t) => !clientTypes.has(t))) {
      assert.ok((types[type] ?? 0) > 0, `no ${type} captured: ${JSON.stringify(types)}`);
    }
  });

  for (const target of [erased(clientCoreTarget), erased(replicaCoreTarget)]) {
    it(`${target.name}: ${target.testRuns} cases`, () => {
      fc.assert(target.property(), { seed: SEED, numRuns: target.testRuns });
    });
  }
});
