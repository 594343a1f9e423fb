import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { InvariantViolation } from '../../src/core/assert.js';
import { clientId, type ClientId } from '../../src/core/ids.js';
import type { Message, Request } from '../../src/core/messages.js';
import { defaultProtocolOptions } from '../../src/core/options.js';
import { ORDINAL_MAX, type RequestNo, type SeqNo, type View } from '../../src/core/ordering.js';
import {
  decodeMessage,
  encodeBatch,
  encodeMessage,
  wireLimitsFrom,
  type WireLimits,
  type WireRejectionReason,
} from '../../src/wire/codec.js';

const limits = wireLimitsFrom(defaultProtocolOptions);
/** Limits that never bind, so only the remaining-input checks protect. */
const unbounded: WireLimits = {
  batchRequestsMax: 2 ** 32,
  batchBytesMax: 2 ** 53,
  requestBytesMax: 2 ** 32,
  replyBytesMax: 2 ** 32,
};

const reasons = new Set<WireRejectionReason>([
  'truncated',
  'trailing-bytes',
  'unknown-version',
  'unknown-type',
  'ordinal-out-of-range',
  'client-id-out-of-range',
  'digest-wrong-length',
  'batch-too-large',
  'batch-bytes-too-large',
  'request-too-large',
  'reply-too-large',
]);

/** fast-check makes null-prototype records by default; deepEqual would tell them apart. */
const plain = { noNullPrototype: true };

// Arbitraries. `large` adds byte fields past 64 KiB (filled, so cheap to generate).
const ordinal = fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, ORDINAL_MAX), fc.maxSafeNat());
const bytesArb = (large: boolean): fc.Arbitrary<Uint8Array> => {
  const small = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 64, size: 'max' }));
  if (!large) return small;
  const big = fc
    .tuple(fc.integer({ min: 65_536, max: 70_000 }), fc.integer({ min: 0, max: 255 }))
    .map(([length, fill]) => new Uint8Array(length).fill(fill));
  return fc.oneof({ arbitrary: small, weight: 9 }, { arbitrary: big, weight: 1 });
};
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const requestArb = (large: boolean): fc.Arbitrary<Request> =>
  fc.record(
    {
      clientId: ordinal.map((v) => clientId(v)),
      requestNo: ordinal.map((v) => v as RequestNo),
      operation: bytesArb(large),
    },
    plain,
  );
const batchArb = (large: boolean): fc.Arbitrary<Request[]> =>
  fc.array(requestArb(large), { maxLength: 6, size: 'max' });

const slotArbs = {
  view: ordinal.map((v) => v as View),
  seq: ordinal.map((v) => v as SeqNo),
  digest: digestArb,
};
const messageArbs = (large: boolean) => ({
  request: fc.record({ type: fc.constant('request' as const), request: requestArb(large) }, plain),
  reply: fc.record(
    {
      type: fc.constant('reply' as const),
      view: ordinal.map((v) => v as View),
      clientId: ordinal.map((v) => clientId(v)),
      requestNo: ordinal.map((v) => v as RequestNo),
      result: bytesArb(large),
    },
    plain,
  ),
  'pre-prepare': fc.record(
    { type: fc.constant('pre-prepare' as const), ...slotArbs, requests: batchArb(large) },
    plain,
  ),
  prepare: fc.record({ type: fc.constant('prepare' as const), ...slotArbs }, plain),
  commit: fc.record({ type: fc.constant('commit' as const), ...slotArbs }, plain),
});
const smallMessageArb: fc.Arbitrary<Message> = fc.oneof(...Object.values(messageArbs(false)));

function rejects(bytes: Uint8Array, reason: WireRejectionReason, lim: WireLimits = limits): void {
  assert.deepEqual(decodeMessage(bytes, lim), { ok: false, reason });
}

/** Decoding never throws, refuses only with a known reason, and accepts only canonical bytes. */
function checkTotal(bytes: Uint8Array): void {
  const result = decodeMessage(bytes, limits);
  if (result.ok) assert.deepEqual(encodeMessage(result.message), bytes);
  else assert.ok(reasons.has(result.reason), result.reason);
}

function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value);
  return copy;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

const digest = new Uint8Array(32).fill(7);
const req = (n: number, operation: Uint8Array): Request => ({
  clientId: clientId(1000 + n),
  requestNo: n as RequestNo,
  operation,
});
const prePrepare = (requests: Request[]): Message => ({
  type: 'pre-prepare',
  view: 3 as View,
  seq: 9 as SeqNo,
  digest,
  requests,
});
const reply = (result: Uint8Array): Message => ({
  type: 'reply',
  view: 1 as View,
  clientId: 2 as ClientId,
  requestNo: 3 as RequestNo,
  result,
});
const prepare: Message = { type: 'prepare', view: 1 as View, seq: 2 as SeqNo, digest };

