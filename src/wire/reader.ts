/**
 * Bounds-checked reading of untrusted bytes with a sticky failure: after the
 * first failure every read returns a harmless placeholder (0, an empty view)
 * and `reason` keeps that first failure. Decoders therefore never throw and
 * need not check after every field, only before work sized by the input
 * (loops) and at the end.
 */

/** Stable reasons {@link decodeMessage} gives for refusing input. */
export type WireRejectionReason =
  | 'truncated'
  | 'trailing-bytes'
  | 'unknown-version'
  | 'unknown-type'
  | 'ordinal-out-of-range'
  | 'client-id-out-of-range'
  | 'replica-out-of-range'
  | 'digest-wrong-length'
  | 'signature-wrong-length'
  | 'client-key-wrong-length'
  | 'batch-too-large'
  | 'batch-bytes-too-large'
  | 'request-too-large'
  | 'reply-too-large'
  | 'view-change-too-large'
  | 'too-many-signatures'
  | 'too-many-certificates'
  | 'too-many-view-changes'
  | 'too-many-pre-prepares'
  | 'invalid-flag'
  | 'unknown-reply-status'
  | 'byte-count-out-of-range'
  | 'chunk-too-large'
  | 'too-many-chunks'
  | 'too-many-batches';

/** High word of the largest u64 that is still a safe integer (2^53 - 1). */
const SAFE_HI_MAX = 0x1f_ffff;
const U32 = 0x1_0000_0000;
const EMPTY = new Uint8Array(0);

/** A cursor over untrusted bytes; see the module comment. */
export class Reader {
  /** The first failure, or undefined while every read has succeeded. */
  reason: WireRejectionReason | undefined;
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** Records `reason` unless an earlier failure is already recorded. */
  fail(reason: WireRejectionReason): void {
    this.reason ??= reason;
  }

  u8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.view.getUint8(at);
  }

  u16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.view.getUint16(at);
  }

  u32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.view.getUint32(at);
  }

  /** A big-endian u64 that must fit a safe integer, else fails with `reason`. */
  u53(reason: WireRejectionReason): number {
    const at = this.take(8);
    if (at < 0) return 0;
    const hi = this.view.getUint32(at);
    if (hi > SAFE_HI_MAX) {
      this.fail(reason);
      return 0;
    }
    return hi * U32 + this.view.getUint32(at + 4);
  }

  /**
   * The next `length` bytes as a view into the input (no copy). Always a
   * plain Uint8Array, even when the input is a Node Buffer.
   */
  view8(length: number): Uint8Array {
    const at = this.take(length);
    return at < 0 ? EMPTY : new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + at, length);
  }

  /** Start offset of the next `length` bytes, or -1 after a failure. */
  private take(length: number): number {
    if (this.reason !== undefined) return -1;
    if (length > this.remaining) {
      this.reason = 'truncated';
      return -1;
    }
    const at = this.offset;
    this.offset += length;
    return at;
  }
}
