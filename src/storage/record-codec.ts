/**
 * The journal's record codec: {@link JournalRecord} <-> bytes. Pure, no I/O;
 * framing and checksums belong to `frames.ts`. The conventions are the wire
 * codec's (src/wire/codec.ts, docs/WIRE.md): big-endian integers, `u64` at
 * most 2^53 - 1, `bytes` a u32 length and that many bytes, `list<X>` a u32
 * count and that many X, and a canonical encoding. Records that hold a
 * protocol message hold it exactly as the wire does, so they share its
 * decoder and its limits.
 *
 * | offset | size | field              |
 * |--------|------|--------------------|
 * | 0      | u8   | record version, 1  |
 * | 1      | u8   | kind tag (below)   |
 *
 * | tag | kind           | fields after the header                                   |
 * |-----|----------------|-----------------------------------------------------------|
 * | 1   | pre-prepare    | a pre-prepare message, its wire header included           |
 * | 2   | prepared       | view u64, seq u64, Digest, list<SignedBy>                 |
 * | 3   | view-change    | a view-change message                                     |
 * | 4   | new-view       | a new-view message                                        |
 * | 5   | view-installed | view u64                                                  |
 * | 6   | checkpoint     | a checkpoint message                                      |
 * | 7   | stable         | CheckpointCert                                            |
 * | 8   | delivered      | seq u64, Digest, proven u8 (0 or 1); when 1, a log-entries|
 * |     |                | message holding exactly the batch at seq (its requests)   |
 * | 9   | image          | seq u64, Manifest, clientTable bytes, file bytes (UTF-8,  |
 * |     |                | 1 to {@link FILE_NAME_BYTES_MAX} bytes)                   |
 *
 * Digest, SignedBy, CheckpointCert and Manifest are the wire's records. The
 * wire codec exports no encoder or decoder for them alone (only
 * `encodeManifest`, reused here), so this file carries small ones of its own
 * for SignedBy, CheckpointCert and the decoding of a Manifest.
 */
import { assert, assertNever } from '../core/assert.js';
import { DIGEST_BYTES, type Digest, type ReplicaId } from '../core/ids.js';
import {
  SIGNATURE_BYTES,
  type CheckpointCertificate,
  type CheckpointManifest,
  type Message,
  type Signature,
  type SignedBy,
} from '../core/messages.js';
import type { SeqNo, View } from '../core/ordering.js';
import { decodeMessage, encodeManifest, encodeMessage, type WireLimits } from '../wire/codec.js';
import { Reader, type WireRejectionReason } from '../wire/reader.js';
import { LENGTH_BYTES, REPLICA_BYTES, U64_BYTES, U8_BYTES, Writer } from '../wire/writer.js';
import type { JournalRecord } from './records.js';

/** The only record version this codec writes and reads (byte 0 of every record). */
export const RECORD_VERSION = 1;

/** Most UTF-8 bytes in an image record's file name (PATH_MAX on Linux). */
export const FILE_NAME_BYTES_MAX = 4096;

type RecordKind = JournalRecord['kind'];

const TAG = {
  'pre-prepare': 1,
  prepared: 2,
  'view-change': 3,
  'new-view': 4,
  'view-installed': 5,
  checkpoint: 6,
  stable: 7,
  delivered: 8,
  image: 9,
} as const satisfies Record<RecordKind, number>;

const KIND_OF_TAG: ReadonlyMap<number, RecordKind> = new Map(
  Object.entries(TAG).map(([kind, tag]) => [tag, kind as RecordKind]),
);

const HEADER_BYTES = 2;
const DIGEST_FIELD_BYTES = LENGTH_BYTES + DIGEST_BYTES;
const SIGNED_BY_BYTES = REPLICA_BYTES + LENGTH_BYTES + SIGNATURE_BYTES;
/** Zero or one after the digest of a delivered record. */
const PROVEN = 1;

const utf8 = new TextEncoder();
/** Fatal, and keeping a leading BOM, so a name decodes only from its one encoding. */
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Outcome of {@link decodeRecord}. A refusal's reason is kebab-case: a
 * {@link WireRejectionReason} or one of this codec's own, after the record
 * kind when the header was readable (`prepared: truncated`).
 */
