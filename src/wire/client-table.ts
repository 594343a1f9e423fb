/**
 * The client-table part of a checkpoint image (docs/STATE-TRANSFER.md): per
 * client session, the last request executed and its result, in the order the
 * core keeps them (least recently executed first, so a replica restoring the
 * table drops the same reply bodies as the others when cached replies reach
 * their byte bound). Conventions as in docs/WIRE.md:
 *
 * | field   | type                                                      |
 * |---------|-----------------------------------------------------------|
 * | version | u8, 1                                                     |
 * | entries | list<clientId u64, requestNo u64, flags u8, result>       |
 *
 * `flags`: bit 0 (dropped) clear, and the result follows as bytes; set, the
 * reply's body was dropped and nothing follows. Bit 1 (failed): the service
 * threw on the request and the result is the failure's description. Other
 * bits are zero. Client ids are distinct, so the encoding of a table is
 * canonical.
 */
import { assert } from '../core/assert.js';
import type { ClientTableEntry } from '../core/effects.js';
import type { ClientId } from '../core/ids.js';
import type { RequestNo } from '../core/ordering.js';
import type { WireLimits } from './codec.js';
import { Reader } from './reader.js';
import { LENGTH_BYTES, U64_BYTES, U8_BYTES, Writer } from './writer.js';

/** Version byte of the client-table image, first in its encoding. */
export const CLIENT_TABLE_VERSION = 1;

const DROPPED = 1;
const FAILED = 2;

/** The least an entry takes: one whose reply body was dropped. */
const ENTRY_FIXED_BYTES = 2 * U64_BYTES + U8_BYTES;

/**
 * Encodes `entries` in their order. Asserts that client ids and request
 * numbers are safe integers and that a dropped reply has an empty result
 * (they come from the local core).
 */
export function encodeClientTable(entries: readonly ClientTableEntry[]): Uint8Array {
  let size = U8_BYTES + LENGTH_BYTES;
  for (const entry of entries) size += ENTRY_FIXED_BYTES + (entry.replyDropped === true ? 0 : LENGTH_BYTES + entry.result.length);
  const w = new Writer(size);
  w.u8(CLIENT_TABLE_VERSION);
  w.list(entries, (writer, entry) => {
    writer.u64(entry.clientId, 'client id out of range');
    writer.u64(entry.requestNo, 'request number out of range');
    const failed = entry.failed === true ? FAILED : 0;
    if (entry.replyDropped === true) {
      assert(entry.result.length === 0, 'a dropped reply keeps a result');
      writer.u8(DROPPED | failed);
    } else {
      writer.u8(failed);
      writer.field(entry.result);
    }
  });
  return w.done();
}

/**
 * Decodes a client-table image, or undefined if `bytes` is not exactly one
 * canonical encoding within `limits` (at most `clientSessionsMax` entries,
 * each result at most `replyBytesMax` bytes and all of them at most
 * `clientReplyCacheBytesMax`, distinct client ids, no unknown flag). Never
 * throws; counts and lengths are checked before anything is allocated.
 * Results are copied out of `bytes`: the core keeps them as cached replies
 * long after the image is dropped.
 */
export function decodeClientTable(
  bytes: Uint8Array,
  limits: Pick<WireLimits, 'clientSessionsMax' | 'replyBytesMax' | 'clientReplyCacheBytesMax'>,
): ClientTableEntry[] | undefined {
  const r = new Reader(bytes);
  if (r.u8() !== CLIENT_TABLE_VERSION) return undefined;
  const count = r.u32();
  if (count > limits.clientSessionsMax || count * ENTRY_FIXED_BYTES > r.remaining) return undefined;
  const entries: ClientTableEntry[] = [];
  const seen = new Set<number>();
  let resultBytes = 0;
  for (let i = 0; i < count; i++) {
    const clientId = r.u53('client-id-out-of-range') as ClientId;
    const requestNo = r.u53('ordinal-out-of-range') as RequestNo;
    const flags = r.u8();
    if (r.reason !== undefined || flags > (DROPPED | FAILED) || seen.has(clientId)) return undefined;
    seen.add(clientId);
    const failed = (flags & FAILED) !== 0 ? ({ failed: true } as const) : {};
    if ((flags & DROPPED) !== 0) {
      entries.push({ clientId, requestNo, result: new Uint8Array(0), replyDropped: true, ...failed });
      continue;
    }
    const length = r.u32();
    resultBytes += length;
    if (length > limits.replyBytesMax || resultBytes > limits.clientReplyCacheBytesMax) return undefined;
    const result = r.view8(length);
    if (r.reason !== undefined) return undefined;
    entries.push({ clientId, requestNo, result: result.slice(), ...failed });
  }
  return r.reason === undefined && r.remaining === 0 ? entries : undefined;
}
