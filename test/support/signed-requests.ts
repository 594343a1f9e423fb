/**
 * Signed client requests for tests, in one place (docs/DESIGN.md, "Client
 * authentication"): a deterministic, test-only model of client keys and
 * request signatures that the scenario harness's CoreCrypto checks.
 *
 * - A client key is 32 bytes: its client id base (a multiple of 65,536) as a
 *   u64, then SHA-256 of a fixed seed and a key index, truncated to 24 bytes.
 *   {@link testClientIdBase} reads the base back, so a key owns exactly the
 *   65,536 ids from its base, as `clientIdBase` does with real keys.
 * - A key's signature on a request statement is the first 64 bytes of
 *   SHA-512(secret(key) || the wire codec's `encodeRequestStatement`), where
 *   secret(key) is SHA-256 of a fixed seed and the key. Only
 *   {@link signRequest} computes it: a test that builds a request without it
 *   builds a forgery, which is what a Byzantine replica can do.
 */
import { createHash } from 'node:crypto';
import { clientId, type ClientId } from '../../src/core/ids.js';
import { CLIENT_KEY_BYTES, SIGNATURE_BYTES, type Request, type RequestStatement, type Signature } from '../../src/core/messages.js';
import { requestNo } from '../../src/core/ordering.js';
import { encodeRequestStatement } from '../../src/wire/codec.js';

const SEED = 'bafomet test client';
const SESSIONS_PER_KEY = 0x10000;

const encoder = new TextEncoder();

/** The test key of client id `id` (`index` tells keys of one base apart; default: the id itself). */
export function testClientKey(id: number, index = id): Uint8Array {
  const key = new Uint8Array(CLIENT_KEY_BYTES);
  new DataView(key.buffer).setBigUint64(0, BigInt(id - (id % SESSIONS_PER_KEY)));
  key.set(createHash('sha256').update(`${SEED}/key/${index}`).digest().subarray(0, CLIENT_KEY_BYTES - 8), 8);
  return key;
}

/** The client id base a test key owns, or -1 for bytes that are not one. */
export function testClientIdBase(key: Uint8Array): number {
  if (key.length !== CLIENT_KEY_BYTES) return -1;
  const base = Number(new DataView(key.buffer, key.byteOffset, key.length).getBigUint64(0));
  return Number.isSafeInteger(base) && base % SESSIONS_PER_KEY === 0 ? base : -1;
}

/** `key`'s signature on `statement` (a test speaking for that client). */
export function signRequest(key: Uint8Array, statement: RequestStatement): Signature {
  const secret = createHash('sha256').update(SEED).update(key).digest();
  const mac = createHash('sha512').update(secret).update(encodeRequestStatement(statement)).digest();
  return new Uint8Array(mac.subarray(0, SIGNATURE_BYTES));
}

/** Whether `request` is authentic in the test model: its key owns its id and signed it. Never throws. */
export function verifyTestRequest(request: Request): boolean {
  try {
    const base = testClientIdBase(request.clientKey);
    if (base < 0 || request.clientId < base || request.clientId >= base + SESSIONS_PER_KEY) return false;
    if (request.signature.length !== SIGNATURE_BYTES) return false;
    const expected = signRequest(request.clientKey, request);
    return expected.every((byte, i) => byte === request.signature[i]);
  } catch {
    return false;
  }
}

/** A request of client `id` numbered `no`, signed with its test key (or `key`). */
export function signedRequest(id: number, no: number, operation: Uint8Array | string, key: Uint8Array = testClientKey(id)): Request {
  const statement: RequestStatement = {
    clientId: clientId(id) as ClientId,
    requestNo: requestNo(no),
    operation: typeof operation === 'string' ? encoder.encode(operation) : operation,
  };
  return { ...statement, clientKey: key, signature: signRequest(key, statement) };
}

/** The same request with a signature nobody made: what a Byzantine replica can build. */
export function forgedRequest(id: number, no: number, operation: Uint8Array | string): Request {
  return { ...signedRequest(id, no, operation), signature: new Uint8Array(SIGNATURE_BYTES).fill(0xf0) };
}