describe('wire codec', () => {
  describe('round-trips', () => {
    for (const [type, arb] of Object.entries(messageArbs(true))) {
      it(type, () => {
        fc.assert(
          fc.property(arb as fc.Arbitrary<Message>, (message) => {
            const bytes = encodeMessage(message);
            assert.equal(bytes.buffer.byteLength, bytes.length, 'one exact-size allocation');
            assert.deepEqual(decodeMessage(bytes, limits), { ok: true, message });
          }),
          { numRuns: 300 },
        );
      });
    }

    it('decodes from a Node Buffer at a non-zero offset into plain views of the input', () => {
      const message: Message = { type: 'request', request: req(1, new Uint8Array([1, 2, 3])) };
      const encoded = encodeMessage(message);
      const frame = Buffer.alloc(encoded.length + 5);
      frame.set(encoded, 3);
      const input = frame.subarray(3, 3 + encoded.length);
      const result = decodeMessage(input, limits);
      assert.deepEqual(result, { ok: true, message });
      assert.ok(result.ok && result.message.type === 'request');
      assert.equal(result.message.request.operation.buffer, frame.buffer, 'a view, not a copy');
      assert.equal(Object.getPrototypeOf(result.message.request.operation), Uint8Array.prototype);
    });

    it('accepts byte fields and batches exactly at the limits', () => {
      const tight: WireLimits = { batchRequestsMax: 3, batchBytesMax: 30, requestBytesMax: 10, replyBytesMax: 12 };
      const full = new Uint8Array(10);
      for (const message of [
        { type: 'request', request: req(1, full) },
        reply(new Uint8Array(12)),
        prePrepare([req(1, full), req(2, full), req(3, full)]),
      ] satisfies Message[]) {
        assert.deepEqual(decodeMessage(encodeMessage(message), tight), { ok: true, message });
      }
    });
  });

  describe('rejects', () => {
    it('every strict prefix of a valid encoding as truncated', () => {
      fc.assert(
        fc.property(smallMessageArb, (message) => {
          const bytes = encodeMessage(message);
          for (let end = 0; end < bytes.length; end++) rejects(bytes.subarray(0, end), 'truncated');
        }),
        { numRuns: 200 },
      );
    });

    it('a trailing byte', () => {
      fc.assert(
        fc.property(smallMessageArb, fc.integer({ min: 0, max: 255 }), (message, extra) => {
          rejects(concat(encodeMessage(message), new Uint8Array([extra])), 'trailing-bytes');
        }),
        { numRuns: 200 },
      );
    });

    it('an unknown version or type', () => {
      const bytes = encodeMessage(prepare);
      const withByte = (offset: number, value: number): Uint8Array => {
        const copy = bytes.slice();
        copy[offset] = value;
        return copy;
      };
      for (const version of [0, 2, 255]) rejects(withByte(0, version), 'unknown-version');
      for (const tag of [0, 6, 255]) rejects(withByte(1, tag), 'unknown-type');
      rejects(new Uint8Array([2]), 'unknown-version');
      rejects(new Uint8Array([1, 6]), 'unknown-type');
    });

    it('ordinals and client ids of 2^53 or more', () => {
      const op = new Uint8Array([1]);
      // [message, offsets of u64 ordinals, offsets of u64 client ids]
      const cases: [Message, number[], number[]][] = [
        [{ type: 'request', request: req(1, op) }, [10], [2]],
        [reply(op), [2, 18], [10]],
        [prePrepare([req(1, op)]), [2, 10, 66], [58]],
        [prepare, [2, 10], []],
        [{ ...prepare, type: 'commit' }, [2, 10], []],
      ];
      for (const [message, ordinals, clients] of cases) {
        const bytes = encodeMessage(message);
        for (const [offsets, reason] of [
          [ordinals, 'ordinal-out-of-range'],
          [clients, 'client-id-out-of-range'],
        ] as const) {
          for (const offset of offsets) {
            // 2^53 is hi = 0x200000, lo = 0; ORDINAL_MAX (hi = 0x1FFFFF) still decodes.
            rejects(withU32(withU32(bytes, offset, 0x20_0000), offset + 4, 0), reason);
            rejects(withU32(bytes, offset, 0xffff_ffff), reason);
            const max = withU32(withU32(bytes, offset, 0x1f_ffff), offset + 4, 0xffff_ffff);
            assert.equal(decodeMessage(max, limits).ok, true);
          }
        }
      }
    });

    it('digests that are not 32 bytes', () => {
      for (const message of [prepare, { ...prepare, type: 'commit' } as Message, prePrepare([])]) {
        const bytes = encodeMessage(message);
        const lengthAt = 18;
        const before = bytes.subarray(0, lengthAt + 4);
        const after = bytes.subarray(lengthAt + 4 + 32);
        const shorter = concat(before, digest.subarray(0, 31), after);
        rejects(withU32(shorter, lengthAt, 31), 'digest-wrong-length');
        const longer = concat(before, digest, new Uint8Array([0]), after);
        rejects(withU32(longer, lengthAt, 33), 'digest-wrong-length');
        rejects(withU32(bytes, lengthAt, 0), 'digest-wrong-length');
      }
    });

    it('batches with too many requests or operation bytes', () => {
      const ten = new Uint8Array(10);
      const bytes = encodeMessage(prePrepare([req(1, ten), req(2, ten), req(3, ten)]));
      rejects(bytes, 'batch-too-large', { ...limits, batchRequestsMax: 2 });
      rejects(bytes, 'batch-bytes-too-large', { ...limits, batchBytesMax: 29 });
      rejects(bytes, 'request-too-large', { ...limits, requestBytesMax: 9 });
    });

    it('operations and results above their limits', () => {
      const op = new Uint8Array(limits.requestBytesMax + 1);
      rejects(encodeMessage({ type: 'request', request: req(1, op) }), 'request-too-large');
      rejects(encodeMessage(prePrepare([req(1, op)])), 'request-too-large');
      rejects(encodeMessage(reply(new Uint8Array(limits.replyBytesMax + 1))), 'reply-too-large');
    });

    it('lengths and counts claiming 4 GiB in a tiny input, without allocating', () => {
      const before = process.memoryUsage().arrayBuffers;
      // request: header, clientId, requestNo, then an operation length of 2^32 - 1.
      const request = withU32(encodeMessage({ type: 'request', request: req(1, new Uint8Array(0)) }), 18, 0xffff_ffff);
      assert.equal(request.length, 22);
      rejects(request, 'request-too-large');
      rejects(request, 'truncated', unbounded);
      // pre-prepare with an empty batch whose count claims 2^32 - 1 requests.
      const batch = withU32(encodeMessage(prePrepare([])), 54, 0xffff_ffff);
      rejects(batch, 'batch-too-large');
      rejects(batch, 'truncated', unbounded);
      // prepare cut after its digest length, which claims 2^32 - 1 bytes.
      rejects(withU32(encodeMessage(prepare), 18, 0xffff_ffff).subarray(0, 22), 'digest-wrong-length');
      assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
    });
  });

  describe('fuzz: decoding never throws', () => {
    it('10,000 random byte arrays', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 160, size: 'max' }), checkTotal), { numRuns: 10_000 });
    });

    it('10,000 random bodies behind a valid header', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 160, size: 'max' }), (tag, body) =>
          checkTotal(concat(new Uint8Array([1, tag]), body)),
        ),
        { numRuns: 10_000 },
      );
    });

    it('10,000 single-byte mutations of valid encodings', () => {
      fc.assert(
        fc.property(smallMessageArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (message, index, value) => {
          const bytes = encodeMessage(message);
          bytes[index % bytes.length] = value;
          checkTotal(bytes);
        }),
        { numRuns: 10_000 },
      );
    });
  });

  describe('encodeBatch', () => {
    it('is deterministic and injective', () => {
      fc.assert(
        fc.property(batchArb(false), batchArb(false), (a, b) => {
          const copy = a.map((r) => ({ ...r, operation: r.operation.slice() }));
          assert.deepEqual(encodeBatch(a), encodeBatch(copy));
          if (!isDeepStrictEqual(a, b)) assert.notDeepEqual(encodeBatch(a), encodeBatch(b));
        }),
        { numRuns: 500 },
      );
    });

    it('tells apart batches that only shift an operation boundary or reorder', () => {
      const x = req(1, new Uint8Array([1, 2]));
      const y = req(1, new Uint8Array([3]));
      const shifted = [req(1, new Uint8Array([1])), req(1, new Uint8Array([2, 3]))];
      assert.notDeepEqual(encodeBatch([x, y]), encodeBatch(shifted));
      assert.notDeepEqual(encodeBatch([x, y]), encodeBatch([y, x]));
      assert.notDeepEqual(encodeBatch([]), encodeBatch([req(1, new Uint8Array(0))]));
    });

    it('is the tail of the pre-prepare encoding', () => {
      fc.assert(
        fc.property(messageArbs(false)['pre-prepare'], (message) => {
          const bytes = encodeMessage(message);
          const batch = encodeBatch(message.requests);
          assert.deepEqual(bytes.subarray(bytes.length - batch.length), batch);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('encodeMessage', () => {
    it('asserts on local bugs: bad ordinals and digest lengths', () => {
      for (const view of [-1, 1.5, 2 ** 53, Number.NaN]) {
        assert.throws(() => encodeMessage({ ...prepare, view: view as View }), InvariantViolation);
      }
      assert.throws(() => encodeMessage({ ...prepare, digest: new Uint8Array(31) }), InvariantViolation);
    });
  });
});
