/**
 * Fuzz target: the replica core's message handling, with one Byzantine
 * replica among four in the scenario Cluster (test/scenario/harness.ts).
 *
 * A case starts from a history of test/fuzz/cluster-script.ts (a few
 * requests, possibly a state transfer and a view change), then interleaves
 * ticks and deliveries with what the Byzantine replica b sends the correct
 * ones:
 * - messages the cores sent in this history (every replica-to-replica type),
 *   relayed as they are or with fields set to wrong but well-typed values
 *   (tweak.ts: views and sequence numbers at 0, at the window's edge and at
 *   2^53 - 1, other replicas' ids, other messages' signatures and digests,
 *   zeroed signatures, huge batches within limits), signed again by b or not;
 * - the same messages encoded and mutated byte by byte (mutate.ts);
 * - and, from clients that never connected before, valid-looking signed
 *   requests with tweaked fields, each on the client's own connection.
 * Everything goes through the real codec first (encode, then decode with
 * the cluster's limits), so the core only ever sees what the wire can carry.
 * Then b falls silent or carries on honestly, and two new requests of
 * correct clients are submitted.
 *
 * Properties:
 * - no exception escapes a core (its always-on assertions are bugs), and
 *   the harness's own checks hold throughout: no two correct replicas
 *   execute different batches at a sequence number, at most pipelineMax
 *   proposals in flight, executeBacklogMax batches at the executor,
 *   logWindow slots;
 * - memory stays bounded at every correct replica after every step:
 *   pending requests within pendingRequestsMax, early messages within one
 *   PRE-PREPARE per slot and one PREPARE and COMMIT per slot and sender,
 *   their operation bytes within the simulator's bounded-memory checker's
 *   bound (earlyMessageBytesBound);
 * - liveness after the junk: the new requests get f + 1 matching replies
 *   from correct replicas within LIVENESS_TICKS_MAX ticks.
 * (Agreement is the harness's: it compares every execution of a correct
 * replica with the first at that sequence number, state transfer or not.)
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isReplicaMessage, type Message, type ReplicaMessage, type Request } from '../../src/core/messages.js';
import { defaultProtocolOptions } from '../../src/core/options.js';
import { earlyMessageBytesBound } from '../../src/sim/checkers.js';
import { ownsClientId } from '../../src/net/identity.js';
import { decodeMessage, encodeMessage, wireLimitsFrom, type WireLimits } from '../../src/wire/codec.js';
import { req, signAs, statementOf, type Cluster } from '../scenario/harness.js';
import { testClientIdBase } from '../support/signed-requests.js';
import { FUZZ_CLUSTER_N, FUZZ_CLUSTER_OPTIONS, SCRIPT_STAGE_MAX, scriptedCluster } from './cluster-script.js';
import { applyMutant, mutantArbitrary, type Mutant } from './mutate.js';
import type { FuzzTarget } from './target.js';
import { applyTweak, tweakArbitrary, type Tweak, type TweakContext } from './tweak.js';

export type CoreAction =
  /** A message of this history (`base` modulo their number), tweaked, to one correct replica or all (`to`; b itself means all). */
  | { readonly kind: 'typed'; readonly base: number; readonly tweaks: readonly Tweak[]; readonly resign: boolean; readonly to: number }
  /** The bytes of a message of this history, mutated (`mutant.base` modulo their number). */
  | { readonly kind: 'bytes'; readonly mutant: Mutant; readonly to: number }
  /** A signed request of a client that never connected, on its own connection. */
  | { readonly kind: 'request'; readonly client: number; readonly no: number; readonly operation: string; readonly tweaks: readonly Tweak[]; readonly to: number }
  | { readonly kind: 'run'; readonly ticks: number }
  | { readonly kind: 'deliver'; readonly count: number };

export interface CoreCase {
  readonly byzantine: number;
  /** How far the history goes (cluster-script.ts) and how many requests it starts with. */
  readonly stage: number;
  readonly warmup: number;
  readonly actions: readonly CoreAction[];
  /** b crashes once the junk is sent (a primary b forces a view change). */
  readonly silentAfter: boolean;
}

