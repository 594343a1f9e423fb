/**
 * A replicated array of fixed-size cells in one large binary state: the
 * service for state-transfer tests and benchmarks with hundreds of MB of
 * state, where a JSON state codec would be far too slow. Its state codec is
 * the state's own bytes, so a snapshot costs one copy and a restore none.
 *
 * The state is `stateBytes` bytes, cut into cells of {@link SLOT_BYTES}:
 * byte 0 of a cell is 0 when it is empty, else 1 + the length of the value
 * it holds (so an empty string is a value), the value's UTF-8 bytes follow. Bytes past the value are filler: at start a
 * deterministic pseudo-random pattern, so no two chunks of the state are
 * alike (with a zeroed state, a chunk put in the wrong place during a
 * transfer would carry the right digest and go unnoticed).
 *
 * The size is a parameter of the module URL, `slots.js?bytes=N` (the CLI:
 * `--service 'slots?bytes=N'`), so it is part of how every replica names
 * the service; replicas of one cluster must name the same size.
 */
import { jsonCodec } from '../codecs.js';
import { defineService, type Codec, type Service } from '../service.js';

/** Bytes per cell: a length byte and up to {@link SLOT_VALUE_BYTES_MAX} value bytes. */
export const SLOT_BYTES = 64;
/** Most UTF-8 bytes in a cell's value. */
export const SLOT_VALUE_BYTES_MAX = SLOT_BYTES - 2;
/** The state size when the module URL names none: small enough for the default checkpoint interval. */
export const SLOTS_STATE_BYTES_DEFAULT = 4 * 1024 * 1024;
/** The largest state, a whole number of cells below 2 GiB (one typed array, one checkpoint image part). */
export const SLOTS_STATE_BYTES_MAX = 2 ** 31 - SLOT_BYTES;

/** A slots request: write a cell, or read it. */
export type SlotsRequest =
  | { readonly op: 'put'; readonly slot: number; readonly value: string }
  | { readonly op: 'get'; readonly slot: number };

/** `get` answers `value` (`null` for an empty cell); `put` answers `{ ok: true }`. */
export type SlotsReply = { readonly ok: true; readonly value?: string | null } | { readonly ok: false; readonly error: string };

/** The cells, back to back. */
export interface SlotsState {
  readonly cells: Uint8Array;
}

const encoder = new TextEncoder();
// Cells only hold what encodeInto wrote (or a verified checkpoint's copy of it): never invalid UTF-8.
const decoder = new TextDecoder('utf-8');
const fail = (error: string): SlotsReply => ({ ok: false, error });

/** Whether `bytes` is a valid state size: whole cells, at least one, at most the maximum. */
export function validStateBytes(bytes: number): boolean {
  return Number.isSafeInteger(bytes) && bytes >= SLOT_BYTES && bytes <= SLOTS_STATE_BYTES_MAX && bytes % SLOT_BYTES === 0;
}

/** The state size a module URL names (`?bytes=N`), or the default; throws on a bad one. */
export function stateBytesOf(moduleUrl: string): number {
  const text = new URL(moduleUrl).searchParams.get('bytes');
  if (text === null) return SLOTS_STATE_BYTES_DEFAULT;
  const bytes = /^[1-9][0-9]*$/.test(text) ? Number(text) : NaN;
  if (!validStateBytes(bytes)) {
    throw new RangeError(`slots: bytes=${text} is not a multiple of ${SLOT_BYTES} in ${SLOT_BYTES}..${SLOTS_STATE_BYTES_MAX}`);
  }
  return bytes;
}

/**
 * The initial cells: every one empty, its filler from xorshift32 over the
 * whole state, written little-endian so every platform makes the same bytes.
 */
function initialCells(stateBytes: number): Uint8Array {
  const cells = new Uint8Array(stateBytes);
  const view = new DataView(cells.buffer);
  let x = 0x9e3779b9;
  for (let i = 0; i < stateBytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view.setUint32(i, x >>> 0, true);
  }
  for (let i = 0; i < stateBytes; i += SLOT_BYTES) cells[i] = 0;
  return cells;
}

/**
 * The state's bytes as they are. `encode` shares memory with the state (the
 * executor copies a snapshot before keeping it); `decode` keeps a view of its
 * input, which the executors hand over as a private copy for that purpose.
 */
function stateCodec(stateBytes: number): Codec<SlotsState> {
  return {
    encode: (state) => state.cells,
    decode(bytes) {
      if (bytes.length !== stateBytes) throw new TypeError(`slots state has ${bytes.length} bytes, not ${stateBytes}`);
      for (let i = 0; i < bytes.length; i += SLOT_BYTES) {
        if ((bytes[i] as number) > SLOT_VALUE_BYTES_MAX + 1) throw new TypeError(`slots cell ${i / SLOT_BYTES} has a bad length`);
      }
      return { cells: bytes };
    },
  };
}

/** Why `request` (an untrusted decoded value) is malformed for `slotCount` cells, or undefined. */
function problem(request: unknown, slotCount: number): string | undefined {
  if (typeof request !== 'object' || request === null) return 'request is not an object';
  const { op, slot, value } = request as Record<string, unknown>;
  if (op !== 'put' && op !== 'get') return 'unknown op';
  if (typeof slot !== 'number' || !Number.isSafeInteger(slot) || slot < 0 || slot >= slotCount) return `slot is not an integer in 0..${slotCount - 1}`;
  if (op === 'get') return undefined;
  if (typeof value !== 'string') return 'value is not a string';
  if (Buffer.byteLength(value, 'utf8') > SLOT_VALUE_BYTES_MAX) return `value longer than ${SLOT_VALUE_BYTES_MAX} bytes`;
  return undefined;
}

/** The slots service over a state of `stateBytes` bytes (a multiple of {@link SLOT_BYTES}). */
export function slotsService(stateBytes: number = SLOTS_STATE_BYTES_DEFAULT): Service<SlotsState, SlotsRequest, SlotsReply> {
  if (!validStateBytes(stateBytes)) throw new RangeError(`slots: ${stateBytes} bytes is not a valid state size`);
  const slotCount = stateBytes / SLOT_BYTES;
  return defineService<SlotsState, SlotsRequest, SlotsReply>({
    name: 'slots',
    request: jsonCodec<SlotsRequest>(),
    reply: jsonCodec<SlotsReply>(),
    state: stateCodec(stateBytes),
    initialState: () => ({ cells: initialCells(stateBytes) }),
    update(state, request) {
      const error = problem(request, slotCount);
      if (error !== undefined) return fail(error);
      const at = request.slot * SLOT_BYTES;
      const mark = state.cells[at] as number;
      if (request.op === 'get') return { ok: true, value: mark === 0 ? null : decoder.decode(state.cells.subarray(at + 1, at + mark)) };
      // problem() checked the UTF-8 length, so the value fits the cell whole.
      const { written } = encoder.encodeInto(request.value, state.cells.subarray(at + 1, at + SLOT_BYTES));
      state.cells[at] = written + 1;
      return { ok: true };
    },
  });
}

/** This module's default export, for `WorkerExecutor`: the size its URL names. */
export default slotsService(stateBytesOf(import.meta.url));
