/**
 * Ed25519 client signatures on requests with node:crypto (docs/DESIGN.md,
 * "Client authentication"): the client's signer, and the replica's check
 * [A1], with a bounded cache of public-key objects so that a key is parsed
 * once per client, not once per request.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { RequestSigner } from '../core/client.js';
import { CLIENT_KEY_BYTES, SIGNATURE_BYTES, type Request, type RequestStatement } from '../core/messages.js';
import { clientIdBase, ownsClientId, type NodeIdentity } from '../net/identity.js';
import { encodeRequestStatement } from '../wire/codec.js';

/** Client keys whose KeyObject a replica keeps; the least recently used goes first. */
export const CLIENT_KEY_OBJECTS_MAX = 4096;

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The client's signer: the identity's key signs each request's statement. */
export function requestSigner(identity: NodeIdentity): RequestSigner {
  return {
    publicKey: identity.publicKey,
    sign: (statement: RequestStatement) => sign(null, encodeRequestStatement(statement), identity.privateKey),
  };
}

/** A replica's check of client requests: the key owns the client id and signed the statement [A1]. Never throws. */
export function requestVerifier(keyObjectsMax = CLIENT_KEY_OBJECTS_MAX): (request: Request) => boolean {
  /** Hex of a raw key -> its KeyObject and client id base, most recently used last. */
  const keys = new Map<string, { readonly key: KeyObject; readonly base: number }>();
  const keyOf = (raw: Uint8Array): { readonly key: KeyObject; readonly base: number } => {
    const hex = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('hex');
    let entry = keys.get(hex);
    if (entry === undefined) {
      const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
      entry = { key, base: clientIdBase(raw) };
      if (keys.size >= keyObjectsMax) keys.delete(keys.keys().next().value as string);
    } else {
      keys.delete(hex); // re-inserted below as the most recently used
    }
    keys.set(hex, entry);
    return entry;
  };
  return (request: Request): boolean => {
    if (request.clientKey.length !== CLIENT_KEY_BYTES || request.signature.length !== SIGNATURE_BYTES) return false;
    try {
      const { key, base } = keyOf(request.clientKey);
      return ownsClientId(base, request.clientId) && verify(null, encodeRequestStatement(request), key, request.signature);
    } catch {
      return false; // a malformed key is an invalid signature, never an exception
    }
  };
}
