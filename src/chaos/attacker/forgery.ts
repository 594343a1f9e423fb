/**
 * The attacker's client requests: forged ones, which no correct replica may
 * execute, and one genuine kind (`control`), signed by the attacker's own
 * client key for an id that key owns, which correct replicas do execute.
 * Every request the attacker makes is built by {@link buildRequest}, so a
 * change to the `Request` record is one edit here.
 *
 * Each forged request is a kv `put` with a recognisable key or value, so the
 * chaos runner can tell afterwards whether any was executed: a forged put
 * either writes a marker key ({@link forgedMarkerKey}, which must stay
 * absent) or overwrites one of the load's own keys with {@link FORGED_VALUE}
 * (which the runner's read-back reports as a corrupt key). The control
 * request writes {@link CONTROL_KEY}, which must be present: it shows that a
 * FORWARDed request is executed when it is authentic, so an absent marker
 * means "refused", not "never reached the primary".
 */
import type { RequestSigner } from '../../core/client.js';
import { clientId, type ClientId } from '../../core/ids.js';
import { CLIENT_KEY_BYTES, SIGNATURE_BYTES, type Request } from '../../core/messages.js';
import { ORDINAL_MAX, requestNo } from '../../core/ordering.js';
import { clientIdBase } from '../../net/identity.js';
import kvService, { type KvRequest } from '../../services/kv.js';
import type { Rng } from '../../sim/rng.js';
import { keyOf } from '../workload.js';

/**
 * How a forged request lies:
 * - `victim-bad-signature`: a load session's id and key, random signature bytes;
 * - `victim-reattributed`: a load session's id, signed validly by the attacker's own key (which does not own that id);
 * - `victim-transplanted`: a load session's id and key with the signature of one of its real requests (another number or operation);
 * - `foreign-random`: an arbitrary client id, random key and signature bytes;
 * - `foreign-reattributed`: an arbitrary client id, signed validly by the attacker's own key.
 */
export const FORGERY_KINDS = ['victim-bad-signature', 'victim-reattributed', 'victim-transplanted', 'foreign-random', 'foreign-reattributed'] as const;
export type ForgeryKind = (typeof FORGERY_KINDS)[number];

/** The kinds that need a load session to impersonate. */
const VICTIM_KINDS: readonly ForgeryKind[] = ['victim-bad-signature', 'victim-reattributed', 'victim-transplanted'];

/** The kv key a forged request of `kind` writes when it does not aim at a load key; present at the end means executed. */
export const forgedMarkerKey = (kind: ForgeryKind): string => `byz-forged-${kind}`;
export const FORGED_MARKER_KEYS: readonly string[] = FORGERY_KINDS.map(forgedMarkerKey);
/** The value forged puts write into the load's own keys: the read-back finds it as a value never written there. */
export const FORGED_VALUE = 'byz-forged';
/** The key the attacker's genuine (control) requests write. */
export const CONTROL_KEY = 'byz-control';

/** A load session as the attacker saw it in one of its genuine requests. */
export interface VictimSession {
  readonly clientId: number;
  readonly clientKey: Uint8Array;
  /** The highest request number seen from it. */
  readonly requestNo: number;
  /** The signature of a request it really sent (not the one above, necessarily). */
  readonly signature: Uint8Array;
}

/** One forged request to make: who it claims to be and what it does. */
export interface ForgeryPlan {
  readonly kind: ForgeryKind;
  readonly clientId: number;
  readonly requestNo: number;
  readonly operation: KvRequest;
  /** For the `victim-*` kinds: the session impersonated. */
  readonly victim?: VictimSession;
}

/** Load sessions and keys a forged put may aim at: the load's first sessions always write their first keys. */
const LOAD_TARGETS = 4;
/** The load keys forged puts aim at: none may hold {@link FORGED_VALUE} at the end. */
export const FORGED_LOAD_KEYS: readonly string[] = Array.from({ length: LOAD_TARGETS * LOAD_TARGETS }, (_, i) =>
  keyOf(Math.floor(i / LOAD_TARGETS), i % LOAD_TARGETS),
);

