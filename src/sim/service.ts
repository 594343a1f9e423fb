/**
 * The simulated replicas' service: per-key append-only logs whose replies
 * depend on the whole execution order. Each reply carries the number of
 * appends so far, the length of the key's log and a running hash of every
 * append in order, so two replicas (or a replica and the checker's reference
 * replay) that executed different histories give different replies.
 *
 * It is a real {@link Service} run by the real {@link ServiceRunner}, so a
 * request whose operation does not decode fails, exactly as in production.
 * A `poison` operation (generator 5) appends like `append` and then throws:
 * the runner must roll the append back, and every replica answers it as
 * failed with the same message.
 */
import { defineService, type Codec } from '../service.js';

/** Keys 0..KEYS-1. */
export const KEYS = 8;

export type SimOperationKind = 'append' | 'read' | 'poison';

export interface SimRequest {
  readonly kind: SimOperationKind;
  readonly key: number;
  readonly value: Uint8Array;
}

export interface SimReply {
  readonly appends: number;
  readonly keyLength: number;
  readonly chain: number;
}

export interface SimState {
  appends: number;
  chain: number;
  readonly lengths: number[];
}

const KIND_BYTE: Readonly<Record<SimOperationKind, number>> = { append: 1, read: 2, poison: 3 };
const KIND_OF_BYTE: readonly (SimOperationKind | undefined)[] = [undefined, 'append', 'read', 'poison'];

/** Encodes an operation: kind byte, key byte, value. */
export function encodeOperation(kind: SimOperationKind, key: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + value.length);
  out[0] = KIND_BYTE[kind];
  out[1] = key;
  out.set(value, 2);
  return out;
}

const requestCodec: Codec<SimRequest> = {
  encode: (r) => encodeOperation(r.kind, r.key, r.value),
  decode(bytes) {
    const kind = KIND_OF_BYTE[bytes[0] ?? 0];
    const key = bytes[1];
    if (key === undefined || key >= KEYS || kind === undefined) throw new TypeError('bad operation');
    return { kind, key, value: bytes.subarray(2) };
  },
};

const replyCodec: Codec<SimReply> = {
  encode(r) {
    const out = new Uint8Array(12);
    const view = new DataView(out.buffer);
    view.setUint32(0, r.appends);
    view.setUint32(4, r.keyLength);
    view.setUint32(8, r.chain);
    return out;
  },
  decode(bytes) {
    if (bytes.length !== 12) throw new TypeError('bad reply');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { appends: view.getUint32(0), keyLength: view.getUint32(4), chain: view.getUint32(8) };
  },
};

const stateCodec: Codec<SimState> = {
  encode(s) {
    const out = new Uint8Array(8 + 4 * KEYS);
    const view = new DataView(out.buffer);
    view.setUint32(0, s.appends);
    view.setUint32(4, s.chain);
    s.lengths.forEach((l, i) => view.setUint32(8 + 4 * i, l));
    return out;
  },
  decode(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const lengths: number[] = [];
    for (let i = 0; i < KEYS; i++) lengths.push(view.getUint32(8 + 4 * i));
    return { appends: view.getUint32(0), chain: view.getUint32(4), lengths };
  },
};

export const simService = defineService<SimState, SimRequest, SimReply>({
  name: 'sim-append-log',
  request: requestCodec,
  reply: replyCodec,
  state: stateCodec,
  initialState: () => ({ appends: 0, chain: 0x811c9dc5, lengths: new Array<number>(KEYS).fill(0) }),
  update(state, request) {
    if (request.kind === 'append' || request.kind === 'poison') {
      let h = state.chain ^ (request.key + 1);
      for (const b of request.value) h = Math.imul(h ^ b, 0x01000193);
      state.chain = Math.imul(h ^ state.appends, 0x01000193) >>> 0;
      state.appends++;
      state.lengths[request.key] = (state.lengths[request.key] ?? 0) + 1;
    }
    if (request.kind === 'poison') throw new RangeError(`poisoned key ${request.key}`);
    return { appends: state.appends, keyLength: state.lengths[request.key] ?? 0, chain: state.chain };
  },
});
