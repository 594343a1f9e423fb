/**
 * Writing the wire's big-endian fields into one array allocated at its final
 * size: the encoders compute the exact size first, and {@link Writer.done}
 * checks it. Encoders only ever write local data, so a value out of range is
 * a bug and fails an assertion.
 */
import { assert } from '../core/assert.js';
import type { ReplicaId } from '../core/ids.js';
import { CLIENT_KEY_BYTES, SIGNATURE_BYTES, type Signature } from '../core/messages.js';
import { isOrdinal } from '../core/ordering.js';

/** Largest replica id the u16 field holds. */
export const REPLICA_ID_MAX = 0xffff;
export const U8_BYTES = 1;
export const U32_BYTES = 4;
export const U64_BYTES = 8;
export const REPLICA_BYTES = 2;
/** The u32 length in front of every byte field, and the u32 count in front of every list. */
export const LENGTH_BYTES = U32_BYTES;
const U32_MAX = 0xffff_ffff;
const U32 = 0x1_0000_0000;

/** Writes into one array allocated at its final size. */
export class Writer {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, 'u8 out of range');
    this.view.setUint8(this.offset, value);
    this.offset += U8_BYTES;
  }

  u32(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= U32_MAX, 'u32 out of range');
    this.view.setUint32(this.offset, value);
    this.offset += U32_BYTES;
  }

  /** A u64 that must be a safe integer (`what` names it in the assertion). */
  u64(value: number, what: string): void {
    assert(isOrdinal(value), what);
    this.view.setUint32(this.offset, Math.floor(value / U32));
    this.view.setUint32(this.offset + 4, value >>> 0);
    this.offset += U64_BYTES;
  }

  replica(id: ReplicaId): void {
    assert(Number.isInteger(id) && id >= 0 && id <= REPLICA_ID_MAX, 'replica id out of range');
    this.view.setUint16(this.offset, id);
    this.offset += REPLICA_BYTES;
  }

  /** Bytes without a length: only fixed, self-delimiting content such as a statement prefix. */
  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.offset);
    this.offset += bytes.length;
  }

  field(bytes: Uint8Array): void {
    assert(bytes.length <= U32_MAX, 'byte field longer than 4 GiB');
    this.u32(bytes.length);
    this.raw(bytes);
  }

  clientKey(key: Uint8Array): void {
    assert(key.length === CLIENT_KEY_BYTES, 'client key is not 32 bytes');
    this.field(key);
  }

  signature(signature: Signature): void {
    assert(signature.length === SIGNATURE_BYTES, 'signature is not 64 bytes');
    this.field(signature);
  }

  /** A count, then each item. */
  list<T>(items: readonly T[], write: (w: Writer, item: T) => void): void {
    assert(items.length <= U32_MAX, 'list longer than 2^32 - 1');
    this.u32(items.length);
    for (const item of items) write(this, item);
  }

  /** The encoding; asserts the size computed up front was exact. */
  done(): Uint8Array {
    assert(this.offset === this.bytes.length, 'encoded size mismatch');
    return this.bytes;
  }
}
