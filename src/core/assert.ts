/**
 * Always-on assertions for local invariants. A failed assertion is a bug in
 * this process, never a reaction to peer input: Byzantine input is rejected
 * with a typed {@link Rejection} instead (see `rejection.ts`).
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  readonly code = 'ERR_BAFOMET_INVARIANT';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

export function assertNever(value: never, what = 'value'): never {
  throw new InvariantViolation(`unexpected ${what}: ${JSON.stringify(value)}`);
}