/** An arbitrary client id in [0, 2^53 - 1]. */
export function randomClientId(rng: Rng): number {
  return (rng.u32() & 0x1f_ffff) * 0x1_0000_0000 + rng.u32();
}

/**
 * Picks a forgery: its kind (a `victim-*` kind only once a load session was
 * seen), the id and number it claims (the victim's next numbers, or 2^53 - 1,
 * which would end the session for good if executed), and a put of a marker
 * key or, for a victim, sometimes of one of the load's keys.
 */
export function planForgery(rng: Rng, victims: readonly VictimSession[], foreignIds: readonly number[]): ForgeryPlan {
  const kinds = victims.length > 0 ? FORGERY_KINDS : FORGERY_KINDS.filter((k) => !VICTIM_KINDS.includes(k));
  const kind = rng.pick(kinds);
  const requestNoMax = rng.chance(0.25);
  if (!VICTIM_KINDS.includes(kind)) {
    const id = rng.pick(foreignIds);
    return { kind, clientId: id, requestNo: requestNoMax ? ORDINAL_MAX : rng.int(1, 1_000_000), operation: markerPut(kind, rng) };
  }
  const victim = rng.pick(victims);
  const operation = rng.chance(0.5)
    ? ({ op: 'put', key: keyOf(rng.int(0, LOAD_TARGETS - 1), rng.int(0, LOAD_TARGETS - 1)), value: FORGED_VALUE } as const)
    : markerPut(kind, rng);
  // Its next numbers: were one executed, the session's real request of that number would get the forged one's reply.
  const number = requestNoMax ? ORDINAL_MAX : Math.min(ORDINAL_MAX, victim.requestNo + rng.int(1, 3));
  return { kind, clientId: victim.clientId, requestNo: number, operation, victim };
}

function markerPut(kind: ForgeryKind, rng: Rng): KvRequest {
  return { op: 'put', key: forgedMarkerKey(kind), value: `${FORGED_VALUE}-${rng.u32()}` };
}

/** What {@link buildRequest} makes: a forgery, or the attacker's genuine control request. */
export type RequestToBuild = ForgeryPlan | { readonly kind: 'control'; readonly requestNo: number };

/** The client id the attacker's own key owns (its first session), used by its control requests. */
export function controlClientId(attacker: RequestSigner): ClientId {
  return clientId(clientIdBase(attacker.publicKey));
}

/**
 * THE function that makes the attacker's requests: fills `clientKey` and
 * `signature` as the plan's kind lies (or, for `control`, truthfully).
 */
export function buildRequest(plan: RequestToBuild, attacker: RequestSigner, rng: Rng): Request {
  if (plan.kind === 'control') {
    const statement = {
      clientId: controlClientId(attacker),
      requestNo: requestNo(plan.requestNo),
      operation: encodeOperation({ op: 'put', key: CONTROL_KEY, value: `n${plan.requestNo}` }),
    };
    return { ...statement, clientKey: attacker.publicKey, signature: attacker.sign(statement) };
  }
  const statement = { clientId: clientId(plan.clientId), requestNo: requestNo(plan.requestNo), operation: encodeOperation(plan.operation) };
  switch (plan.kind) {
    case 'victim-bad-signature':
      return { ...statement, clientKey: victimOf(plan).clientKey, signature: rng.bytes(SIGNATURE_BYTES) };
    case 'victim-transplanted':
      return { ...statement, clientKey: victimOf(plan).clientKey, signature: victimOf(plan).signature };
    case 'victim-reattributed':
    case 'foreign-reattributed':
      return { ...statement, clientKey: attacker.publicKey, signature: attacker.sign(statement) };
    case 'foreign-random':
      return { ...statement, clientKey: rng.bytes(CLIENT_KEY_BYTES), signature: rng.bytes(SIGNATURE_BYTES) };
  }
}

function victimOf(plan: ForgeryPlan): VictimSession {
  if (plan.victim === undefined) throw new RangeError(`a ${plan.kind} forgery needs a victim session`);
  return plan.victim;
}

function encodeOperation(operation: KvRequest): Uint8Array {
  return kvService.request.encode(operation);
}
