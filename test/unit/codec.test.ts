import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { InvariantViolation } from '../../src/core/assert.js';
import { clientId, replicaId, type ClientId } from '../../src/core/ids.js';
import type {
  CheckpointCertificate,
  CheckpointManifest,
  ChunkMessage,
  ChunkRequestMessage,
  LogEntriesMessage,
  LogRequestMessage,
  LoggedBatch,
  Message,
  NewViewMessage,
  PrePrepareMessage,
  PreparedCertificate,
  Request,
  Signature,
  SignedBy,
  StateQueryMessage,
  StateSummaryMessage,
  Statement,
  ViewChangeMessage,
} from '../../src/core/messages.js';
import { defaultProtocolOptions } from '../../src/core/options.js';
import { ORDINAL_MAX, type RequestNo, type SeqNo, type View } from '../../src/core/ordering.js';
import {
  WIRE_VERSION,
  decodeMessage,
  encodeBatch,
  encodeManifest,
  encodeMessage,
  encodeRequestStatement,
  encodeStatement,
  oversizedReadRequest,
  oversizedRequest,
  stateTransferBytesMax,
  wireLimitsFrom,
  type WireLimits,
  type WireRejectionReason,
} from '../../src/wire/codec.js';

/** Cluster size of the tests: replica ids 0..3, at most 4 signatures per certificate. */
const N = 4;
const limits = wireLimitsFrom(defaultProtocolOptions, N);
/** Limits that never bind, so only the remaining-input checks protect. */
const unbounded: WireLimits = {
  batchRequestsMax: 2 ** 32,
  batchBytesMax: 2 ** 53,
  requestBytesMax: 2 ** 32,
  replyBytesMax: 2 ** 32,
  viewChangeBytesMax: 2 ** 53,
  newViewBytesMax: 2 ** 53,
  logWindow: 2 ** 32,
  replicas: 2 ** 32,
  chunkBytes: 2 ** 32,
  manifestChunksMax: 2 ** 32,
  logEntriesMax: 2 ** 32,
  clientSessionsMax: 2 ** 32,
  clientReplyCacheBytesMax: 2 ** 53,
};

const reasons = new Set<WireRejectionReason>([
  'truncated',
  'trailing-bytes',
  'unknown-version',
  'unknown-type',
  'ordinal-out-of-range',
  'client-id-out-of-range',
  'replica-out-of-range',
  'digest-wrong-length',
  'signature-wrong-length',
  'client-key-wrong-length',
  'batch-too-large',
  'batch-bytes-too-large',
  'request-too-large',
  'reply-too-large',
  'view-change-too-large',
  'too-many-signatures',
  'too-many-certificates',
  'too-many-view-changes',
  'too-many-pre-prepares',
  'invalid-flag',
  'unknown-reply-status',
  'byte-count-out-of-range',
  'chunk-too-large',
  'too-many-chunks',
  'too-many-batches',
]);

/** fast-check makes null-prototype records by default; deepEqual would tell them apart. */
const plain = { noNullPrototype: true };

// Arbitraries. `large` adds byte fields past 64 KiB (filled, so cheap to generate).
const ordinal = fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, ORDINAL_MAX), fc.maxSafeNat());
const positiveOrdinal = fc.oneof(fc.constantFrom(1, 2 ** 32, ORDINAL_MAX), fc.integer({ min: 1, max: ORDINAL_MAX }));
const bytesArb = (large: boolean): fc.Arbitrary<Uint8Array> => {
  const small = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 64, size: 'max' }));
  if (!large) return small;
  const big = fc
    .tuple(fc.integer({ min: 65_536, max: 70_000 }), fc.integer({ min: 0, max: 255 }))
    .map(([length, fill]) => new Uint8Array(length).fill(fill));
  return fc.oneof({ arbitrary: small, weight: 9 }, { arbitrary: big, weight: 1 });
};
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const signatureArb = fc.uint8Array({ minLength: 64, maxLength: 64 });
const clientKeyArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const requestArb = (large: boolean): fc.Arbitrary<Request> =>
  fc.record(
    {
      clientId: ordinal.map((v) => clientId(v)),
      requestNo: ordinal.map((v) => v as RequestNo),
      operation: bytesArb(large),
      clientKey: clientKeyArb,
      signature: signatureArb,
    },
    plain,
  );
/** Batches within batchBytesMax: a larger one is a valid rejection, not a round trip (four 64 KiB+ requests exceed it). */
const batchArb = (large: boolean): fc.Arbitrary<Request[]> =>
  fc
    .array(requestArb(large), { maxLength: 6, size: 'max' })
    .filter((batch) => batch.reduce((bytes, r) => bytes + r.operation.length, 0) <= defaultProtocolOptions.batchBytesMax);

const slotArbs = {
  view: ordinal.map((v) => v as View),
  seq: ordinal.map((v) => v as SeqNo),
  digest: digestArb,
};
const prePrepareArb = (large: boolean, batch = batchArb(large)): fc.Arbitrary<PrePrepareMessage> =>
  fc.record(
    { type: fc.constant('pre-prepare' as const), ...slotArbs, signature: signatureArb, requests: batch },
    plain,
  );
// Nested structures keep small batches (often empty), so whole new-views stay a few KiB.
const nestedPrePrepareArb = prePrepareArb(false, fc.array(requestArb(false), { maxLength: 2 }));
const signedByArb: fc.Arbitrary<SignedBy> = fc.record(
  { replica: fc.integer({ min: 0, max: N - 1 }).map(replicaId), signature: signatureArb },
  plain,
);
const signaturesArb = fc.array(signedByArb, { maxLength: N });
const genesis: CheckpointCertificate = { seq: 0 as SeqNo, stateDigest: new Uint8Array(0), signatures: [] };
const checkpointCertificateArb: fc.Arbitrary<CheckpointCertificate> = fc.oneof(
  fc.constant(genesis),
  fc.record({ seq: positiveOrdinal.map((v) => v as SeqNo), stateDigest: digestArb, signatures: signaturesArb }, plain),
);
const preparedCertificateArb: fc.Arbitrary<PreparedCertificate> = fc.record(
  { prePrepare: nestedPrePrepareArb, prepares: signaturesArb },
  plain,
);
const viewChangeArb: fc.Arbitrary<ViewChangeMessage> = fc.record(
  {
    type: fc.constant('view-change' as const),
    newView: ordinal.map((v) => v as View),
    replica: fc.integer({ min: 0, max: N - 1 }).map(replicaId),
    checkpoint: checkpointCertificateArb,
    prepared: fc.array(preparedCertificateArb, { maxLength: 3 }),
    signature: signatureArb,
  },
  plain,
);
const newViewArb: fc.Arbitrary<NewViewMessage> = fc.record(
  {
    type: fc.constant('new-view' as const),
    view: ordinal.map((v) => v as View),
    viewChanges: fc.array(viewChangeArb, { maxLength: N }),
    prePrepares: fc.array(nestedPrePrepareArb, { maxLength: 4 }),
  },
  plain,
);
const manifestArb: fc.Arbitrary<CheckpointManifest> = fc.record(
  {
    chunkBytes: fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    clientTableBytes: ordinal,
    serviceStateBytes: ordinal,
    chunkDigests: fc.array(digestArb, { maxLength: 8 }),
  },
  plain,
);
const chunkIndexArb = fc.oneof(fc.constantFrom(0, 2 ** 32 - 1), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
const loggedBatchArb = (large: boolean): fc.Arbitrary<LoggedBatch> =>
  fc.record({ seq: ordinal.map((v) => v as SeqNo), requests: batchArb(large) }, plain);
const messageArbs = (large: boolean) => ({
  request: fc.record({ type: fc.constant('request' as const), request: requestArb(large) }, plain),
  reply: fc.oneof(
    fc.record(
      {
        type: fc.constant('reply' as const),
        view: ordinal.map((v) => v as View),
        clientId: ordinal.map((v) => clientId(v)),
        requestNo: ordinal.map((v) => v as RequestNo),
        result: bytesArb(large),
      },
      plain,
    ),
    fc.record(
      {
        type: fc.constant('reply' as const),
        view: ordinal.map((v) => v as View),
        clientId: ordinal.map((v) => clientId(v)),
        requestNo: ordinal.map((v) => v as RequestNo),
        status: fc.constantFrom('refused' as const, 'failed' as const, 'rejected' as const),
        result: fc.constant(new Uint8Array(0)),
      },
      plain,
    ),
  ),
  'pre-prepare': prePrepareArb(large),
  prepare: fc.record({ type: fc.constant('prepare' as const), ...slotArbs, signature: signatureArb }, plain),
  commit: fc.record({ type: fc.constant('commit' as const), ...slotArbs }, plain),
  checkpoint: fc.record(
    { type: fc.constant('checkpoint' as const), certificate: checkpointCertificateArb, signature: signatureArb },
    plain,
  ).map(({ type, certificate: { seq, stateDigest }, signature }) => ({ type, seq, stateDigest, signature })),
  'view-change': viewChangeArb,
  'new-view': newViewArb,
  forward: fc.record({ type: fc.constant('forward' as const), request: requestArb(large) }, plain),
  'state-query': fc.record({ type: fc.constant('state-query' as const), lastExecuted: slotArbs.seq }, plain),
  'state-summary': fc.record(
    {
      type: fc.constant('state-summary' as const),
      view: slotArbs.view,
      viewActive: fc.boolean(),
      checkpoint: checkpointCertificateArb,
      manifest: manifestArb,
      lastDelivered: slotArbs.seq,
    },
    plain,
  ),
  'chunk-request': fc.record(
    { type: fc.constant('chunk-request' as const), seq: slotArbs.seq, index: chunkIndexArb },
    plain,
  ),
  chunk: fc.record(
    { type: fc.constant('chunk' as const), seq: slotArbs.seq, index: chunkIndexArb, bytes: bytesArb(large) },
    plain,
  ),
  'log-request': fc.record({ type: fc.constant('log-request' as const), after: slotArbs.seq }, plain),
  'log-entries': fc.record(
    { type: fc.constant('log-entries' as const), batches: fc.array(loggedBatchArb(large), { maxLength: 3 }) },
    plain,
  ),
  'read-request': fc.record({ type: fc.constant('read-request' as const), readId: ordinal, operation: bytesArb(large) }, plain),
  'read-reply': fc.oneof(
    fc.record({ type: fc.constant('read-reply' as const), readId: ordinal, result: bytesArb(large) }, plain),
    fc.record(
      {
        type: fc.constant('read-reply' as const),
        readId: ordinal,
        status: fc.constantFrom('not-read-only' as const, 'failed' as const, 'rejected' as const),
        result: bytesArb(large),
      },
      plain,
    ),
  ),
});
const smallArbs = messageArbs(false);
const smallMessageArb: fc.Arbitrary<Message> = fc.oneof(...(Object.values(smallArbs) as fc.Arbitrary<Message>[]));
const evidenceArb: fc.Arbitrary<Message> = fc.oneof(smallArbs['view-change'], smallArbs['new-view']);
/** State-transfer messages with lists and nested records. */
const transferArb: fc.Arbitrary<Message> = fc.oneof(smallArbs['state-summary'], smallArbs['log-entries']);

const statementArb: fc.Arbitrary<Statement> = fc.oneof(
  fc.record({ kind: fc.constant('pre-prepare' as const), ...slotArbs }, plain),
  fc.record({ kind: fc.constant('prepare' as const), ...slotArbs }, plain),
  checkpointCertificateArb.map(({ seq, stateDigest }) => ({ kind: 'checkpoint' as const, seq, stateDigest })),
  viewChangeArb.map(({ signature: _, ...message }) => ({ kind: 'view-change' as const, message })),
);

function rejects(bytes: Uint8Array, reason: WireRejectionReason, lim: WireLimits = limits): void {
  assert.deepEqual(decodeMessage(bytes, lim), { ok: false, reason });
}

function accepts(message: Message, lim: WireLimits = limits): void {
  assert.deepEqual(decodeMessage(encodeMessage(message), lim), { ok: true, message });
}

/** Decoding never throws, refuses only with a known reason, and accepts only canonical bytes. */
function checkTotal(bytes: Uint8Array, lim: WireLimits = limits): void {
  const result = decodeMessage(bytes, lim);
  if (result.ok) assert.deepEqual(encodeMessage(result.message), bytes);
  else assert.ok(reasons.has(result.reason), result.reason);
}

function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value);
  return copy;
}

