/** Node identities. Replica ids are indexes 0..n-1 in the cluster config. */
declare const replicaBrand: unique symbol;
declare const clientBrand: unique symbol;

export type ReplicaId = number & { readonly [replicaBrand]: true };
/**
 * A client session id: 53 bits, the high 37 derived from the client's public
 * key and the low 16 a session index, so an authenticated connection can only
 * speak for the sessions of its own key (see `src/net/identity.ts`).
 */
export type ClientId = number & { readonly [clientBrand]: true };

export const replicaId = (value: number): ReplicaId => value as ReplicaId;
export const clientId = (value: number): ClientId => value as ClientId;

/** Sessions one client key may run: its client ids are `base .. base + SESSIONS_PER_CLIENT_KEY - 1`, base a multiple of it. */
export const SESSIONS_PER_CLIENT_KEY = 0x10000;

/** The key a session belongs to, as a number (its id base over SESSIONS_PER_CLIENT_KEY): what per-key quotas count by. */
export function clientKeyOf(id: ClientId): number {
  return Math.floor(id / SESSIONS_PER_CLIENT_KEY);
}

/** SHA-256 digest, 32 bytes. */
export type Digest = Uint8Array;
export const DIGEST_BYTES = 32;

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