export type RecordDecodeResult =
  | { readonly ok: true; readonly record: JournalRecord }
  | { readonly ok: false; readonly reason: string };

/**
 * Encodes `record` into one array of its exact size. Records come from the
 * local core and runtime, so values the encoding cannot hold (ordinals past
 * 2^53 - 1, digests that are not 32 bytes, an empty file name or one that is
 * not well-formed UTF-16) are bugs and fail an assertion.
 */
export function encodeRecord(record: JournalRecord): Uint8Array {
  switch (record.kind) {
    case 'pre-prepare':
    case 'view-change':
    case 'new-view':
    case 'checkpoint':
      return withMessage(TAG[record.kind], encodeMessage(record.message));
    case 'prepared': {
      const w = recordWriter(TAG.prepared, 2 * U64_BYTES + DIGEST_FIELD_BYTES + signaturesBytes(record.prepares));
      w.u64(record.view, 'view out of range');
      w.u64(record.seq, 'sequence number out of range');
      writeDigest(w, record.digest);
      w.list(record.prepares, writeSignedBy);
      return w.done();
    }
    case 'view-installed': {
      const w = recordWriter(TAG['view-installed'], U64_BYTES);
      w.u64(record.view, 'view out of range');
      return w.done();
    }
    case 'stable': {
      const w = recordWriter(TAG.stable, checkpointCertificateBytes(record.certificate));
      writeCheckpointCertificate(w, record.certificate);
      return w.done();
    }
    case 'delivered': {
      const batch =
        record.requests === undefined
          ? undefined
          : encodeMessage({ type: 'log-entries', batches: [{ seq: record.seq, requests: record.requests }] });
      const w = recordWriter(TAG.delivered, U64_BYTES + DIGEST_FIELD_BYTES + U8_BYTES + (batch?.length ?? 0));
      w.u64(record.seq, 'sequence number out of range');
      writeDigest(w, record.digest);
      w.u8(batch === undefined ? 0 : PROVEN);
      if (batch !== undefined) w.raw(batch);
      return w.done();
    }
    case 'image': {
      const manifest = encodeManifest(record.manifest);
      const file = utf8.encode(record.file);
      assert(
        file.length > 0 && file.length <= FILE_NAME_BYTES_MAX && utf8Strict.decode(file) === record.file,
        `image file name is empty, longer than ${FILE_NAME_BYTES_MAX} bytes or not well-formed`,
      );
      const size = U64_BYTES + manifest.length + LENGTH_BYTES + record.clientTable.length + LENGTH_BYTES + file.length;
      const w = recordWriter(TAG.image, size);
      w.u64(record.seq, 'sequence number out of range');
      w.raw(manifest);
      w.field(record.clientTable);
      w.field(file);
      return w.done();
    }
    default:
      return assertNever(record, 'journal record kind');
  }
}

/**
 * Decodes one record from `bytes`. Never throws: anything but exactly one
 * canonical record within `limits` yields `{ ok: false, reason }`. Pass the
 * limits the replica's own wire decoder uses (`wireLimitsFrom` of its
 * protocol options and cluster size): every message the core records either
 * passed that decoder or was built within those limits. As with
 * `decodeMessage`, byte fields (operations, the client table) are views into
 * `bytes`, which the caller must not overwrite while the record is alive.
 */
export function decodeRecord(bytes: Uint8Array, limits: WireLimits): RecordDecodeResult {
  const r = new Reader(bytes);
  const version = r.u8();
  const tag = r.u8();
  if (r.reason !== undefined) return refused(r.reason);
  if (version !== RECORD_VERSION) return refused('unknown-version');
  const kind = KIND_OF_TAG.get(tag);
  if (kind === undefined) return refused('unknown-kind');
  const result = decodeBody(r, kind, limits);
  return result.ok ? result : refused(`${kind}: ${result.reason}`);
}