/** With fastTimers, a view change takes tens of ticks; backoff after failed views multiplies that. */
const LIVENESS_TICKS_MAX = 3_000;
/** Client ids no tweak or warm-up reaches (tweaks draw small numbers, 2^32 - 1 or 2^53 - 1). */
const LIVE_CLIENTS = [0x0123_4567_89ab, 0x0123_4567_89ac] as const;

const options = { ...defaultProtocolOptions, ...FUZZ_CLUSTER_OPTIONS };
const limits: WireLimits = wireLimitsFrom(options, FUZZ_CLUSTER_N);
const earlyBytesMax = earlyMessageBytesBound(options);
/** One PRE-PREPARE per slot, one PREPARE and one COMMIT per slot and other replica [V9]. */
const earlyCountMax = options.logWindow * (1 + 2 * (FUZZ_CLUSTER_N - 1));

/** Messages whose byte fields a tweak may transplant. */
const DONORS = 8;
/** Bases drawn for messages of the history: taken modulo how many there are when the action runs. */
const BASE_MAX = 0xffff;

export const replicaCoreTarget: FuzzTarget<CoreCase> = {
  name: 'replica-core',
  weight: 2,
  testRuns: 150,
  arbitrary: () => {
    const to = fc.nat({ max: FUZZ_CLUSTER_N - 1 });
    const tweaks = fc.array(tweakArbitrary, { maxLength: 3 });
    const action: fc.Arbitrary<CoreAction> = fc.oneof(
      {
        arbitrary: fc.record({ kind: fc.constant('typed' as const), base: fc.nat({ max: BASE_MAX }), tweaks, resign: fc.boolean(), to }),
        weight: 6,
      },
      { arbitrary: fc.record({ kind: fc.constant('bytes' as const), mutant: mutantArbitrary(BASE_MAX + 1, 3), to }), weight: 3 },
      {
        arbitrary: fc.record({
          kind: fc.constant('request' as const),
          client: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.nat({ max: 0xffff_ffff })),
          no: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
          operation: fc.string({ maxLength: 70 }),
          tweaks,
          to,
        }),
        weight: 2,
      },
      { arbitrary: fc.record({ kind: fc.constant('run' as const), ticks: fc.integer({ min: 1, max: 12 }) }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant('deliver' as const), count: fc.integer({ min: 1, max: 16 }) }), weight: 2 },
    );
    return fc.record({
      byzantine: fc.nat({ max: FUZZ_CLUSTER_N - 1 }),
      stage: fc.nat({ max: SCRIPT_STAGE_MAX }),
      warmup: fc.nat({ max: 6 }),
      actions: fc.array(action, { minLength: 1, maxLength: 30 }),
      silentAfter: fc.boolean(),
    });
  },
  check: (k) => runCase(k),
};

