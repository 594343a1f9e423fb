/**
 * The client protocol core (src/core/client.ts): reply quorums of f + 1
 * identical results from DISTINCT replicas (ancestor defect 4: one faulty first
 * reply decided), retransmission with capped exponential backoff, the bounded
 * invocation queue, session reuse and request numbering.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantViolation } from '../../src/core/assert.js';
import { ClientCore, type ClientCoreInit, type ClientEffect } from '../../src/core/client.js';
import { clientId, replicaId, type ClientId } from '../../src/core/ids.js';
import type { ReplyMessage, RequestMessage } from '../../src/core/messages.js';
import { requestNo, view } from '../../src/core/ordering.js';
import { BafometError, SessionsFullError } from '../../src/errors.js';
import { signedRequest, signRequest, testClientKey, verifyTestRequest } from '../support/signed-requests.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (s: string): Uint8Array => enc.encode(s);

const C1 = clientId(1001);
const C2 = clientId(1002);
const C3 = clientId(1003);

function makeClient(overrides: Partial<ClientCoreInit> = {}): ClientCore {
  return new ClientCore({
    n: 4,
    f: 1,
    sessions: [C1],
    firstRequestNo: 1,
    retransmitTicks: 2,
    retransmitTicksMax: 8,
    queueMax: 4,
    signer: { publicKey: testClientKey(1001), sign: (statement) => signRequest(testClientKey(1001), statement) },
    ...overrides,
  });
}

function reply(client: ClientId, no: number, result: string): ReplyMessage {
  return { type: 'reply', view: view(0), clientId: client, requestNo: requestNo(no), result: text(result) };
}

function replyFrom(core: ClientCore, from: number, message: ReplyMessage): ClientEffect[] {
  return core.step({ type: 'reply', from: replicaId(from), message });
}

const broadcasts = (effects: ClientEffect[]): RequestMessage[] =>
  effects.flatMap((e) => (e.type === 'broadcast' ? [e.message] : []));
const resolves = (effects: ClientEffect[]) => effects.filter((e) => e.type === 'resolve');
const rejections = (effects: ClientEffect[]) =>
  effects.flatMap((e) => (e.type === 'rejected' ? [`${e.from}:${e.reason}`] : []));

describe('ClientCore reply quorum', () => {
  it('resolves only at f+1 identical replies from distinct replicas', () => {
    const core = makeClient();
    const sent = broadcasts(core.step({ type: 'invoke', token: 1, operation: text('op') }));
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]?.request, signedRequest(C1, 1, 'op'), 'signed with the client key [A1]');
    assert.ok(sent[0] !== undefined && verifyTestRequest(sent[0].request));

    assert.deepEqual(replyFrom(core, 0, reply(C1, 1, 'ok')), [], 'one reply is not enough');
    const out = replyFrom(core, 2, reply(C1, 1, 'ok'));
    assert.equal(resolves(out).length, 1);
    const resolved = resolves(out)[0];
    assert.ok(resolved?.type === 'resolve');
    assert.equal(resolved.token, 1);
    assert.equal(dec.decode(resolved.result), 'ok');
    assert.equal(resolved.replicas, 2);
    assert.equal(core.inFlight, 0);
  });

  it('f = 2 (n = 7) needs 3 identical replies', () => {
    const core = makeClient({ n: 7, f: 2 });
    core.step({ type: 'invoke', token: 9, operation: text('op') });
    assert.equal(resolves(replyFrom(core, 1, reply(C1, 1, 'r'))).length, 0);
    assert.equal(resolves(replyFrom(core, 5, reply(C1, 1, 'r'))).length, 0);
    assert.equal(resolves(replyFrom(core, 6, reply(C1, 1, 'r'))).length, 1);
  });

  it('one faulty first reply does not block: the correct result wins once f+1 replicas agree', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('op') });
    assert.deepEqual(replyFrom(core, 3, reply(C1, 1, 'LIE')), []);
    assert.deepEqual(replyFrom(core, 0, reply(C1, 1, 'truth')), []);
    const out = replyFrom(core, 1, reply(C1, 1, 'truth'));
    const resolved = resolves(out)[0];
    assert.ok(resolved?.type === 'resolve');
    assert.equal(dec.decode(resolved.result), 'truth');
    // A late third correct reply is for a request no longer outstanding.
    assert.deepEqual(rejections(replyFrom(core, 2, reply(C1, 1, 'truth'))), ['2:not-outstanding']);
  });

  it('two different wrong replies and one right one do not resolve (f=1)', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('op') });
    replyFrom(core, 0, reply(C1, 1, 'a'));
    replyFrom(core, 1, reply(C1, 1, 'b'));
    assert.equal(resolves(replyFrom(core, 2, reply(C1, 1, 'c'))).length, 0);
    assert.equal(resolves(replyFrom(core, 3, reply(C1, 1, 'c'))).length, 1);
  });

  it('the same replica replying twice (or 10 times) counts once', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('op') });
    for (let i = 0; i < 10; i++) assert.deepEqual(replyFrom(core, 2, reply(C1, 1, 'ok')), []);
    assert.equal(core.inFlight, 1, 'still outstanding');
    assert.equal(resolves(replyFrom(core, 3, reply(C1, 1, 'ok'))).length, 1);
  });

  it('a replica changing its reply is reported as equivocating and its first reply stays', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('op') });
    replyFrom(core, 2, reply(C1, 1, 'LIE'));
    assert.deepEqual(rejections(replyFrom(core, 2, reply(C1, 1, 'ok'))), ['2:equivocating-reply']);
    assert.equal(resolves(replyFrom(core, 3, reply(C1, 1, 'ok'))).length, 0, 'replica 2 counted for LIE only');
    assert.equal(resolves(replyFrom(core, 0, reply(C1, 1, 'ok'))).length, 1);
  });

  it('rejects replies from unknown replicas, for other clients and for old request numbers', () => {
    const core = makeClient({ sessions: [C1, C2] });
    core.step({ type: 'invoke', token: 1, operation: text('op') }); // C1 #1
    assert.deepEqual(rejections(replyFrom(core, 4, reply(C1, 1, 'ok'))), ['4:unknown-replica']);
    assert.deepEqual(rejections(replyFrom(core, -1, reply(C1, 1, 'ok'))), ['-1:unknown-replica']);
    assert.deepEqual(rejections(replyFrom(core, 0, reply(C3, 1, 'ok'))), ['0:not-outstanding'], 'not our session');
    assert.deepEqual(rejections(replyFrom(core, 0, reply(C2, 1, 'ok'))), ['0:not-outstanding'], 'idle session');
    assert.deepEqual(rejections(replyFrom(core, 0, reply(C1, 0, 'ok'))), ['0:not-outstanding'], 'old number');
    assert.deepEqual(rejections(replyFrom(core, 0, reply(C1, 2, 'ok'))), ['0:not-outstanding'], 'future number');
    // None of those counted: two real replies are still needed.
    assert.equal(resolves(replyFrom(core, 0, reply(C1, 1, 'ok'))).length, 0);
    assert.equal(resolves(replyFrom(core, 1, reply(C1, 1, 'ok'))).length, 1);
    // After resolution the old number is rejected on the now-idle session.
    core.step({ type: 'invoke', token: 2, operation: text('op2') }); // C1 again (idle LIFO) -> #2
    assert.deepEqual(rejections(replyFrom(core, 2, reply(C1, 1, 'ok'))), ['2:not-outstanding']);
  });
});

describe('ClientCore retransmission', () => {
  /** Tick numbers (1-based) at which the request was broadcast again. */
  function retransmissionTicks(core: ClientCore, ticks: number): number[] {
    const at: number[] = [];
    for (let t = 1; t <= ticks; t++) {
      const out = core.step({ type: 'tick' });
      for (const e of out) {
        if (e.type === 'broadcast') {
          assert.equal(e.retransmission, true);
          at.push(t);
        }
      }
    }
    return at;
  }

  it('retransmits after retransmitTicks, then with doubling intervals capped at retransmitTicksMax', () => {
    const core = makeClient({ retransmitTicks: 2, retransmitTicksMax: 8 });
    const first = core.step({ type: 'invoke', token: 1, operation: text('op') });
    assert.equal(first[0]?.type === 'broadcast' && first[0].retransmission, false);
    // Intervals 2, 4, 8, 8, 8 -> ticks 2, 6, 14, 22, 30.
    assert.deepEqual(retransmissionTicks(core, 30), [2, 6, 14, 22, 30]);
  });

  it('retransmits the same request (same number and bytes)', () => {
    const core = makeClient({ retransmitTicks: 1, retransmitTicksMax: 1 });
    const original = broadcasts(core.step({ type: 'invoke', token: 1, operation: text('op') }))[0];
    const again = broadcasts(core.step({ type: 'tick' }))[0];
    assert.deepEqual(again, original);
  });

  it('property: retransmission k happens after sum of min(t * 2^i, max) ticks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 40 }), (t, extra) => {
        const max = t + extra;
        const core = makeClient({ retransmitTicks: t, retransmitTicksMax: max });
        core.step({ type: 'invoke', token: 1, operation: text('op') });
        const expected: number[] = [];
        let at = t;
        let interval = t;
        while (at <= 200) {
          expected.push(at);
          interval = Math.min(interval * 2, max);
          at += interval;
        }
        assert.deepEqual(retransmissionTicks(core, 200), expected);
      }),
      { numRuns: 100 },
    );
  });

  it('stops retransmitting once resolved', () => {
    const core = makeClient({ retransmitTicks: 1, retransmitTicksMax: 1 });
    core.step({ type: 'invoke', token: 1, operation: text('op') });
    replyFrom(core, 0, reply(C1, 1, 'ok'));
    replyFrom(core, 1, reply(C1, 1, 'ok'));
    assert.deepEqual(retransmissionTicks(core, 10), []);
  });

  it('each session has its own timer', () => {
    const core = makeClient({ sessions: [C1, C2], retransmitTicks: 2, retransmitTicksMax: 2 });
    core.step({ type: 'invoke', token: 1, operation: text('a') }); // C1 at tick 0
    core.step({ type: 'tick' });
    core.step({ type: 'invoke', token: 2, operation: text('b') }); // C2 at tick 1
    const t2 = broadcasts(core.step({ type: 'tick' })).map((m) => m.request.clientId);
    const t3 = broadcasts(core.step({ type: 'tick' })).map((m) => m.request.clientId);
    assert.deepEqual(t2, [C1]);
    assert.deepEqual(t3, [C2]);
  });
});

