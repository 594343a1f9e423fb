import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytesCodec, jsonCodec, utf8Codec } from '../../src/codecs.js';
import type { ReplyOf, RequestOf, StateOf } from '../../src/service.js';
import counterDefault, { counterService, type CounterReply, type CounterRequest } from '../../src/services/counter.js';
import kvDefault, {
  KV_ENTRIES_MAX,
  KV_KEY_BYTES_MAX,
  KV_VALUE_BYTES_MAX,
  kvService,
  type KvReply,
  type KvRequest,
  type KvState,
} from '../../src/services/kv.js';

const utf8 = new TextEncoder();

/** Applies `request` and passes the reply through the reply codec, as an executor would. */
function kv(state: KvState, request: unknown): KvReply {
  return kvService.reply.decode(kvService.reply.encode(kvService.update(state, request as KvRequest)));
}

describe('codecs', () => {
  it('jsonCodec round-trips JSON values', () => {
    const codec = jsonCodec<unknown>();
    // Passed through JSON once, as JSON cannot carry -0.
    const values = fc.jsonValue({ stringUnit: 'grapheme' }).map((value): unknown => JSON.parse(JSON.stringify(value)));
    fc.assert(fc.property(values, (value) => assert.deepEqual(codec.decode(codec.encode(value)), value)));
  });

  it('jsonCodec rejects what JSON cannot carry', () => {
    assert.throws(() => jsonCodec<undefined>().encode(undefined), TypeError);
    assert.throws(() => jsonCodec().decode(utf8.encode('{')), SyntaxError);
    assert.throws(() => jsonCodec().decode(new Uint8Array([0x22, 0xff, 0x22])), TypeError);
  });

  it('utf8Codec round-trips well-formed strings, a leading BOM included', () => {
    const roundTrips = (text: string) => assert.equal(utf8Codec.decode(utf8Codec.encode(text)), text);
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), roundTrips));
    assert.equal(utf8Codec.decode(utf8Codec.encode('\uFEFFx')), '\uFEFFx');
  });

  it('utf8Codec decodes invalid UTF-8 without throwing', () => {
    assert.equal(utf8Codec.decode(new Uint8Array([0x61, 0xff])), 'a\uFFFD');
  });

  it('bytesCodec is the identity', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        assert.equal(bytesCodec.encode(bytes), bytes);
        assert.equal(bytesCodec.decode(bytes), bytes);
      }),
    );
  });
});

describe('type helpers', () => {
  it('infer the types of a service', () => {
    const request: RequestOf<typeof kvService> = { op: 'get', key: 'k' } satisfies KvRequest;
    const reply: ReplyOf<typeof counterService> = { value: 1 } satisfies CounterReply;
    const state: StateOf<typeof kvService> = new Map<string, string>();
    // @ts-expect-error a counter request is not a kv request
    const wrong: RequestOf<typeof kvService> = { op: 'add', amount: 1 };
    assert.ok(request && reply && state && wrong);
  });
});

