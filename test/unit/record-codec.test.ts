import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantViolation } from '../../src/core/assert.js';
import { clientId, replicaId } from '../../src/core/ids.js';
import type {
  CheckpointCertificate,
  CheckpointManifest,
  CheckpointMessage,
  NewViewMessage,
  PrePrepareMessage,
  Request,
  SignedBy,
  ViewChangeMessage,
} from '../../src/core/messages.js';
import { defaultProtocolOptions } from '../../src/core/options.js';
import { ORDINAL_MAX, type RequestNo, type SeqNo, type View } from '../../src/core/ordering.js';
import { encodeMessage, wireLimitsFrom } from '../../src/wire/codec.js';
import { FILE_NAME_BYTES_MAX, RECORD_VERSION, decodeRecord, encodeRecord } from '../../src/storage/record-codec.js';
import type { JournalRecord } from '../../src/storage/records.js';

/** Cluster size of the tests: replica ids 0..3. */
const N = 4;
const limits = wireLimitsFrom(defaultProtocolOptions, N);
/** fast-check makes null-prototype records by default; deepEqual would tell them apart. */
const plain = { noNullPrototype: true };

const ordinal = fc.oneof(fc.constantFrom(0, 1, 2 ** 32, ORDINAL_MAX), fc.maxSafeNat());
const positiveOrdinal = fc.oneof(fc.constantFrom(1, 2 ** 32, ORDINAL_MAX), fc.integer({ min: 1, max: ORDINAL_MAX }));
const viewArb = ordinal.map((v) => v as View);
const seqArb = ordinal.map((v) => v as SeqNo);
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const signatureArb = fc.uint8Array({ minLength: 64, maxLength: 64 });
const requestArb: fc.Arbitrary<Request> = fc.record(
  {
    clientId: ordinal.map(clientId),
    requestNo: ordinal.map((v) => v as RequestNo),
    operation: fc.uint8Array({ maxLength: 48 }),
    clientKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    signature: signatureArb,
  },
  plain,
);
const batchArb = fc.array(requestArb, { maxLength: 3 });
const prePrepareArb: fc.Arbitrary<PrePrepareMessage> = fc.record(
  { type: fc.constant('pre-prepare' as const), view: viewArb, seq: seqArb, digest: digestArb, signature: signatureArb, requests: batchArb },
  plain,
);
const signedByArb: fc.Arbitrary<SignedBy> = fc.record(
  { replica: fc.integer({ min: 0, max: N - 1 }).map(replicaId), signature: signatureArb },
  plain,
);
const signaturesArb = fc.array(signedByArb, { maxLength: N });
const genesis: CheckpointCertificate = { seq: 0 as SeqNo, stateDigest: new Uint8Array(0), signatures: [] };
const certificateArb: fc.Arbitrary<CheckpointCertificate> = fc.oneof(
  fc.constant(genesis),
  fc.record({ seq: positiveOrdinal.map((v) => v as SeqNo), stateDigest: digestArb, signatures: signaturesArb }, plain),
);
const viewChangeArb: fc.Arbitrary<ViewChangeMessage> = fc.record(
  {
    type: fc.constant('view-change' as const),
    newView: viewArb,
    replica: fc.integer({ min: 0, max: N - 1 }).map(replicaId),
    checkpoint: certificateArb,
    prepared: fc.array(fc.record({ prePrepare: prePrepareArb, prepares: signaturesArb }, plain), { maxLength: 2 }),
    signature: signatureArb,
  },
  plain,
);
const newViewArb: fc.Arbitrary<NewViewMessage> = fc.record(
  {
    type: fc.constant('new-view' as const),
    view: viewArb,
    viewChanges: fc.array(viewChangeArb, { maxLength: 3 }),
    prePrepares: fc.array(prePrepareArb, { maxLength: 2 }),
  },
  plain,
);
const checkpointArb: fc.Arbitrary<CheckpointMessage> = fc
  .tuple(certificateArb, signatureArb)
  .map(([{ seq, stateDigest }, signature]) => ({ type: 'checkpoint' as const, seq, stateDigest, signature }));
const manifestArb: fc.Arbitrary<CheckpointManifest> = fc.record(
  {
    chunkBytes: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    clientTableBytes: ordinal,
    serviceStateBytes: ordinal,
    chunkDigests: fc.array(digestArb, { maxLength: 4 }),
  },
  plain,
);
/** Names of one to 64 code points, any plane: well-formed UTF-16, so they survive UTF-8. */
const fileArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 64 });

