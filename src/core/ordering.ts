/**
 * Sequence numbers, views and request numbers: the "ordering" module.
 *
 * Representation (docs/DESIGN.md, "Sequence numbers"): plain 64-bit counters that never wrap,
 * held in memory as JavaScript numbers restricted to the safe-integer range
 * [0, 2^53 - 1]. At one million sequence numbers a second the range lasts
 * about 285 years, so there is a single total order (no wrapped comparison
 * that disagrees with sorting, ancestor defect 6). On the wire they are u64;
 * the decoder rejects values above {@link ORDINAL_MAX} as malformed input,
 * and local increments past it are assertion failures, never silent wraps.
 */
import { assert } from './assert.js';

declare const seqBrand: unique symbol;
declare const viewBrand: unique symbol;
declare const requestNoBrand: unique symbol;

/** Position of a batch in the total order. 1 is the first batch. */
export type SeqNo = number & { readonly [seqBrand]: true };
/** View number; the primary of view v is replica v mod n. */
export type View = number & { readonly [viewBrand]: true };
/** Per-client-session request number, strictly increasing from 1. */
export type RequestNo = number & { readonly [requestNoBrand]: true };

/** Largest ordinal (sequence number, view, request number) ever used. */
export const ORDINAL_MAX = Number.MAX_SAFE_INTEGER;

export function isOrdinal(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function checked(value: number, what: string): number {
  assert(isOrdinal(value), `${what} out of range: ${value}`);
  return value;
}

export const seqNo = (value: number): SeqNo => checked(value, 'sequence number') as SeqNo;
export const view = (value: number): View => checked(value, 'view') as View;
export const requestNo = (value: number): RequestNo => checked(value, 'request number') as RequestNo;

/** The ordinal after `value`; asserts instead of overflowing. */
export function next<T extends SeqNo | View | RequestNo>(value: T): T {
  assert(value < ORDINAL_MAX, `ordinal overflow at ${value}`);
  return (value + 1) as T;
}

/** `value + delta`, saturating at {@link ORDINAL_MAX} (used for watermarks). */
export function addSaturating<T extends SeqNo | View | RequestNo>(value: T, delta: number): T {
  assert(Number.isSafeInteger(delta) && delta >= 0, `bad delta ${delta}`);
  return Math.min(ORDINAL_MAX, value + delta) as T;
}