// Fields are read in object-literal property order, which is record order.
// The brand casts are sound as in the wire codec: u53 yields only integers in
// [0, 2^53 - 1], and readReplica only ids below limits.replicas.
function decodeBody(r: Reader, kind: RecordKind, limits: WireLimits): RecordDecodeResult {
  switch (kind) {
    case 'pre-prepare':
    case 'view-change':
    case 'new-view':
    case 'checkpoint': {
      const decoded = decodeMessage(r.view8(r.remaining), limits);
      if (!decoded.ok) return refused(decoded.reason);
      return withMessageRecord(kind, decoded.message);
    }
    case 'prepared':
      return finished(r, {
        kind,
        view: r.u53('ordinal-out-of-range') as View,
        seq: r.u53('ordinal-out-of-range') as SeqNo,
        digest: readDigest(r, DIGEST_BYTES),
        prepares: readSignatures(r, limits, limits.replicas),
      });
    case 'view-installed':
      return finished(r, { kind, view: r.u53('ordinal-out-of-range') as View });
    case 'stable':
      return finished(r, { kind, certificate: readCheckpointCertificate(r, limits) });
    case 'delivered':
      return readDelivered(r, limits);
    case 'image':
      return readImage(r, limits);
    default:
      return assertNever(kind, 'journal record kind');
  }
}

/** A record of `kind` around `message`, refused if the message is of another type. */
function withMessageRecord(kind: RecordKind, message: Message): RecordDecodeResult {
  const record = messageRecord(message);
  if (record?.kind !== kind) return refused('wrong-message-type');
  return { ok: true, record };
}

/** The record kind named after `message`'s type, if there is one. */
function messageRecord(message: Message): JournalRecord | undefined {
  switch (message.type) {
    case 'pre-prepare':
      return { kind: 'pre-prepare', message };
    case 'view-change':
      return { kind: 'view-change', message };
    case 'new-view':
      return { kind: 'new-view', message };
    case 'checkpoint':
      return { kind: 'checkpoint', message };
    default:
      return undefined;
  }
}

function readDelivered(r: Reader, limits: WireLimits): RecordDecodeResult {
  const seq = r.u53('ordinal-out-of-range') as SeqNo;
  const digest = readDigest(r, DIGEST_BYTES);
  const proven = r.u8();
  if (proven > PROVEN) r.fail('invalid-flag');
  if (proven === 0 || r.reason !== undefined) return finished(r, { kind: 'delivered', seq, digest });
  const decoded = decodeMessage(r.view8(r.remaining), limits);
  if (!decoded.ok) return refused(decoded.reason);
  const batches = decoded.message.type === 'log-entries' ? decoded.message.batches : [];
  const batch = batches[0];
  if (batches.length !== 1 || batch === undefined || batch.seq !== seq) return refused('batch-not-at-seq');
  return { ok: true, record: { kind: 'delivered', seq, digest, requests: batch.requests } };
}

function readImage(r: Reader, limits: WireLimits): RecordDecodeResult {
  const seq = r.u53('ordinal-out-of-range') as SeqNo;
  const manifest = readManifest(r, limits);
  // Bounded by the input alone: the frame around the record bounds it.
  const clientTable = r.view8(r.u32());
  const fileBytes = r.view8(r.u32());
  if (r.reason !== undefined) return refused(r.reason);
  if (fileBytes.length === 0 || fileBytes.length > FILE_NAME_BYTES_MAX) return refused('file-name-length');
  let file: string;
  try {
    file = utf8Strict.decode(fileBytes);
  } catch {
    return refused('file-name-not-utf8');
  }
  return finished(r, { kind: 'image', seq, manifest, clientTable, file });
}

/** `record` if every read succeeded and nothing follows it. */
function finished(r: Reader, record: JournalRecord): RecordDecodeResult {
  if (r.reason !== undefined) return refused(r.reason);
  if (r.remaining !== 0) return refused('trailing-bytes');
  return { ok: true, record };
}

function refused(reason: string): RecordDecodeResult {
  return { ok: false, reason };
}