function runCase(k: CoreCase): void {
  const b = k.byzantine;
  const correct = Array.from({ length: FUZZ_CLUSTER_N }, (_, i) => i).filter((i) => i !== b);
  const history = scriptedCluster(b, k.stage, k.warmup);
  const c = history.cluster;
  const relayed = (base: number): ReplicaMessage => history.relayable(base % history.relayableCount) as ReplicaMessage;
  const donors: object[] = [];
  const ctx: TweakContext = { n: FUZZ_CLUSTER_N, logWindow: options.logWindow, donors };
  const targets = (to: number): number[] => (to === b ? correct : [to]);
  for (const action of k.actions) {
    switch (action.kind) {
      case 'typed': {
        if (history.relayableCount === 0) break;
        // Donors: messages of this history too (their byte fields are transplanted).
        donors.length = 0;
        for (let i = 0; i < DONORS; i++) donors.push(relayed(action.base * 31 + i * 7919));
        let m = relayed(action.base);
        for (const t of action.tweaks) m = applyTweak(m, t, ctx);
        if (action.resign) m = resigned(b, m);
        const wire = throughWire(m);
        if (wire !== undefined) inject(c, b, targets(action.to), wire);
        break;
      }
      case 'bytes': {
        if (history.relayableCount === 0) break;
        const bytes = [encodeMessage(relayed(action.mutant.base)), encodeMessage(relayed(action.mutant.base * 31 + 1))];
        const decoded = decodeMessage(applyMutant({ ...action.mutant, base: 0 }, bytes), limits);
        if (decoded.ok) inject(c, b, targets(action.to), decoded.message);
        break;
      }
      case 'request': {
        let request: Request = req(action.client, action.no, action.operation);
        for (const t of action.tweaks) request = applyTweak(request, t, ctx);
        const wire = throughWire({ type: 'request', request });
        // The runtime takes a request only on a connection whose key is its clientKey and owns its id [A3].
        if (wire?.type === 'request' && keyOwns(wire.request)) c.submit(wire.request, targets(action.to));
        break;
      }
      case 'run':
        c.run(action.ticks);
        break;
      case 'deliver':
        for (let i = 0; i < action.count && c.deliverOne(); i++);
        break;
    }
    checkBounded(c, correct);
  }
  if (k.silentAfter) c.crash(b);
  const live = LIVE_CLIENTS.map((client) => req(client, 1));
  for (const r of live) c.submit(r);
  const labels = live.map((r) => `c${r.clientId}#${r.requestNo}`);
  const answered = (label: string): boolean => {
    const results = new Map<string, Set<number>>();
    for (const reply of c.repliesTo(label)) {
      if (reply.from === b) continue;
      const voters = results.get(reply.result) ?? new Set<number>();
      voters.add(reply.from);
      results.set(reply.result, voters);
    }
    return [...results.values()].some((voters) => voters.size >= c.f + 1);
  };
  c.runUntil(() => {
    checkBounded(c, correct);
    return labels.every(answered);
  }, LIVENESS_TICKS_MAX);
}

/** Whether the request's key owns its client id: what a client connection can present [A3]. */
function keyOwns(request: Request): boolean {
  const base = testClientIdBase(request.clientKey);
  return base >= 0 && ownsClientId(base, request.clientId);
}

/** What the wire makes of `m`: undefined if it cannot be encoded or does not decode (it could not be sent). */
function throughWire(m: Message): Message | undefined {
  let bytes: Uint8Array;
  try {
    bytes = encodeMessage(m);
  } catch {
    return undefined; // the encoder refuses it (its assertions): no peer could send it
  }
  const decoded = decodeMessage(bytes, limits);
  return decoded.ok ? decoded.message : undefined;
}

/** `m` signed by b (a Byzantine replica signs its own lies), if it is a signed kind. */
function resigned(b: number, m: ReplicaMessage): ReplicaMessage {
  const statement = statementOf(m);
  return statement === undefined || !('signature' in m) ? m : ({ ...m, signature: signAs(b, statement) } as ReplicaMessage);
}

/** Replica-channel messages go to the cores; a request or reply decoded from a replica's frame is dropped, as the runtime does. */
function inject(c: Cluster, b: number, to: readonly number[], m: Message): void {
  if (!isReplicaMessage(m)) return;
  c.injectRaw(b, to, m);
}

function checkBounded(c: Cluster, correct: readonly number[]): void {
  for (const r of correct) {
    const s = c.status(r);
    assert.ok(s.pendingRequests <= options.pendingRequestsMax, `r${r} holds ${s.pendingRequests} pending requests > ${options.pendingRequestsMax}`);
    assert.ok(s.earlyMessages <= earlyCountMax, `r${r} holds ${s.earlyMessages} early messages > ${earlyCountMax}`);
    assert.ok(s.earlyMessageBytes <= earlyBytesMax, `r${r} holds ${s.earlyMessageBytes} early operation bytes > ${earlyBytesMax}`);
  }
}