describe('ClientCore sessions and queue', () => {
  it('refuses invocations beyond the queue bound with overloaded', () => {
    const core = makeClient({ sessions: [C1], queueMax: 2 });
    assert.equal(broadcasts(core.step({ type: 'invoke', token: 1, operation: text('1') })).length, 1);
    assert.deepEqual(core.step({ type: 'invoke', token: 2, operation: text('2') }), []);
    assert.deepEqual(core.step({ type: 'invoke', token: 3, operation: text('3') }), []);
    assert.deepEqual(core.step({ type: 'invoke', token: 4, operation: text('4') }), [{ type: 'overloaded', token: 4 }]);
    assert.equal(core.inFlight, 3);
  });

  it('queueMax = 0 refuses as soon as every session is busy', () => {
    const core = makeClient({ sessions: [C1], queueMax: 0 });
    core.step({ type: 'invoke', token: 1, operation: text('1') });
    assert.deepEqual(core.step({ type: 'invoke', token: 2, operation: text('2') }), [{ type: 'overloaded', token: 2 }]);
  });

  it('waiting invocations get freed sessions in FIFO order; numbers strictly increase per session from firstRequestNo', () => {
    const core = makeClient({ sessions: [C1, C2], queueMax: 10, firstRequestNo: 500 });
    const sent: RequestMessage[] = [];
    // The operation carries the token, so the token of a sent request is visible.
    const tokenOf = (m: RequestMessage): number => Number(dec.decode(m.request.operation).slice(2));
    const invoke = (token: number): void => {
      sent.push(...broadcasts(core.step({ type: 'invoke', token, operation: text(`op${token}`) })));
    };
    for (let token = 1; token <= 6; token++) invoke(token);
    assert.deepEqual(
      sent.map((m) => [m.request.clientId, m.request.requestNo]),
      [
        [C1, 500],
        [C2, 500],
      ],
    );
    const resolveSession = (c: ClientId, no: number): number => {
      replyFrom(core, 0, reply(c, no, 'r'));
      const out = replyFrom(core, 1, reply(c, no, 'r'));
      const resolvedToken = resolves(out)[0];
      assert.ok(resolvedToken?.type === 'resolve');
      sent.push(...broadcasts(out));
      return resolvedToken.token;
    };

    assert.equal(resolveSession(C2, 500), 2);
    assert.equal(resolveSession(C1, 500), 1);
    assert.equal(resolveSession(C1, 501), 4);
    assert.equal(resolveSession(C2, 501), 3);
    // Waiting invocations 3, 4, 5, 6 were started in FIFO order.
    assert.deepEqual(
      sent.slice(2).map((m) => tokenOf(m)),
      [3, 4, 5, 6],
    );
    assert.deepEqual(
      sent.map((m) => `${m.request.clientId === C1 ? 'C1' : 'C2'}#${m.request.requestNo}`),
      ['C1#500', 'C2#500', 'C2#501', 'C1#501', 'C1#502', 'C2#502'],
    );
    // Strictly increasing per session.
    for (const c of [C1, C2]) {
      const numbers = sent.filter((m) => m.request.clientId === c).map((m) => m.request.requestNo as number);
      for (let i = 1; i < numbers.length; i++) assert.ok((numbers[i] as number) > (numbers[i - 1] as number));
      assert.equal(numbers[0], 500);
    }
  });

  it('property: any interleaving of invokes and resolutions keeps FIFO start order and per-session increasing numbers', () => {
    const action = fc.oneof(fc.constant<'invoke'>('invoke'), fc.integer({ min: 0, max: 2 }));
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const sessions = [C1, C2, C3];
        const core = makeClient({ sessions, queueMax: 5, firstRequestNo: 7 });
        let nextToken = 1;
        const started: number[] = [];
        const overloaded: number[] = [];
        const lastNo = new Map<ClientId, number>();
        const outstanding = new Map<ClientId, number>();
        const absorb = (effects: ClientEffect[]): void => {
          for (const e of effects) {
            if (e.type === 'broadcast') {
              const { clientId: c, requestNo: no, operation } = e.message.request;
              const prev = lastNo.get(c) ?? 6;
              assert.ok(no > prev, `session ${c}: ${no} after ${prev}`);
              if (prev === 6) assert.equal(no, 7);
              lastNo.set(c, no);
              outstanding.set(c, no);
              started.push(Number(dec.decode(operation)));
            } else if (e.type === 'overloaded') overloaded.push(e.token);
          }
        };
        for (const a of actions) {
          if (a === 'invoke') {
            const token = nextToken++;
            absorb(core.step({ type: 'invoke', token, operation: text(String(token)) }));
          } else {
            const c = sessions[a] as ClientId;
            const no = outstanding.get(c);
            if (no === undefined) continue;
            outstanding.delete(c);
            replyFrom(core, 0, reply(c, no, 'x'));
            absorb(replyFrom(core, 3, reply(c, no, 'x')));
          }
        }
        // Every token was either started or refused, and the started ones in FIFO order.
        const sortedStarted = [...started].sort((x, y) => x - y);
        assert.deepEqual(started, sortedStarted);
        assert.ok(core.inFlight <= sessions.length + 5);
        for (const t of overloaded) assert.ok(!started.includes(t));
      }),
      { numRuns: 300 },
    );
  });
});

