/** A replicated integer counter. */
import { jsonCodec } from '../codecs.js';
import { defineService, type Codec } from '../service.js';

/** A counter request: add a safe integer (possibly negative), or read. */
export type CounterRequest = { readonly op: 'add'; readonly amount: number } | { readonly op: 'get' };

/**
 * The counter's value after the request. `error` is set, and the value left
 * unchanged, when the request was malformed or the sum would leave the
 * safe-integer range.
 */
export interface CounterReply {
  readonly value: number;
  readonly error?: string;
}

/** The counter, boxed because `update` can only change state in place. */
export interface CounterState {
  value: number;
}

const valueCodec = jsonCodec<number>();

/** The bare number as JSON. */
const stateCodec: Codec<CounterState> = {
  encode: (state) => valueCodec.encode(state.value),
  decode(bytes) {
    const value = valueCodec.decode(bytes);
    if (!Number.isSafeInteger(value)) throw new TypeError('counter state is not a safe integer');
    return { value };
  },
};

/** Why `request` (an untrusted decoded value) is malformed, or undefined if it is well formed. */
function problem(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null) return 'request is not an object';
  const { op, amount } = request as Record<string, unknown>;
  if (op === 'get') return undefined;
  if (op !== 'add') return 'unknown op';
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount)) return 'amount is not a safe integer';
  return undefined;
}

/** The counter service; also this module's default export, for `WorkerExecutor`. `get` is read-only (`Client.invokeReadOnly`). */
export const counterService = defineService<CounterState, CounterRequest, CounterReply>({
  name: 'counter',
  request: jsonCodec<CounterRequest>(),
  reply: jsonCodec<CounterReply>(),
  state: stateCodec,
  initialState: () => ({ value: 0 }),
  update(state, request) {
    const error = problem(request);
    if (error !== undefined) return { value: state.value, error };
    if (request.op === 'add') {
      const sum = state.value + request.amount;
      if (!Number.isSafeInteger(sum)) return { value: state.value, error: 'sum out of the safe-integer range' };
      state.value = sum;
    }
    return { value: state.value };
  },
  readOnly: (request) => typeof request === 'object' && request !== null && (request as { op?: unknown }).op === 'get',
  query: (state) => ({ value: state.value }),
});

export default counterService;
