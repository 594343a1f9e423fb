/**
 * Read-only requests (docs/PROTOCOL.md, "Read-only requests", Q1-Q12), below
 * the network:
 * - the client core: a quorum (2f + 1) of identical executed answers from
 *   distinct replicas resolves unordered; f + 1 do not; disagreement that
 *   leaves no quorum possible, refusals and the read-only deadline turn the
 *   invocation into an ordered one of the same operation under the same
 *   token; the bound on reads on the wire, cancellation, read ids;
 * - the executors: `query` answers at the state after the batches queued
 *   before it, never changes the state, refuses what the service does not
 *   declare read-only and reports a failing `query` as an answer;
 * - the Service declaration (readOnly and query together) and the built-in
 *   services' read-only requests;
 * - the replica's bounds on read-only requests it holds.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantViolation } from '../../src/core/assert.js';
import { ClientCore, type ClientCoreInit, type ClientEffect } from '../../src/core/client.js';
import { clientId, replicaId } from '../../src/core/ids.js';
import type { ReadReplyMessage, ReadReplyStatus, ReplyMessage } from '../../src/core/messages.js';
import { requestNo, view } from '../../src/core/ordering.js';
import { ClosedError, ConfigError } from '../../src/errors.js';
import { ServiceLoadError } from '../../src/executor/errors.js';
import type { Executor, ExecutorCallbacks } from '../../src/executor/executor.js';
import { InlineExecutor } from '../../src/executor/inline-executor.js';
import { WorkerExecutor } from '../../src/executor/worker-executor.js';
import { ReadOnlyGate, resolveReadOnlyLimits, DEFAULT_READ_ONLY_LIMITS } from '../../src/runtime/read-only.js';
import { defineService, type AnyService } from '../../src/service.js';
import { counterService, type CounterRequest } from '../../src/services/counter.js';
import { kvService, type KvRequest } from '../../src/services/kv.js';
import { signRequest, testClientKey } from '../support/signed-requests.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (s: string): Uint8Array => enc.encode(s);

const C1 = clientId(2001);

function makeClient(overrides: Partial<ClientCoreInit> = {}): ClientCore {
  return new ClientCore({
    n: 4,
    f: 1,
    sessions: [C1],
    firstRequestNo: 1,
    retransmitTicks: 50,
    retransmitTicksMax: 100,
    queueMax: 4,
    signer: { publicKey: testClientKey(2001), sign: (statement) => signRequest(testClientKey(2001), statement) },
    readOnlyTimeoutTicks: 5,
    readOnlyInFlightMax: 2,
    ...overrides,
  });
}

const answer = (readId: number, result: string, status?: ReadReplyStatus): ReadReplyMessage =>
  status === undefined ? { type: 'read-reply', readId, result: text(result) } : { type: 'read-reply', readId, status, result: text(result) };

const answerFrom = (core: ClientCore, from: number, message: ReadReplyMessage): ClientEffect[] =>
  core.step({ type: 'read-reply', from: replicaId(from), message });

const reply = (no: number, result: string): ReplyMessage => ({ type: 'reply', view: view(0), clientId: C1, requestNo: requestNo(no), result: text(result) });

const readsSent = (effects: ClientEffect[]) => effects.flatMap((e) => (e.type === 'broadcast-read' ? [e.message] : []));
const ordered = (effects: ClientEffect[]) => effects.flatMap((e) => (e.type === 'broadcast' ? [e.message.request] : []));
const ofType = <T extends ClientEffect['type']>(effects: ClientEffect[], type: T) =>
  effects.filter((e): e is Extract<ClientEffect, { type: T }> => e.type === type);

describe('ClientCore read-only requests: the quorum [Q8]', () => {
  it('sends the operation to every replica under a read id of its own; no session, no request number, no signature', () => {
    const core = makeClient();
    const out = core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
    assert.deepEqual(out, [{ type: 'broadcast-read', message: { type: 'read-request', readId: 1, operation: text('get') } }]);
    assert.equal(core.inFlight, 1);
    // The one session is still free: an ordered invocation goes out at once, with the first request number.
    const request = ordered(core.step({ type: 'invoke', token: 2, operation: text('put') }))[0];
    assert.equal(request?.requestNo, 1);
    assert.equal(readsSent(core.step({ type: 'invoke-read-only', token: 3, operation: text('get') }))[0]?.readId, 2, 'read ids increase');
  });

  it('resolves at 2f + 1 identical answers from distinct replicas, not at f + 1, and a repeated answer counts once', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
    assert.deepEqual(answerFrom(core, 0, answer(1, 'v')), []);
    assert.deepEqual(answerFrom(core, 2, answer(1, 'v')), [], 'f + 1 = 2 alike is not enough unordered');
    assert.deepEqual(answerFrom(core, 2, answer(1, 'v')), [], 'a duplicate counts once');
    const out = answerFrom(core, 3, answer(1, 'v'));
    assert.deepEqual(out, [{ type: 'read-resolve', token: 1, result: text('v'), replicas: 3 }]);
    assert.equal(core.inFlight, 0);
    assert.deepEqual(ofType(answerFrom(core, 1, answer(1, 'v')), 'rejected'), [{ type: 'rejected', from: replicaId(1), reason: 'not-outstanding' }]);
  });

  it('n = 7, f = 2 needs 5 alike (a quorum, ceil((n + f + 1) / 2))', () => {
    const core = makeClient({ n: 7, f: 2 });
    core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
    for (const r of [0, 1, 2, 3]) assert.deepEqual(answerFrom(core, r, answer(1, 'v')), []);
    assert.equal(ofType(answerFrom(core, 6, answer(1, 'v')), 'read-resolve').length, 1);
  });

  it('a faulty replica answering first with a wrong result does not stop the quorum of the correct ones', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
    answerFrom(core, 3, answer(1, 'lie'));
    answerFrom(core, 0, answer(1, 'v'));
    answerFrom(core, 1, answer(1, 'v'));
    const out = answerFrom(core, 2, answer(1, 'v'));
    assert.deepEqual(ofType(out, 'read-resolve').map((e) => dec.decode(e.result)), ['v']);
    assert.deepEqual(ordered(out), []);
  });

  it('a replica changing its answer is reported as equivocating, and its first answer stays', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
    answerFrom(core, 0, answer(1, 'v'));
    assert.deepEqual(ofType(answerFrom(core, 0, answer(1, 'w')), 'rejected'), [{ type: 'rejected', from: replicaId(0), reason: 'equivocating-reply' }]);
    answerFrom(core, 1, answer(1, 'v'));
    assert.equal(ofType(answerFrom(core, 2, answer(1, 'v')), 'read-resolve').length, 1);
  });

  it('answers from ids that are no replica\'s are rejected and count for nothing', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
    for (const from of [-1, 4, 65_535]) assert.deepEqual(ofType(answerFrom(core, from, answer(1, 'v')), 'rejected')[0]?.reason, 'unknown-replica');
    answerFrom(core, 0, answer(1, 'v'));
    assert.deepEqual(answerFrom(core, 1, answer(1, 'v')), []);
  });
});

describe('ClientCore read-only requests: the fallback to ordering [Q8, Q9]', () => {
  it('disagreement: ordered as soon as no quorum can form, same operation and token, then resolved by f + 1 ordered replies', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 7, operation: text('get') });
    assert.deepEqual(answerFrom(core, 0, answer(1, 'old')), []);
    assert.deepEqual(answerFrom(core, 1, answer(1, 'new')), [], '1 + 2 silent can still make 3');
    assert.deepEqual(answerFrom(core, 2, answer(1, 'new')), [], '2 + 1 silent can still make 3');
    const out = answerFrom(core, 3, answer(1, 'old'));
    const fallback = ofType(out, 'read-fallback');
    assert.deepEqual(fallback, [
      { type: 'read-fallback', token: 7, reason: 'disagreement', seen: { queued: false, answered: [0, 1, 2, 3].map(replicaId), matching: 2, needed: 3 } },
    ]);
    const request = ordered(out)[0];
    assert.ok(request !== undefined, 'the ordered request goes out at once');
    assert.equal(dec.decode(request.operation), 'get');
    assert.equal(out.indexOf(fallback[0]!) < out.findIndex((e) => e.type === 'broadcast'), true, 'the fallback is reported first');
    answerFrom(core, 1, answer(1, 'new'));
    core.step({ type: 'reply', from: replicaId(0), message: reply(1, 'new') });
    const done = core.step({ type: 'reply', from: replicaId(2), message: reply(1, 'new') });
    assert.deepEqual(ofType(done, 'resolve').map((e) => [e.token, dec.decode(e.result)]), [[7, 'new']]);
    assert.equal(core.inFlight, 0);
  });

  it('f + 1 replicas saying the service does not declare it read-only order it, and name why', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 1, operation: text('put') });
    assert.deepEqual(answerFrom(core, 0, answer(1, '', 'not-read-only')), []);
    const out = answerFrom(core, 1, answer(1, '', 'not-read-only'));
    assert.deepEqual(ofType(out, 'read-fallback').map((e) => e.reason), ['not-read-only']);
    assert.equal(ordered(out).length, 1);
  });

  it('failed and rejected answers are no answers: f + 1 of them order the request, named', () => {
    for (const status of ['failed', 'rejected'] as const) {
      const core = makeClient();
      core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
      answerFrom(core, 2, answer(1, 'why', status));
      const out = answerFrom(core, 3, answer(1, 'why', status));
      assert.deepEqual(ofType(out, 'read-fallback').map((e) => e.reason), [status]);
    }
  });

  it('one refusal from a faulty replica does not order it while a quorum can still form', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
    assert.deepEqual(answerFrom(core, 3, answer(1, '', 'not-read-only')), []);
    answerFrom(core, 0, answer(1, 'v'));
    answerFrom(core, 1, answer(1, 'v'));
    assert.equal(ofType(answerFrom(core, 2, answer(1, 'v')), 'read-resolve').length, 1);
  });

  it('mixed refusals and answers that leave no quorum possible are a disagreement', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
    answerFrom(core, 0, answer(1, '', 'not-read-only'));
    const out = answerFrom(core, 1, answer(1, 'why', 'failed'));
    assert.deepEqual(ofType(out, 'read-fallback').map((e) => e.reason), ['disagreement']);
  });

  it('timeout: without a quorum after readOnlyTimeoutTicks it is ordered; an invocation may set its own', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 1, operation: text('a') });
    core.step({ type: 'invoke-read-only', token: 2, operation: text('b'), timeoutTicks: 2 });
    answerFrom(core, 0, answer(1, 'v'));
    answerFrom(core, 1, answer(1, 'v'));
    assert.deepEqual(core.step({ type: 'tick' }), []);
    const second = core.step({ type: 'tick' });
    assert.deepEqual(ofType(second, 'read-fallback').map((e) => [e.token, e.reason]), [[2, 'timeout']]);
    for (let i = 3; i < 5; i++) assert.deepEqual(ofType(core.step({ type: 'tick' }), 'read-fallback'), [], `tick ${i}`);
    const fifth = core.step({ type: 'tick' });
    const fallback = ofType(fifth, 'read-fallback');
    assert.deepEqual(fallback.map((e) => [e.token, e.reason, e.seen.matching, e.seen.answered]), [[1, 'timeout', 2, [0, 1]]]);
    // Token 2 holds the session; token 1 queues for it.
    assert.equal(core.inFlight, 2);
    assert.deepEqual(ofType(answerFrom(core, 2, answer(1, 'v')), 'rejected')[0]?.reason, 'not-outstanding', 'a late answer changes nothing');
  });

  it('a fallback that finds the ordered queue full ends as overloaded', () => {
    const core = makeClient({ queueMax: 0 });
    core.step({ type: 'invoke', token: 1, operation: text('busy') });
    core.step({ type: 'invoke-read-only', token: 2, operation: text('get') });
    answerFrom(core, 0, answer(1, '', 'not-read-only'));
    const out = answerFrom(core, 1, answer(1, '', 'not-read-only'));
    assert.deepEqual(ofType(out, 'overloaded'), [{ type: 'overloaded', token: 2 }]);
  });
});

describe('ClientCore read-only requests: bounds and cancellation [Q3]', () => {
  it('at most readOnlyInFlightMax on the wire; the rest wait in order, bounded by queueMax', () => {
    const core = makeClient({ queueMax: 1 });
    assert.equal(readsSent(core.step({ type: 'invoke-read-only', token: 1, operation: text('a') })).length, 1);
    assert.equal(readsSent(core.step({ type: 'invoke-read-only', token: 2, operation: text('b') })).length, 1);
    assert.deepEqual(core.step({ type: 'invoke-read-only', token: 3, operation: text('c') }), [], 'queued');
    assert.deepEqual(core.step({ type: 'invoke-read-only', token: 4, operation: text('d') }), [{ type: 'overloaded', token: 4 }]);
    assert.equal(core.inFlight, 3);
    for (const r of [0, 1]) answerFrom(core, r, answer(1, 'va'));
    const out = answerFrom(core, 2, answer(1, 'va'));
    assert.deepEqual(readsSent(out).map((m) => [m.readId, dec.decode(m.operation)]), [[3, 'c']], 'the queued one takes the freed place');
    assert.deepEqual(ofType(out, 'read-resolve').map((e) => e.token), [1]);
  });

  it('a queued read-only invocation is cancelled before it is sent; a sent one with what it saw; an ordered one as any', () => {
    const core = makeClient();
    core.step({ type: 'invoke-read-only', token: 1, operation: text('a') });
    core.step({ type: 'invoke-read-only', token: 2, operation: text('b') });
    core.step({ type: 'invoke-read-only', token: 3, operation: text('c') });
    assert.deepEqual(core.step({ type: 'cancel', token: 3 }), [{ type: 'cancelled', token: 3, seen: { queued: true, answered: [], matching: 0, needed: 3 } }]);
    answerFrom(core, 1, answer(1, 'v'));
    assert.deepEqual(core.step({ type: 'cancel', token: 1 }), [
      { type: 'cancelled', token: 1, seen: { queued: false, answered: [replicaId(1)], matching: 1, needed: 3 } },
    ]);
    assert.deepEqual(core.step({ type: 'cancel', token: 1 }), [], 'nothing open any more');
    answerFrom(core, 0, answer(2, '', 'not-read-only'));
    answerFrom(core, 1, answer(2, '', 'not-read-only'));
    const cancelled = core.step({ type: 'cancel', token: 2 });
    assert.deepEqual(cancelled.map((e) => e.type), ['cancelled'], 'the ordered invocation it became');
    assert.equal(core.inFlight, 0);
  });

  it('asserts on bad read-only parameters', () => {
    assert.throws(() => makeClient({ readOnlyTimeoutTicks: 0 }), InvariantViolation);
    assert.throws(() => makeClient({ readOnlyInFlightMax: 0 }), InvariantViolation);
    assert.throws(() => makeClient().step({ type: 'invoke-read-only', token: 1, operation: text('a'), timeoutTicks: 0.5 }), InvariantViolation);
  });

  it('property: a faulty replica alone never makes a read-only invocation resolve with a result no correct replica gave', () => {
    const status = fc.constantFrom<ReadReplyStatus | undefined>(undefined, undefined, 'not-read-only', 'failed', 'rejected');
    const step = fc.oneof(
      fc.record({ kind: fc.constant('correct' as const), replica: fc.constantFrom(0, 1, 2) }),
      fc.record({ kind: fc.constant('faulty' as const), result: fc.string({ maxLength: 3 }), status }),
      fc.record({ kind: fc.constant('tick' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const core = makeClient();
        core.step({ type: 'invoke-read-only', token: 1, operation: text('get') });
        for (const s of steps) {
          const out =
            s.kind === 'tick'
              ? core.step({ type: 'tick' })
              : s.kind === 'correct'
                ? answerFrom(core, s.replica, answer(1, 'true'))
                : answerFrom(core, 3, answer(1, s.result, s.status));
          for (const e of ofType(out, 'read-resolve')) assert.equal(dec.decode(e.result), 'true');
        }
      }),
    );
  });
});

/** Callbacks that record what they are told. */
function recorder() {
  const executed: { seq: number; results: Uint8Array[] }[] = [];
  const fatal: Error[] = [];
  const callbacks: ExecutorCallbacks = {
    onExecuted: (seq, results) => executed.push({ seq, results }),
    onFatal: (error) => fatal.push(error),
  };
  return { executed, fatal, callbacks };
}

