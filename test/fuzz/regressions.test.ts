/**
 * Inputs the fuzzer (test/fuzz/run.ts) found, reduced to the message that
 * does it. Each is a Byzantine replica's single message that makes a correct
 * replica's core fail an always-on assertion: the exception escapes `step`,
 * so one faulty replica could stop every correct one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantViolation } from '../../src/core/assert.js';
import { ORDINAL_MAX, seqNo } from '../../src/core/ordering.js';
import { Cluster } from '../scenario/harness.js';

describe('fuzz findings', () => {
  it('a LOG-REQUEST after 2^53 - 1 is refused, not an ordinal overflow', () => {
    // Found by the replica-core target (run seed 20261204): MessageLog.deliveredAfter computed next(after)
    // unchecked, and the InvariantViolation escaped step() at every correct replica that got it.
    const c = new Cluster({ n: 4, byzantine: [0] });
    c.injectRaw(0, 1, { type: 'log-request', after: seqNo(ORDINAL_MAX) });
    assert.doesNotThrow(() => c.deliverAll(), InvariantViolation);
  });
});
