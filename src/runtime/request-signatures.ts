/**
 * Ed25519 client signatures on requests (docs/DESIGN.md, "Client
 * authentication"): the client's signer, and the replica's check [A1]. The
 * primary verifies every request it proposes, so both use libsodium
 * (src/runtime/ed25519.ts).
 */
import type { RequestSigner } from '../core/client.js';
import { CLIENT_KEY_BYTES, type Request, type RequestStatement } from '../core/messages.js';
import { clientIdBase, ownsClientId, type NodeIdentity } from '../net/identity.js';
import { encodeRequestStatement } from '../wire/codec.js';
import { ed25519Signer, ed25519Verify } from './ed25519.js';

/** Client keys whose id base a replica keeps; the least recently used goes first. */
export const CLIENT_KEY_BASES_MAX = 4096;

/** The client's signer: the identity's key signs each request's statement. */
export function requestSigner(identity: NodeIdentity): RequestSigner {
  const sign = ed25519Signer(identity);
  return { publicKey: identity.publicKey, sign: (statement: RequestStatement) => sign(encodeRequestStatement(statement)) };
}

/** A replica's check of client requests: the key owns the client id and signed the statement [A1]. Never throws. */
export function requestVerifier(keyBasesMax = CLIENT_KEY_BASES_MAX): (request: Request) => boolean {
  /** Hex of a raw key -> its client id base (a SHA-256), most recently used last. */
  const bases = new Map<string, number>();
  const baseOf = (raw: Uint8Array): number => {
    const hex = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('hex');
    let base = bases.get(hex);
    if (base === undefined) {
      base = clientIdBase(raw);
      if (bases.size >= keyBasesMax) bases.delete(bases.keys().next().value as string);
    } else {
      bases.delete(hex); // re-inserted below as the most recently used
    }
    bases.set(hex, base);
    return base;
  };
  return (request: Request): boolean => {
    if (request.clientKey.length !== CLIENT_KEY_BYTES) return false;
    if (!ownsClientId(baseOf(request.clientKey), request.clientId)) return false;
    return ed25519Verify(request.clientKey, encodeRequestStatement(request), request.signature);
  };
}
