/**
 * The part of sodium-native (libsodium bindings, prebuilt in its npm package)
 * bafomet uses: Ed25519 signatures on client requests, about twice as fast
 * as node:crypto's (docs/DESIGN.md, "Client authentication"). The package
 * ships no types; these follow its README.
 */
declare module 'sodium-native' {
  export const crypto_sign_BYTES: number;
  export const crypto_sign_PUBLICKEYBYTES: number;
  export const crypto_sign_SECRETKEYBYTES: number;
  export const crypto_sign_SEEDBYTES: number;
  /** Fills `publicKey` and `secretKey` (seed then public key) from a 32-byte seed. */
  export function crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void;
  /** Writes the signature of `message` by `secretKey` into `signature`. */
  export function crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
  /** Whether `signature` is `publicKey`'s on `message`; false (never a throw) for a malformed key or signature of the right lengths. */
  export function crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}
