/**
 * Sequence numbers, views and request numbers (src/core/ordering.ts): range
 * checks, overflow assertions, and that comparisons are plain numeric order
 * everywhere, including at the top of the range (ancestor defect 6: a wrapped
 * comparison disagreed with sorting). The exactly-once tables compare request
 * numbers too, so they are checked near ORDINAL_MAX as well.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantViolation } from '../../src/core/assert.js';
import { ClientTable } from '../../src/core/client-table.js';
import { clientId } from '../../src/core/ids.js';
import type { Request } from '../../src/core/messages.js';
import {
  addSaturating,
  isOrdinal,
  next,
  ORDINAL_MAX,
  requestNo,
  seqNo,
  view,
  type RequestNo,
} from '../../src/core/ordering.js';
import { PendingRequests } from '../../src/core/pending-requests.js';
import { signedRequest } from '../support/signed-requests.js';

const constructors = { seqNo, view, requestNo } as const;
/** The real rule for a full client table (not reached here: one session). */
const refuse = { sessionsFull: () => 'refuse' as const, keyQuotaApplies: () => true };

/** Ordinals near the top of the range, near 2^32 and small ones. */
const nearTop = fc.integer({ min: 0, max: 5000 }).map((d) => ORDINAL_MAX - d);
const ordinalArb = fc.oneof(
  nearTop,
  fc.integer({ min: 0, max: 5000 }),
  fc.integer({ min: 2 ** 32 - 100, max: 2 ** 32 + 100 }),
  fc.maxSafeNat(),
);

describe('ordinal constructors', () => {
  for (const [name, make] of Object.entries(constructors)) {
    it(`${name} accepts 0..ORDINAL_MAX`, () => {
      assert.equal(make(0), 0);
      assert.equal(make(1), 1);
      assert.equal(make(2 ** 32), 2 ** 32);
      assert.equal(make(ORDINAL_MAX), ORDINAL_MAX);
    });

    it(`${name} rejects negatives, non-integers, 2^53 and non-finite values`, () => {
      for (const bad of [-1, -0.5, 0.5, 1.5, 2 ** 53, 2 ** 53 + 2, 2 ** 64, Number.NaN, Infinity, -Infinity]) {
        assert.throws(() => make(bad), InvariantViolation, `${name}(${bad})`);
      }
    });
  }

  it('isOrdinal matches the constructors', () => {
    fc.assert(
      fc.property(fc.oneof(ordinalArb, fc.double(), fc.integer({ min: -1000, max: -1 })), (value) => {
        let constructed = true;
        try {
          seqNo(value);
        } catch (e) {
          assert.ok(e instanceof InvariantViolation);
          constructed = false;
        }
        assert.equal(isOrdinal(value), constructed);
      }),
    );
  });
});

describe('next', () => {
  it('next(ORDINAL_MAX - 1) = ORDINAL_MAX for every kind', () => {
    assert.equal(next(seqNo(ORDINAL_MAX - 1)), ORDINAL_MAX);
    assert.equal(next(view(ORDINAL_MAX - 1)), ORDINAL_MAX);
    assert.equal(next(requestNo(ORDINAL_MAX - 1)), ORDINAL_MAX);
  });

  it('next(ORDINAL_MAX) throws InvariantViolation instead of wrapping or losing precision', () => {
    assert.throws(() => next(seqNo(ORDINAL_MAX)), InvariantViolation);
    assert.throws(() => next(view(ORDINAL_MAX)), InvariantViolation);
    assert.throws(() => next(requestNo(ORDINAL_MAX)), InvariantViolation);
  });

  it('property: next(a) = a + 1 exactly, and a < next(a)', () => {
    fc.assert(
      fc.property(ordinalArb, (a) => {
        fc.pre(a < ORDINAL_MAX);
        const b = next(seqNo(a));
        assert.ok(a < b);
        assert.equal(BigInt(b) - BigInt(a), 1n);
        assert.ok(isOrdinal(b));
      }),
    );
  });

  it('addSaturating saturates at ORDINAL_MAX and rejects bad deltas', () => {
    assert.equal(addSaturating(seqNo(ORDINAL_MAX - 3), 2), ORDINAL_MAX - 1);
    assert.equal(addSaturating(seqNo(ORDINAL_MAX - 3), 3), ORDINAL_MAX);
    assert.equal(addSaturating(seqNo(ORDINAL_MAX - 3), 256), ORDINAL_MAX);
    assert.equal(addSaturating(seqNo(ORDINAL_MAX), ORDINAL_MAX), ORDINAL_MAX);
    assert.throws(() => addSaturating(seqNo(1), -1), InvariantViolation);
    assert.throws(() => addSaturating(seqNo(1), 0.5), InvariantViolation);
  });
});

describe('comparisons are plain numeric order (ancestor defect 6)', () => {
  it('property: numeric sort agrees with `<` and with exact (BigInt) order', () => {
    fc.assert(
      fc.property(fc.array(ordinalArb, { minLength: 2, maxLength: 40 }), (values) => {
        const ordinals = values.map((v) => seqNo(v));
        const sorted = [...ordinals].sort((a, b) => a - b);
        const exact = [...values].map((v) => BigInt(v)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        assert.deepEqual(
          sorted.map((v) => BigInt(v)),
          exact,
        );
        for (let i = 0; i + 1 < sorted.length; i++) {
          const a = sorted[i] as number;
          const b = sorted[i + 1] as number;
          assert.ok(!(b < a), `${b} < ${a} after sorting`);
          assert.equal(a < b, BigInt(a) < BigInt(b));
          assert.equal(a - b < 0, a < b, 'difference sign agrees with <');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: `<` is a strict total order on ordinals near the top (no wraparound)', () => {
    fc.assert(
      fc.property(nearTop, nearTop, nearTop, (a, b, c) => {
        assert.equal(a < b, BigInt(a) < BigInt(b));
        assert.equal(a < b || b < a || a === b, true);
        if (a < b && b < c) assert.ok(a < c);
        // A "wrapped" order would call 0 newer than ORDINAL_MAX; plain order must not.
        assert.ok(seqNo(0) < seqNo(a) || a === 0);
      }),
    );
  });

  it('property: ClientTable treats a request as new iff its number exceeds every ordered one, near the top', () => {
    fc.assert(
      fc.property(fc.array(nearTop, { minLength: 1, maxLength: 30 }), (numbers) => {
        const table = new ClientTable({ clientSessionsMax: 10, clientSessionsPerKeyMax: 10, clientReplyCacheBytesMax: 1024 });
        const c = clientId(42);
        let highest = -1;
        for (const no of numbers) {
          const r: Request = signedRequest(c, no, '');
          assert.equal(table.isNew(r), no > highest, `request ${no} after ${highest}`);
          assert.equal(table.admit(r, refuse), no > highest ? 'new' : 'old');
          highest = Math.max(highest, no);
        }
      }),
    );
  });

  it('property: PendingRequests keeps the highest request number of a session, near the top', () => {
    fc.assert(
      fc.property(fc.array(nearTop, { minLength: 1, maxLength: 30 }), (numbers) => {
        const pending = new PendingRequests({ pendingRequestsMax: 10, pendingRequestBytesMax: 1024, pendingRequestsPerKeyMax: 10, pendingRequestBytesPerKeyMax: 1024 });
        const c = clientId(7);
        for (const no of numbers) {
          pending.add(signedRequest(c, no, ''), 0);
        }
        const batch = pending.takeBatch(10, 1000, () => true);
        assert.equal(batch.length, 1);
        assert.equal(batch[0]?.requestNo, Math.max(...numbers) as RequestNo);
      }),
    );
  });
});