const kvModule = new URL('../../src/services/kv.js', import.meta.url);
const kv = (request: KvRequest | Record<string, unknown>): Uint8Array => kvService.request.encode(request as KvRequest);
const workers: Executor[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((executor) => executor.close()));
});

/** A data: module exporting the kv service changed by `members` (JavaScript source of an object's members). */
const kvVariant = (members: string): string =>
  `data:text/javascript,${encodeURIComponent(`import { kvService } from ${JSON.stringify(kvModule.href)}; export default { ...kvService, ${members} };`)}`;

type MakeExecutor = (service: AnyService | string, callbacks: ExecutorCallbacks) => Promise<Executor>;
const makers: [string, MakeExecutor][] = [
  [
    'InlineExecutor',
    async (service, callbacks) => {
      if (typeof service === 'string') throw new Error('inline executors take service objects');
      return new InlineExecutor(service, callbacks);
    },
  ],
  [
    'WorkerExecutor',
    async (service, callbacks) => {
      const module = typeof service === 'string' ? service : kvModule;
      const executor = await WorkerExecutor.start({ serviceModule: module }, callbacks);
      workers.push(executor);
      return executor;
    },
  ],
];

const answerText = async (executor: Executor, operation: Uint8Array): Promise<[string, string]> => {
  const { status, result } = await executor.query(operation);
  return [status, dec.decode(result)];
};

