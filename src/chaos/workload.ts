/**
 * What the chaos load writes and reads, per service: the kv store's string
 * keys, or cells of the large binary `slots` state. The ledger and the
 * lost-write check are the same for both; a workload only names the
 * requests for "put value v in session s's key j" and "get session s's key j".
 */
import type { ClientCodecs } from '../runtime/client.js';
import kvService, { KV_ENTRIES_MAX, type KvRequest } from '../services/kv.js';
import { SLOT_BYTES, slotsService, type SlotsRequest } from '../services/slots.js';

/** Keys per session, at most: bounds the store (kv) and the read-back at the end (both). */
const KEYS_PER_SESSION_MAX = 64;

/** Replies the load understands: both services answer in this shape. */
export type LedgerReply = { readonly ok: true; readonly value?: string | null } | { readonly ok: false; readonly error: string };

/** The requests of a load of `sessions` sessions on one service. */
export interface ChaosWorkload<Req = unknown> {
  /** How replica processes name the service (`LocalCluster` `service`). */
  readonly service: string;
  /** The client's request and reply codecs. */
  readonly codecs: ClientCodecs<Req, LedgerReply>;
  readonly sessions: number;
  /** Keys each session owns. */
  readonly keysPerSession: number;
  /** Writes `value` to key `index` of `session`. */
  put(session: number, index: number, value: string): Req;
  /** Reads key `index` of `session`. */
  get(session: number, index: number): Req;
}

/** Keys per session: clients × keys stays below half of KV_ENTRIES_MAX. */
export function keysPerSession(sessions: number): number {
  return Math.max(1, Math.min(KEYS_PER_SESSION_MAX, Math.floor(KV_ENTRIES_MAX / 2 / sessions)));
}

export const keyOf = (session: number, index: number): string => `c${session}-k${index}`;

/** The key-value store: session s's key j is the string `c{s}-k{j}`. */
export function kvWorkload(sessions: number): ChaosWorkload<KvRequest> {
  return {
    service: 'kv',
    codecs: kvService,
    sessions,
    keysPerSession: keysPerSession(sessions),
    put: (session, index, value) => ({ op: 'put', key: keyOf(session, index), value }),
    get: (session, index) => ({ op: 'get', key: keyOf(session, index) }),
  };
}

/**
 * The `slots` service over `stateBytes` bytes, for `sessions` sessions: the
 * keys of all sessions are spread evenly over the cells, so writes land in
 * every part of the state (every chunk of a checkpoint image), not in its
 * first few KB.
 */
export function slotsWorkload(stateBytes: number, sessions: number): ChaosWorkload<SlotsRequest> {
  const codecs = slotsService(stateBytes);
  const cells = stateBytes / SLOT_BYTES;
  const perSession = keysPerSession(sessions);
  const keys = sessions * perSession;
  if (cells < keys) throw new RangeError(`slots: ${cells} cells cannot hold ${keys} keys (${sessions} sessions)`);
  const slotOf = (session: number, index: number): number => Math.floor(((session * perSession + index) * cells) / keys);
  return {
    service: `slots?bytes=${stateBytes}`,
    codecs,
    sessions,
    keysPerSession: perSession,
    put: (session, index, value) => ({ op: 'put', slot: slotOf(session, index), value }),
    get: (session, index) => ({ op: 'get', slot: slotOf(session, index) }),
  };
}
