/** Ready-made {@link Codec}s for common value types. */
import type { Codec } from './service.js';

// ignoreBOM keeps a leading U+FEFF in the decoded string, so that strings
// starting with it round-trip.
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const strictDecoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/**
 * UTF-8 JSON. `decode` throws on invalid UTF-8 or JSON and does NOT check the
 * shape of the result: it is only cast to `T`, so a service decoding untrusted
 * requests with it must validate them in `update`. `encode` throws if `value`
 * has no JSON form (e.g. `undefined`); values JSON cannot represent exactly
 * (`Map`, `NaN`, `-0`, `bigint`) must not be used.
 */
export function jsonCodec<T>(): Codec<T> {
  return {
    encode(value: T): Uint8Array {
      const text: string | undefined = JSON.stringify(value);
      if (text === undefined) throw new TypeError('value has no JSON representation');
      return encoder.encode(text);
    },
    decode(bytes: Uint8Array): T {
      return JSON.parse(strictDecoder.decode(bytes)) as T;
    },
  };
}

/**
 * Raw bytes, unchanged in both directions (no copy): a decoded value may be a
 * view into a larger buffer, see {@link Codec.decode}.
 */
export const bytesCodec: Codec<Uint8Array> = {
  encode: (value) => value,
  decode: (bytes) => bytes,
};

/**
 * A string as UTF-8. Never throws: invalid UTF-8 decodes to U+FFFD and lone
 * surrogates encode as U+FFFD, so only well-formed strings round-trip.
 */
export const utf8Codec: Codec<string> = {
  encode: (value) => encoder.encode(value),
  decode: (bytes) => decoder.decode(bytes),
};