for (const [name, make] of makers) {
  describe(`${name}.query [Q5, Q6]`, () => {
    it('answers at the state after every batch queued before it, before any later one, and changes nothing', async () => {
      const { executed, callbacks } = recorder();
      const executor = await make(kvService as AnyService, callbacks);
      executor.execute(1, [kv({ op: 'put', key: 'a', value: '1' })]);
      const first = executor.query(kv({ op: 'get', key: 'a' }));
      executor.execute(2, [kv({ op: 'put', key: 'a', value: '2' })]);
      const second = executor.query(kv({ op: 'get', key: 'a' }));
      const missing = executor.query(kv({ op: 'get', key: 'nope' }));
      assert.deepEqual(await first, { status: 'ok', result: text('{"ok":true,"value":"1"}') });
      assert.deepEqual(await second, { status: 'ok', result: text('{"ok":true,"value":"2"}') });
      assert.deepEqual(await missing, { status: 'ok', result: text('{"ok":true,"value":null}') });
      const before = (await executor.snapshot(64)).state;
      for (let i = 0; i < 3; i++) await executor.query(kv({ op: 'get', key: 'a' }));
      assert.deepEqual((await executor.snapshot(64)).state, before, 'queries leave the state as it was');
      assert.equal(executed.length, 2);
    });

    it('refuses what the service does not declare read-only, without running it', async () => {
      const { callbacks } = recorder();
      const executor = await make(kvService as AnyService, callbacks);
      assert.deepEqual(await answerText(executor, kv({ op: 'put', key: 'a', value: '1' })), ['not-read-only', '']);
      assert.deepEqual(await answerText(executor, kv({ op: 'delete', key: 'a' })), ['not-read-only', '']);
      assert.deepEqual(await answerText(executor, kv({ op: 'get', key: 'a' })), ['ok', '{"ok":true,"value":null}'], 'the put never ran');
    });

    it('reports a request that does not decode as failed', async () => {
      const { callbacks } = recorder();
      const executor = await make(kvService as AnyService, callbacks);
      const [status, message] = await answerText(executor, text('not json'));
      assert.equal(status, 'failed');
      assert.match(message, /^request does not decode: SyntaxError/);
    });
  });
}

