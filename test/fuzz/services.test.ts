/**
 * Bounded slice of the fuzzing of the built-in services' handling of
 * untrusted operations (test/fuzz/builtin-services.ts; test/fuzz/run.ts runs
 * it at length): a fixed-seed fast-check run of the target's `testRuns`
 * cases.
 */
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { builtinServicesTarget } from './builtin-services.js';
import { propertyOf } from './target.js';

describe('built-in service fuzzing (bounded)', () => {
  it(`${builtinServicesTarget.name}: ${builtinServicesTarget.testRuns} cases`, () => {
    fc.assert(propertyOf(builtinServicesTarget), { seed: 17, numRuns: builtinServicesTarget.testRuns });
  });
});
