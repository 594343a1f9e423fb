/**
 * Byte-level mutants of valid inputs, as fast-check values: a base input
 * from a corpus and a short list of edits, each position drawn as a number
 * taken modulo the current length so that shrinking moves towards the start
 * of the input and towards fewer, simpler edits.
 *
 * The edits are the ones that find decoder bugs: bit flips; bytes set to the
 * boundary values 0x00, 0x7f, 0x80 and 0xff, or just past a flag's or a
 * status's range; truncation and extension;
 * insertion and deletion (every later field shifts); a splice of two valid
 * inputs (a valid header over another message's body); and length-field
 * tweaks: a u32 set to 0, 1, 2^31 - 1, 2^31, 2^32 - 2, 2^32 - 1 or to its
 * own value +-1, and a u64 set to 2^53 - 1 or 2^53 (the ordinal limit).
 * Aligned and unaligned offsets alike, since fields are packed.
 */
import fc from 'fast-check';

export type Edit =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly value: number }
  | { readonly op: 'truncate'; readonly keep: number }
  | { readonly op: 'extend'; readonly bytes: Uint8Array }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly count: number }
  | { readonly op: 'splice'; readonly at: number; readonly other: number; readonly from: number }
  | { readonly op: 'u32'; readonly at: number; readonly value: U32Value }
  | { readonly op: 'u64'; readonly at: number; readonly high: boolean };

/** What a u32 field is set to: a constant, or its own value moved by one. */
export type U32Value = number | '+1' | '-1';

export interface Mutant {
  /** Index of the base input in the corpus. */
  readonly base: number;
  readonly edits: readonly Edit[];
}

/** Sign and range edges, and just past the flag (0-1) and status (0-3) bytes' ranges. */
const BOUNDARY_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x02, 0x04] as const;
const BOUNDARY_U32: readonly U32Value[] = [0, 0xffff_ffff, 0xffff_fffe, '+1', '-1', 1, 0x7fff_ffff, 0x8000_0000, 0x001f_ffff, 0x0020_0000];
const U32 = 0x1_0000_0000;

const position = fc.nat({ max: 0xffff });
const smallBytes = fc.uint8Array({ minLength: 1, maxLength: 16 });

function editArbitrary(corpusSize: number): fc.Arbitrary<Edit> {
  return fc.oneof(
    { arbitrary: fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }), weight: 3 },
    {
      arbitrary: fc.record({ op: fc.constant('set' as const), at: position, value: fc.oneof(fc.constantFrom(...BOUNDARY_BYTES), fc.nat({ max: 255 })) }),
      weight: 3,
    },
    { arbitrary: fc.record({ op: fc.constant('truncate' as const), keep: position }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('extend' as const), bytes: smallBytes }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('insert' as const), at: position, bytes: smallBytes }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 16 }) }), weight: 1 },
    {
      arbitrary: fc.record({ op: fc.constant('splice' as const), at: position, other: fc.nat({ max: Math.max(0, corpusSize - 1) }), from: position }),
      weight: 1,
    },
    { arbitrary: fc.record({ op: fc.constant('u32' as const), at: position, value: fc.constantFrom(...BOUNDARY_U32) }), weight: 4 },
    { arbitrary: fc.record({ op: fc.constant('u64' as const), at: position, high: fc.boolean() }), weight: 1 },
  );
}

/** Mutants of the inputs of a corpus of `corpusSize` (at least one). */
export function mutantArbitrary(corpusSize: number, editsMax = 4): fc.Arbitrary<Mutant> {
  return fc.record({
    base: fc.nat({ max: corpusSize - 1 }),
    edits: fc.array(editArbitrary(corpusSize), { minLength: 1, maxLength: editsMax }),
  });
}

/** The bytes of `mutant` over `corpus` (a fresh array; the corpus is not touched). */
export function applyMutant(mutant: Mutant, corpus: readonly Uint8Array[]): Uint8Array {
  let bytes: Uint8Array = new Uint8Array(corpus[mutant.base] as Uint8Array);
  for (const edit of mutant.edits) bytes = applyEdit(bytes, edit, corpus);
  return bytes;
}

function applyEdit(bytes: Uint8Array, edit: Edit, corpus: readonly Uint8Array[]): Uint8Array {
  const n = bytes.length;
  switch (edit.op) {
    case 'flip':
      if (n > 0) bytes[edit.at % n] = (bytes[edit.at % n] as number) ^ (1 << edit.bit);
      return bytes;
    case 'set':
      if (n > 0) bytes[edit.at % n] = edit.value;
      return bytes;
    case 'truncate':
      return bytes.slice(0, edit.keep % (n + 1));
    case 'extend':
      return concat(bytes, edit.bytes);
    case 'insert': {
      const at = edit.at % (n + 1);
      return concat(bytes.subarray(0, at), edit.bytes, bytes.subarray(at));
    }
    case 'delete': {
      if (n === 0) return bytes;
      const at = edit.at % n;
      return concat(bytes.subarray(0, at), bytes.subarray(at + edit.count));
    }
    case 'splice': {
      const other = corpus[edit.other % corpus.length] as Uint8Array;
      const at = edit.at % (n + 1);
      return concat(bytes.subarray(0, at), other.subarray(edit.from % (other.length + 1)));
    }
    case 'u32': {
      if (n < 4) return bytes;
      const at = edit.at % (n - 3);
      const view = new DataView(bytes.buffer, bytes.byteOffset, n);
      const current = view.getUint32(at);
      const value = edit.value === '+1' ? (current + 1) % U32 : edit.value === '-1' ? (current + U32 - 1) % U32 : edit.value;
      view.setUint32(at, value);
      return bytes;
    }
    case 'u64': {
      if (n < 8) return bytes;
      const at = edit.at % (n - 7);
      const view = new DataView(bytes.buffer, bytes.byteOffset, n);
      // 2^53 - 1 is the largest ordinal the codec accepts; 2^53 the smallest it must refuse.
      view.setUint32(at, edit.high ? 0x0020_0000 : 0x001f_ffff);
      view.setUint32(at + 4, edit.high ? 0 : 0xffff_ffff);
      return bytes;
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Hex of `bytes`, cut after `max` bytes: how a failing input is reported. */
export function hex(bytes: Uint8Array, max = 4096): string {
  const shown = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, max)).toString('hex');
  return bytes.length > max ? `${shown}... (${bytes.length} bytes)` : shown;
}