describe('query with services that declare nothing, throw or misbehave', () => {
  it('a service without readOnly refuses every read-only request', async () => {
    const { callbacks } = recorder();
    const executor = new InlineExecutor(counterService as AnyService, callbacks);
    const { readOnly: _r, query: _q, ...plain } = kvService;
    const bare = new InlineExecutor(plain as AnyService, callbacks);
    assert.deepEqual(await answerText(bare, kv({ op: 'get', key: 'a' })), ['not-read-only', '']);
    assert.deepEqual(await answerText(executor, text('{"op":"get"}')), ['ok', '{"value":0}']);
  });

  it('in the worker: a query that throws or returns a promise is a failed answer, a truthy non-true verdict a refusal; the worker goes on', async () => {
    const { fatal, callbacks } = recorder();
    const throwing = await WorkerExecutor.start({ serviceModule: kvVariant(`query() { throw new RangeError('no reads today'); }`) }, callbacks);
    workers.push(throwing);
    assert.deepEqual(await answerText(throwing, kv({ op: 'get', key: 'a' })), ['failed', 'RangeError: no reads today']);
    const promising = await WorkerExecutor.start({ serviceModule: kvVariant(`async query() { return { ok: true }; }`) }, callbacks);
    workers.push(promising);
    assert.deepEqual(await answerText(promising, kv({ op: 'get', key: 'a' })), ['failed', 'TypeError: query returned a promise; it must be synchronous']);
    const vague = await WorkerExecutor.start({ serviceModule: kvVariant(`readOnly() { return 'yes'; }`) }, callbacks);
    workers.push(vague);
    assert.deepEqual(await answerText(vague, kv({ op: 'get', key: 'a' })), ['not-read-only', '']);
    const judging = await WorkerExecutor.start({ serviceModule: kvVariant(`readOnly() { throw new Error('cannot say'); }`) }, callbacks);
    workers.push(judging);
    assert.deepEqual(await answerText(judging, kv({ op: 'get', key: 'a' })), ['failed', 'readOnly threw: Error: cannot say']);
    judging.execute(1, [kv({ op: 'put', key: 'a', value: '1' })]);
    await judging.snapshot(64); // still serving
    assert.deepEqual(fatal, []);
  });

  it('a query after close() rejects with ClosedError', async () => {
    const { callbacks } = recorder();
    for (const [, make] of makers) {
      const executor = await make(kvService as AnyService, callbacks);
      await executor.close();
      await assert.rejects(executor.query(kv({ op: 'get', key: 'a' })), ClosedError);
    }
  });
});

