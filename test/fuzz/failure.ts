/**
 * Failure reports that replay: a failing check's error gets the input's hex
 * and the limits it was decoded with appended, so a counterexample can be
 * turned into a unit test without rerunning the fuzzer.
 */
import { hex } from './mutate.js';

/** Runs `check`; an error it throws is rethrown with `input` (hex) and `limits` appended to its message. */
export function reporting(input: Uint8Array, limits: unknown, check: () => void): void {
  try {
    check();
  } catch (error) {
    const detail = `\n  input (${input.length} bytes): ${hex(input)}\n  limits: ${JSON.stringify(limits)}`;
    if (error instanceof Error) {
      error.message += detail;
      throw error;
    }
    throw new Error(`${String(error)}${detail}`);
  }
}
