/**
 * The benchmark's service (`bafomet bench`, docs/BENCHMARKS.md): a request is
 * opaque bytes of any length, the reply is `replyBytes` bytes, and the state
 * is what a replica must have executed to be equal to another: how many
 * requests it ran and a running SHA-256 over all of them, in order. So the
 * benchmark pays for execution (a hash of every request, a reply of the
 * size asked for), and replicas that executed different requests, or the
 * same ones in another order, end with different state digests.
 *
 * A request whose first byte is {@link BENCH_READ_MARKER} is a read
 * (`bafomet bench --read-only`): declared read-only, answered by `query`
 * with the count so far, and leaving the state as it is, ordered or not.
 *
 * The reply size is a parameter of the module URL, `bench.js?replyBytes=N`
 * (the CLI: `--service 'bench?replyBytes=N'`), as `slots` takes its size:
 * every replica of a cluster names the same one. The request size is the
 * client's choice alone.
 */
import { createHash } from 'node:crypto';
import { bytesCodec } from '../codecs.js';
import { defineService, type Codec, type Service } from '../service.js';

/** The most reply bytes: the default `replyBytesMax` of the protocol options. */
export const BENCH_REPLY_BYTES_MAX = 1024 * 1024;
/** The reply size when the module URL names none. */
export const BENCH_REPLY_BYTES_DEFAULT = 0;

/** The first byte of a read request. */
export const BENCH_READ_MARKER = 0xff;

const isRead = (request: Uint8Array): boolean => request[0] === BENCH_READ_MARKER;

/** What a bench replica has executed. */
export interface BenchState {
  /** Requests executed. */
  count: number;
  /** SHA-256 chained over every request executed: sha256(previous digest || request). 32 zero bytes at first. */
  digest: Uint8Array;
}

const DIGEST_BYTES = 32;
/** The state's encoding: the count as a little-endian u64, then the digest. */
const STATE_BYTES = 8 + DIGEST_BYTES;

/** The reply size a module URL names (`?replyBytes=N`), or the default; throws on a bad one. */
export function replyBytesOf(moduleUrl: string): number {
  const text = new URL(moduleUrl).searchParams.get('replyBytes');
  if (text === null) return BENCH_REPLY_BYTES_DEFAULT;
  const bytes = /^(0|[1-9][0-9]*)$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes > BENCH_REPLY_BYTES_MAX) {
    throw new RangeError(`bench: replyBytes=${text} is not an integer in 0..${BENCH_REPLY_BYTES_MAX}`);
  }
  return bytes;
}

/** Fixed-size, little-endian, so every platform encodes equal states to equal bytes. */
const stateCodec: Codec<BenchState> = {
  encode(state) {
    const bytes = new Uint8Array(STATE_BYTES);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(state.count), true);
    bytes.set(state.digest, 8);
    return bytes;
  },
  decode(bytes) {
    if (bytes.length !== STATE_BYTES) throw new TypeError(`bench state has ${bytes.length} bytes, not ${STATE_BYTES}`);
    const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(0, true);
    if (count > BigInt(Number.MAX_SAFE_INTEGER)) throw new TypeError('bench state count is not a safe integer');
    return { count: Number(count), digest: bytes.slice(8) };
  },
};

/**
 * The bench service with replies of `replyBytes` bytes: the count after the
 * request, little-endian, in the first (up to) 8 bytes, zeros after it, so
 * replies differ from one request to the next as real ones do.
 */
export function benchService(replyBytes: number = BENCH_REPLY_BYTES_DEFAULT): Service<BenchState, Uint8Array, Uint8Array> {
  if (!Number.isSafeInteger(replyBytes) || replyBytes < 0 || replyBytes > BENCH_REPLY_BYTES_MAX) {
    throw new RangeError(`bench: ${replyBytes} reply bytes is not in 0..${BENCH_REPLY_BYTES_MAX}`);
  }
  return defineService<BenchState, Uint8Array, Uint8Array>({
    name: 'bench',
    request: bytesCodec,
    reply: bytesCodec,
    state: stateCodec,
    initialState: () => ({ count: 0, digest: new Uint8Array(DIGEST_BYTES) }),
    update(state, request) {
      if (isRead(request)) return countReply(state.count, replyBytes); // ordered (a read that fell back): still no change
      // Never throws: any bytes are a request. The state changes only here, after the hash, so nothing is half done.
      state.digest = createHash('sha256').update(state.digest).update(request).digest();
      state.count++;
      return countReply(state.count, replyBytes);
    },
    readOnly: isRead,
    query: (state, request) => {
      void request;
      return countReply(state.count, replyBytes);
    },
  });
}

/** `replyBytes` bytes: `count`, little-endian, in the first (up to) 8, zeros after. */
function countReply(count: number, replyBytes: number): Uint8Array {
  const reply = new Uint8Array(replyBytes);
  for (let i = 0; i < Math.min(8, replyBytes); i++, count = Math.floor(count / 256)) reply[i] = count % 256;
  return reply;
}

/** This module's default export, for `WorkerExecutor`: the reply size its URL names. */
export default benchService(replyBytesOf(import.meta.url));