/** A count of at most `countMax`, that the remaining input can hold at `itemBytesMin` each, then the items. */
function readList<T>(r: Reader, countMax: number, itemBytesMin: number, tooMany: WireRejectionReason, read: () => T): T[] {
  const count = r.u32();
  if (count > countMax) r.fail(tooMany);
  if (count * itemBytesMin > r.remaining) r.fail('truncated');
  const items: T[] = [];
  for (let i = 0; i < count && r.reason === undefined; i++) items.push(read());
  return items;
}

/** A copy of exactly `length` bytes behind a length field that must say so: digests outlive the journal's buffer. */
function readDigest(r: Reader, length: number): Digest {
  if (r.u32() !== length) r.fail('digest-wrong-length');
  return new Uint8Array(r.view8(length));
}

function readSignature(r: Reader): Signature {
  if (r.u32() !== SIGNATURE_BYTES) r.fail('signature-wrong-length');
  return new Uint8Array(r.view8(SIGNATURE_BYTES));
}

function readReplica(r: Reader, limits: WireLimits): ReplicaId {
  const id = r.u16();
  if (id >= limits.replicas) r.fail('replica-out-of-range');
  return id as ReplicaId;
}

function readSignatures(r: Reader, limits: WireLimits, countMax: number): SignedBy[] {
  return readList(r, countMax, SIGNED_BY_BYTES, 'too-many-signatures', () => ({
    replica: readReplica(r, limits),
    signature: readSignature(r),
  }));
}

function readCheckpointCertificate(r: Reader, limits: WireLimits): CheckpointCertificate {
  const seq = r.u53('ordinal-out-of-range') as SeqNo;
  const stateDigest = readDigest(r, stateDigestBytes(seq));
  // The genesis checkpoint is stable by definition and carries no signatures.
  return { seq, stateDigest, signatures: readSignatures(r, limits, seq === 0 ? 0 : limits.replicas) };
}

function readManifest(r: Reader, limits: WireLimits): CheckpointManifest {
  return {
    chunkBytes: r.u32(),
    clientTableBytes: r.u53('byte-count-out-of-range'),
    serviceStateBytes: r.u53('byte-count-out-of-range'),
    chunkDigests: readList(r, limits.manifestChunksMax, DIGEST_FIELD_BYTES, 'too-many-chunks', () =>
      readDigest(r, DIGEST_BYTES),
    ),
  };
}

/** The state digest of checkpoint `seq`: empty for the genesis checkpoint, else 32 bytes (as on the wire). */
function stateDigestBytes(seq: SeqNo): number {
  return seq === 0 ? 0 : DIGEST_BYTES;
}

function recordWriter(tag: number, bodyBytes: number): Writer {
  const w = new Writer(HEADER_BYTES + bodyBytes);
  w.u8(RECORD_VERSION);
  w.u8(tag);
  return w;
}

/** A record whose body is an encoded message: the message ends the record, so it needs no length. */
function withMessage(tag: number, message: Uint8Array): Uint8Array {
  const w = recordWriter(tag, message.length);
  w.raw(message);
  return w.done();
}

function signaturesBytes(signatures: readonly SignedBy[]): number {
  return LENGTH_BYTES + signatures.length * SIGNED_BY_BYTES;
}

function checkpointCertificateBytes(certificate: CheckpointCertificate): number {
  return U64_BYTES + LENGTH_BYTES + certificate.stateDigest.length + signaturesBytes(certificate.signatures);
}

function writeDigest(w: Writer, digest: Digest): void {
  assert(digest.length === DIGEST_BYTES, 'digest is not 32 bytes');
  w.field(digest);
}

function writeSignedBy(w: Writer, signed: SignedBy): void {
  w.replica(signed.replica);
  w.signature(signed.signature);
}

function writeCheckpointCertificate(w: Writer, certificate: CheckpointCertificate): void {
  assert(certificate.stateDigest.length === stateDigestBytes(certificate.seq), 'state digest is not 32 bytes (0 at seq 0)');
  assert(certificate.seq !== 0 || certificate.signatures.length === 0, 'genesis checkpoint with signatures');
  w.u64(certificate.seq, 'sequence number out of range');
  w.field(certificate.stateDigest);
  w.list(certificate.signatures, writeSignedBy);
}
