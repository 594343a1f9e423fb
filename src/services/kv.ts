/**
 * A replicated string key-value store. Sizes are bounded so that a client
 * cannot grow the state past what one snapshot can encode.
 */
import { jsonCodec } from '../codecs.js';
import { defineService, type Codec } from '../service.js';

/** Most UTF-8 bytes in a key. */
export const KV_KEY_BYTES_MAX = 256;
/** Most UTF-8 bytes in a value. */
export const KV_VALUE_BYTES_MAX = 4096;
/** Most entries in the store (keeps the encoded state around 45 MB at most). */
export const KV_ENTRIES_MAX = 10_000;

/** A key-value request. */
export type KvRequest =
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'delete'; readonly key: string };

/**
 * A key-value reply. `get` answers `value` (`null` when the key is absent);
 * `put` and `delete` answer `{ ok: true }`.
 */
export type KvReply =
  | { readonly ok: true; readonly value?: string | null }
  | { readonly ok: false; readonly error: string };

/** The store. */
export type KvState = Map<string, string>;

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
const fail = (error: string): KvReply => ({ ok: false, error });

/** Why `request` (an untrusted decoded value) is malformed, or undefined if it is well formed. */
function problem(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null) return 'request is not an object';
  const { op, key, value } = request as Record<string, unknown>;
  if (op !== 'put' && op !== 'get' && op !== 'delete') return 'unknown op';
  if (typeof key !== 'string') return 'key is not a string';
  if (utf8Bytes(key) > KV_KEY_BYTES_MAX) return `key longer than ${KV_KEY_BYTES_MAX} bytes`;
  if (op !== 'put') return undefined;
  if (typeof value !== 'string') return 'value is not a string';
  if (utf8Bytes(value) > KV_VALUE_BYTES_MAX) return `value longer than ${KV_VALUE_BYTES_MAX} bytes`;
  return undefined;
}

const entriesCodec = jsonCodec<[string, string][]>();

const sortedEntries = (state: KvState): [string, string][] => [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const isPair = (entry: unknown): entry is [string, string] =>
  Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && typeof entry[1] === 'string';

/** Sorted `[key, value]` pairs as JSON, so equal maps encode equally whatever their insertion order. */
const stateCodec: Codec<KvState> = {
  encode(state) {
    return entriesCodec.encode(sortedEntries(state));
  },
  decode(bytes) {
    const entries: unknown = entriesCodec.decode(bytes);
    if (!Array.isArray(entries) || !entries.every(isPair)) throw new TypeError('kv state is not a list of [key, value] string pairs');
    return new Map(entries);
  },
};

/** Characters of JSON gathered before a piece is yielded: pieces of about 64 KiB. */
const PIECE_CHARS = 64 * 1024;
const encoder = new TextEncoder();
// As jsonCodec decodes: invalid UTF-8 is an error, a leading U+FEFF is kept.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const [OPEN, CLOSE, COMMA, QUOTE, BACKSLASH] = [0x5b, 0x5d, 0x2c, 0x22, 0x5c];

/**
 * The state codec's bytes in pieces: `[`, then each entry's JSON with the
 * commas between them, then `]`, exactly as `JSON.stringify` lays out the
 * whole list. Pieces end between entries, never inside a character.
 */
function* encodePieces(state: KvState): Generator<Uint8Array, void, undefined> {
  let text = '[';
  for (const entry of sortedEntries(state)) {
    text += (text === '[' ? '' : ',') + JSON.stringify(entry);
    if (text.length >= PIECE_CHARS) {
      yield encoder.encode(text);
      text = '';
    }
  }
  yield encoder.encode(text + ']');
}

/**
 * Decodes what {@link encodePieces} yields, split anywhere, one entry at a
 * time: a byte scan finds where each `["key","value"]` element ends (the
 * bytes `"`, `\`, `[`, `]` and `,` never occur inside a multi-byte UTF-8
 * character), then JSON.parse reads that element alone.
 */
function decodePieces(pieces: Iterable<Uint8Array>): KvState {
  const state: KvState = new Map();
  const invalid = (): TypeError => new TypeError('kv state is not a list of [key, value] string pairs');
  let place = 'before' as 'before' | 'list' | 'entry' | 'after';
  let previous = 0; // the last byte outside entries
  let inString = false;
  let escaped = false;
  let entry: Uint8Array[] = []; // the current entry's bytes from earlier pieces
  for (const piece of pieces) {
    let start = 0; // where the current entry starts in this piece
    for (let i = 0; i < piece.length; i++) {
      const byte = piece[i] as number;
      if (place === 'entry') {
        if (inString) {
          if (escaped) escaped = false;
          else if (byte === BACKSLASH) escaped = true;
          else if (byte === QUOTE) inString = false;
        } else if (byte === QUOTE) inString = true;
        else if (byte === CLOSE) {
          entry.push(piece.subarray(start, i + 1));
          const pair: unknown = JSON.parse(decoder.decode(entry.length === 1 ? entry[0] : Buffer.concat(entry)));
          if (!isPair(pair)) throw invalid();
          state.set(pair[0], pair[1]);
          entry = [];
          place = 'list';
          previous = CLOSE;
        }
      } else if (place === 'before' && byte === OPEN) {
        place = 'list';
        previous = OPEN;
      } else if (place === 'list' && byte === OPEN && previous !== CLOSE) {
        place = 'entry';
        start = i;
      } else if (place === 'list' && byte === COMMA && previous === CLOSE) previous = COMMA;
      else if (place === 'list' && byte === CLOSE && previous !== COMMA) place = 'after';
      else throw invalid();
    }
    if (place === 'entry') entry.push(piece.subarray(start));
  }
  if (place !== 'after') throw invalid();
  return state;
}

/** Whether `request` (an untrusted decoded value) is a `get`: the read-only request [Q1]. */
const isGet = (request: unknown): boolean => typeof request === 'object' && request !== null && (request as Record<string, unknown>)['op'] === 'get';

/** The key-value service; also this module's default export, for `WorkerExecutor`. `get` is read-only (`Client.invokeReadOnly`). */
export const kvService = defineService<KvState, KvRequest, KvReply>({
  name: 'kv',
  request: jsonCodec<KvRequest>(),
  reply: jsonCodec<KvReply>(),
  state: stateCodec,
  stateStream: { encode: encodePieces, decode: decodePieces },
  initialState: () => new Map(),
  update(state, request) {
    const error = problem(request);
    if (error !== undefined) return fail(error);
    switch (request.op) {
      case 'get':
        return { ok: true, value: state.get(request.key) ?? null };
      case 'put':
        if (!state.has(request.key) && state.size >= KV_ENTRIES_MAX) {
          return fail(`store is full (${KV_ENTRIES_MAX} entries)`);
        }
        state.set(request.key, request.value);
        return { ok: true };
      case 'delete':
        state.delete(request.key);
        return { ok: true };
    }
  },
  readOnly: isGet,
  // What update answers to a get, without touching the state.
  query(state, request) {
    const error = problem(request);
    if (error !== undefined) return fail(error);
    return { ok: true, value: state.get(request.key) ?? null };
  },
});

export default kvService;
