/**
 * Fuzz target: the client core (src/core/client.ts) answered by three
 * correct replicas and one Byzantine replica b. A case interleaves
 * invocations, cancellations and ticks with replies: honest ones (a correct
 * replica answers a request it was sent with that request's true result)
 * and b's junk: honest replies with fields set to wrong values (tweak.ts:
 * other sessions, request numbers +-1, 0 and 2^53 - 1, other results), with
 * any status, or frames captured from the simulator's replicas mutated byte
 * by byte and decoded; b also claims ids that are no replica's.
 *
 * Read-only invocations (docs/PROTOCOL.md Q3-Q9) are interleaved too:
 * correct replicas answer a read-only request with its true result, or
 * refuse it (`not-read-only`) when its operation starts with 0xff; b answers
 * them with other results, any status, or for ids no replica has.
 *
 * Properties: nothing throws; every invocation that resolves, ordered or
 * read-only, gets the true result of its own operation (junk from one
 * replica never makes f + 1, nor a read quorum), and none resolves twice;
 * at most `sessions + readOnlyInFlightMax + 2 queueMax` invocations are in
 * flight; once every correct replica has answered every outstanding request
 * (a final round), nothing is left in flight.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClientCore, type ClientEffect } from '../../src/core/client.js';
import { clientId, replicaId } from '../../src/core/ids.js';
import type { ReadReplyMessage, ReadReplyStatus, ReplyMessage, ReplyStatus, Request } from '../../src/core/messages.js';
import { view } from '../../src/core/ordering.js';
import { decodeMessage } from '../../src/wire/codec.js';
import { signRequest, testClientKey } from '../support/signed-requests.js';
import { applyMutant, mutantArbitrary, type Mutant } from './mutate.js';
import { simCorpus, type CorpusEntry } from './sim-corpus.js';
import type { FuzzTarget } from './target.js';
import { applyTweak, tweakArbitrary, type Tweak } from './tweak.js';

export type ClientAction =
  | { readonly kind: 'invoke'; readonly operation: Uint8Array }
  | { readonly kind: 'cancel'; readonly token: number }
  | { readonly kind: 'tick' }
  /** Correct replica `replica` (modulo the correct ones) answers the request of session `session` it was sent. */
  | { readonly kind: 'honest'; readonly replica: number; readonly session: number }
  /** b answers that request with a lie. */
  | { readonly kind: 'lie'; readonly session: number; readonly tweaks: readonly Tweak[]; readonly status: ReplyStatus | 'ok'; readonly from: number }
  /** b sends a captured reply frame, mutated. */
  | { readonly kind: 'bytes'; readonly mutant: Mutant; readonly from: number }
  | { readonly kind: 'invoke-read-only'; readonly operation: Uint8Array }
  /** Correct replica `replica` answers the `read`-th read-only request sent (modulo those sent). */
  | { readonly kind: 'honest-read'; readonly replica: number; readonly read: number }
  /** b answers it with `result` (or the true result) and `status`, claiming to be `from`. */
  | {
      readonly kind: 'lie-read';
      readonly read: number;
      readonly result: Uint8Array | null;
      readonly status: ReadReplyStatus | 'ok';
      readonly from: number;
    };

export interface ClientCase {
  readonly actions: readonly ClientAction[];
}

const N = 4;
const F = 1;
const BYZANTINE = 3;
const CORRECT = [0, 1, 2] as const;
const SESSIONS = [clientId(7_000), clientId(7_001)];
const QUEUE_MAX = 3;
const READS_MAX = 2;
/** Correct replicas refuse a read-only request whose operation starts with this byte: the service does not declare it read-only. */
const NOT_READ_ONLY = 0xff;
const KEY = testClientKey(SESSIONS[0] as number);
/** Ids b may claim: its own, and ids no replica has (the client core must refuse them). */
const CLAIMED = [BYZANTINE, BYZANTINE, BYZANTINE, -1, N, 65_535] as const;

const encoder = new TextEncoder();
/** What the service answers to `operation`: the honest result. */
const resultOf = (operation: Uint8Array): Uint8Array => encoder.encode(`r:${Buffer.from(operation).toString('hex')}`);