describe('ClientCore refused replies (the replicas\' client table is full)', () => {
  const refusal = (client: ClientId, no: number): ReplyMessage => ({ ...reply(client, no, ''), status: 'refused' });
  const refusals = (effects: ClientEffect[]) => effects.filter((e) => e.type === 'refused');

  it('f + 1 matching refused replies fail the invocation with refused, not a result', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('op') });
    assert.deepEqual(replyFrom(core, 0, refusal(C1, 1)), [], 'one refusal is not enough: it may be a lie');
    const out = replyFrom(core, 2, refusal(C1, 1));
    assert.deepEqual(out, [{ type: 'refused', token: 1, replicas: 2 }]);
    assert.equal(core.inFlight, 0);
    assert.deepEqual(broadcasts(core.step({ type: 'tick' })).concat(broadcasts(core.step({ type: 'tick' }))), [], 'no retransmission');
  });

  it('a refusal and an empty result are different answers; a replica switching between them equivocates', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('op') });
    replyFrom(core, 0, refusal(C1, 1));
    assert.deepEqual(replyFrom(core, 1, reply(C1, 1, '')), [], 'an empty result does not complete a refusal quorum');
    assert.deepEqual(rejections(replyFrom(core, 0, reply(C1, 1, ''))), ['0:equivocating-reply']);
    const out = replyFrom(core, 2, reply(C1, 1, ''));
    assert.equal(resolves(out).length, 1, 'two empty results resolve');
    assert.equal(refusals(out).length, 0);
  });

  it('retires a refused session: the queue goes on over the others, in order', () => {
    const core = makeClient({ sessions: [C1, C2], queueMax: 10 });
    core.step({ type: 'invoke', token: 1, operation: text('1') }); // on C1
    core.step({ type: 'invoke', token: 2, operation: text('2') }); // on C2
    core.step({ type: 'invoke', token: 3, operation: text('3') }); // queued
    replyFrom(core, 0, refusal(C1, 1));
    const out = replyFrom(core, 1, refusal(C1, 1));
    assert.deepEqual(out, [{ type: 'refused', token: 1, replicas: 2 }], 'C1 is retired, nothing is sent on it');
    assert.equal(core.inFlight, 2);
    replyFrom(core, 0, reply(C2, 1, 'r'));
    const next = replyFrom(core, 1, reply(C2, 1, 'r'));
    assert.equal(resolves(next).length, 1);
    assert.deepEqual(
      broadcasts(next).map((m) => [m.request.clientId, m.request.requestNo, dec.decode(m.request.operation)]),
      [[C2, 2, '3']],
      'the queued invocation goes on C2',
    );
  });

  it('the runtime rejects such an invocation with SessionsFullError, a stable name and code', () => {
    const error = new SessionsFullError();
    assert.ok(error instanceof BafometError);
    assert.equal(error.name, 'SessionsFullError');
    assert.equal(error.code, 'ERR_BAFOMET_SESSIONS_FULL');
  });

  it('once every session is retired, queued and new invocations fail at once', () => {
    const core = makeClient({ sessions: [C1], queueMax: 10 });
    core.step({ type: 'invoke', token: 1, operation: text('1') });
    core.step({ type: 'invoke', token: 2, operation: text('2') });
    core.step({ type: 'invoke', token: 3, operation: text('3') });
    replyFrom(core, 0, refusal(C1, 1));
    assert.deepEqual(replyFrom(core, 3, refusal(C1, 1)), [
      { type: 'refused', token: 1, replicas: 2 },
      { type: 'refused', token: 2, replicas: 0 },
      { type: 'refused', token: 3, replicas: 0 },
    ]);
    assert.deepEqual(core.step({ type: 'invoke', token: 4, operation: text('4') }), [{ type: 'refused', token: 4, replicas: 0 }]);
    assert.equal(core.inFlight, 0);
  });
});