const recordArbs: { [K in JournalRecord['kind']]: fc.Arbitrary<Extract<JournalRecord, { kind: K }>> } = {
  'pre-prepare': fc.record({ kind: fc.constant('pre-prepare' as const), message: prePrepareArb }, plain),
  prepared: fc.record(
    { kind: fc.constant('prepared' as const), view: viewArb, seq: seqArb, digest: digestArb, prepares: signaturesArb },
    plain,
  ),
  'view-change': fc.record({ kind: fc.constant('view-change' as const), message: viewChangeArb }, plain),
  'new-view': fc.record({ kind: fc.constant('new-view' as const), message: newViewArb }, plain),
  'view-installed': fc.record({ kind: fc.constant('view-installed' as const), view: viewArb }, plain),
  checkpoint: fc.record({ kind: fc.constant('checkpoint' as const), message: checkpointArb }, plain),
  stable: fc.record({ kind: fc.constant('stable' as const), certificate: certificateArb }, plain),
  delivered: fc.oneof(
    fc.record({ kind: fc.constant('delivered' as const), seq: seqArb, digest: digestArb }, plain),
    fc.record({ kind: fc.constant('delivered' as const), seq: seqArb, digest: digestArb, requests: batchArb }, plain),
  ),
  image: fc.record(
    {
      kind: fc.constant('image' as const),
      seq: seqArb,
      manifest: manifestArb,
      clientTable: fc.uint8Array({ maxLength: 64 }),
      file: fileArb,
    },
    plain,
  ),
};
const recordArb: fc.Arbitrary<JournalRecord> = fc.oneof(...Object.values(recordArbs));

function decoded(bytes: Uint8Array): JournalRecord {
  const result = decodeRecord(bytes, limits);
  assert.ok(result.ok, `refused: ${result.ok ? '' : result.reason}`);
  return result.record;
}

function refusal(bytes: Uint8Array): string {
  const result = decodeRecord(bytes, limits);
  assert.ok(!result.ok, 'decoded');
  return result.reason;
}

