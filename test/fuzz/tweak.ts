/**
 * Well-typed but wrong variants of a message: a field of a captured message
 * set to a value a Byzantine replica could choose. Fields are found by
 * walking the message, not named, so fields added to a message later are
 * tweaked too:
 *
 * - a number (view, seq, request number, client id, replica id, index,
 *   byte count) set to 0, 1, its value +-1, the cluster's n or n - 1, the
 *   window's edge, 2^32 - 1 or 2^53 - 1;
 * - a byte array (digest, signature, key, operation, chunk) replaced by
 *   zeros, 0xff, the same bytes from another message (another replica's
 *   signature, another batch's digest) or, for an opaque field, a shorter or
 *   longer one;
 * - a boolean negated;
 * - a list with an element dropped, or one element repeated up to 16 times
 *   (huge batches, duplicate signatures and certificates).
 *
 * Whether the result is something the wire can carry is decided by the
 * codec afterwards (test/fuzz/replica-core.ts): the core is only ever fed
 * what decodes.
 */
import fc from 'fast-check';

export type Tweak =
  | { readonly kind: 'number'; readonly path: number; readonly value: NumberChoice }
  | { readonly kind: 'bytes'; readonly path: number; readonly value: BytesChoice }
  | { readonly kind: 'boolean'; readonly path: number }
  | { readonly kind: 'list'; readonly path: number; readonly drop: boolean; readonly at: number; readonly copies: number };

export type NumberChoice = 0 | 1 | '+1' | '-1' | 'n' | 'n-1' | 'window' | 'u32-max' | 'max' | { readonly random: number };
export type BytesChoice = 'zeros' | 'ones' | 'empty' | 'longer' | { readonly donor: number } | { readonly flip: number };

const ORDINAL_MAX = Number.MAX_SAFE_INTEGER;
const U32_MAX = 0xffff_ffff;

const numberChoice: fc.Arbitrary<NumberChoice> = fc.oneof(
  fc.constantFrom<NumberChoice>(0, 1, '+1', '-1', 'n', 'n-1', 'window', 'u32-max', 'max'),
  fc.record({ random: fc.nat({ max: 1_000 }) }),
);
const bytesChoice: fc.Arbitrary<BytesChoice> = fc.oneof(
  fc.constantFrom<BytesChoice>('zeros', 'ones', 'empty', 'longer'),
  fc.record({ donor: fc.nat({ max: 0xffff }) }),
  fc.record({ flip: fc.nat({ max: 0xffff }) }),
);

export const tweakArbitrary: fc.Arbitrary<Tweak> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('number' as const), path: fc.nat({ max: 0xffff }), value: numberChoice }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('bytes' as const), path: fc.nat({ max: 0xffff }), value: bytesChoice }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('boolean' as const), path: fc.nat({ max: 0xffff }) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('list' as const),
      path: fc.nat({ max: 0xffff }),
      drop: fc.boolean(),
      at: fc.nat({ max: 0xffff }),
      copies: fc.integer({ min: 1, max: 16 }),
    }),
    weight: 2,
  },
);

/** What numbers mean in this cluster: its size and window. */
export interface TweakContext {
  readonly n: number;
  readonly logWindow: number;
  /** Other messages, whose byte fields are transplanted (`donor`). */
  readonly donors: readonly object[];
}

type Leaf = { readonly parent: Record<string | number, unknown>; readonly key: string | number };

/** `message` with `tweak` applied (a deep copy; `message` is not touched). */
export function applyTweak<M extends object>(message: M, tweak: Tweak, ctx: TweakContext): M {
  const copy = deepCopy(message) as M;
  const leaves = leavesOf(copy, tweak.kind);
  if (leaves.length === 0) return copy;
  const { parent, key } = leaves[tweak.path % leaves.length] as Leaf;
  switch (tweak.kind) {
    case 'number':
      parent[key] = chooseNumber(parent[key] as number, tweak.value, ctx);
      break;
    case 'boolean':
      parent[key] = !(parent[key] as boolean);
      break;
    case 'bytes':
      parent[key] = chooseBytes(parent[key] as Uint8Array, tweak.value, ctx);
      break;
    case 'list': {
      const list = parent[key] as unknown[];
      if (list.length === 0) break;
      const at = tweak.at % list.length;
      if (tweak.drop) list.splice(at, 1);
      else list.splice(at, 0, ...Array.from({ length: tweak.copies }, () => deepCopy(list[at])));
      break;
    }
  }
  return copy;
}

function chooseNumber(current: number, choice: NumberChoice, ctx: TweakContext): number {
  if (typeof choice === 'object') return choice.random;
  switch (choice) {
    case '+1':
      return Math.min(current + 1, ORDINAL_MAX);
    case '-1':
      return Math.max(current - 1, 0);
    case 'n':
      return ctx.n;
    case 'n-1':
      return ctx.n - 1;
    case 'window':
      return current + ctx.logWindow;
    case 'u32-max':
      return U32_MAX;
    case 'max':
      return ORDINAL_MAX;
    default:
      return choice;
  }
}

function chooseBytes(current: Uint8Array, choice: BytesChoice, ctx: TweakContext): Uint8Array {
  if (typeof choice === 'object') {
    if ('flip' in choice) {
      const out = new Uint8Array(current);
      if (out.length > 0) out[choice.flip % out.length] = (out[choice.flip % out.length] as number) ^ 1;
      return out;
    }
    // The same-length byte field of another message: a real digest, signature or key, in the wrong place.
    const donor = ctx.donors[choice.donor % Math.max(1, ctx.donors.length)];
    const candidates = donor === undefined ? [] : leavesOf(donor, 'bytes').map(({ parent, key }) => parent[key] as Uint8Array);
    const same = candidates.filter((b) => b.length === current.length);
    return new Uint8Array(same[choice.donor % Math.max(1, same.length)] ?? current);
  }
  switch (choice) {
    case 'zeros':
      return new Uint8Array(current.length);
    case 'ones':
      return new Uint8Array(current.length).fill(0xff);
    case 'empty':
      return new Uint8Array(0);
    case 'longer':
      return new Uint8Array(current.length * 2 + 1).fill(0x61);
  }
}

/** The leaves of `kind` (a list for 'list'), depth first, in property order; `type` fields are not leaves. */
function leavesOf(root: object, kind: Tweak['kind']): Leaf[] {
  const out: Leaf[] = [];
  const walk = (node: Record<string | number, unknown>): void => {
    for (const key of Object.keys(node)) {
      if (key === 'type') continue;
      const value = node[key];
      if (value instanceof Uint8Array) {
        if (kind === 'bytes') out.push({ parent: node, key });
      } else if (Array.isArray(value)) {
        if (kind === 'list') out.push({ parent: node, key });
        walk(value as unknown as Record<number, unknown>);
      } else if (typeof value === 'object' && value !== null) {
        walk(value as Record<string, unknown>);
      } else if ((kind === 'number' && typeof value === 'number') || (kind === 'boolean' && typeof value === 'boolean')) {
        out.push({ parent: node, key });
      }
    }
  };
  walk(root as Record<string, unknown>);
  return out;
}

function deepCopy<T>(value: T): T {
  if (value instanceof Uint8Array) return new Uint8Array(value) as T;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = deepCopy(v);
    return out as T;
  }
  return value;
}
