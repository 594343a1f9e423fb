import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantViolation } from '../../src/core/assert.js';
import type { ClientTableEntry } from '../../src/core/effects.js';
import { clientId } from '../../src/core/ids.js';
import { ORDINAL_MAX, type RequestNo } from '../../src/core/ordering.js';
import { CLIENT_TABLE_VERSION, decodeClientTable, encodeClientTable } from '../../src/wire/client-table.js';

const limits = { clientSessionsMax: 8, replyBytesMax: 64, clientReplyCacheBytesMax: 8 * 64 };

const entry = (id: number, requestNo: number, result: number[]): ClientTableEntry => ({
  clientId: clientId(id),
  requestNo: requestNo as RequestNo,
  result: new Uint8Array(result),
});
/** A session whose reply body the core dropped (clientReplyCacheBytesMax). */
const dropped = (id: number, requestNo: number): ClientTableEntry => ({
  clientId: clientId(id),
  requestNo: requestNo as RequestNo,
  result: new Uint8Array(0),
  replyDropped: true,
});
/** Two sessions, the second with an empty result (49 bytes). */
const table = [entry(7, 3, [1, 2]), entry(5, ORDINAL_MAX, [])];

const ordinal = fc.oneof(fc.constantFrom(0, 1, 2 ** 32, ORDINAL_MAX), fc.maxSafeNat());
const tableArb: fc.Arbitrary<ClientTableEntry[]> = fc.uniqueArray(
  fc
    .record(
      {
        clientId: ordinal.map(clientId),
        requestNo: ordinal.map((v) => v as RequestNo),
        result: fc.uint8Array({ maxLength: limits.replyBytesMax }),
        replyDropped: fc.boolean(),
      },
      { noNullPrototype: true },
    )
    .map(({ replyDropped, ...e }): ClientTableEntry => (replyDropped ? { ...e, result: new Uint8Array(0), replyDropped } : e)),
  { maxLength: limits.clientSessionsMax, selector: (e) => e.clientId },
);

function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value);
  return copy;
}

