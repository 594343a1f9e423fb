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

/** Sorted `[key, value]` pairs as JSON, so equal maps encode equally whatever their insertion order. */
const stateCodec: Codec<KvState> = {
  encode(state) {
    return entriesCodec.encode([...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  },
  decode(bytes) {
    const entries: unknown = entriesCodec.decode(bytes);
    const valid =
      Array.isArray(entries) &&
      entries.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string');
    if (!valid) throw new TypeError('kv state is not a list of [key, value] string pairs');
    return new Map(entries as [string, string][]);
  },
};

/** The key-value service; also this module's default export, for `WorkerExecutor`. */
export const kvService = defineService<KvState, KvRequest, KvReply>({
  name: 'kv',
  request: jsonCodec<KvRequest>(),
  reply: jsonCodec<KvReply>(),
  state: stateCodec,
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
});

export default kvService;