let replies: CorpusEntry[] | undefined;
const corpus = (): CorpusEntry[] => (replies ??= [...(simCorpus().messages.get('reply') ?? [])]);

export const clientCoreTarget: FuzzTarget<ClientCase> = {
  name: 'client-core',
  weight: 8,
  testRuns: 1000,
  arbitrary: () => {
    const size = corpus().length;
    const session = fc.nat({ max: SESSIONS.length - 1 });
    const from = fc.nat({ max: CLAIMED.length - 1 });
    const action: fc.Arbitrary<ClientAction> = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('invoke' as const), operation: fc.uint8Array({ maxLength: 8 }) }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant('cancel' as const), token: fc.nat({ max: 40 }) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('tick' as const) }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant('honest' as const), replica: fc.nat({ max: 2 }), session }), weight: 4 },
      {
        arbitrary: fc.record({
          kind: fc.constant('lie' as const),
          session,
          tweaks: fc.array(tweakArbitrary, { maxLength: 2 }),
          status: fc.constantFrom<ReplyStatus | 'ok'>('ok', 'ok', 'refused', 'failed', 'rejected'),
          from,
        }),
        weight: 4,
      },
      { arbitrary: fc.record({ kind: fc.constant('bytes' as const), mutant: mutantArbitrary(size, 3), from }), weight: 2 },
      {
        arbitrary: fc.record({
          kind: fc.constant('invoke-read-only' as const),
          operation: fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 4 }).map((b) => new Uint8Array([NOT_READ_ONLY, ...b]))),
        }),
        weight: 3,
      },
      { arbitrary: fc.record({ kind: fc.constant('honest-read' as const), replica: fc.nat({ max: 2 }), read: fc.nat({ max: 40 }) }), weight: 4 },
      {
        arbitrary: fc.record({
          kind: fc.constant('lie-read' as const),
          read: fc.nat({ max: 40 }),
          result: fc.option(fc.uint8Array({ maxLength: 8 })),
          status: fc.constantFrom<ReadReplyStatus | 'ok'>('ok', 'ok', 'not-read-only', 'failed', 'rejected'),
          from,
        }),
        weight: 3,
      },
    );
    return fc.record({ actions: fc.array(action, { maxLength: 40 }) });
  },
  check: (k) => runCase(k),
};

