/**
 * A fuzz target: how to draw one case and how to check it. The bounded
 * tests (test/fuzz/*.test.ts) and the long run (test/fuzz/run.ts) run the
 * same targets, with fast-check drawing, seeding and shrinking the cases.
 */
import fc from 'fast-check';

export interface FuzzTarget<Case = unknown> {
  readonly name: string;
  /**
   * Share of the long run's cases, relative to the other targets: cheap
   * decoders get many, a case of the replica core (a cluster run) few.
   */
  readonly weight: number;
  /** Cases in the bounded slice of `npm test`. */
  readonly testRuns: number;
  /** The cases (built on first use: corpora are captured lazily). */
  readonly arbitrary: () => fc.Arbitrary<Case>;
  /** Checks one case; throws (an assertion or the system's own error) on a failure. */
  readonly check: (c: Case) => void;
}

/** The fast-check property of `target`. */
export function propertyOf<Case>(target: FuzzTarget<Case>): fc.IProperty<[Case]> {
  return fc.property(target.arbitrary(), (c) => target.check(c));
}

/** A target with its case type forgotten: what lists of targets hold. */
export interface AnyFuzzTarget {
  readonly name: string;
  readonly weight: number;
  readonly testRuns: number;
  readonly property: () => fc.IProperty<[unknown]>;
}

export function erased<Case>(target: FuzzTarget<Case>): AnyFuzzTarget {
  return {
    name: target.name,
    weight: target.weight,
    testRuns: target.testRuns,
    property: () => propertyOf(target) as unknown as fc.IProperty<[unknown]>,
  };
}