describe('the Service read-only declaration [Q2]', () => {
  const base = { name: 'half', request: kvService.request, reply: kvService.reply, state: kvService.state, initialState: kvService.initialState, update: kvService.update };

  it('defineService refuses readOnly without query and query without readOnly', () => {
    assert.throws(() => defineService({ ...base, readOnly: () => true }), /service "half": readOnly is given without query \(give both, or neither\)/);
    assert.throws(() => defineService({ ...base, query: () => ({ ok: true as const }) }), /query is given without readOnly/);
    assert.equal(defineService(base).name, 'half');
  });

  it('a replica refuses to load a service with half a declaration', async () => {
    const { callbacks } = recorder();
    for (const members of ['query: undefined', 'readOnly: undefined', 'query: 42']) {
      await assert.rejects(WorkerExecutor.start({ serviceModule: kvVariant(members) }, callbacks), (error) => {
        assert.ok(error instanceof ServiceLoadError);
        assert.match(error.message, /is not a service: missing a sound read-only declaration/);
        return true;
      });
    }
  });

  it('kv: get, and only get, is read-only (malformed ones too); query answers what update would and changes nothing', () => {
    const { readOnly, query } = kvService;
    assert.ok(readOnly !== undefined && query !== undefined);
    assert.equal(readOnly({ op: 'get', key: 'a' }), true);
    assert.equal(readOnly({ op: 'get' } as unknown as KvRequest), true);
    for (const request of [{ op: 'put', key: 'a', value: '1' }, { op: 'delete', key: 'a' }, null, 'get', { op: 'GET' }]) {
      assert.equal(readOnly(request as unknown as KvRequest), false, JSON.stringify(request));
    }
    const keys = fc.constantFrom('a', 'b', '__proto__', 'x'.repeat(300));
    fc.assert(
      fc.property(fc.array(fc.tuple(keys, fc.string())), keys, (puts, key) => {
        const state = kvService.initialState();
        for (const [k, v] of puts) kvService.update(state, { op: 'put', key: k, value: v });
        const before = kvService.state.encode(state);
        const request: KvRequest = { op: 'get', key };
        const answered = query(state, request);
        assert.deepEqual(kvService.state.encode(state), before);
        assert.deepEqual(answered, kvService.update(state, request));
      }),
    );
    assert.deepEqual(query(new Map(), { op: 'get', key: 7 } as unknown as KvRequest), { ok: false, error: 'key is not a string' });
  });

  it('counter: get is read-only and answers the value; add is not', () => {
    const { readOnly, query } = counterService;
    assert.ok(readOnly !== undefined && query !== undefined);
    const state = counterService.initialState();
    counterService.update(state, { op: 'add', amount: 5 });
    assert.equal(readOnly({ op: 'get' }), true);
    assert.equal(readOnly({ op: 'add', amount: 1 }), false);
    assert.equal(readOnly(null as unknown as CounterRequest), false);
    assert.deepEqual(query(state, { op: 'get' }), { value: 5 });
    assert.equal(state.value, 5);
  });
});