describe('client-table image codec', () => {
  it('round-trips tables in their order, in one exact-size allocation', () => {
    fc.assert(
      fc.property(tableArb, (entries) => {
        const bytes = encodeClientTable(entries);
        assert.equal(bytes.buffer.byteLength, bytes.length);
        assert.deepEqual(decodeClientTable(bytes, limits), entries);
      }),
      { numRuns: 500 },
    );
  });

  it('lays out a version byte, then a list of (clientId, requestNo, dropped flag, result unless dropped)', () => {
    const bytes = encodeClientTable(table);
    assert.equal(bytes.length, 1 + 4 + (21 + 2) + 21);
    assert.deepEqual([...bytes.subarray(0, 5)], [CLIENT_TABLE_VERSION, 0, 0, 0, 2]);
    assert.deepEqual([...bytes.subarray(5, 28)], [0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 2, 1, 2]);
    assert.deepEqual([...encodeClientTable([])], [CLIENT_TABLE_VERSION, 0, 0, 0, 0]);
    assert.deepEqual(
      [...encodeClientTable([dropped(7, 3)])],
      [CLIENT_TABLE_VERSION, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 3, 1],
      'a dropped reply: the flag and nothing after it',
    );
  });

  it('encodes a dropped reply distinctly from an empty one, and restores each as it was', () => {
    const withEmpty = [entry(7, 3, [])];
    const withDropped = [dropped(7, 3)];
    assert.notDeepEqual(encodeClientTable(withEmpty), encodeClientTable(withDropped));
    assert.deepEqual(decodeClientTable(encodeClientTable(withEmpty), limits), withEmpty);
    assert.deepEqual(decodeClientTable(encodeClientTable(withDropped), limits), withDropped);
    const mixed = [dropped(1, 1), entry(2, 5, [9]), dropped(3, 2)];
    assert.deepEqual(decodeClientTable(encodeClientTable(mixed), limits), mixed, 'in their order');
  });

  it('copies results out of the input, which may be a Buffer at an offset', () => {
    const encoded = encodeClientTable(table);
    const frame = Buffer.alloc(encoded.length + 3);
    frame.set(encoded, 3);
    const decoded = decodeClientTable(frame.subarray(3), limits);
    assert.deepEqual(decoded, table);
    assert.notEqual(decoded![0]!.result.buffer, frame.buffer);
    assert.equal(Object.getPrototypeOf(decoded![0]!.result), Uint8Array.prototype);
  });

  it('accepts exactly clientSessionsMax sessions, results of replyBytesMax and clientReplyCacheBytesMax of them', () => {
    const full = Array.from({ length: 8 }, (_, i) => entry(i, 1, new Array<number>(64).fill(i)));
    assert.deepEqual(decodeClientTable(encodeClientTable(full), limits), full);
    assert.equal(decodeClientTable(encodeClientTable(full), { ...limits, clientSessionsMax: 7 }), undefined);
    assert.equal(decodeClientTable(encodeClientTable(full), { ...limits, replyBytesMax: 63 }), undefined);
    assert.equal(decodeClientTable(encodeClientTable(full), { ...limits, clientReplyCacheBytesMax: 8 * 64 - 1 }), undefined);
    // Dropped bodies take no cache bytes.
    const someDropped = full.map((e, i) => (i === 0 ? dropped(i, 1) : e));
    assert.deepEqual(decodeClientTable(encodeClientTable(someDropped), { ...limits, clientReplyCacheBytesMax: 7 * 64 }), someDropped);
  });

  it('refuses malformed input: version, truncation, trailing bytes, ranges, duplicates, huge counts', () => {
    const bytes = encodeClientTable(table);
    const refused = (input: Uint8Array): void => assert.equal(decodeClientTable(input, limits), undefined);
    refused(new Uint8Array(0));
    for (const version of [0, 2, 255]) refused(Uint8Array.of(version, ...bytes.subarray(1)));
    for (let end = 0; end < bytes.length; end++) refused(bytes.subarray(0, end));
    refused(Uint8Array.of(...bytes, 0));
    refused(withU32(bytes, 5, 0x20_0000)); // client id 2^53
    refused(withU32(bytes, 13, 0xffff_ffff)); // request number above 2^53 - 1
    refused(encodeClientTable([entry(7, 1, []), entry(7, 2, [])]));
    // Counts and lengths claiming 4 GiB in a tiny input, refused without allocating.
    refused(withU32(bytes, 1, 0xffff_ffff));
    refused(withU32(bytes, 1, 3)); // within clientSessionsMax, but not 3 entries' worth of input
    refused(withU32(bytes, 22, 0xffff_ffff));
    const unbounded = { clientSessionsMax: 2 ** 32, replyBytesMax: 2 ** 32, clientReplyCacheBytesMax: 2 ** 53 };
    assert.equal(decodeClientTable(withU32(bytes, 1, 0xffff_ffff), unbounded), undefined);
    // Flags: bit 0 dropped, bit 1 failed, no other bit; a dropped entry has no result after it.
    for (const flag of [4, 255]) refused(Uint8Array.of(...bytes.subarray(0, 21), flag, ...bytes.subarray(22)));
    const droppedBytes = encodeClientTable([dropped(7, 3)]);
    refused(Uint8Array.of(...droppedBytes, 0, 0, 0, 0));
  });

  it('never throws on random or mutated input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (input) => {
        decodeClientTable(input, limits);
        decodeClientTable(Uint8Array.of(CLIENT_TABLE_VERSION, ...input), limits);
      }),
      { numRuns: 5_000 },
    );
    fc.assert(
      fc.property(tableArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (entries, index, value) => {
        const bytes = encodeClientTable(entries);
        bytes[index % bytes.length] = value;
        const decoded = decodeClientTable(bytes, limits);
        if (decoded !== undefined) assert.deepEqual(encodeClientTable(decoded), bytes, 'canonical');
      }),
      { numRuns: 5_000 },
    );
  });

  it('asserts on local bugs: client ids and request numbers out of range, a dropped reply with a result', () => {
    for (const bad of [entry(-1, 1, []), entry(2 ** 53, 1, []), entry(1, 1.5, []), { ...dropped(1, 1), result: new Uint8Array([1]) }]) {
      assert.throws(() => encodeClientTable([bad]), InvariantViolation);
    }
  });
});
