/**
 * Fuzz target: the built-in services' handling of client operations (kv,
 * counter, slots; src/services), run by the executor's ServiceRunner
 * (src/executor/runner.ts) exactly as a replica runs committed batches.
 * Operations are untrusted bytes from any client: well-formed requests,
 * byte mutants of them (mutate.ts), arbitrary JSON values and random bytes.
 *
 * Properties:
 * - `run` never throws, within the time bound of bounds.ts;
 * - a built-in service returns its errors as replies ("`update` SHOULD NOT
 *   THROW", README): the only failed requests are ones that do not decode;
 * - determinism: two runners fed the same batches give the same results and
 *   the same state, byte for byte;
 * - the state codec round-trips: a runner restored from a snapshot
 *   snapshots to the same bytes;
 * - read-only requests (docs/PROTOCOL.md Q5-Q6): every operation is also
 *   sent read-only to one of the two runners after its batch; `query` never
 *   throws, fails only on what does not decode, and leaves the state alone
 *   (that runner's final state equals the other's).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AnyService } from '../../src/service.js';
import { ServiceRunner } from '../../src/executor/runner.js';
import { counterService } from '../../src/services/counter.js';
import { kvService } from '../../src/services/kv.js';
import { SLOT_BYTES, slotsService } from '../../src/services/slots.js';
import { withinBounds } from './bounds.js';
import { applyMutant, mutantArbitrary, type Mutant } from './mutate.js';
import type { FuzzTarget } from './target.js';

/** A small slots state (64 cells), so that snapshots stay cheap. */
const SLOT_COUNT = 64;
const SERVICES: readonly AnyService[] = [kvService, counterService, slotsService(SLOT_COUNT * SLOT_BYTES)] as readonly AnyService[];
const CHUNK_BYTES = 256;
/** A batch of a few small operations has no business allocating more (a rollback copies a small state). */
const RUN_BYTES_MAX = 16 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

const text = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('', '__proto__', 'constructor', '\u{1F600}', '\ud800', 'x'.repeat(300), 'y'.repeat(5000)));
const number = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 1e308, -0));
/** Well-formed (and nearly well-formed) requests of each service, as their clients encode them. */
const requests: readonly fc.Arbitrary<unknown>[] = [
  fc.oneof(
    fc.record({ op: fc.constant('put'), key: text, value: text }),
    fc.record({ op: fc.constantFrom('get', 'delete'), key: text }),
  ),
  fc.oneof(fc.record({ op: fc.constant('add'), amount: number }), fc.constant({ op: 'get' })),
  fc.record({ op: fc.constantFrom('put', 'get'), slot: fc.oneof(fc.nat({ max: SLOT_COUNT + 1 }), number), value: text }),
];

export type Operation =
  | { readonly kind: 'request'; readonly value: unknown }
  | { readonly kind: 'mutant'; readonly of: unknown; readonly mutant: Mutant }
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array };

export interface ServiceCase {
  readonly service: number;
  readonly batches: readonly (readonly Operation[])[];
}

function operationArbitrary(service: number): fc.Arbitrary<Operation> {
  const request = requests[service] as fc.Arbitrary<unknown>;
  return fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('request' as const), value: request }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('mutant' as const), of: request, mutant: mutantArbitrary(1, 3) }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 3 }) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 32 }) }), weight: 1 },
  );
}

function bytesOf(op: Operation): Uint8Array {
  switch (op.kind) {
    case 'request':
    case 'json':
      return json(op.value);
    case 'mutant':
      return applyMutant({ ...op.mutant, base: 0 }, [json(op.of)]);
    case 'bytes':
      return op.bytes;
  }
}

export const builtinServicesTarget: FuzzTarget<ServiceCase> = {
  name: 'builtin-services',
  weight: 8,
  testRuns: 500,
  arbitrary: () =>
    fc.nat({ max: SERVICES.length - 1 }).chain((service) =>
      fc.record({
        service: fc.constant(service),
        batches: fc.array(fc.array(operationArbitrary(service), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
      }),
    ),
  check: (k) => {
    const service = SERVICES[k.service] as AnyService;
    const a = new ServiceRunner(service);
    const b = new ServiceRunner(service);
    k.batches.forEach((batch, index) => {
      const operations = batch.map(bytesOf);
      const seq = index + 1;
      const ran = withinBounds(`${service.name} run`, RUN_BYTES_MAX, () => a.run(seq, operations));
      assert.deepStrictEqual(b.run(seq, operations), ran, `${service.name}: two runners disagree on batch ${seq}`);
      for (const i of ran.failed) {
        const why = decoder.decode(ran.results[i]);
        assert.ok(why.startsWith('request does not decode'), `${service.name} failed on ${JSON.stringify(decoder.decode(operations[i]))}: ${why}`);
      }
      for (const operation of operations) {
        const answer = withinBounds(`${service.name} query`, RUN_BYTES_MAX, () => a.query(operation));
        if (answer.status !== 'failed') continue;
        const why = decoder.decode(answer.result);
        assert.ok(why.startsWith('request does not decode'), `${service.name} query failed on ${JSON.stringify(decoder.decode(operation))}: ${why}`);
      }
    });
    const snapshot = a.snapshot(CHUNK_BYTES);
    assert.deepStrictEqual(b.snapshot(CHUNK_BYTES), snapshot, `${service.name}: two runners have different states (or a query changed one)`);
    const restored = new ServiceRunner(service);
    restored.restore(snapshot.state);
    assert.deepStrictEqual(restored.snapshot(CHUNK_BYTES), snapshot, `${service.name}: a restored state snapshots to other bytes`);
  },
};