describe('record codec', () => {
  for (const [kind, arb] of Object.entries(recordArbs)) {
    it(`round-trips ${kind} records`, () => {
      fc.assert(
        fc.property(arb as fc.Arbitrary<JournalRecord>, (record) => {
          const bytes = encodeRecord(record);
          assert.equal(bytes[0], RECORD_VERSION);
          assert.deepEqual(decoded(bytes), record);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('refuses every proper prefix of a record', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const bytes = encodeRecord(record);
        for (let cut = 0; cut < bytes.length; cut++) assert.ok(!decodeRecord(bytes.subarray(0, cut), limits).ok, `prefix ${cut}`);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a record with bytes after it', () => {
    fc.assert(
      fc.property(recordArb, fc.uint8Array({ minLength: 1, maxLength: 8 }), (record, extra) => {
        const bytes = encodeRecord(record);
        const longer = new Uint8Array(bytes.length + extra.length);
        longer.set(bytes);
        longer.set(extra, bytes.length);
        assert.ok(!decodeRecord(longer, limits).ok);
      }),
    );
  });

  it('never throws on flipped bits, and whatever still decodes re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(recordArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }), (record, flips) => {
        const bytes = new Uint8Array(encodeRecord(record));
        for (const [at, bit] of flips) bytes[at % bytes.length]! ^= 1 << bit;
        const result = decodeRecord(bytes, limits);
        if (result.ok) assert.deepEqual(encodeRecord(result.record), bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary bytes behind a valid header', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.uint8Array({ maxLength: 256 }), (tag, body) => {
        const bytes = new Uint8Array(2 + body.length);
        bytes.set([RECORD_VERSION, tag]);
        bytes.set(body, 2);
        const result = decodeRecord(bytes, limits);
        if (result.ok) assert.deepEqual(encodeRecord(result.record), bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('names what it refuses', () => {
    const installed = encodeRecord({ kind: 'view-installed', view: 3 as View });
    assert.equal(refusal(new Uint8Array(0)), 'truncated');
    assert.equal(refusal(Uint8Array.of(RECORD_VERSION + 1, ...installed.subarray(1))), 'unknown-version');
    assert.equal(refusal(Uint8Array.of(RECORD_VERSION, 0, ...installed.subarray(2))), 'unknown-kind');
    assert.equal(refusal(Uint8Array.of(RECORD_VERSION, 200, ...installed.subarray(2))), 'unknown-kind');
    assert.equal(refusal(installed.subarray(0, installed.length - 1)), 'view-installed: truncated');
  });

  it('refuses a message record that holds a message of another type', () => {
    const checkpoint = encodeMessage({ type: 'checkpoint', seq: 0 as SeqNo, stateDigest: new Uint8Array(0), signature: new Uint8Array(64) });
    assert.equal(refusal(Uint8Array.of(RECORD_VERSION, 1, ...checkpoint)), 'pre-prepare: wrong-message-type');
    const commit = encodeMessage({ type: 'commit', view: 0 as View, seq: 1 as SeqNo, digest: new Uint8Array(32) });
    assert.equal(refusal(Uint8Array.of(RECORD_VERSION, 6, ...commit)), 'checkpoint: wrong-message-type');
  });

  it('refuses a proven delivery whose batch is not the one at its seq', () => {
    const record: JournalRecord = { kind: 'delivered', seq: 7 as SeqNo, digest: new Uint8Array(32), requests: [] };
    const bytes = encodeRecord(record);
    const head = bytes.subarray(0, bytes.length - encodeMessage({ type: 'log-entries', batches: [{ seq: 7 as SeqNo, requests: [] }] }).length);
    const withBatches = (batches: { seq: SeqNo; requests: Request[] }[]): Uint8Array =>
      Uint8Array.of(...head, ...encodeMessage({ type: 'log-entries', batches }));
    assert.deepEqual(decoded(withBatches([{ seq: 7 as SeqNo, requests: [] }])), record);
    assert.equal(refusal(withBatches([{ seq: 8 as SeqNo, requests: [] }])), 'delivered: batch-not-at-seq');
    assert.equal(refusal(withBatches([])), 'delivered: batch-not-at-seq');
    assert.equal(
      refusal(withBatches([{ seq: 7 as SeqNo, requests: [] }, { seq: 7 as SeqNo, requests: [] }])),
      'delivered: batch-not-at-seq',
    );
    const flag = head.length - 1;
    assert.equal(refusal(Uint8Array.of(...head.subarray(0, flag), 2)), 'delivered: invalid-flag');
  });

  it('refuses image file names that are empty, too long or not UTF-8', () => {
    const image = (file: Uint8Array): Uint8Array => {
      const bytes = encodeRecord({
        kind: 'image',
        seq: 1 as SeqNo,
        manifest: { chunkBytes: 1, clientTableBytes: 0, serviceStateBytes: 0, chunkDigests: [] },
        clientTable: new Uint8Array(0),
        file: 'x',
      });
      const out = new Uint8Array(bytes.length - 1 + file.length);
      out.set(bytes.subarray(0, bytes.length - 5));
      new DataView(out.buffer).setUint32(bytes.length - 5, file.length);
      out.set(file, bytes.length - 1);
      return out;
    };
    assert.equal(decoded(image(Uint8Array.of(0x61))).kind, 'image');
    assert.equal(refusal(image(new Uint8Array(0))), 'image: file-name-length');
    assert.equal(refusal(image(new Uint8Array(FILE_NAME_BYTES_MAX + 1).fill(0x61))), 'image: file-name-length');
    assert.equal(refusal(image(Uint8Array.of(0xff))), 'image: file-name-not-utf8');
    // A BOM is kept, not stripped: the name decodes only from its one encoding.
    const bom = decoded(image(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61)));
    assert.ok(bom.kind === 'image' && bom.file === '\ufeffa');
  });

  it('asserts on records the core and runtime never make', () => {
    const base = { kind: 'image', seq: 1 as SeqNo, manifest: { chunkBytes: 1, clientTableBytes: 0, serviceStateBytes: 0, chunkDigests: [] }, clientTable: new Uint8Array(0) } as const;
    assert.throws(() => encodeRecord({ ...base, file: '' }), InvariantViolation);
    assert.throws(() => encodeRecord({ ...base, file: '\ud800' }), InvariantViolation);
    assert.throws(() => encodeRecord({ kind: 'prepared', view: 0 as View, seq: 1 as SeqNo, digest: new Uint8Array(31), prepares: [] }), InvariantViolation);
    assert.throws(() => encodeRecord({ kind: 'stable', certificate: { ...genesis, signatures: [{ replica: replicaId(0), signature: new Uint8Array(64) }] } }), InvariantViolation);
  });

  it('decodes within the wire limits it is given', () => {
    const prepares = Array.from({ length: N }, (_, i) => ({ replica: replicaId(i), signature: new Uint8Array(64) }));
    const bytes = encodeRecord({ kind: 'prepared', view: 1 as View, seq: 1 as SeqNo, digest: new Uint8Array(32), prepares });
    assert.ok(decodeRecord(bytes, limits).ok);
    assert.equal(decodeRecord(bytes, wireLimitsFrom(defaultProtocolOptions, N - 1)).ok, false);
  });
});