describe('ClientCore construction', () => {
  it('asserts on bad parameters', () => {
    assert.throws(() => makeClient({ sessions: [] }), InvariantViolation);
    assert.throws(() => makeClient({ n: 3, f: 1 }), InvariantViolation);
    assert.throws(() => makeClient({ firstRequestNo: 0 }), InvariantViolation);
    assert.throws(() => makeClient({ retransmitTicks: 0 }), InvariantViolation);
    assert.throws(() => makeClient({ retransmitTicks: 4, retransmitTicksMax: 3 }), InvariantViolation);
  });
});

describe('ClientCore cancellation, failed and rejected answers', () => {
  it('a cancelled request frees its session: the next one gets a higher number, and a late reply to the first is ignored', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('a') });
    replyFrom(core, 3, reply(C1, 1, 'late'));
    const cancelled = core.step({ type: 'cancel', token: 1 });
    assert.deepEqual(cancelled, [
      { type: 'cancelled', token: 1, seen: { queued: false, answered: [replicaId(3)], matching: 1, needed: 2 } },
    ]);
    assert.deepEqual(core.step({ type: 'cancel', token: 1 }), [], 'a second cancel finds nothing open');
    const next = broadcasts(core.step({ type: 'invoke', token: 2, operation: text('b') }));
    assert.equal(next[0]?.request.requestNo, 2, 'numbered above the cancelled one');
    assert.deepEqual(rejections(replyFrom(core, 0, reply(C1, 1, 'late'))), ['0:not-outstanding']);
    assert.deepEqual(rejections(replyFrom(core, 1, reply(C1, 1, 'late'))), ['1:not-outstanding']);
    replyFrom(core, 0, reply(C1, 2, 'b done'));
    const done = resolves(replyFrom(core, 1, reply(C1, 2, 'b done')));
    assert.equal(done.length, 1);
    assert.equal(done[0]?.token, 2);
  });

  it('cancelling a queued invocation drops it before it is sent; the queue moves on', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('a') });
    assert.deepEqual(core.step({ type: 'invoke', token: 2, operation: text('b') }), [], 'queued behind the busy session');
    core.step({ type: 'invoke', token: 3, operation: text('c') });
    assert.deepEqual(core.step({ type: 'cancel', token: 2 }), [
      { type: 'cancelled', token: 2, seen: { queued: true, answered: [], matching: 0, needed: 2 } },
    ]);
    replyFrom(core, 0, reply(C1, 1, 'a done'));
    const out = replyFrom(core, 1, reply(C1, 1, 'a done'));
    assert.deepEqual(broadcasts(out).map((m) => dec.decode(m.request.operation)), ['c'], 'b never goes out');
  });

  it('f + 1 matching failed replies end the invocation with the message; the session goes on', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('a') });
    const failed = (from: number, message: string) => replyFrom(core, from, { ...reply(C1, 1, message), status: 'failed' });
    assert.deepEqual(failed(0, 'Error: boom'), []);
    assert.deepEqual(rejections(failed(1, 'Error: other')), [], 'a differing failure is another answer, not equivocation');
    const out = failed(2, 'Error: boom');
    assert.deepEqual(out, [{ type: 'failed', token: 1, message: text('Error: boom') }]);
    assert.equal(broadcasts(core.step({ type: 'invoke', token: 2, operation: text('b') }))[0]?.request.requestNo, 2);
  });

  it('one failed reply does not outvote f ok ones: the answer needs f + 1 alike', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('a') });
    replyFrom(core, 0, { ...reply(C1, 1, 'x'), status: 'failed' });
    replyFrom(core, 1, reply(C1, 1, 'ok'));
    const out = replyFrom(core, 2, reply(C1, 1, 'ok'));
    assert.equal(resolves(out).length, 1);
  });

  it('f + 1 matching rejected replies end the invocation as invalid', () => {
    const core = makeClient();
    core.step({ type: 'invoke', token: 1, operation: text('a') });
    replyFrom(core, 0, { ...reply(C1, 1, 'request-too-large'), status: 'rejected' });
    const out = replyFrom(core, 3, { ...reply(C1, 1, 'request-too-large'), status: 'rejected' });
    assert.deepEqual(out, [{ type: 'invalid', token: 1, reason: text('request-too-large') }]);
  });
});