function runCase(k: ClientCase): void {
  const core = new ClientCore({
    n: N,
    f: F,
    sessions: SESSIONS,
    firstRequestNo: 1,
    retransmitTicks: 2,
    retransmitTicksMax: 8,
    queueMax: QUEUE_MAX,
    signer: { publicKey: KEY, sign: (statement) => signRequest(KEY, statement) },
    readOnlyTimeoutTicks: 3,
    readOnlyInFlightMax: READS_MAX,
  });
  const operations = new Map<number, Uint8Array>();
  const open = new Set<number>();
  /** The request each session sent last (what the replicas received). */
  const sent = new Map<number, Request>();
  /** Read-only requests sent, in order: read id and operation. */
  const reads: { readId: number; operation: Uint8Array }[] = [];
  let nextToken = 0;
  const apply = (effects: readonly ClientEffect[]): void => {
    for (const e of effects) {
      switch (e.type) {
        case 'broadcast':
          sent.set(e.message.request.clientId, e.message.request);
          break;
        case 'broadcast-read':
          reads.push({ readId: e.message.readId, operation: e.message.operation });
          break;
        case 'read-fallback':
          assert.ok(open.has(e.token), `token ${e.token} ordered after it ended`);
          break;
        case 'read-resolve':
        case 'resolve': {
          assert.ok(open.delete(e.token), `token ${e.token} resolved twice or never invoked`);
          const expected = resultOf(operations.get(e.token) as Uint8Array);
          assert.deepStrictEqual(e.result, expected, `token ${e.token} resolved with a result no correct replica sent`);
          break;
        }
        case 'refused':
        case 'failed':
        case 'invalid':
          // Only b says so, and one replica cannot make f + 1.
          assert.fail(`token ${e.token} ended ${e.type} on one replica's word`);
          break;
        case 'overloaded':
        case 'cancelled':
          assert.ok(open.delete(e.token), `token ${e.token} ended twice (${e.type})`);
          break;
        case 'rejected':
          break;
      }
    }
    assert.ok(core.inFlight <= SESSIONS.length + READS_MAX + 2 * QUEUE_MAX, `${core.inFlight} invocations in flight`);
  };
  const honest = (replica: number, session: number): void => {
    const request = sent.get(SESSIONS[session % SESSIONS.length] as number);
    if (request === undefined) return;
    const message: ReplyMessage = { type: 'reply', view: view(0), clientId: request.clientId, requestNo: request.requestNo, result: resultOf(request.operation) };
    apply(core.step({ type: 'reply', from: replicaId(replica), message }));
  };
  const honestRead = (replica: number, index: number): void => {
    const read = reads[index];
    if (read === undefined) return;
    const refused = read.operation[0] === NOT_READ_ONLY;
    const message: ReadReplyMessage = refused
      ? { type: 'read-reply', readId: read.readId, status: 'not-read-only', result: new Uint8Array(0) }
      : { type: 'read-reply', readId: read.readId, result: resultOf(read.operation) };
    apply(core.step({ type: 'read-reply', from: replicaId(replica), message }));
  };
  for (const action of k.actions) {
    switch (action.kind) {
      case 'invoke-read-only': {
        const token = nextToken++;
        operations.set(token, action.operation);
        open.add(token);
        apply(core.step({ type: 'invoke-read-only', token, operation: action.operation }));
        break;
      }
      case 'honest-read':
        if (reads.length > 0) honestRead(CORRECT[action.replica % CORRECT.length] as number, action.read % reads.length);
        break;
      case 'lie-read': {
        const read = reads[action.read % Math.max(1, reads.length)];
        if (read === undefined) break;
        const result = action.result ?? resultOf(read.operation);
        const message: ReadReplyMessage =
          action.status === 'ok' ? { type: 'read-reply', readId: read.readId, result } : { type: 'read-reply', readId: read.readId, status: action.status, result };
        apply(core.step({ type: 'read-reply', from: replicaId(CLAIMED[action.from] as number), message }));
        break;
      }
      case 'invoke': {
        const token = nextToken++;
        operations.set(token, action.operation);
        open.add(token);
        apply(core.step({ type: 'invoke', token, operation: action.operation }));
        break;
      }
      case 'cancel':
        apply(core.step({ type: 'cancel', token: action.token }));
        break;
      case 'tick':
        apply(core.step({ type: 'tick' }));
        break;
      case 'honest':
        honest(CORRECT[action.replica % CORRECT.length] as number, action.session);
        break;
      case 'lie': {
        const request = sent.get(SESSIONS[action.session] as number);
        if (request === undefined) break;
        let message: ReplyMessage = { type: 'reply', view: view(0), clientId: request.clientId, requestNo: request.requestNo, result: resultOf(request.operation) };
        if (action.status !== 'ok') message = { ...message, status: action.status };
        for (const t of action.tweaks) message = applyTweak(message, t, { n: N, logWindow: 8, donors: [] });
        apply(core.step({ type: 'reply', from: replicaId(CLAIMED[action.from] as number), message }));
        break;
      }
      case 'bytes': {
        const entries = corpus();
        const decoded = decodeMessage(applyMutant(action.mutant, entries.map((e) => e.bytes)), (entries[action.mutant.base] as CorpusEntry).limits);
        if (decoded.ok && decoded.message.type === 'reply') apply(core.step({ type: 'reply', from: replicaId(CLAIMED[action.from] as number), message: decoded.message }));
        break;
      }
    }
  }
  // Final round: every correct replica answers what is outstanding, until nothing is (queued ones go out as sessions free up).
  for (let round = 0; round < nextToken + 1 && core.inFlight > 0; round++) {
    for (let i = 0; i < reads.length; i++) for (const r of CORRECT) honestRead(r, i);
    for (let s = 0; s < SESSIONS.length; s++) for (const r of CORRECT) honest(r, s);
  }
  assert.equal(core.inFlight, 0, 'invocations still in flight after every correct replica answered');
  assert.equal(open.size, 0, `tokens never ended: ${[...open].join(',')}`);
}