describe('ReadOnlyGate: what a replica holds [Q4]', () => {
  it('bounds read-only requests per connection, in all, and their bytes in all; a release makes room', () => {
    const gate = new ReadOnlyGate<string>({ perConnectionMax: 2, queuedMax: 3, queuedBytesMax: 100 });
    assert.equal(gate.admit('a', 10), undefined);
    assert.equal(gate.admit('a', 10), undefined);
    assert.equal(gate.admit('a', 10), 'read-only-connection-full');
    assert.equal(gate.admit('b', 81), 'read-only-bytes-full');
    assert.equal(gate.admit('b', 80), undefined);
    assert.equal(gate.admit('c', 0), 'read-only-queue-full');
    assert.deepEqual([gate.queued, gate.queuedBytes, gate.connections], [3, 100, 2]);
    gate.release('a', 10);
    assert.equal(gate.admit('c', 0), undefined);
    for (const [connection, bytes] of [['a', 10], ['b', 80], ['c', 0]] as const) gate.release(connection, bytes);
    assert.deepEqual([gate.queued, gate.queuedBytes, gate.connections], [0, 0, 0], 'nothing kept for connections holding none');
    assert.throws(() => gate.release('a', 1), InvariantViolation);
  });

  it('limits default and are checked, naming the field', () => {
    assert.deepEqual(resolveReadOnlyLimits(), DEFAULT_READ_ONLY_LIMITS);
    assert.equal(resolveReadOnlyLimits({ queuedMax: 5 }).queuedMax, 5);
    assert.throws(() => resolveReadOnlyLimits({ perConnectionMax: 0 }), (error) => error instanceof ConfigError && error.field === 'readOnly.perConnectionMax');
    assert.throws(() => resolveReadOnlyLimits({ queuedBytesMax: 1.5 }), ConfigError);
  });
});