describe('kv service', () => {
  it('is the default export of its module', () => {
    assert.equal(kvDefault, kvService);
  });

  it('puts, gets and deletes', () => {
    const state = kvService.initialState();
    assert.deepEqual(kv(state, { op: 'get', key: 'a' }), { ok: true, value: null });
    assert.deepEqual(kv(state, { op: 'put', key: 'a', value: '1' }), { ok: true });
    assert.deepEqual(kv(state, { op: 'get', key: 'a' }), { ok: true, value: '1' });
    assert.deepEqual(kv(state, { op: 'put', key: 'a', value: '2' }), { ok: true });
    assert.deepEqual(kv(state, { op: 'get', key: 'a' }), { ok: true, value: '2' });
    assert.deepEqual(kv(state, { op: 'delete', key: 'a' }), { ok: true });
    assert.deepEqual(kv(state, { op: 'get', key: 'a' }), { ok: true, value: null });
    assert.deepEqual(kv(state, { op: 'delete', key: 'a' }), { ok: true });
  });

  it('behaves like a Map under random operations', () => {
    const keys = fc.constantFrom('a', 'b', 'c', '__proto__');
    const request = fc.oneof(
      fc.record({ op: fc.constant('put' as const), key: keys, value: fc.string() }),
      fc.record({ op: fc.constant('get' as const), key: keys }),
      fc.record({ op: fc.constant('delete' as const), key: keys }),
    );
    fc.assert(
      fc.property(fc.array(request), (requests) => {
        const state = kvService.initialState();
        const model = new Map<string, string>();
        for (const r of requests) {
          const reply = kv(state, kvService.request.decode(kvService.request.encode(r)));
          if (r.op === 'put') model.set(r.key, r.value);
          if (r.op === 'delete') model.delete(r.key);
          assert.deepEqual(reply, r.op === 'get' ? { ok: true, value: model.get(r.key) ?? null } : { ok: true });
        }
        assert.deepEqual(kvService.state.decode(kvService.state.encode(state)), model);
      }),
    );
  });

  it('answers malformed requests with an error and leaves the state alone', () => {
    const state = kvService.initialState();
    const malformed = [
      ...[null, 42, 'get', [], {}],
      ...[{ op: 'drop', key: 'a' }, { op: 'get' }, { op: 'put', key: 'a' }, { op: 'put', key: 'a', value: 1 }],
    ];
    for (const request of malformed) assert.equal(kv(state, request).ok, false, JSON.stringify(request));
    assert.equal(state.size, 0);
  });

  it('rejects oversized keys and values, counting UTF-8 bytes', () => {
    const state = kvService.initialState();
    const longKey = 'é'.repeat(KV_KEY_BYTES_MAX / 2 + 1);
    const longValue = 'x'.repeat(KV_VALUE_BYTES_MAX + 1);
    assert.equal(kv(state, { op: 'put', key: longKey, value: 'v' }).ok, false);
    assert.equal(kv(state, { op: 'get', key: longKey }).ok, false);
    assert.equal(kv(state, { op: 'put', key: 'k', value: longValue }).ok, false);
    assert.equal(kv(state, { op: 'put', key: 'é'.repeat(KV_KEY_BYTES_MAX / 2), value: longValue.slice(1) }).ok, true);
  });

  it('refuses new keys once full, but still overwrites and deletes', () => {
    const state: KvState = new Map(Array.from({ length: KV_ENTRIES_MAX }, (_, i) => [`k${i}`, 'v']));
    assert.equal(kv(state, { op: 'put', key: 'new', value: 'v' }).ok, false);
    assert.deepEqual(kv(state, { op: 'put', key: 'k0', value: 'w' }), { ok: true });
    assert.deepEqual(kv(state, { op: 'delete', key: 'k0' }), { ok: true });
    assert.deepEqual(kv(state, { op: 'put', key: 'new', value: 'v' }), { ok: true });
  });

  it('encodes equal states identically, whatever the insertion order', () => {
    const entries = fc.uniqueArray(fc.tuple(fc.string(), fc.string()), { selector: ([key]) => key });
    fc.assert(
      fc.property(
        entries.chain((list) => {
          const all = { minLength: list.length, maxLength: list.length };
          return fc.tuple(fc.constant(list), fc.shuffledSubarray(list, all));
        }),
        ([list, shuffled]) => {
          const a = kvService.state.encode(new Map(list));
          const b = kvService.state.encode(new Map(shuffled));
          assert.deepEqual(a, b);
          assert.deepEqual(kvService.state.decode(a), new Map(list));
        },
      ),
    );
  });

  it('refuses to decode a malformed state', () => {
    for (const text of ['{}', '[["a"]]', '[["a", 1]]', '[1]']) {
      assert.throws(() => kvService.state.decode(utf8.encode(text)), TypeError, text);
    }
  });

  describe('stateStream', () => {
    const stream = kvService.stateStream!;
    const concat = (pieces: Iterable<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat([...pieces]));
    /** `bytes` cut at `cuts` (sorted, deduplicated offsets), as pieces of their own. */
    const cut = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
      const at = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort((a, b) => a - b);
      return at.slice(1).map((end, i) => bytes.slice(at[i], end));
    };
    // Any code points, lone surrogates too, and the bytes the decoder's scan looks for.
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.stringMatching(/^["\\[\],]*$/));
    const states = fc.uniqueArray(fc.tuple(text, text), { selector: ([key]) => key }).map((entries) => new Map(entries));

    it('yields exactly the state codec bytes, and decodes them cut anywhere like the codec', () => {
      fc.assert(
        fc.property(states, fc.array(fc.nat()), (state, cuts) => {
          const bytes = kvService.state.encode(state);
          assert.deepEqual(concat(stream.encode(state)), bytes);
          assert.deepEqual(stream.decode(cut(bytes, cuts)), kvService.state.decode(bytes));
        }),
        { numRuns: 300 },
      );
    });

    it('yields a large state in pieces of about 64 KiB', () => {
      const state: KvState = new Map(Array.from({ length: 600 }, (_, i) => [`k${i}`, 'é'.repeat(500)]));
      const pieces = [...stream.encode(state)];
      assert.ok(pieces.length >= 4, `${pieces.length} pieces`);
      assert.ok(pieces.every((piece) => piece.length <= 200 * 1024));
      assert.deepEqual(concat(pieces), kvService.state.encode(state));
      assert.deepEqual(stream.decode(pieces), state);
    });

    it('refuses to decode what the encoder never yields', () => {
      const texts = ['', '{}', '[', '[1]', '[[]]', '[["a"]]', '[["a",1]]', '[,]', '[["a","b"],]', '[["a","b"]["c","d"]]', '[]x', '[["a","\\"]'];
      for (const text of texts) assert.throws(() => stream.decode([utf8.encode(text)]), TypeError, text);
      assert.throws(() => stream.decode([new Uint8Array([0x5b, 0x5b, 0x22, 0xff, 0x22, 0x2c, 0x22, 0x22, 0x5d, 0x5d])]), TypeError, 'invalid UTF-8');
    });
  });
});

describe('counter service', () => {
  const add = (amount: number): CounterRequest => ({ op: 'add', amount });

  it('is the default export of its module', () => {
    assert.equal(counterDefault, counterService);
  });

  it('adds and reads', () => {
    const state = counterService.initialState();
    assert.deepEqual(counterService.update(state, { op: 'get' }), { value: 0 });
    assert.deepEqual(counterService.update(state, add(5)), { value: 5 });
    assert.deepEqual(counterService.update(state, add(-7)), { value: -2 });
    assert.deepEqual(counterService.update(state, { op: 'get' }), { value: -2 });
    assert.deepEqual(counterService.state.decode(counterService.state.encode(state)), { value: -2 });
  });

  it('sums like arithmetic under random adds', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e6, max: 1e6 })), (amounts) => {
        const state = counterService.initialState();
        for (const amount of amounts) counterService.update(state, add(amount));
        assert.equal(state.value, amounts.reduce((a, b) => a + b, 0));
      }),
    );
  });

  it('refuses malformed requests and overflow without changing the value', () => {
    const state = counterService.initialState();
    const malformed = [
      ...[null, 7, { op: 'sub' }, { op: 'add' }],
      ...[{ op: 'add', amount: 0.5 }, { op: 'add', amount: '1' }, { op: 'add', amount: Number.MAX_SAFE_INTEGER + 1 }],
    ];
    for (const request of malformed) {
      const reply = counterService.update(state, request as CounterRequest);
      assert.equal(reply.value, 0);
      assert.equal(typeof reply.error, 'string', JSON.stringify(request));
    }
    counterService.update(state, add(Number.MAX_SAFE_INTEGER));
    const reply = counterService.update(state, add(1));
    assert.deepEqual([reply.value, typeof reply.error], [Number.MAX_SAFE_INTEGER, 'string']);
  });

  it('refuses to decode a state that is not a safe integer', () => {
    for (const text of ['"1"', '1.5', 'null', '{}']) {
      assert.throws(() => counterService.state.decode(utf8.encode(text)), TypeError, text);
    }
  });
});