function withU16(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint16(offset, value);
  return copy;
}

/** `bytes` with the ordinal at `offset` set to `value` (below 2^64). */
function withU64(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  return withU32(withU32(bytes, offset, Math.floor(value / 2 ** 32)), offset + 4, value % 2 ** 32);
}

function u32At(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * `bytes` with the length-prefixed field at `lengthAt` (currently `length`
 * bytes) replaced by `newLength` bytes, its length field saying so.
 */
function resized(bytes: Uint8Array, lengthAt: number, length: number, newLength: number): Uint8Array {
  const before = bytes.subarray(0, lengthAt);
  const after = bytes.subarray(lengthAt + 4 + length);
  return withU32(concat(before, new Uint8Array(4), new Uint8Array(newLength).fill(0xab), after), lengthAt, newLength);
}

const digest = new Uint8Array(32).fill(7);
const sig = (fill: number): Signature => new Uint8Array(64).fill(fill);
const signed = (replica: number): SignedBy => ({ replica: replicaId(replica), signature: sig(0x10 + replica) });
const req = (n: number, operation: Uint8Array): Request => ({
  clientId: clientId(1000 + n),
  requestNo: n as RequestNo,
  operation,
  clientKey: new Uint8Array(32).fill(0xc0 + n),
  signature: sig(0xa0 + n),
});
const prePrepare = (requests: Request[]): PrePrepareMessage => ({
  type: 'pre-prepare',
  view: 3 as View,
  seq: 9 as SeqNo,
  digest,
  signature: sig(9),
  requests,
});
const reply = (result: Uint8Array): Message => ({
  type: 'reply',
  view: 1 as View,
  clientId: 2 as ClientId,
  requestNo: 3 as RequestNo,
  result,
});
const prepare: Message = { type: 'prepare', view: 1 as View, seq: 2 as SeqNo, digest, signature: sig(1) };
const commit: Message = { type: 'commit', view: 1 as View, seq: 2 as SeqNo, digest };
const checkpoint: Message = { type: 'checkpoint', seq: 64 as SeqNo, stateDigest: digest, signature: sig(2) };
const certificate = (seq: number, signatures: SignedBy[]): CheckpointCertificate => ({
  seq: seq as SeqNo,
  stateDigest: digest,
  signatures,
});
const prepared = (requests: Request[], prepares: SignedBy[]): PreparedCertificate => ({
  prePrepare: prePrepare(requests),
  prepares,
});
const viewChangeWith = (
  checkpointCertificate: CheckpointCertificate,
  preparedCertificates: PreparedCertificate[],
): ViewChangeMessage => ({
  type: 'view-change',
  newView: 4 as View,
  replica: replicaId(1),
  checkpoint: checkpointCertificate,
  prepared: preparedCertificates,
  signature: sig(0xee),
});
const newViewWith = (viewChanges: ViewChangeMessage[], prePrepares: PrePrepareMessage[]): NewViewMessage => ({
  type: 'new-view',
  view: 4 as View,
  viewChanges,
  prePrepares,
});

/**
 * The fixed view-change of the offset tests: a checkpoint with one
 * signature, one prepared certificate of one 1-byte request and one prepare.
 */
const viewChange = viewChangeWith(certificate(5, [signed(2)]), [prepared([req(1, new Uint8Array([1]))], [signed(3)])]);
/** Offsets in its encoding (525 bytes), as docs/WIRE.md lays them out. */
const VC = {
  newView: 2,
  replica: 10,
  checkpointSeq: 12,
  checkpointDigestLength: 20,
  checkpointSignatures: 56,
  checkpointSigner: 60,
  checkpointSignatureLength: 62,
  prepared: 130,
  prePrepareView: 134,
  prePrepareSeq: 142,
  prePrepareDigestLength: 150,
  prePrepareSignatureLength: 186,
  batch: 254,
  clientId: 258,
  requestNo: 266,
  clientKeyLength: 274,
  requestSignatureLength: 310,
  operationLength: 378,
  prepares: 383,
  prepareSigner: 387,
  prepareSignatureLength: 389,
  signatureLength: 457,
  end: 525,
} as const;
/**
 * The fixed new-view: that view-change, then one pre-prepare of one 80-byte
 * request (869 bytes). The operation leaves slack behind the last digest and
 * signature: shortened, they still leave the input room for a pre-prepare of
 * least size, so the tests see their length refused rather than the
 * pre-prepare count refused as `truncated` up front.
 */
const newView = newViewWith([viewChange], [prePrepare([req(2, new Uint8Array(80).fill(2))])]);
/** Offsets in the new-view; its view-change record is the view-change message without the 2 header bytes. */
const NV = {
  view: 2,
  viewChanges: 10,
  viewChangeShift: 14 - 2,
  prePrepares: 537,
  prePrepareView: 541,
  prePrepareSeq: 549,
  prePrepareDigestLength: 557,
  prePrepareSignatureLength: 593,
  batch: 661,
  clientId: 665,
  requestNo: 673,
  clientKeyLength: 681,
  requestSignatureLength: 717,
  end: 869,
} as const;
/**
 * The fixed view-change and log-entries with a 100-byte operation instead of
 * a 1-byte one: a request's client key and signature are at the same offsets,
 * and shortened they still leave the input room for a request of least size,
 * so the tests see their length refused rather than the batch count refused
 * as `truncated` up front.
 */
const viewChangeSlack = viewChangeWith(certificate(5, [signed(2)]), [prepared([req(1, new Uint8Array(100))], [signed(3)])]);
const newViewSlack = newViewWith([viewChangeSlack], newView.prePrepares as PrePrepareMessage[]);
const logEntriesSlack: Message = { type: 'log-entries', batches: [{ seq: 65 as SeqNo, requests: [req(1, new Uint8Array(100))] }] };
/** Offsets of the view-change fields inside the fixed new-view. */
const NV_VC = Object.fromEntries(Object.entries(VC).map(([field, at]) => [field, at + NV.viewChangeShift])) as {
  [K in keyof typeof VC]: number;
};

const manifest: CheckpointManifest = {
  chunkBytes: 16,
  clientTableBytes: 20,
  serviceStateBytes: 5,
  chunkDigests: [1, 2, 3].map((fill) => new Uint8Array(32).fill(fill)),
};
/** The fixed state-summary: a checkpoint with one signature and a manifest of three chunks (269 bytes). */
const stateSummary: StateSummaryMessage = {
  type: 'state-summary',
  view: 3 as View,
  viewActive: true,
  checkpoint: certificate(64, [signed(1)]),
  manifest,
  lastDelivered: 70 as SeqNo,
};
/** Offsets in its encoding, as docs/WIRE.md lays them out. */
const SS = {
  view: 2,
  viewActive: 10,
  checkpointSeq: 11,
  checkpointDigestLength: 19,
  checkpointSignatures: 55,
  checkpointSigner: 59,
  checkpointSignatureLength: 61,
  manifest: 129,
  clientTableBytes: 133,
  serviceStateBytes: 141,
  chunkDigests: 149,
  chunkDigestLength: 153,
  lastDelivered: 261,
  end: 269,
} as const;
const stateQuery: StateQueryMessage = { type: 'state-query', lastExecuted: 5 as SeqNo };
const logRequest: LogRequestMessage = { type: 'log-request', after: 5 as SeqNo };
const chunkRequest: ChunkRequestMessage = { type: 'chunk-request', seq: 64 as SeqNo, index: 2 };
/** A chunk of 3 bytes: seq at 2, index at 10, the bytes' length at 14 (21 bytes). */
const chunk: ChunkMessage = { type: 'chunk', seq: 64 as SeqNo, index: 2, bytes: new Uint8Array([1, 2, 3]) };
/** The fixed log-entries: a batch of one 1-byte request, then an empty batch (155 bytes). */
const logEntries: LogEntriesMessage = {
  type: 'log-entries',
  batches: [
    { seq: 65 as SeqNo, requests: [req(1, new Uint8Array([1]))] },
    { seq: 66 as SeqNo, requests: [] },
  ],
};
const LE = { batches: 2, seq: 6, batch: 14, clientId: 18, requestNo: 26, clientKeyLength: 34, requestSignatureLength: 70, secondSeq: 143, secondBatch: 151, end: 155 } as const;

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
          { numRuns: type === 'new-view' ? 150 : 300 },
        );
      });
    }

    it('lays out a reply with its status byte before the result: executed (0), refused (1), failed (2), rejected (3)', () => {
      const ok = encodeMessage(reply(new Uint8Array([7, 8])));
      assert.deepEqual(
        [...ok],
        [WIRE_VERSION, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 2, 7, 8],
      );
      const refused: Message = { type: 'reply', view: 1 as View, clientId: 2 as ClientId, requestNo: 3 as RequestNo, status: 'refused', result: new Uint8Array(0) };
      const bytes = encodeMessage(refused);
      assert.equal(bytes.length, 31, '31 + result, as every reply');
      assert.equal(bytes[26], 1);
      accepts(refused);
      for (const [status, byte] of [['failed', 2], ['rejected', 3]] as const) {
        const answer: Message = { ...refused, status, result: new TextEncoder().encode('Error: boom') };
        assert.equal(encodeMessage(answer)[26], byte, status);
        accepts(answer);
      }
      // An executed request's reply decodes without a status field: one form.
      const decoded = decodeMessage(ok, limits);
      assert.ok(decoded.ok && decoded.message.type === 'reply' && !('status' in decoded.message));
    });

    it('lays out read-request (tag 16) and read-reply (tag 17): read id, then the status byte, then the bytes', () => {
      const request = encodeMessage({ type: 'read-request', readId: 3, operation: new Uint8Array([9, 8]) });
      assert.deepEqual([...request], [WIRE_VERSION, 16, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 9, 8]);
      assert.equal(request.length, 14 + 2, '14 + operation');
      const answer = encodeMessage({ type: 'read-reply', readId: 3, result: new Uint8Array([7]) });
      assert.deepEqual([...answer], [WIRE_VERSION, 17, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1, 7]);
      assert.equal(answer.length, 15 + 1, '15 + result');
      for (const [status, byte] of [['not-read-only', 1], ['failed', 2], ['rejected', 3]] as const) {
        const message: Message = { type: 'read-reply', readId: 3, status, result: new TextEncoder().encode('why') };
        assert.equal(encodeMessage(message)[10], byte, status);
        accepts(message);
      }
      // An answer decodes without a status field: one form.
      const decoded = decodeMessage(answer, limits);
      assert.ok(decoded.ok && decoded.message.type === 'read-reply' && !('status' in decoded.message));
    });

    it('lays out the fixed view-change and new-view at the documented offsets', () => {
      const vc = encodeMessage(viewChange);
      assert.equal(vc.length, VC.end);
      assert.deepEqual([...vc.subarray(0, 2)], [WIRE_VERSION, 7]);
      assert.equal(u32At(vc, VC.checkpointSignatures), 1);
      assert.equal(u32At(vc, VC.prepared), 1);
      assert.equal(u32At(vc, VC.batch), 1);
      assert.equal(u32At(vc, VC.clientId + 4), 1001);
      assert.equal(u32At(vc, VC.clientKeyLength), 32);
      assert.equal(u32At(vc, VC.requestSignatureLength), 64);
      assert.equal(u32At(vc, VC.operationLength), 1);
      assert.equal(u32At(vc, VC.prepares), 1);
      assert.equal(u32At(vc, VC.signatureLength), 64);
      const nv = encodeMessage(newView);
      assert.equal(nv.length, NV.end);
      assert.deepEqual([...nv.subarray(0, 2)], [WIRE_VERSION, 8]);
      assert.equal(u32At(nv, NV.viewChanges), 1);
      assert.deepEqual(nv.subarray(NV.viewChanges + 4, NV.prePrepares), vc.subarray(2), 'nested view-change record');
      assert.equal(u32At(nv, NV.prePrepares), 1);
      const pp = encodeMessage(newView.prePrepares[0]!);
      assert.deepEqual(nv.subarray(NV.prePrepares + 4), pp.subarray(2), 'nested pre-prepare record');
      for (const [message, tag] of [
        [checkpoint, 6],
        [{ type: 'forward', request: req(1, new Uint8Array([1])) }, 9],
      ] as const) {
        assert.equal(encodeMessage(message)[1], tag);
      }
      // forward is the request layout under another tag.
      const request = req(1, new Uint8Array([5, 6]));
      const forwarded = encodeMessage({ type: 'forward', request });
      assert.deepEqual(forwarded.subarray(2), encodeMessage({ type: 'request', request }).subarray(2));
    });

    it('lays out the state-transfer messages at the documented offsets', () => {
      const ss = encodeMessage(stateSummary);
      assert.equal(ss.length, SS.end);
      assert.deepEqual([...ss.subarray(0, 2)], [WIRE_VERSION, 11]);
      assert.equal(ss[SS.viewActive], 1);
      assert.equal(u32At(ss, SS.checkpointSignatures), 1);
      assert.equal(u32At(ss, SS.manifest), 16);
      assert.equal(u32At(ss, SS.clientTableBytes + 4), 20);
      assert.equal(u32At(ss, SS.serviceStateBytes + 4), 5);
      assert.equal(u32At(ss, SS.chunkDigests), 3);
      assert.equal(u32At(ss, SS.chunkDigestLength), 32);
      assert.equal(u32At(ss, SS.lastDelivered + 4), 70);
      // The certificate is the CheckpointCert record of a view-change.
      const vc = encodeMessage(viewChangeWith(stateSummary.checkpoint, []));
      assert.deepEqual(ss.subarray(SS.checkpointSeq, SS.manifest), vc.subarray(VC.checkpointSeq, VC.checkpointSeq + 118));
      assert.deepEqual(encodeMessage({ ...stateSummary, viewActive: false })[SS.viewActive], 0);

      const c = encodeMessage(chunk);
      assert.deepEqual([...c], [WIRE_VERSION, 13, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3]);
      assert.deepEqual(encodeMessage(chunkRequest), c.subarray(0, 14).map((b, i) => (i === 1 ? 12 : b)));
      assert.deepEqual([...encodeMessage(stateQuery)], [WIRE_VERSION, 10, 0, 0, 0, 0, 0, 0, 0, 5]);
      assert.deepEqual([...encodeMessage(logRequest)], [WIRE_VERSION, 14, 0, 0, 0, 0, 0, 0, 0, 5]);

      const le = encodeMessage(logEntries);
      assert.equal(le.length, LE.end);
      assert.deepEqual([...le.subarray(0, 2)], [WIRE_VERSION, 15]);
      assert.equal(u32At(le, LE.batches), 2);
      assert.equal(u32At(le, LE.seq + 4), 65);
      assert.equal(u32At(le, LE.clientKeyLength), 32);
      assert.equal(u32At(le, LE.requestSignatureLength), 64);
      // Each batch is the Batch record of a pre-prepare.
      assert.deepEqual(le.subarray(LE.batch, LE.secondSeq), encodeBatch(logEntries.batches[0]!.requests));
      assert.equal(u32At(le, LE.secondSeq + 4), 66);
      assert.equal(u32At(le, LE.secondBatch), 0);
    });

    it('accepts chunks, manifests and log entries exactly at the limits', () => {
      const tight: WireLimits = {
        ...limits,
        chunkBytes: 10,
        manifestChunksMax: 3,
        logEntriesMax: 2,
        batchRequestsMax: 3,
        batchBytesMax: 30,
        requestBytesMax: 10,
      };
      const full = new Uint8Array(10);
      const batch = [req(1, full), req(2, full), req(3, full)];
      accepts({ ...chunk, bytes: new Uint8Array(10) }, tight);
      accepts(stateSummary, tight);
      accepts({ type: 'log-entries', batches: [{ seq: 1 as SeqNo, requests: batch }, { seq: 2 as SeqNo, requests: batch }] }, tight);
      accepts({ type: 'log-entries', batches: [] }, tight);
    });

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

    it('copies digests and signatures out of the frame, keeps nested operations as views', () => {
      const encoded = encodeMessage(newView);
      const frame = Buffer.alloc(encoded.length + 5);
      frame.set(encoded, 3);
      const result = decodeMessage(frame.subarray(3, 3 + encoded.length), limits);
      assert.deepEqual(result, { ok: true, message: newView });
      assert.ok(result.ok && result.message.type === 'new-view');
      const vc = result.message.viewChanges[0]!;
      const certificate = vc.prepared[0]!;
      const copies = [
        vc.signature,
        vc.checkpoint.stateDigest,
        vc.checkpoint.signatures[0]!.signature,
        certificate.prePrepare.digest,
        certificate.prePrepare.signature,
        certificate.prepares[0]!.signature,
        result.message.prePrepares[0]!.digest,
        result.message.prePrepares[0]!.signature,
      ];
      for (const bytes of copies) {
        assert.notEqual(bytes.buffer, frame.buffer, 'a copy');
        assert.equal(bytes.buffer.byteLength, bytes.length, 'an exact-size copy');
        assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
      }
      for (const request of [certificate.prePrepare.requests[0]!, result.message.prePrepares[0]!.requests[0]!]) {
        for (const bytes of [request.operation, request.clientKey, request.signature]) {
          assert.equal(bytes.buffer, frame.buffer, 'a view, not a copy: it lives as long as its request');
          assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
        }
      }
    });

    it('keeps chunk bytes and logged operations as views, copies manifest and certificate digests', () => {
      const inFrame = <M extends Message>(message: M): { frame: Buffer; decoded: M } => {
        const encoded = encodeMessage(message);
        const frame = Buffer.alloc(encoded.length + 5);
        frame.set(encoded, 3);
        const result = decodeMessage(frame.subarray(3, 3 + encoded.length), limits);
        assert.deepEqual(result, { ok: true, message });
        return { frame, decoded: (result as { message: M }).message };
      };
      const c = inFrame(chunk);
      assert.equal(c.decoded.bytes.buffer, c.frame.buffer, 'a view, not a copy');
      assert.equal(Object.getPrototypeOf(c.decoded.bytes), Uint8Array.prototype);
      const le = inFrame(logEntries);
      assert.equal(le.decoded.batches[0]!.requests[0]!.operation.buffer, le.frame.buffer);
      const ss = inFrame(stateSummary);
      for (const bytes of [...ss.decoded.manifest.chunkDigests, ss.decoded.checkpoint.stateDigest]) {
        assert.notEqual(bytes.buffer, ss.frame.buffer, 'a copy');
        assert.equal(bytes.buffer.byteLength, bytes.length, 'an exact-size copy');
      }
    });

    it('accepts byte fields and batches exactly at the limits', () => {
      const tight: WireLimits = {
        ...limits,
        batchRequestsMax: 3,
        batchBytesMax: 30,
        requestBytesMax: 10,
        replyBytesMax: 12,
      };
      const full = new Uint8Array(10);
      const batch = [req(1, full), req(2, full), req(3, full)];
      for (const message of [
        { type: 'request', request: req(1, full) },
        { type: 'forward', request: req(1, full) },
        reply(new Uint8Array(12)),
        prePrepare(batch),
        viewChangeWith(certificate(5, []), [prepared(batch, [])]),
        newViewWith([], [prePrepare(batch)]),
      ] satisfies Message[]) {
        accepts(message, tight);
      }
    });

    it('accepts counts, replica ids and sizes exactly at the limits', () => {
      const n = 3;
      const window = 2;
      const all = [signed(0), signed(1), signed(2)];
      const full = viewChangeWith(certificate(5, all), [prepared([], all), prepared([], all)]);
      const fullNewView = newViewWith([full, full, full], [prePrepare([]), prePrepare([])]);
      const viewChangeBytes = encodeMessage(full).length;
      const newViewBytes = encodeMessage(fullNewView).length;
      const tight: WireLimits = { ...limits, replicas: n, logWindow: window, viewChangeBytesMax: viewChangeBytes, newViewBytesMax: newViewBytes };
      accepts(full, tight);
      accepts(fullNewView, tight);
      accepts({ ...full, replica: replicaId(n - 1) }, tight);
      rejects(encodeMessage(full), 'view-change-too-large', { ...tight, viewChangeBytesMax: viewChangeBytes - 1 });
      rejects(encodeMessage(fullNewView), 'view-change-too-large', { ...tight, newViewBytesMax: newViewBytes - 1 });
    });

    it('accepts empty batches everywhere, as null requests of a new-view', () => {
      accepts(prePrepare([]));
      accepts(viewChangeWith(genesis, [prepared([], [signed(0)])]));
      accepts(newViewWith([viewChangeWith(genesis, [])], [prePrepare([]), prePrepare([]), prePrepare([])]));
      accepts(newViewWith([], []));
    });

    it('accepts the genesis checkpoint: seq 0, empty state digest, no signatures', () => {
      const vc = viewChangeWith(genesis, []);
      accepts(vc);
      const bytes = encodeMessage(vc);
      assert.equal(u32At(bytes, VC.checkpointDigestLength), 0, 'empty digest');
      assert.equal(u32At(bytes, VC.checkpointDigestLength + 4), 0, 'no signatures');
      accepts({ type: 'checkpoint', seq: 0 as SeqNo, stateDigest: new Uint8Array(0), signature: sig(1) });
    });
  });

  describe('rejects', () => {
    it('every strict prefix of a valid encoding as truncated', () => {
      for (const [type, arb] of Object.entries(smallArbs)) {
        const evidence = type === 'view-change' || type === 'new-view';
        fc.assert(
          fc.property(arb as fc.Arbitrary<Message>, (message) => {
            const bytes = encodeMessage(message);
            for (let end = 0; end < bytes.length; end++) rejects(bytes.subarray(0, end), 'truncated');
          }),
          { numRuns: evidence ? 25 : 50 },
        );
      }
      for (const message of [viewChange, newView]) {
        const bytes = encodeMessage(message);
        for (let end = 0; end < bytes.length; end++) rejects(bytes.subarray(0, end), 'truncated');
      }
    });

    it('a trailing byte', () => {
      fc.assert(
        fc.property(smallMessageArb, fc.integer({ min: 0, max: 255 }), (message, extra) => {
          rejects(concat(encodeMessage(message), new Uint8Array([extra])), 'trailing-bytes');
        }),
        { numRuns: 300 },
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
      for (const tag of [0, 18, 255]) rejects(withByte(1, tag), 'unknown-type');
      rejects(new Uint8Array([2]), 'unknown-version');
      rejects(new Uint8Array([1, 18]), 'unknown-type');
    });

    it('ordinals and client ids of 2^53 or more', () => {
      const op = new Uint8Array([1]);
      // [message, offsets of u64 ordinals, offsets of u64 client ids]
      const cases: [Message, number[], number[]][] = [
        [{ type: 'request', request: req(1, op) }, [10], [2]],
        [{ type: 'forward', request: req(1, op) }, [10], [2]],
        [reply(op), [2, 18], [10]],
        [prePrepare([req(1, op)]), [2, 10, 134], [126]],
        [prepare, [2, 10], []],
        [commit, [2, 10], []],
        [checkpoint, [2], []],
        [viewChange, [VC.newView, VC.checkpointSeq, VC.prePrepareView, VC.prePrepareSeq, VC.requestNo], [VC.clientId]],
        [
          newView,
          [
            NV.view,
            NV_VC.newView,
            NV_VC.checkpointSeq,
            NV_VC.prePrepareView,
            NV_VC.prePrepareSeq,
            NV_VC.requestNo,
            NV.prePrepareView,
            NV.prePrepareSeq,
            NV.requestNo,
          ],
          [NV_VC.clientId, NV.clientId],
        ],
        [stateQuery, [2], []],
        [logRequest, [2], []],
        [chunkRequest, [2], []],
        [chunk, [2], []],
        [stateSummary, [SS.view, SS.checkpointSeq, SS.lastDelivered], []],
        [logEntries, [LE.seq, LE.requestNo, LE.secondSeq], [LE.clientId]],
      ];
      for (const [message, ordinals, clients] of cases) {
        const bytes = encodeMessage(message);
        for (const [offsets, reason] of [
          [ordinals, 'ordinal-out-of-range'],
          [clients, 'client-id-out-of-range'],
        ] as const) {
          for (const offset of offsets) {
            // 2^53 is hi = 0x200000, lo = 0; ORDINAL_MAX (hi = 0x1FFFFF) still decodes.
            rejects(withU64(bytes, offset, 2 ** 53), reason);
            rejects(withU32(bytes, offset, 0xffff_ffff), reason);
            assert.equal(decodeMessage(withU64(bytes, offset, ORDINAL_MAX), limits).ok, true);
          }
        }
      }
    });

    it('replica ids of n or more', () => {
      for (const [message, offsets] of [
        [viewChange, [VC.replica, VC.checkpointSigner, VC.prepareSigner]],
        [newView, [NV_VC.replica, NV_VC.checkpointSigner, NV_VC.prepareSigner]],
        [stateSummary, [SS.checkpointSigner]],
      ] as const) {
        const bytes = encodeMessage(message);
        for (const offset of offsets) {
          for (const id of [N, N + 1, 0xffff]) rejects(withU16(bytes, offset, id), 'replica-out-of-range');
          assert.equal(decodeMessage(withU16(bytes, offset, N - 1), limits).ok, true);
          assert.equal(decodeMessage(withU16(bytes, offset, 0xffff), unbounded).ok, true);
        }
      }
    });

    it('digests that are not 32 bytes', () => {
      // [message, offset of a digest's length field]
      const cases: [Message, number][] = [
        [prepare, 18],
        [commit, 18],
        [prePrepare([]), 18],
        [checkpoint, 10],
        [viewChange, VC.checkpointDigestLength],
        [viewChange, VC.prePrepareDigestLength],
        [newView, NV_VC.checkpointDigestLength],
        [newView, NV_VC.prePrepareDigestLength],
        [newView, NV.prePrepareDigestLength],
        [stateSummary, SS.checkpointDigestLength],
      ];
      for (const [message, lengthAt] of cases) {
        const bytes = encodeMessage(message);
        assert.equal(u32At(bytes, lengthAt), 32);
        for (const length of [0, 1, 31, 33, 64]) rejects(resized(bytes, lengthAt, 32, length), 'digest-wrong-length');
        assert.deepEqual(resized(bytes, lengthAt, 32, 32).length, bytes.length);
        assert.equal(decodeMessage(resized(bytes, lengthAt, 32, 32), limits).ok, true);
        // The length is refused as such, not as running past the input.
        rejects(withU32(bytes, lengthAt, 0xffff_ffff), 'digest-wrong-length');
      }
      // A manifest's chunk digests: shortened, the input no longer holds the
      // digest count at 36 bytes each, which is refused first as truncated.
      const ss = encodeMessage(stateSummary);
      for (const length of [24, 31, 33, 64]) rejects(resized(ss, SS.chunkDigestLength, 32, length), 'digest-wrong-length');
      for (const length of [0, 23]) rejects(resized(ss, SS.chunkDigestLength, 32, length), 'truncated');
      rejects(withU32(ss, SS.chunkDigestLength, 0xffff_ffff), 'digest-wrong-length');
    });

    it('signatures that are not 64 bytes', () => {
      // [message, offset of a signature's length field]
      const cases: [Message, number][] = [
        [prePrepare([]), 54],
        [{ type: 'request', request: req(1, new Uint8Array([1])) }, 54],
        [{ type: 'forward', request: req(1, new Uint8Array([1])) }, 54],
        [logEntriesSlack, LE.requestSignatureLength],
        [viewChangeSlack, VC.requestSignatureLength],
        [newViewSlack, NV_VC.requestSignatureLength],
        [prepare, 54],
        [checkpoint, 46],
        ...[
          VC.checkpointSignatureLength,
          VC.prePrepareSignatureLength,
          VC.prepareSignatureLength,
          VC.signatureLength,
        ].map((at): [Message, number] => [viewChange, at]),
        ...[
          NV_VC.checkpointSignatureLength,
          NV_VC.prePrepareSignatureLength,
          NV_VC.prepareSignatureLength,
          NV_VC.signatureLength,
          NV.prePrepareSignatureLength,
          NV.requestSignatureLength,
        ].map((at): [Message, number] => [newView, at]),
        [stateSummary, SS.checkpointSignatureLength],
      ];
      for (const [message, lengthAt] of cases) {
        const bytes = encodeMessage(message);
        assert.equal(u32At(bytes, lengthAt), 64);
        for (const length of [0, 32, 63, 65, 128]) {
          rejects(resized(bytes, lengthAt, 64, length), 'signature-wrong-length');
        }
        assert.equal(decodeMessage(resized(bytes, lengthAt, 64, 64), limits).ok, true);
        rejects(withU32(bytes, lengthAt, 0xffff_ffff), 'signature-wrong-length');
      }
    });

    it('client keys that are not 32 bytes', () => {
      // [message, offset of a request's client-key length field]
      const cases: [Message, number][] = [
        [{ type: 'request', request: req(1, new Uint8Array([1])) }, 18],
        [{ type: 'forward', request: req(1, new Uint8Array([1])) }, 18],
        [viewChangeSlack, VC.clientKeyLength],
        [newViewSlack, NV_VC.clientKeyLength],
        [newView, NV.clientKeyLength],
        [logEntriesSlack, LE.clientKeyLength],
      ];
      for (const [message, lengthAt] of cases) {
        const bytes = encodeMessage(message);
        assert.equal(u32At(bytes, lengthAt), 32);
        for (const length of [0, 31, 33, 64]) rejects(resized(bytes, lengthAt, 32, length), 'client-key-wrong-length');
        assert.equal(decodeMessage(resized(bytes, lengthAt, 32, 32), limits).ok, true);
        rejects(withU32(bytes, lengthAt, 0xffff_ffff), 'client-key-wrong-length');
      }
      assert.throws(() => encodeMessage({ type: 'request', request: { ...req(1, new Uint8Array(0)), clientKey: new Uint8Array(31) } }), InvariantViolation);
    });

    it('a checkpoint at seq 0 with a state digest, or above 0 without one', () => {
      // Decision (docs/WIRE.md): the genesis checkpoint has exactly one encoding, with an empty digest.
      const vc = encodeMessage(viewChangeWith(certificate(5, []), []));
      rejects(withU64(vc, VC.checkpointSeq, 0), 'digest-wrong-length');
      rejects(withU64(encodeMessage(checkpoint), 2, 0), 'digest-wrong-length');
      const genesisVc = encodeMessage(viewChangeWith(genesis, []));
      for (const seq of [1, 64, ORDINAL_MAX]) rejects(withU64(genesisVc, VC.checkpointSeq, seq), 'digest-wrong-length');
      const genesisCheckpoint = encodeMessage({ ...checkpoint, seq: 0 as SeqNo, stateDigest: new Uint8Array(0) });
      rejects(withU64(genesisCheckpoint, 2, 1), 'digest-wrong-length');
      // The same inside a new-view.
      const nv = encodeMessage(newViewWith([viewChangeWith(genesis, [])], []));
      rejects(withU64(nv, NV_VC.checkpointSeq, 1), 'digest-wrong-length');
      // And inside a state-summary.
      rejects(withU64(encodeMessage(stateSummary), SS.checkpointSeq, 0), 'digest-wrong-length');
      const genesisSummary = encodeMessage({ ...stateSummary, checkpoint: genesis });
      rejects(withU64(genesisSummary, SS.checkpointSeq, 1), 'digest-wrong-length');
    });

    it('a genesis checkpoint certificate with signatures in a state-summary', () => {
      const bytes = encodeMessage(stateSummary);
      const noDigest = concat(
        bytes.subarray(0, SS.checkpointSeq),
        new Uint8Array(12), // seq 0, digest length 0
        bytes.subarray(SS.checkpointSignatures),
      );
      rejects(noDigest, 'too-many-signatures', unbounded);
    });

    it('a reply status other than 0-3 (ok, refused, failed, rejected)', () => {
      const bytes = encodeMessage(reply(new Uint8Array([7])));
      for (const status of [4, 0x80, 0xff]) {
        const copy = bytes.slice();
        copy[26] = status;
        rejects(copy, 'unknown-reply-status');
      }
    });

    it('an oversized request is named by its header (so it can be answered), and nothing else is', () => {
      const big: Message = { type: 'request', request: { ...req(0, new Uint8Array(limits.requestBytesMax + 1)), clientId: clientId(7), requestNo: 9 as RequestNo } };
      const bytes = encodeMessage(big);
      assert.deepEqual(decodeMessage(bytes, limits), { ok: false, reason: 'request-too-large' });
      assert.deepEqual(oversizedRequest(bytes, limits), { clientId: 7, requestNo: 9, operationBytes: limits.requestBytesMax + 1 });
      assert.equal(oversizedRequest(bytes.subarray(0, bytes.length - 1), limits), undefined, 'a length the frame does not hold');
      const small: Message = { ...big, request: { ...big.request, operation: new Uint8Array(1) } };
      assert.equal(oversizedRequest(encodeMessage(small), limits), undefined);
      assert.equal(oversizedRequest(encodeMessage({ type: 'forward', request: big.request }), limits), undefined, 'only client requests');
    });

    it('read-only messages: a read status other than 0-3, a read id of 2^53, an operation or result over its limit', () => {
      const answer = encodeMessage({ type: 'read-reply', readId: 5, result: new Uint8Array([7]) });
      for (const status of [4, 0x80, 0xff]) {
        const copy = answer.slice();
        copy[10] = status;
        rejects(copy, 'unknown-reply-status');
      }
      const read = encodeMessage({ type: 'read-request', readId: ORDINAL_MAX, operation: new Uint8Array([1]) });
      assert.equal(decodeMessage(read, limits).ok, true);
      rejects(withU64(read, 2, ORDINAL_MAX + 1), 'ordinal-out-of-range');
      rejects(withU64(answer, 2, ORDINAL_MAX + 1), 'ordinal-out-of-range');
      rejects(encodeMessage({ type: 'read-request', readId: 1, operation: new Uint8Array(limits.requestBytesMax + 1) }), 'request-too-large');
      rejects(encodeMessage({ type: 'read-reply', readId: 1, result: new Uint8Array(limits.replyBytesMax + 1) }), 'reply-too-large');
      accepts({ type: 'read-request', readId: 1, operation: new Uint8Array(limits.requestBytesMax) });
      accepts({ type: 'read-reply', readId: 1, status: 'failed', result: new Uint8Array(limits.replyBytesMax) });
    });

    it('an oversized read-only request is named by its read id (so it can be answered), and nothing else is', () => {
      const big: Message = { type: 'read-request', readId: 42, operation: new Uint8Array(limits.requestBytesMax + 1) };
      const bytes = encodeMessage(big);
      assert.deepEqual(decodeMessage(bytes, limits), { ok: false, reason: 'request-too-large' });
      assert.deepEqual(oversizedReadRequest(bytes, limits), { readId: 42, operationBytes: limits.requestBytesMax + 1 });
      assert.equal(oversizedReadRequest(bytes.subarray(0, bytes.length - 1), limits), undefined, 'a length the frame does not hold');
      assert.equal(oversizedReadRequest(encodeMessage({ ...big, operation: new Uint8Array(1) }), limits), undefined);
      assert.equal(oversizedRequest(bytes, limits), undefined, 'the ordered peek names only REQUESTs');
      const ordered = encodeMessage({ type: 'request', request: req(0, new Uint8Array(limits.requestBytesMax + 1)) });
      assert.equal(oversizedReadRequest(ordered, limits), undefined, 'and this one only READ-REQUESTs');
    });

    it('a view-active flag other than 0 or 1', () => {
      const bytes = encodeMessage(stateSummary);
      for (const flag of [2, 0x80, 0xff]) {
        const copy = bytes.slice();
        copy[SS.viewActive] = flag;
        rejects(copy, 'invalid-flag');
      }
    });

    it('manifest sizes of 2^53 or more', () => {
      const bytes = encodeMessage(stateSummary);
      for (const offset of [SS.clientTableBytes, SS.serviceStateBytes]) {
        rejects(withU64(bytes, offset, 2 ** 53), 'byte-count-out-of-range');
        rejects(withU32(bytes, offset, 0xffff_ffff), 'byte-count-out-of-range');
        assert.equal(decodeMessage(withU64(bytes, offset, ORDINAL_MAX), limits).ok, true);
      }
    });

    it('chunks, manifests and log entries above their limits', () => {
      rejects(encodeMessage({ ...chunk, bytes: new Uint8Array(limits.chunkBytes + 1) }), 'chunk-too-large');
      rejects(encodeMessage(chunk), 'chunk-too-large', { ...limits, chunkBytes: 2 });
      rejects(encodeMessage(stateSummary), 'too-many-chunks', { ...limits, manifestChunksMax: 2 });
      const le = encodeMessage(logEntries);
      rejects(le, 'too-many-batches', { ...limits, logEntriesMax: 1 });
      // Each batch within the batch limits, as in a pre-prepare.
      const ten = new Uint8Array(10);
      const full = encodeMessage({ type: 'log-entries', batches: [{ seq: 1 as SeqNo, requests: [req(1, ten), req(2, ten), req(3, ten)] }] });
      rejects(full, 'batch-too-large', { ...limits, batchRequestsMax: 2 });
      rejects(full, 'batch-bytes-too-large', { ...limits, batchBytesMax: 29 });
      rejects(full, 'request-too-large', { ...limits, requestBytesMax: 9 });
    });

    it('a genesis checkpoint certificate with signatures', () => {
      // The fixed view-change with its checkpoint turned into seq 0 and an empty digest, keeping its signature.
      const bytes = encodeMessage(viewChange);
      const noDigest = concat(
        bytes.subarray(0, VC.checkpointSeq),
        new Uint8Array(12), // seq 0, digest length 0
        bytes.subarray(VC.checkpointSignatures),
      );
      assert.equal(u32At(noDigest, VC.checkpointSeq + 12), 1);
      rejects(noDigest, 'too-many-signatures');
      rejects(noDigest, 'too-many-signatures', unbounded);
      assert.equal(decodeMessage(withU64(bytes, VC.checkpointSeq, 1), limits).ok, true, 'seq 1 may carry them');
    });

    it('batches with too many requests or operation bytes', () => {
      const ten = new Uint8Array(10);
      const batch = [req(1, ten), req(2, ten), req(3, ten)];
      for (const message of [
        prePrepare(batch),
        viewChangeWith(certificate(5, []), [prepared(batch, [])]),
        newViewWith([], [prePrepare(batch)]),
      ]) {
        const bytes = encodeMessage(message);
        rejects(bytes, 'batch-too-large', { ...limits, batchRequestsMax: 2 });
        rejects(bytes, 'batch-bytes-too-large', { ...limits, batchBytesMax: 29 });
        rejects(bytes, 'request-too-large', { ...limits, requestBytesMax: 9 });
      }
    });

    it('operations and results above their limits', () => {
      const op = new Uint8Array(limits.requestBytesMax + 1);
      rejects(encodeMessage({ type: 'request', request: req(1, op) }), 'request-too-large');
      rejects(encodeMessage({ type: 'forward', request: req(1, op) }), 'request-too-large');
      rejects(encodeMessage(prePrepare([req(1, op)])), 'request-too-large');
      rejects(encodeMessage(reply(new Uint8Array(limits.replyBytesMax + 1))), 'reply-too-large');
    });

    it('counts above the limits: signatures, certificates, view-changes, pre-prepares', () => {
      const n = 3;
      const tight: WireLimits = { ...limits, replicas: n, logWindow: 2 };
      const all = [signed(0), signed(1), signed(2)];
      const cases: [Message, WireRejectionReason][] = [
        [viewChangeWith(certificate(5, [...all, signed(0)]), []), 'too-many-signatures'],
        [viewChangeWith(certificate(5, []), [prepared([], [...all, signed(1)])]), 'too-many-signatures'],
        [viewChangeWith(genesis, [prepared([], []), prepared([], []), prepared([], [])]), 'too-many-certificates'],
        [newViewWith([viewChange, viewChange, viewChange, viewChange], []), 'too-many-view-changes'],
        [newViewWith([], [prePrepare([]), prePrepare([]), prePrepare([])]), 'too-many-pre-prepares'],
        [newViewWith([viewChangeWith(certificate(5, [...all, signed(2)]), [])], []), 'too-many-signatures'],
        [
          newViewWith([viewChangeWith(genesis, [prepared([], []), prepared([], []), prepared([], [])])], []),
          'too-many-certificates',
        ],
      ];
      for (const [message, reason] of cases) rejects(encodeMessage(message), reason, tight);
    });

    it('view-changes above viewChangeBytesMax and new-views above newViewBytesMax, before reading them', () => {
      for (const [message, field] of [
        [viewChange, 'viewChangeBytesMax'],
        [newView, 'newViewBytesMax'],
      ] as const) {
        const bytes = encodeMessage(message);
        rejects(bytes, 'view-change-too-large', { ...limits, [field]: bytes.length - 1 });
        accepts(message, { ...limits, [field]: bytes.length });
        // Refused on size alone: even a body that is garbage after the header.
        const garbage = concat(bytes.subarray(0, 2), new Uint8Array(bytes.length - 2).fill(0xff));
        rejects(garbage, 'view-change-too-large', { ...limits, [field]: bytes.length - 1 });
      }
      // Other messages are not bound by it.
      accepts(prePrepare([req(1, new Uint8Array(1000))]), { ...limits, viewChangeBytesMax: 100, newViewBytesMax: 100 });
    });

    it('lengths and counts claiming 4 GiB in a tiny input, without allocating', () => {
      const before = process.memoryUsage().arrayBuffers;
      // request: header, clientId, requestNo, client key, signature, then an operation length of 2^32 - 1.
      const request = withU32(encodeMessage({ type: 'request', request: req(1, new Uint8Array(0)) }), 122, 0xffff_ffff);
      assert.equal(request.length, 126);
      rejects(request, 'request-too-large');
      rejects(request, 'truncated', unbounded);
      // pre-prepare with an empty batch whose count claims 2^32 - 1 requests.
      const batch = withU32(encodeMessage(prePrepare([])), 122, 0xffff_ffff);
      rejects(batch, 'batch-too-large');
      rejects(batch, 'truncated', unbounded);
      // prepare cut after its digest length, which claims 2^32 - 1 bytes.
      rejects(withU32(encodeMessage(prepare), 18, 0xffff_ffff).subarray(0, 22), 'digest-wrong-length');
      // Every count of a view-change and a new-view, claiming 2^32 - 1 elements.
      const vc = encodeMessage(viewChange);
      const nv = encodeMessage(newView);
      const counts: [Uint8Array, number, WireRejectionReason][] = [
        [vc, VC.checkpointSignatures, 'too-many-signatures'],
        [vc, VC.prepared, 'too-many-certificates'],
        [vc, VC.batch, 'batch-too-large'],
        [vc, VC.prepares, 'too-many-signatures'],
        [nv, NV.viewChanges, 'too-many-view-changes'],
        [nv, NV_VC.checkpointSignatures, 'too-many-signatures'],
        [nv, NV_VC.prepared, 'too-many-certificates'],
        [nv, NV_VC.prepares, 'too-many-signatures'],
        [nv, NV.prePrepares, 'too-many-pre-prepares'],
        [nv, NV.batch, 'batch-too-large'],
        [encodeMessage(chunk), 14, 'chunk-too-large'],
        [encodeMessage(stateSummary), SS.chunkDigests, 'too-many-chunks'],
        [encodeMessage(stateSummary), SS.checkpointSignatures, 'too-many-signatures'],
        [encodeMessage(logEntries), LE.batches, 'too-many-batches'],
        [encodeMessage(logEntries), LE.batch, 'batch-too-large'],
      ];
      for (const [bytes, at, reason] of counts) {
        const huge = withU32(bytes, at, 0xffff_ffff);
        rejects(huge, reason);
        rejects(huge, 'truncated', unbounded);
        // A count within the limits but beyond what the input can hold at the least size per element.
        rejects(withU32(bytes, at, 1000), 'truncated', unbounded);
      }
      assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
    });
  });

  describe('fuzz: decoding never throws', () => {
    it('10,000 random byte arrays', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 160, size: 'max' }), (bytes) => checkTotal(bytes)), {
        numRuns: 10_000,
      });
    });

    it('10,000 random bodies behind a valid header', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 16 }), fc.uint8Array({ maxLength: 160, size: 'max' }), (tag, body) =>
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

    it('5,000 view-changes, new-views, state-summaries and log-entries with 1 to 4 bytes mutated, under default and tight limits', () => {
      const tight: WireLimits = {
        ...limits,
        replicas: 3,
        logWindow: 2,
        batchRequestsMax: 1,
        viewChangeBytesMax: 2000,
        manifestChunksMax: 2,
        logEntriesMax: 1,
      };
      fc.assert(
        fc.property(
          fc.oneof(evidenceArb, transferArb),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          (message, mutations) => {
            const bytes = encodeMessage(message);
            for (const [index, value] of mutations) bytes[index % bytes.length] = value;
            checkTotal(bytes);
            checkTotal(bytes, tight);
          },
        ),
        { numRuns: 5_000 },
      );
    });

    it('2,000 view-changes, new-views, state-summaries and log-entries with a u32 length or count overwritten', () => {
      // Lengths and counts are where allocation sizes come from; hit them with boundary values.
      const value = fc.constantFrom(0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 0x7fff_ffff, 0xffff_ffff);
      fc.assert(
        fc.property(fc.oneof(evidenceArb, transferArb), fc.nat(), value, (message, index, v) => {
          const bytes = encodeMessage(message);
          checkTotal(withU32(bytes, index % (bytes.length - 3), v));
        }),
        { numRuns: 2_000 },
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
        fc.property(smallArbs['pre-prepare'], (message) => {
          const bytes = encodeMessage(message);
          const batch = encodeBatch(message.requests);
          assert.deepEqual(bytes.subarray(bytes.length - batch.length), batch);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('encodeManifest', () => {
    it('is the Manifest record inside a state-summary, in one exact-size allocation', () => {
      fc.assert(
        fc.property(smallArbs['state-summary'], (message) => {
          const bytes = encodeMessage(message);
          const record = encodeManifest(message.manifest);
          assert.equal(record.buffer.byteLength, record.length);
          // The record sits between the certificate and lastDelivered, the last field.
          assert.deepEqual(bytes.subarray(bytes.length - 8 - record.length, bytes.length - 8), record);
        }),
        { numRuns: 300 },
      );
      assert.deepEqual(encodeManifest(manifest), encodeMessage(stateSummary).subarray(SS.manifest, SS.lastDelivered));
    });

    it('is deterministic and injective', () => {
      fc.assert(
        fc.property(manifestArb, manifestArb, (a, b) => {
          assert.deepEqual(encodeManifest(a), encodeManifest(structuredClone(a)));
          if (!isDeepStrictEqual(a, b)) assert.notDeepEqual(encodeManifest(a), encodeManifest(b));
        }),
        { numRuns: 500 },
      );
    });

    it('asserts on local bugs: sizes, chunk size and digest lengths out of range', () => {
      const bad: CheckpointManifest[] = [
        { ...manifest, chunkBytes: 2 ** 32 },
        { ...manifest, chunkBytes: -1 },
        { ...manifest, clientTableBytes: 2 ** 53 },
        { ...manifest, serviceStateBytes: 1.5 },
        { ...manifest, chunkDigests: [new Uint8Array(31)] },
      ];
      for (const m of bad) {
        assert.throws(() => encodeManifest(m), InvariantViolation);
        assert.throws(() => encodeMessage({ ...stateSummary, manifest: m }), InvariantViolation);
      }
    });
  });

  describe('encodeRequestStatement', () => {
    const statementOf = (r: Request) => ({ clientId: r.clientId, requestNo: r.requestNo, operation: r.operation });

    it('is bafomet-v1/request, a zero byte, clientId u64, requestNo u64 and the operation as bytes', () => {
      const r = req(7, new Uint8Array([9, 8]));
      const prefix = [...'bafomet-v1/request'].map((c) => c.charCodeAt(0));
      assert.deepEqual(
        [...encodeRequestStatement(statementOf(r))],
        [...prefix, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xef, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2, 9, 8],
      );
    });

    it('is injective, and never a replica statement or a message', () => {
      fc.assert(
        fc.property(requestArb(false), requestArb(false), statementArb, (a, b, replicaStatement) => {
          const ea = encodeRequestStatement(statementOf(a));
          if (!isDeepStrictEqual(statementOf(a), statementOf(b))) assert.notDeepEqual(ea, encodeRequestStatement(statementOf(b)));
          assert.notDeepEqual(ea.subarray(0, 19), encodeStatement(replicaStatement).subarray(0, 19));
          assert.notEqual(ea[0], WIRE_VERSION);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('encodeStatement', () => {
    const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));
    const copyStatement = (statement: Statement): Statement => structuredClone(statement);

    it('starts with bafomet-v1/<kind> and a zero byte, never with a message header', () => {
      fc.assert(
        fc.property(statementArb, (statement) => {
          const bytes = encodeStatement(statement);
          const prefix = [...ascii(`bafomet-v1/${statement.kind}`), 0];
          assert.deepEqual([...bytes.subarray(0, prefix.length)], prefix);
          assert.notEqual(bytes[0], WIRE_VERSION, 'a statement can never be taken for a message');
          assert.equal(bytes.buffer.byteLength, bytes.length, 'one exact-size allocation');
        }),
        { numRuns: 300 },
      );
    });

    it('is deterministic', () => {
      fc.assert(
        fc.property(statementArb, (statement) => {
          assert.deepEqual(encodeStatement(statement), encodeStatement(copyStatement(statement)));
        }),
        { numRuns: 300 },
      );
    });

    it('is injective across and within kinds', () => {
      fc.assert(
        fc.property(statementArb, statementArb, (a, b) => {
          if (!isDeepStrictEqual(a, b)) assert.notDeepEqual(encodeStatement(a), encodeStatement(b));
        }),
        { numRuns: 1_000 },
      );
    });

    it('separates kinds whose fields are equal', () => {
      fc.assert(
        fc.property(slotArbs.view, positiveOrdinal, digestArb, (view, seq, d) => {
          const fields = { view, seq: seq as SeqNo, digest: d };
          const statements: Statement[] = [
            { kind: 'pre-prepare', ...fields },
            { kind: 'prepare', ...fields },
            { kind: 'checkpoint', seq: fields.seq, stateDigest: d },
          ];
          const encoded = statements.map((s) => Buffer.from(encodeStatement(s)).toString('hex'));
          assert.equal(new Set(encoded).size, encoded.length);
          // Without the prefixes, pre-prepare and prepare share their fields exactly.
          const [pp, p] = statements.map(encodeStatement) as [Uint8Array, Uint8Array];
          const fieldsOf = (bytes: Uint8Array, kind: string): Uint8Array =>
            bytes.subarray(ascii(`bafomet-v1/${kind}`).length + 1);
          assert.deepEqual(fieldsOf(pp, 'pre-prepare'), fieldsOf(p, 'prepare'));
        }),
        { numRuns: 300 },
      );
    });

    it('of a view-change is its message encoding without header and signature', () => {
      fc.assert(
        fc.property(smallArbs['view-change'], (message) => {
          const { signature: _, ...unsigned } = message;
          const statement = encodeStatement({ kind: 'view-change', message: unsigned });
          const prefixLength = ascii('bafomet-v1/view-change').length + 1;
          const bytes = encodeMessage(message);
          assert.deepEqual(statement.subarray(prefixLength), bytes.subarray(2, bytes.length - 68));
          // The signature does not change it.
          const resigned: ViewChangeMessage = { ...message, signature: sig(0) };
          assert.deepEqual(encodeStatement({ kind: 'view-change', message: resigned }), statement);
        }),
        { numRuns: 200 },
      );
    });

    it('of prepare and pre-prepare covers the slot as on the wire', () => {
      const statement = encodeStatement({ kind: 'prepare', view: 1 as View, seq: 2 as SeqNo, digest });
      const bytes = encodeMessage(prepare);
      assert.deepEqual(statement.subarray(ascii('bafomet-v1/prepare').length + 1), bytes.subarray(2, 54));
    });

    it('asserts on local bugs like encodeMessage', () => {
      const bad: Statement[] = [
        { kind: 'prepare', view: -1 as View, seq: 1 as SeqNo, digest },
        { kind: 'pre-prepare', view: 1 as View, seq: 1 as SeqNo, digest: new Uint8Array(31) },
        { kind: 'checkpoint', seq: 0 as SeqNo, stateDigest: digest },
        { kind: 'checkpoint', seq: 1 as SeqNo, stateDigest: new Uint8Array(0) },
        { kind: 'view-change', message: { ...viewChange, replica: replicaId(0x1_0000) } },
      ];
      for (const statement of bad) assert.throws(() => encodeStatement(statement), InvariantViolation);
    });
  });

  describe('encodeMessage', () => {
    it('asserts on local bugs: bad ordinals, digest and signature lengths, replica ids, genesis', () => {
      for (const view of [-1, 1.5, 2 ** 53, Number.NaN]) {
        assert.throws(() => encodeMessage({ ...prepare, view: view as View }), InvariantViolation);
      }
      const bad: Message[] = [
        { ...prepare, digest: new Uint8Array(31) },
        { ...prepare, signature: sig(0).subarray(1) },
        { ...prePrepare([]), signature: new Uint8Array(65) },
        { ...checkpoint, stateDigest: new Uint8Array(0) },
        { ...checkpoint, seq: 0 as SeqNo },
        { ...viewChange, signature: new Uint8Array(0) },
        { ...viewChange, replica: replicaId(-1) },
        { ...viewChange, replica: replicaId(0x1_0000) },
        { ...viewChange, replica: replicaId(1.5) },
        viewChangeWith(certificate(5, [{ replica: replicaId(0x1_0000), signature: sig(0) }]), []),
        viewChangeWith(certificate(0, []), []),
        viewChangeWith({ ...genesis, signatures: [signed(0)] }, []),
        viewChangeWith({ ...genesis, seq: 1 as SeqNo }, []),
        newViewWith([{ ...viewChange, signature: new Uint8Array(63) }], []),
        newViewWith([], [{ ...prePrepare([]), digest: new Uint8Array(0) }]),
        { ...stateQuery, lastExecuted: -1 as SeqNo },
        { ...logRequest, after: 2 ** 53 as SeqNo },
        { ...chunkRequest, index: -1 },
        { ...chunkRequest, index: 2 ** 32 },
        { ...chunk, index: 1.5 },
        { ...stateSummary, lastDelivered: Number.NaN as SeqNo },
        { ...stateSummary, checkpoint: { ...genesis, signatures: [signed(0)] } },
        { ...logEntries, batches: [{ seq: -1 as SeqNo, requests: [] }] },
      ];
      for (const message of bad) assert.throws(() => encodeMessage(message), InvariantViolation);
    });
  });

  describe('wireLimitsFrom', () => {
    it('takes the protocol limits and the cluster size', () => {
      const options = { ...defaultProtocolOptions, viewChangeBytesMax: 12345, logWindow: 64 };
      assert.deepEqual(wireLimitsFrom(options, 7), {
        batchRequestsMax: options.batchRequestsMax,
        batchBytesMax: options.batchBytesMax,
        requestBytesMax: options.requestBytesMax,
        replyBytesMax: options.replyBytesMax,
        viewChangeBytesMax: 12345,
        newViewBytesMax: 8 * 12345,
        logWindow: 64,
        replicas: 7,
        chunkBytes: options.chunkBytes,
        manifestChunksMax: 16 * 1024 + 2,
        logEntriesMax: options.logEntriesMax,
        clientSessionsMax: options.clientSessionsMax,
        clientReplyCacheBytesMax: options.clientReplyCacheBytesMax,
      });
      // Each of the two parts of an image may end in a partial chunk.
      assert.equal(wireLimitsFrom({ ...options, checkpointBytesMax: 10, chunkBytes: 4 }, 7).manifestChunksMax, 5);
      assert.equal(wireLimitsFrom(options, 0x1_0000).replicas, 0x1_0000);
      for (const replicas of [0, -1, 1.5, 0x1_0001, Number.NaN]) {
        assert.throws(() => wireLimitsFrom(options, replicas), InvariantViolation);
      }
    });
  });

  describe('stateTransferBytesMax', () => {
    /** The largest state-summary, chunk and log-entries the limits admit. */
    function largest(lim: WireLimits): Record<'summary' | 'chunk' | 'logEntries', Message> {
      const signatures = Array.from({ length: lim.replicas }, (_, i) => signed(i));
      const requests = [req(1, new Uint8Array(lim.batchBytesMax)), ...Array.from({ length: lim.batchRequestsMax - 1 }, (_, i) => req(i + 2, new Uint8Array(0)))];
      return {
        summary: {
          ...stateSummary,
          checkpoint: certificate(64, signatures),
          manifest: { ...manifest, chunkDigests: Array.from({ length: lim.manifestChunksMax }, () => digest) },
        },
        chunk: { ...chunk, bytes: new Uint8Array(lim.chunkBytes) },
        logEntries: {
          type: 'log-entries',
          batches: Array.from({ length: lim.logEntriesMax }, (_, i) => ({ seq: (i + 1) as SeqNo, requests })),
        },
      };
    }

    it('is the size of the largest of them, whichever it is', () => {
      const base: WireLimits = { ...limits, replicas: 4, batchRequestsMax: 3, batchBytesMax: 100, requestBytesMax: 100 };
      const cases: [WireLimits, 'summary' | 'chunk' | 'logEntries'][] = [
        [{ ...base, manifestChunksMax: 50, chunkBytes: 10, logEntriesMax: 1 }, 'summary'],
        [{ ...base, manifestChunksMax: 1, chunkBytes: 5000, logEntriesMax: 1 }, 'chunk'],
        [{ ...base, manifestChunksMax: 1, chunkBytes: 10, logEntriesMax: 20 }, 'logEntries'],
      ];
      for (const [lim, biggest] of cases) {
        const messages = largest(lim);
        const sizes = Object.fromEntries(
          Object.entries(messages).map(([kind, message]) => {
            assert.equal(decodeMessage(encodeMessage(message), lim).ok, true, `the largest ${kind} is within the limits`);
            return [kind, encodeMessage(message).length];
          }),
        );
        assert.equal(stateTransferBytesMax(lim), sizes[biggest], biggest);
        assert.ok(Object.values(sizes).every((size) => size <= stateTransferBytesMax(lim)));
      }
    });
  });
});
