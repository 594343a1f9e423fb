/**
 * Deterministic scenario harness for the replica core.
 *
 * A cluster of n `ReplicaCore`s joined by one in-memory FIFO of in-flight
 * envelopes (replica -> replica messages and client -> replica requests, each
 * with its sender and receiver). Nothing moves unless a test says so:
 * `deliverAll`, `deliverWhere`, `deliverRound`, `deliverByChoices` take
 * envelopes off the queue; `drop`, `duplicateAll`, `reverseQueue`,
 * `blockWhere` and `blackhole` misbehave the network; `crash` silences a
 * replica for good;
 * `inject` lets a test speak for a Byzantine replica (the core trusts the
 * channel for the sender's identity, so injection is exactly what a
 * compromised replica could send). Time moves only with `tick` (every live
 * replica gets one `tick` event per call) or `run` / `runUntil` (tick, then
 * deliver everything, repeatedly).
 *
 * Signatures come from test/scenario/fake-crypto.ts: each replica signs with
 * its own secret; a test can sign as replica i only with `signAs(i, ...)`.
 * Message builders (`prePrepare`, `prepare`, `checkpoint`, `viewChange`, ...)
 * take an optional signer; without one the message is UNSIGNED and `inject`
 * signs it as the injecting replica (a Byzantine replica can always sign as
 * itself, and nothing else).
 *
 * Every replica runs an append-log service whose result for an operation is
 * `operation + ':' + entries-so-far`, so results depend on the order of
 * execution and two replicas that executed in different orders disagree.
 * `execute` effects are queued per replica and answered with `executed`
 * events in order (immediately, unless the test holds execution back).
 * `snapshot` effects are queued behind them and answered with a
 * `state-digest` event: SHA-256 of the service's entries after that batch, so
 * correct replicas with the same history agree on it.
 *
 * Everything observable goes into `trace`, one readable line per event:
 *   c1 -> r0 request c1#1 "a"
 *   r0 -> r1 pre-prepare v0 s1 [c1#1,c2#1]
 *   r1 -> r2 prepare v0 s1 [c1#1,c2#1]        (digests are shown as the batch they name)
 *   r1 executes s1 [c1#1,c2#1]
 *   r1 executed s1 -> "a:1","b:2"
 *   r1 -> c1 reply c1#1 "a:1"               (in views after 0: ... "a:1" (v1))
 *   r1 snapshot s4 -> st:1a2b3c4d
 *   r1 -> r2 checkpoint s4 st:1a2b3c4d
 *   r1 stable checkpoint s4
 *   r1 starts view change to v1
 *   r1 -> r0 forward c1#1
 *   r2 -> r1 view-change v1 C=s0 P=[s1:v0[c1#1]]
 *   r1 -> r2 new-view v1 V=[r1,r2,r3] O=[s1[c1#1],s2 null]
 *   r2 installs v1 (primary r1)
 *   r2 rejects prepare from r0: prepare-from-primary
 *   r2 ignores prepare from r1: duplicate
 *   drop r0 -> r3 pre-prepare v0 s1 [c1#1]     (a test dropped it, or a block did)
 *   lost r0 -> r3 pre-prepare v0 s1 [c1#1]     (a blackhole swallowed it)
 *
 * The core retransmits (VIEW-CHANGE.md T3, C5, R7, R8): a message dropped
 * once with `drop` comes again within viewChangeResendTicks once time moves.
 * A scenario that needs a loss to last while ticks run uses `blockWhere`
 * (or `blackhole`), which also loses the retransmissions.
 * Steps can be written as tables (`runSteps`) whose expectations are trace
 * lines, so a failing scenario prints what happened in words.
 *
 * Latency: every envelope remembers the tick at which it was queued (sent,
 * submitted or injected); `ageOf(e)` is how many ticks ago that was, and
 * `aged(d)` is a delivery predicate for a network that delivers every
 * envelope exactly d ticks after it was sent: `c.run(t, { deliver:
 * c.aged(d) })` (or `runUntil`) ticks, then delivers what is d ticks old,
 * while what that produces waits its own d ticks. (A duplicate made by
 * `duplicateAt` / `duplicateAll` has its original's age.)
 * `checkpointManifest(i, seq)` is the manifest of a checkpoint image replica i
 * keeps, i.e. what its STATE-SUMMARY for that checkpoint would carry.
 *
 * Checked after every step of every replica: at most pipelineMax proposals in
 * flight, at most executeBacklogMax batches at the executor, at most logWindow
 * slots; and across replicas, no two non-Byzantine replicas execute different
 * batches at one sequence number.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { DecisionPoints } from '../../src/core/decision-points.js';
import { DurableState, type DurableRecord } from '../../src/core/durable.js';
import type { ClientTableEntry, ReplicaEffect } from '../../src/core/effects.js';
import type { ReplicaEvent } from '../../src/core/events.js';
import { clientId, replicaId, type Digest, type ReplicaId } from '../../src/core/ids.js';
import type {
  CheckpointCertificate,
  CheckpointManifest,
  CheckpointMessage,
  CommitMessage,
  ForwardMessage,
  NewViewMessage,
  PreparedCertificate,
  PrepareMessage,
  PrePrepareMessage,
  ReplicaMessage,
  Request,
  Signature,
  Statement,
  ViewChangeMessage,
} from '../../src/core/messages.js';
import { defaultProtocolOptions, type ProtocolOptions } from '../../src/core/options.js';
import { requestNo, seqNo, view, type RequestNo, type SeqNo } from '../../src/core/ordering.js';
import { maxFaults, quorumSizes } from '../../src/core/quorum.js';
import { ReplicaCore, type ReplicaStatus } from '../../src/core/replica.js';
import { decideNewView, GENESIS_CHECKPOINT, primaryOf, type ViewChangeRules } from '../../src/core/view-change.js';
import {
  badSignature,
  batchDigest,
  batchLabel,
  digestName,
  fakeCrypto,
  requestLabel,
  signAs,
  verifySignature,
} from './fake-crypto.js';
import { signedRequest } from '../support/signed-requests.js';

export { badSignature, batchDigest, batchLabel, digestName, fakeCrypto, requestLabel, signAs, verifySignature };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// --- requests and messages --------------------------------------------------

/** A request of client `c<client>` numbered `no`, with a text operation, signed by its client. */
export function req(client: number, no: number, operation = `op${client}.${no}`): Request {
  return signedRequest(client, no, operation);
}

/**
 * Placeholder signature of a message built without a signer: `inject` replaces
 * it with the injecting replica's signature. Delivered as is (`deliverRaw`),
 * it is simply an invalid signature.
 */
export const UNSIGNED: Signature = new Uint8Array(0);

const sign = (signer: number | undefined, statement: Statement): Signature =>
  signer === undefined ? UNSIGNED : signAs(signer, statement);

/** A PRE-PREPARE (digest computed unless given), signed by `signer` or UNSIGNED. */
export function prePrepare(v: number, s: number, requests: readonly Request[], digest?: Digest, signer?: number): PrePrepareMessage {
  const d = digest ?? batchDigest(requests);
  return {
    type: 'pre-prepare',
    view: view(v),
    seq: seqNo(s),
    digest: d,
    requests,
    signature: sign(signer, { kind: 'pre-prepare', view: view(v), seq: seqNo(s), digest: d }),
  };
}

export function prepare(v: number, s: number, requests: readonly Request[], signer?: number): PrepareMessage {
  return prepareOf(v, s, batchDigest(requests), signer);
}

export function prepareOf(v: number, s: number, digest: Digest, signer?: number): PrepareMessage {
  return { type: 'prepare', view: view(v), seq: seqNo(s), digest, signature: sign(signer, { kind: 'prepare', view: view(v), seq: seqNo(s), digest }) };
}

export function commit(v: number, s: number, requests: readonly Request[]): CommitMessage {
  return { type: 'commit', view: view(v), seq: seqNo(s), digest: batchDigest(requests) };
}

export function checkpoint(s: number, stateDigest: Digest, signer?: number): CheckpointMessage {
  return { type: 'checkpoint', seq: seqNo(s), stateDigest, signature: sign(signer, { kind: 'checkpoint', seq: seqNo(s), stateDigest }) };
}

export function forward(request: Request): ForwardMessage {
  return { type: 'forward', request };
}

/** A checkpoint certificate for (s, stateDigest) signed by `signers`. */
export function checkpointCertificate(s: number, stateDigest: Digest, signers: readonly number[]): CheckpointCertificate {
  return {
    seq: seqNo(s),
    stateDigest,
    signatures: signers.map((r) => ({ replica: replicaId(r), signature: signAs(r, { kind: 'checkpoint', seq: seqNo(s), stateDigest }) })),
  };
}

/**
 * A prepared certificate for `requests` at (view, seq): the PRE-PREPARE
 * signed by primary(view) (or `primarySigner`), and PREPAREs signed by
 * `prepares` (a list of backups; `forged` of them get a bad signature).
 */
export function preparedCertificate(opts: {
  readonly view: number;
  readonly seq: number;
  readonly requests: readonly Request[];
  readonly n: number;
  readonly prepares: readonly number[];
  readonly primarySigner?: number;
  readonly forged?: readonly number[];
}): PreparedCertificate {
  const primary = opts.primarySigner ?? primaryOf(view(opts.view), opts.n);
  const pp = prePrepare(opts.view, opts.seq, opts.requests, undefined, primary);
  return {
    prePrepare: pp,
    prepares: opts.prepares.map((r) => ({
      replica: replicaId(r),
      signature: opts.forged?.includes(r) === true ? badSignature() : prepareOf(opts.view, opts.seq, pp.digest, r).signature,
    })),
  };
}

/** A VIEW-CHANGE signed by `signer` (default: `replica`; `null`: UNSIGNED, for inject to sign). */
export function viewChange(opts: {
  readonly newView: number;
  readonly replica: number;
  readonly checkpoint?: CheckpointCertificate;
  readonly prepared?: readonly PreparedCertificate[];
  readonly signer?: number | null;
}): ViewChangeMessage {
  const body = {
    type: 'view-change',
    newView: view(opts.newView),
    replica: replicaId(opts.replica),
    checkpoint: opts.checkpoint ?? GENESIS_CHECKPOINT,
    prepared: opts.prepared ?? [],
  } as const;
  const signer = opts.signer === null ? undefined : (opts.signer ?? opts.replica);
  return { ...body, signature: sign(signer, { kind: 'view-change', message: body }) };
}

/** The same VIEW-CHANGE with its body changed and its original signature kept (a tampering forwarder). */
export function tampered(vc: ViewChangeMessage, change: Partial<Omit<ViewChangeMessage, 'type' | 'signature'>>): ViewChangeMessage {
  return { ...vc, ...change };
}

export function newView(v: number, viewChanges: readonly ViewChangeMessage[], prePrepares: readonly PrePrepareMessage[]): NewViewMessage {
  return { type: 'new-view', view: view(v), viewChanges, prePrepares };
}

/**
 * The options scenarios run with unless they say otherwise: the protocol's
 * defaults, but a pipeline of 4, the default until measurement made it 1
 * (docs/BENCHMARKS.md): the scenarios' interleavings, and the comments that
 * tell them, were written with several batches in flight.
 */
const scenarioDefaults: ProtocolOptions = { ...defaultProtocolOptions, pipelineMax: 4 };

/** The rules the core applies, for a group of n with the harness's crypto (as seen by anybody). */
export function rulesFor(n: number, options: Partial<ProtocolOptions> = {}, f = maxFaults(n)): ViewChangeRules {
  return { sizes: quorumSizes(n, f), options: { ...scenarioDefaults, ...options }, crypto: fakeCrypto(-1) };
}

/** The PRE-PREPAREs an honest primary of `v` puts in its NEW-VIEW for `viewChanges`, signed by `signer` (default primary(v)). */
export function honestPrePrepares(
  v: number,
  viewChanges: readonly ViewChangeMessage[],
  n: number,
  options: Partial<ProtocolOptions> = {},
  signer: number = primaryOf(view(v), n),
): PrePrepareMessage[] {
  return decideNewView(viewChanges, rulesFor(n, options)).slots.map((slot) => prePrepare(v, slot.seq, slot.requests, slot.digest, signer));
}

/** The statement a message's signature covers, if it is signed. */
export function statementOf(m: ReplicaMessage): Statement | undefined {
  switch (m.type) {
    case 'pre-prepare':
    case 'prepare':
      return { kind: m.type, view: m.view, seq: m.seq, digest: m.digest };
    case 'checkpoint':
      return { kind: 'checkpoint', seq: m.seq, stateDigest: m.stateDigest };
    case 'view-change': {
      const { signature: _signature, ...message } = m;
      return { kind: 'view-change', message };
    }
    default:
      return undefined;
  }
}

/** `m` signed by `signer` if it carries the UNSIGNED placeholder; otherwise `m` itself. */
export function signedBy(signer: number, m: ReplicaMessage): ReplicaMessage {
  if (!('signature' in m) || m.signature !== UNSIGNED) return m;
  const statement = statementOf(m) as Statement;
  return { ...m, signature: signAs(signer, statement) } as ReplicaMessage;
}

// --- service state digests ----------------------------------------------------

const knownStates = new Map<string, string>();

/** Digest of an append-log state: SHA-256 of its entries as JSON. Named `st:<hex8>` in traces. */
export function stateDigestOf(entries: readonly string[]): Digest {
  const digest = new Uint8Array(createHash('sha256').update(JSON.stringify(entries)).digest());
  const h = Buffer.from(digest).toString('hex');
  knownStates.set(h, `st:${h.slice(0, 8)}`);
  return digest;
}

/** Gives a state digest (a checkpoint manifest's) the trace name of another (its append log's). */
function nameState(digest: Digest, name: string): void {
  knownStates.set(Buffer.from(digest).toString('hex'), name);
}

export function stateName(digest: Digest): string {
  const h = Buffer.from(digest).toString('hex');
  return knownStates.get(h) ?? `d:${h.slice(0, 8)}`;
}

// --- envelopes --------------------------------------------------------------

export type Envelope =
  | {
      readonly kind: 'message';
      readonly from: ReplicaId;
      readonly to: ReplicaId;
      readonly message: ReplicaMessage;
      readonly injected: boolean;
    }
  | { readonly kind: 'request'; readonly to: ReplicaId; readonly request: Request };

export type EnvelopePredicate = (e: Envelope) => boolean;

type AnyType = ReplicaMessage['type'] | 'request';

/** Sequence number a message is about, if any. */
function seqOf(m: ReplicaMessage): number | undefined {
  return 'seq' in m ? m.seq : undefined;
}

/** View a message is about, if any. */
function viewOf(m: ReplicaMessage): number | undefined {
  if (m.type === 'view-change') return m.newView;
  return 'view' in m ? m.view : undefined;
}

/** Predicate builder: `where({ type: 'commit', to: 3 })`. Omitted fields match anything. */
export function where(filter: {
  type?: AnyType | readonly AnyType[];
  from?: number | readonly number[];
  to?: number | readonly number[];
  seq?: number;
  view?: number;
}): EnvelopePredicate {
  const oneOf = <T>(spec: T | readonly T[] | undefined, value: T | undefined): boolean =>
    spec === undefined || (Array.isArray(spec) ? (spec as readonly T[]).includes(value as T) : spec === value);
  return (e) => {
    const type = e.kind === 'request' ? 'request' : e.message.type;
    const from = e.kind === 'request' ? undefined : e.from;
    const seq = e.kind === 'request' ? undefined : seqOf(e.message);
    const v = e.kind === 'request' ? undefined : viewOf(e.message);
    if (!oneOf(filter.type, type)) return false;
    if (filter.from !== undefined && (from === undefined || !oneOf(filter.from, from))) return false;
    if (!oneOf(filter.to, e.to)) return false;
    if (filter.seq !== undefined && seq !== filter.seq) return false;
    if (filter.view !== undefined && v !== filter.view) return false;
    return true;
  };
}

/** Messages from or to any of `replicas` (a crashed / partitioned set). */
export const involving =
  (...replicas: number[]): EnvelopePredicate =>
  (e) =>
    replicas.includes(e.to) || (e.kind === 'message' && replicas.includes(e.from));

// --- the service --------------------------------------------------------------

/** Append-log service: result = operation + ':' + number of entries after appending. */
export class AppendLog {
  readonly entries: string[] = [];
  apply(operation: Uint8Array): Uint8Array {
    const op = decoder.decode(operation);
    this.entries.push(op);
    return encoder.encode(`${op}:${this.entries.length}`);
  }
}

export interface ExecutedBatch {
  readonly seq: number;
  /** Request labels, e.g. `c1#1`, in execution order (empty: a null request or only duplicates). */
  readonly requests: readonly string[];
}

export interface ReplyRecord {
  readonly from: ReplicaId;
  readonly view: number;
  readonly request: string;
  readonly result: string;
}

export interface RejectionRecord {
  readonly at: ReplicaId;
  readonly from: string;
  readonly messageType: string;
  readonly action: 'ignore' | 'reject-peer';
  readonly reason: string;
}

/** A view-change milestone of one replica, with the cluster tick at which it happened. */
export interface ViewEvent {
  readonly tick: number;
  readonly replica: ReplicaId;
  readonly kind: 'started' | 'installed';
  readonly view: number;
}

/** A message a replica's core sent (not injected), one record per receiver. */
export interface SentRecord {
  readonly tick: number;
  readonly from: ReplicaId;
  readonly to: ReplicaId;
  readonly message: ReplicaMessage;
}

type Job =
  | { readonly kind: 'execute'; readonly seq: SeqNo; readonly requests: readonly Request[] }
  | { readonly kind: 'checkpoint'; readonly seq: SeqNo; readonly clientTable: readonly ClientTableEntry[] };

/**
 * A checkpoint image as the harness keeps it (docs/STATE-TRANSFER.md): the
 * client table and the append log, each as JSON, chunked by `chunkBytes`.
 */
interface HarnessImage {
  readonly manifest: CheckpointManifest;
  readonly chunks: readonly Uint8Array[];
}

interface ReplicaNode {
  core: ReplicaCore;
  readonly service: AppendLog;
  readonly history: ExecutedBatch[];
  /** Every record the core persisted and the disk synced, in order. */
  readonly journal: DurableRecord[];
  /**
   * With {@link Cluster.holdSyncs}: records persisted but not synced yet,
   * and the sends and replies waiting for them (D10); a restart loses both.
   * Without it the disk syncs at once.
   */
  disk: { readonly unsynced: DurableRecord[]; readonly held: (() => void)[]; readonly repliesWait: boolean } | undefined;
  /** Execute and checkpoint effects handed out and not yet answered, in order. */
  readonly jobs: Job[];
  /** Kept checkpoint images by sequence number [S3]. */
  readonly images: Map<number, HarnessImage>;
  /** Chunks of the checkpoint being fetched [S10]. */
  fetching: { seq: number; chunks: Map<number, Uint8Array> } | undefined;
  /** Sequence number of the checkpoint installed last by state transfer (its batches are not in `history`). */
  installedAt: number;
  holdExecution: boolean;
  /** Sequence numbers this replica proposed (as primary), with the view; each (view, seq) once. */
  readonly proposed: { view: number; seq: number }[];
  /** Stable checkpoints it reached, in order. */
  readonly stableCheckpoints: number[];
}

export interface RunOptions {
  /** Replicas that get ticks (default: every live one). */
  readonly replicas?: readonly number[];
  /** Only envelopes matching this are delivered between ticks (default: all). */
  readonly deliver?: EnvelopePredicate;
}

/**
 * Short timers for view-change scenarios: forward after 5 ticks, suspect the
 * primary after 10 (starvation after 40), NEW-VIEW timeout 20 (doubling),
 * resend VIEW-CHANGE every 8.
 */
export const fastTimers = {
  requestTimeoutTicks: 5,
  viewChangeTimeoutTicks: 10,
  newViewTimeoutTicks: 20,
  viewChangeResendTicks: 8,
} as const satisfies Partial<ProtocolOptions>;

export interface ClusterInit {
  readonly n: number;
  readonly f?: number;
  readonly options?: Partial<ProtocolOptions>;
  /** Replicas exempt from the cross-replica agreement check (their cores may be fed lies). */
  readonly byzantine?: readonly number[];
  /**
   * The decision points every core (restarted ones too) is built with
   * (ReplicaCoreInit.decisions), e.g. a rule as it was before a fix, to show
   * a scenario fails without it. Default: the core's own.
   */
  readonly decisions?: (rules: ViewChangeRules) => DecisionPoints;
}

export class Cluster {
  readonly n: number;
  readonly f: number;
  readonly options: ProtocolOptions;
  readonly trace: string[] = [];
  readonly replies: ReplyRecord[] = [];
  readonly rejections: RejectionRecord[] = [];
  readonly viewEvents: ViewEvent[] = [];
  readonly sent: SentRecord[] = [];
  /** Highest number of proposed-but-unexecuted sequence numbers any replica had. */
  pipelinePeak = 0;
  /** Highest lastDelivered - lastExecuted any replica reached. */
  backlogPeak = 0;
  /** Highest slot count any replica reached. */
  slotsPeak = 0;
  /** Envelopes delivered so far (including duplicates). */
  deliveries = 0;
  /** Cluster time: number of tick rounds so far. */
  now = 0;

  private queue: Envelope[] = [];
  /** Tick at which each queued envelope was queued (`ageOf`, `aged`). */
  private readonly queuedAt = new WeakMap<Envelope, number>();
  private readonly nodes: ReplicaNode[] = [];
  private readonly blackholes: EnvelopePredicate[] = [];
  /** Active `rewrite`s. */
  private readonly rewrites: { predicate: EnvelopePredicate; change: (m: ReplicaMessage) => ReplicaMessage }[] = [];
  /** Active `blockWhere` filters. */
  private blocks: EnvelopePredicate[] = [];
  private readonly crashed = new Set<number>();
  private readonly byzantine: Set<number>;
  private readonly decisions: ((rules: ViewChangeRules) => DecisionPoints) | undefined;
  /** seq -> batch label and the first replica that executed it (agreement check). */
  private readonly executedAt = new Map<number, { label: string; by: number }>();

  constructor(init: ClusterInit) {
    this.n = init.n;
    this.f = init.f ?? maxFaults(init.n);
    this.options = { ...scenarioDefaults, ...init.options };
    this.byzantine = new Set(init.byzantine ?? []);
    this.decisions = init.decisions;
    for (let i = 0; i < this.n; i++) {
      this.nodes.push({
        core: new ReplicaCore({ id: replicaId(i), n: this.n, f: this.f, options: this.options, crypto: fakeCrypto(i), decisions: this.decisions }),
        service: new AppendLog(),
        history: [],
        journal: [],
        disk: undefined,
        jobs: [],
        images: new Map(),
        fetching: undefined,
        installedAt: 0,
        holdExecution: false,
        proposed: [],
        stableCheckpoints: [],
      });
    }
  }

  get replicas(): readonly ReplicaId[] {
    return this.nodes.map((_, i) => replicaId(i));
  }

  /** Replicas not crashed. */
  get alive(): readonly ReplicaId[] {
    return this.replicas.filter((r) => !this.crashed.has(r));
  }

  replica(i: number): ReplicaCore {
    return this.node(i).core;
  }

  status(i: number): ReplicaStatus {
    return this.node(i).core.status();
  }

  /** The primary of view v. */
  primaryOf(v: number): number {
    return v % this.n;
  }

  /** Executed batches of replica i, in order (empty batches included). */
  history(i: number): readonly ExecutedBatch[] {
    return this.node(i).history;
  }

  /** Request labels replica i executed, in order. */
  executedRequests(i: number): string[] {
    return this.node(i).history.flatMap((b) => b.requests);
  }

  /** The service state of replica i. */
  serviceLog(i: number): readonly string[] {
    return this.node(i).service.entries;
  }

  /** Slips `entry` into replica i's service state, as a non-deterministic `update` would. */
  corruptState(i: number, entry: string): void {
    this.node(i).service.entries.push(entry);
  }

  /** Sequence numbers replica i proposed while primary (PRE-PREPAREs it broadcast, NEW-VIEW ones excluded; an R7 retransmission is not a new proposal). */
  proposedBy(i: number): readonly number[] {
    return this.node(i).proposed.map((p) => p.seq);
  }

  /** (view, seq) of every PRE-PREPARE replica i broadcast as primary. */
  proposalsOf(i: number): readonly { view: number; seq: number }[] {
    return this.node(i).proposed;
  }

  /**
   * The manifest of the checkpoint image replica i keeps for `seq` (taken
   * or installed, not yet collected), if any: what replica i's STATE-SUMMARY
   * for that checkpoint carries. Its digest (`fakeCrypto(i).manifestDigest`)
   * is the checkpoint's state digest.
   */
  checkpointManifest(i: number, seq: number): CheckpointManifest | undefined {
    return this.node(i).images.get(seq)?.manifest;
  }

  /** Stable checkpoints replica i reached, in order. */
  stableCheckpoints(i: number): readonly number[] {
    return this.node(i).stableCheckpoints;
  }

  /** Replies to request `label` (e.g. `c1#1`). */
  repliesTo(label: string): ReplyRecord[] {
    return this.replies.filter((r) => r.request === label);
  }

  rejectionsAt(i: number): RejectionRecord[] {
    return this.rejections.filter((r) => r.at === i);
  }

  /** Messages of `type` replica i's core sent (one record per receiver). */
  sentBy(i: number, type?: ReplicaMessage['type']): SentRecord[] {
    return this.sent.filter((s) => s.from === i && (type === undefined || s.message.type === type));
  }

  /** The latest VIEW-CHANGE replica i sent for view v (as its core built it). */
  viewChangeOf(i: number, v: number): ViewChangeMessage {
    const found = this.sent.filter((s) => s.from === i && s.message.type === 'view-change' && s.message.newView === v).at(-1);
    assert.ok(found !== undefined, `r${i} sent no VIEW-CHANGE for v${v}`);
    return found.message as ViewChangeMessage;
  }

  /** Tick at which replica i first did `kind` for view v, if it did. */
  viewEventTick(i: number, kind: ViewEvent['kind'], v: number): number | undefined {
    return this.viewEvents.find((e) => e.replica === i && e.kind === kind && e.view === v)?.tick;
  }

  get pending(): readonly Envelope[] {
    return this.queue;
  }

  // --- input --------------------------------------------------------------

  /** A client sends `request` to the given replicas (default: all), through the queue (and blackholes). */
  submit(request: Request, toReplicas: readonly number[] = this.replicas): void {
    for (const to of toReplicas) this.enqueue({ kind: 'request', to: replicaId(to), request });
  }

  /**
   * Puts a message "from" replica `from` on the queue (a Byzantine sender).
   * Bypasses blackholes, not `blockWhere`. An UNSIGNED message is signed as `from` first.
   */
  inject(from: number, to: number | readonly number[], message: ReplicaMessage): void {
    this.injectRaw(from, to, signedBy(from, message));
  }

  /** Like `inject`, but the message goes out exactly as given (UNSIGNED stays an invalid signature). */
  injectRaw(from: number, to: number | readonly number[], message: ReplicaMessage): void {
    for (const t of typeof to === 'number' ? [to] : to) {
      const e: Envelope = { kind: 'message', from: replicaId(from), to: replicaId(t), message, injected: true };
      if (this.isBlocked(e)) continue;
      this.queuedAt.set(e, this.now);
      this.queue.push(e);
    }
  }

  /**
   * From now on, envelopes matching `predicate` produced by replicas are lost
   * (crash, partition). Returns a function that ends the blackhole.
   */
  blackhole(predicate: EnvelopePredicate): () => void {
    this.blackholes.push(predicate);
    return () => {
      const index = this.blackholes.indexOf(predicate);
      if (index >= 0) this.blackholes.splice(index, 1);
    };
  }

  /**
   * A persistent loss: until `unblock()` (or the returned function), every
   * envelope matching `predicate` is dropped (traced as `drop ...`) - those
   * queued now and every later one, replicas' retransmissions and injected
   * messages included. `drop` removes only what is queued, and the core
   * resends it (T3, C5, R7, R8); a scenario whose premise is "these
   * messages are lost" while ticks pass needs this instead.
   */
  blockWhere(predicate: EnvelopePredicate): () => void {
    this.blocks.push(predicate);
    this.drop(predicate);
    return () => {
      this.blocks = this.blocks.filter((p) => p !== predicate);
    };
  }

  /** From now on, messages replicas send that match `predicate` are replaced by `change(message)` (a Byzantine sender). */
  rewrite(predicate: EnvelopePredicate, change: (m: ReplicaMessage) => ReplicaMessage): void {
    this.rewrites.push({ predicate, change });
  }

  /** Ends every `blockWhere`. */
  unblock(): void {
    this.blocks = [];
  }

  /** Replica i crashes for good: queued envelopes to/from it are dropped, new ones lost, and it gets no more ticks. */
  crash(i: number): void {
    this.crashed.add(i);
    this.blackhole(involving(i));
    this.drop(involving(i));
  }

  /**
   * Replica i loses power and restarts (docs/DURABILITY.md): envelopes to and
   * from it in flight are lost, as are its executions not yet answered.
   * `durable` (the default): it restarts from its journal and the image of
   * its stable checkpoint, as a replica with a data directory does.
   * `amnesic`: it restarts with nothing, as a replica without one (or whose
   * disk was lost) — the case that counts against f. `rejoin`: with nothing
   * too, but told it lost its data, so it does not vote until it is safe (D15).
   */
  restart(i: number, mode: 'durable' | 'amnesic' | 'rejoin' = 'durable'): void {
    const node = this.node(i);
    this.drop(involving(i));
    node.jobs.length = 0;
    node.fetching = undefined;
    if (node.disk !== undefined) node.disk = { unsynced: [], held: [], repliesWait: node.disk.repliesWait }; // lost with the power
    const init = { id: replicaId(i), n: this.n, f: this.f, options: this.options, crypto: fakeCrypto(i), recovering: true, decisions: this.decisions };
    if (mode !== 'durable') {
      node.journal.length = 0;
      node.images.clear();
      node.service.entries.length = 0;
      node.history.length = 0;
      node.installedAt = 0;
      node.proposed.length = 0;
      node.core = new ReplicaCore({ ...init, rejoin: mode === 'rejoin' });
    } else {
      const state = new DurableState();
      for (const record of node.journal) state.apply(record);
      // Compaction [D8] must fold to the same state: checked on every journal a scenario restarts from.
      const compacted = new DurableState();
      for (const record of state.records()) compacted.apply(record);
      assert.deepEqual(compacted, state, `r${i}: the compacted journal folds to another state`);
      const stable = state.stable.seq;
      const image = node.images.get(stable);
      const table = image === undefined ? [] : this.restoreImage(i, stable, image);
      if (image === undefined) {
        node.service.entries.length = 0;
        node.history.length = 0;
        node.installedAt = 0;
      }
      const recovered = image === undefined ? { state } : { state, image: { seq: stable, manifest: image.manifest, clientTable: table } };
      node.core = new ReplicaCore({ ...init, recovered });
    }
    // With a disk that syncs late, executions a crash undid are judged by what clients saw (the test's
    // replies), not as first executions; otherwise every execution counts, even one a crash lost.
    if (node.disk !== undefined) this.forgetExecutionsAbove(i, node.installedAt);
    this.trace.push(`r${i} restarts ${mode}`);
    this.step(i, { type: 'tick' });
  }

  /**
   * Replica i's disk syncs only when the test calls {@link sync}: until
   * then its sends wait, and its replies too unless `repliesWait` is false
   * (the rule before an adversarial review found that an acknowledged
   * request could be lost).
   */
  holdSyncs(i: number, repliesWait = true): void {
    this.node(i).disk = { unsynced: [], held: [], repliesWait };
  }

  /** Replica i's disk syncs at once again (after syncing what waits). */
  syncAtOnce(i: number): void {
    this.sync(i);
    this.node(i).disk = undefined;
  }

  /** Replica i's disk syncs what was persisted; what waited for it goes out, in order. */
  sync(i: number): void {
    const disk = this.node(i).disk;
    assert.ok(disk !== undefined, `r${i} syncs at once`);
    this.node(i).journal.push(...disk.unsynced.splice(0));
    for (const send of disk.held.splice(0)) send();
  }

  /** Holds back (`true`) or resumes (`false`) the `executed` answers of replica i. */
  holdExecution(i: number, hold = true): void {
    const node = this.node(i);
    node.holdExecution = hold;
    if (!hold) this.runJobs(i, Infinity);
  }

  /** Answers up to `count` held executions of replica i (in order). */
  releaseExecutions(i: number, count: number): void {
    this.runJobs(i, count);
  }

  /** Execute effects of replica i awaiting their `executed` answer. */
  heldExecutions(i: number): number[] {
    return this.node(i).jobs.flatMap((j) => (j.kind === 'execute' ? [j.seq] : []));
  }

  // --- time -----------------------------------------------------------------

  /** `count` tick rounds: each live replica (or each of `replicas`) gets one `tick` per round. Nothing is delivered. */
  tick(count = 1, replicas: readonly number[] = this.alive): void {
    for (let t = 0; t < count; t++) {
      this.now++;
      for (const i of replicas) this.step(i, { type: 'tick' });
    }
  }

  /**
   * `ticks` times: one tick round, then deliver everything (or only what
   * `opts.deliver` matches: the rest stays queued, like a slow link).
   */
  run(ticks: number, opts: RunOptions = {}): void {
    for (let t = 0; t < ticks; t++) {
      this.tick(1, opts.replicas);
      this.settle(opts);
    }
  }

  /**
   * Tick rounds (each followed by delivering, as in `run`) until `done` holds;
   * returns how many rounds it took. Fails after `maxTicks`.
   */
  runUntil(done: (c: Cluster) => boolean, maxTicks: number, opts: RunOptions = {}): number {
    this.settle(opts);
    for (let t = 0; t <= maxTicks; t++) {
      if (done(this)) return t;
      this.tick(1, opts.replicas);
      this.settle(opts);
    }
    assert.fail(`runUntil: condition not reached after ${maxTicks} ticks (tick ${this.now})`);
  }

  /** Like `runUntil`, but returns the rounds run when `max` is reached instead of failing. */
  runUpTo(done: () => boolean, max: number, opts: RunOptions = {}): number {
    let ticks = 0;
    while (ticks < max && !done()) {
      this.run(1, opts);
      ticks++;
    }
    return ticks;
  }

  private settle(opts: RunOptions): void {
    if (opts.deliver === undefined) this.deliverAll();
    else this.deliverWhere(opts.deliver);
  }

  // --- the network --------------------------------------------------------

  /** Delivers the first envelope. Returns false if the queue is empty. */
  deliverOne(): boolean {
    const e = this.queue.shift();
    if (e === undefined) return false;
    this.deliver(e);
    return true;
  }

  /** Delivers until the queue is empty. */
  deliverAll(limit = 1_000_000): void {
    let steps = 0;
    while (this.deliverOne()) {
      assert.ok(++steps <= limit, `deliverAll: no quiescence after ${limit} deliveries`);
    }
  }

  /**
   * Delivers, in queue order, envelopes matching `predicate` (including ones
   * they produce) until none is queued; the others stay queued in order.
   */
  deliverWhere(predicate: EnvelopePredicate, limit = 1_000_000): number {
    let delivered = 0;
    for (;;) {
      const index = this.queue.findIndex(predicate);
      if (index < 0) return delivered;
      const [e] = this.queue.splice(index, 1);
      this.deliver(e as Envelope);
      assert.ok(++delivered <= limit, `deliverWhere: no quiescence after ${limit} deliveries`);
    }
  }

  /** Delivers exactly the envelopes queued now; what they produce waits for the next round. */
  deliverRound(): number {
    const round = this.queue;
    this.queue = [];
    for (const e of round) this.deliver(e);
    return round.length;
  }

  /** Rounds until quiet, calling `beforeEachRound` (e.g. reorder, duplicate) first. */
  deliverRounds(beforeEachRound: (c: Cluster) => void = () => {}, limit = 100_000): number {
    let rounds = 0;
    while (this.queue.length > 0) {
      beforeEachRound(this);
      this.deliverRound();
      assert.ok(++rounds <= limit, `deliverRounds: no quiescence after ${limit} rounds`);
    }
    return rounds;
  }

  /**
   * Delivers queue[choice % length] for each choice (a schedule chosen by a
   * property test), then everything left in FIFO order.
   */
  deliverByChoices(choices: readonly number[]): void {
    for (const choice of choices) if (!this.deliverAt(choice)) break;
    this.deliverAll();
  }

  /** Delivers queue[index % length] (a scheduler's choice). Returns false if the queue is empty. */
  deliverAt(index: number): boolean {
    if (this.queue.length === 0) return false;
    const [e] = this.queue.splice(index % this.queue.length, 1);
    this.deliver(e as Envelope);
    return true;
  }

  /** Queues a second copy of queue[index % length] at the end. */
  duplicateAt(index: number): void {
    if (this.queue.length === 0) return;
    this.queue.push(this.queue[index % this.queue.length] as Envelope);
  }

  /** Ticks since envelope `e` was queued (sent, submitted or injected); 0 for one the harness did not queue. */
  ageOf(e: Envelope): number {
    return this.now - (this.queuedAt.get(e) ?? this.now);
  }

  /**
   * Envelopes queued at least `ticks` ticks ago. As `run` / `runUntil`'s
   * `deliver`, a network with a fixed per-hop delay: every envelope is
   * delivered exactly `ticks` ticks after it was sent (for `ticks` >= 1).
   */
  aged(ticks: number): EnvelopePredicate {
    return (e) => this.ageOf(e) >= ticks;
  }

  /** Removes queued envelopes matching `predicate`. Returns how many. */
  drop(predicate: EnvelopePredicate): number {
    const kept: Envelope[] = [];
    let dropped = 0;
    for (const e of this.queue) {
      if (predicate(e)) {
        this.trace.push(`drop ${this.describe(e)}`);
        dropped++;
      } else kept.push(e);
    }
    this.queue = kept;
    return dropped;
  }

  /** Every queued envelope is queued twice (each copy right after the original). */
  duplicateAll(): void {
    this.queue = this.queue.flatMap((e) => [e, e]);
  }

  /** Reverses the queue: the newest envelope is delivered first. */
  reverseQueue(): void {
    this.queue.reverse();
  }

  // --- trace ----------------------------------------------------------------

  /** Trace lines matching `pattern` (substring or RegExp). */
  traceMatching(pattern: string | RegExp): string[] {
    return this.trace.filter((line) => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line)));
  }

  /** The batch label a digest names, if a batch with that digest was digested. */
  digestName(digest: Digest): string {
    return digestName(digest);
  }

  describe(e: Envelope): string {
    if (e.kind === 'request') {
      const r = e.request;
      return `c${r.clientId} -> r${e.to} request ${requestLabel(r)} "${decoder.decode(r.operation)}"`;
    }
    return `r${e.from} -> r${e.to} ${this.describeMessage(e.message, e.from)}`;
  }

  describeMessage(m: ReplicaMessage, from?: number): string {
    switch (m.type) {
      case 'pre-prepare': {
        const matches = Buffer.from(batchDigest(m.requests)).equals(Buffer.from(m.digest));
        return `pre-prepare v${m.view} s${m.seq} ${batchLabel(m.requests)}${matches ? '' : ` digest=${digestName(m.digest)}`}`;
      }
      case 'prepare':
      case 'commit':
        return `${m.type} v${m.view} s${m.seq} ${digestName(m.digest)}`;
      case 'checkpoint':
        return `checkpoint s${m.seq} ${stateName(m.stateDigest)}`;
      case 'forward':
        return `forward ${requestLabel(m.request)}`;
      case 'view-change': {
        const by = from === undefined || from === m.replica ? '' : ` replica=r${m.replica}`;
        const certs = m.prepared.map((c) => `s${c.prePrepare.seq}:v${c.prePrepare.view}${batchLabel(c.prePrepare.requests)}`);
        return `view-change v${m.newView}${by} C=s${m.checkpoint.seq} P=[${certs.join(',')}]`;
      }
      case 'new-view': {
        const voters = m.viewChanges.map((vc) => `r${vc.replica}`);
        const o = m.prePrepares.map((pp) => `s${pp.seq}${pp.requests.length === 0 ? ' null' : batchLabel(pp.requests)}`);
        return `new-view v${m.view} V=[${voters.join(',')}] O=[${o.join(',')}]`;
      }
      case 'state-query':
        return `state-query e=s${m.lastExecuted}`;
      case 'state-summary':
        return `state-summary v${m.view}${m.viewActive ? '' : ' (changing)'} C=s${m.checkpoint.seq} ${m.checkpoint.seq === 0 ? 'genesis' : stateName(m.checkpoint.stateDigest)} chunks=${m.manifest.chunkDigests.length} delivered=s${m.lastDelivered}`;
      case 'chunk-request':
        return `chunk-request s${m.seq} #${m.index}`;
      case 'chunk':
        return `chunk s${m.seq} #${m.index} ${m.bytes.length}B`;
      case 'log-request':
        return `log-request after s${m.after}`;
      case 'log-entries':
        return `log-entries [${m.batches.map((b) => `s${b.seq}${batchLabel(b.requests)}`).join(',')}]`;
      default: {
        const never: never = m;
        return `unknown ${JSON.stringify(never)}`;
      }
    }
  }

  // --- internals ------------------------------------------------------------

  private node(i: number): ReplicaNode {
    const node = this.nodes[i];
    assert.ok(node !== undefined, `no replica ${i}`);
    return node;
  }

  private enqueue(e: Envelope): void {
    if (this.blackholes.some((p) => p(e))) this.trace.push(`lost ${this.describe(e)}`);
    else if (!this.isBlocked(e)) {
      const queued = this.rewritten(e);
      this.queuedAt.set(queued, this.now);
      this.queue.push(queued);
    }
  }

  /** A Byzantine sender's lie in flight: what `rewrite` makes of `e`. */
  private rewritten(e: Envelope): Envelope {
    if (e.kind !== 'message') return e;
    for (const { predicate, change } of this.rewrites) {
      if (predicate(e)) {
        const message = change(e.message);
        this.trace.push(`rewrite ${this.describe(e)} => ${this.describeMessage(message, e.from)}`);
        return { ...e, message, injected: true };
      }
    }
    return e;
  }

  /** Whether a `blockWhere` drops `e` (and traces it). */
  private isBlocked(e: Envelope): boolean {
    if (!this.blocks.some((p) => p(e))) return false;
    this.trace.push(`drop ${this.describe(e)}`);
    return true;
  }

  private deliver(e: Envelope): void {
    this.deliveries++;
    this.trace.push(this.describe(e));
    const event: ReplicaEvent =
      e.kind === 'request' ? { type: 'request', request: e.request } : { type: 'message', from: e.from, message: e.message };
    this.step(e.to, event);
  }

  private step(i: number, event: ReplicaEvent): void {
    const node = this.node(i);
    const effects = node.core.step(event);
    this.apply(i, effects);
    this.checkInvariants(i);
    this.runJobs(i, node.holdExecution ? 0 : Infinity);
  }

  private apply(i: number, effects: readonly ReplicaEffect[]): void {
    const node = this.node(i);
    for (const effect of effects) {
      const disk = node.disk;
      // [D10] Sends (and, unless the test says otherwise, replies) wait for the records persisted before them.
      const waits = effect.type === 'send' || (effect.type === 'reply' && disk?.repliesWait === true);
      if (waits && disk !== undefined && (disk.unsynced.length > 0 || disk.held.length > 0)) {
        disk.held.push(() => this.apply(i, [effect]));
        continue;
      }
      switch (effect.type) {
        case 'send': {
          const m = effect.message;
          // A proposal is counted once: the primary's retransmissions (R7) re-send the same (view, seq).
          if (m.type === 'pre-prepare' && effect.to === 'others' && !node.proposed.some((p) => p.view === m.view && p.seq === m.seq)) {
            node.proposed.push({ view: m.view, seq: m.seq });
          }
          const targets = effect.to === 'others' ? this.replicas.filter((r) => r !== i) : [effect.to];
          for (const to of targets) {
            this.sent.push({ tick: this.now, from: replicaId(i), to, message: m });
            this.enqueue({ kind: 'message', from: replicaId(i), to, message: m, injected: false });
          }
          break;
        }
        case 'reply': {
          const m = effect.message;
          const label = `c${m.clientId}#${m.requestNo}`;
          const result = decoder.decode(m.result);
          assert.equal(effect.clientId, m.clientId, 'reply addressed to the session it answers');
          this.replies.push({ from: replicaId(i), view: m.view, request: label, result });
          this.trace.push(`r${i} -> c${m.clientId} reply ${label} "${result}"${m.view === 0 ? '' : ` (v${m.view})`}`);
          break;
        }
        case 'execute':
          node.jobs.push({ kind: 'execute', seq: effect.seq, requests: effect.requests });
          this.trace.push(`r${i} executes s${effect.seq} ${batchLabel(effect.requests)}`);
          break;
        case 'checkpoint':
          // The service state right after this batch: answered before any later execution.
          node.jobs.unshift({ kind: 'checkpoint', seq: effect.seq, clientTable: effect.clientTable });
          break;
        case 'send-chunk': {
          const bytes = node.images.get(effect.seq)?.chunks[effect.index];
          if (bytes !== undefined) this.enqueue({ kind: 'message', from: replicaId(i), to: effect.to, message: { type: 'chunk', seq: effect.seq, index: effect.index, bytes }, injected: false });
          break;
        }
        case 'store-chunk':
          if (node.fetching?.seq !== effect.seq) node.fetching = { seq: effect.seq, chunks: new Map() };
          node.fetching.chunks.set(effect.index, effect.bytes);
          break;
        case 'install-checkpoint':
          this.installCheckpoint(i, effect.seq, effect.manifest);
          break;
        case 'stable-checkpoint':
          node.stableCheckpoints.push(effect.seq);
          for (const seq of node.images.keys()) if (seq < effect.seq) node.images.delete(seq);
          this.trace.push(`r${i} stable checkpoint s${effect.seq}`);
          break;
        case 'view-change-started':
          this.viewEvents.push({ tick: this.now, replica: replicaId(i), kind: 'started', view: effect.view });
          this.trace.push(`r${i} starts view change to v${effect.view}`);
          break;
        case 'view-installed':
          this.viewEvents.push({ tick: this.now, replica: replicaId(i), kind: 'installed', view: effect.view });
          this.trace.push(`r${i} installs v${effect.view} (primary r${effect.primary})`);
          break;
        case 'rejected': {
          const from = 'replica' in effect.from ? `r${effect.from.replica}` : `c${effect.from.client}`;
          const verb = effect.rejection.action === 'reject-peer' ? 'rejects' : 'ignores';
          this.rejections.push({
            at: replicaId(i),
            from,
            messageType: effect.messageType,
            action: effect.rejection.action,
            reason: effect.rejection.reason,
          });
          this.trace.push(`r${i} ${verb} ${effect.messageType} from ${from}: ${effect.rejection.reason}`);
          break;
        }
        case 'delivered':
          break;
        case 'persist':
          (disk?.unsynced ?? node.journal).push(effect.record);
          break;
        case 'diverged':
          this.trace.push(`r${i} diverged at s${effect.seq}`);
          break;
        default: {
          const never: never = effect;
          throw new Error(`unknown effect ${JSON.stringify(never)}`);
        }
      }
    }
  }

  /** Answers queued jobs of replica i in order: snapshots at once, up to `count` executions. */
  private runJobs(i: number, count: number): void {
    const node = this.node(i);
    let done = 0;
    for (;;) {
      const job = node.jobs[0];
      if (job === undefined) return;
      if (job.kind === 'checkpoint') {
        node.jobs.shift();
        const lastSeq = node.history.at(-1)?.seq ?? 0;
        assert.equal(lastSeq, job.seq, `r${i} checkpoint of s${job.seq} taken after s${lastSeq}`);
        const image = this.imageOf(job.clientTable, node.service.entries);
        node.images.set(job.seq, image);
        this.trace.push(`r${i} snapshot s${job.seq} -> ${stateName(fakeCrypto(i).manifestDigest(image.manifest))}`);
        this.apply(i, node.core.step({ type: 'checkpoint-taken', seq: job.seq, manifest: image.manifest }));
        this.checkInvariants(i);
        continue;
      }
      if (done >= count) return;
      node.jobs.shift();
      const results = job.requests.map((r) => node.service.apply(r.operation));
      const labels = job.requests.map(requestLabel);
      const previous = Math.max(node.history.at(-1)?.seq ?? 0, node.installedAt);
      assert.equal(job.seq, previous + 1, `r${i} executes s${job.seq} after s${previous}`);
      node.history.push({ seq: job.seq, requests: labels });
      this.checkAgreement(i, job.seq, labels);
      this.trace.push(`r${i} executed s${job.seq} -> ${results.map((r) => `"${decoder.decode(r)}"`).join(',')}`);
      done++;
      this.apply(i, node.core.step({ type: 'executed', seq: job.seq, results }));
      this.checkInvariants(i);
    }
  }

  /**
   * The image of a checkpoint: the client table and the append log as JSON,
   * chunked by options.chunkBytes. Its state digest is named after the log
   * (`st:` + the digest of the entries, as {@link stateDigestOf}), so tests
   * can name a checkpoint by the entries it holds.
   */
  private imageOf(clientTable: readonly ClientTableEntry[], entries: readonly string[]): HarnessImage {
    const table = encoder.encode(JSON.stringify(clientTable.map((e) => [e.clientId, e.requestNo, Buffer.from(e.result).toString('hex')])));
    const state = encoder.encode(JSON.stringify(entries));
    const size = this.options.chunkBytes;
    const split = (bytes: Uint8Array): Uint8Array[] => {
      const out: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; at += size) out.push(bytes.slice(at, at + size));
      return out;
    };
    const chunks = [...split(table), ...split(state)];
    const crypto = fakeCrypto(0);
    const manifest: CheckpointManifest = {
      chunkBytes: size,
      clientTableBytes: table.length,
      serviceStateBytes: state.length,
      chunkDigests: chunks.map((c) => crypto.chunkDigest(c)),
    };
    nameState(crypto.manifestDigest(manifest), stateName(stateDigestOf(entries)));
    return { manifest, chunks };
  }

  /** Installs the fetched checkpoint `seq` [S12]: its append log replaces the service's, its client table goes to the core. */
  private installCheckpoint(i: number, seq: SeqNo, manifest: CheckpointManifest): void {
    const node = this.node(i);
    const fetched = node.fetching;
    assert.ok(fetched?.seq === seq && fetched.chunks.size === manifest.chunkDigests.length, `r${i} installs s${seq} without all its chunks`);
    const chunks = manifest.chunkDigests.map((_, index) => fetched.chunks.get(index) as Uint8Array);
    node.fetching = undefined;
    const clientTable = this.restoreImage(i, seq, { manifest, chunks });
    this.trace.push(`r${i} installs checkpoint s${seq} (${node.service.entries.length} entries)`);
    this.apply(i, node.core.step({ type: 'checkpoint-installed', seq, clientTable }));
  }

  /** Replica i's service takes image `seq`'s append log, keeps the image, and forgets executions after it; returns its client table. */
  private restoreImage(i: number, seq: number, image: HarnessImage): ClientTableEntry[] {
    const node = this.node(i);
    const { manifest, chunks } = image;
    const tableChunks = Math.ceil(manifest.clientTableBytes / manifest.chunkBytes);
    const join = (parts: readonly Uint8Array[]): string => decoder.decode(Buffer.concat(parts));
    const table = JSON.parse(join(chunks.slice(0, tableChunks))) as [number, number, string][];
    const entries = JSON.parse(join(chunks.slice(tableChunks))) as string[];
    node.service.entries.splice(0, node.service.entries.length, ...entries);
    node.images.set(seq, image);
    node.installedAt = seq;
    // A repair [S16] or a restart installs below what was executed: those executions were undone and run again.
    const undone = node.history.findIndex((batch) => batch.seq > seq);
    if (undone >= 0) node.history.splice(undone);
    return table.map(([client, requestNo, result]) => ({
      clientId: clientId(client),
      requestNo: requestNo as RequestNo,
      result: new Uint8Array(Buffer.from(result, 'hex')),
    }));
  }

  /**
   * Replica i lost its executions above `seq` in a restart: they no longer
   * count as the first execution of their sequence numbers unless another
   * replica made them too (what a client saw is checked by its replies).
   */
  private forgetExecutionsAbove(i: number, seq: number): void {
    for (const [s, first] of this.executedAt) {
      if (s <= seq || first.by !== i) continue;
      const other = this.replicas.find((r) => r !== i && this.node(r).history.some((b) => b.seq === s));
      if (other === undefined) this.executedAt.delete(s);
      else this.executedAt.set(s, { ...first, by: other });
    }
  }

  /** No two non-Byzantine replicas execute different batches at one sequence number. */
  private checkAgreement(i: number, seq: number, labels: readonly string[]): void {
    if (this.byzantine.has(i)) return;
    const label = labels.join(',');
    const first = this.executedAt.get(seq);
    if (first === undefined) this.executedAt.set(seq, { label, by: i });
    else assert.equal(label, first.label, `SAFETY: r${i} executes [${label}] at s${seq}, r${first.by} executed [${first.label}]`);
  }

  /** Bounds the core must keep after every step (checked continuously). */
  private checkInvariants(i: number): void {
    const node = this.node(i);
    const status = node.core.status();
    const inPipeline = node.proposed.filter((p) => p.view === status.view && p.seq > status.lastExecuted).length;
    this.pipelinePeak = Math.max(this.pipelinePeak, inPipeline);
    assert.ok(
      inPipeline <= this.options.pipelineMax,
      `r${i} has ${inPipeline} proposals in flight > pipelineMax ${this.options.pipelineMax}`,
    );
    const backlog = status.lastDelivered - status.lastExecuted;
    this.backlogPeak = Math.max(this.backlogPeak, backlog);
    assert.ok(
      backlog <= this.options.executeBacklogMax,
      `r${i} backlog ${backlog} > executeBacklogMax ${this.options.executeBacklogMax}`,
    );
    this.slotsPeak = Math.max(this.slotsPeak, status.slots);
    assert.ok(status.slots <= this.options.logWindow, `r${i} holds ${status.slots} slots > logWindow`);
  }
}

// --- step tables ------------------------------------------------------------

export interface Step {
  /** What happens, in words (printed when the step's expectations fail). */
  readonly step: string;
  readonly run: (c: Cluster) => void;
  /** Trace lines this step must produce, in this order (other lines may come between). */
  readonly expect?: readonly (string | RegExp)[];
  /** Trace lines this step must not produce. */
  readonly absent?: readonly (string | RegExp)[];
  /** Further checks after the step. */
  readonly check?: (c: Cluster) => void;
}

const lineMatches = (line: string, pattern: string | RegExp): boolean =>
  typeof pattern === 'string' ? line === pattern : pattern.test(line);

/** Runs a step table, checking each step's expected trace excerpt. */
export function runSteps(c: Cluster, steps: readonly Step[]): void {
  for (const [index, s] of steps.entries()) {
    const start = c.trace.length;
    const context = (): string => {
      const lines = c.trace.slice(start);
      return `step ${index + 1} "${s.step}" produced:\n  ${lines.slice(0, 400).join('\n  ')}${lines.length > 400 ? '\n  ...' : ''}`;
    };
    try {
      s.run(c);
    } catch (error) {
      if (error instanceof Error) error.message = `${error.message}\n${context()}`;
      throw error;
    }
    const lines = c.trace.slice(start);
    let at = 0;
    for (const pattern of s.expect ?? []) {
      const found = lines.findIndex((line, i) => i >= at && lineMatches(line, pattern));
      assert.ok(found >= 0, `expected trace line ${String(pattern)} (in order) - ${context()}`);
      at = found + 1;
    }
    for (const pattern of s.absent ?? []) {
      const found = lines.find((line) => lineMatches(line, pattern));
      assert.equal(found, undefined, `unexpected trace line ${String(pattern)} - ${context()}`);
    }
    try {
      s.check?.(c);
    } catch (error) {
      if (error instanceof Error) error.message = `${error.message}\n${context()}`;
      throw error;
    }
  }
}

/** Asserts every listed replica executed exactly the same batches (same seqs, same requests, same order). */
export function assertSameHistories(c: Cluster, replicas: readonly number[] = c.replicas): void {
  const [first, ...rest] = replicas;
  assert.ok(first !== undefined);
  for (const r of rest) {
    assert.deepEqual(c.history(r), c.history(first), `r${r} and r${first} executed different histories`);
    assert.deepEqual(c.serviceLog(r), c.serviceLog(first), `r${r} and r${first} have different service states`);
  }
}

/** Asserts the listed replicas' histories agree wherever both executed a sequence number (one may be shorter). */
export function assertConsistentHistories(c: Cluster, replicas: readonly number[] = c.replicas): void {
  for (const a of replicas) {
    for (const b of replicas) {
      if (a >= b) continue;
      const ha = c.history(a);
      const hb = c.history(b);
      const common = Math.min(ha.length, hb.length);
      assert.deepEqual(ha.slice(0, common), hb.slice(0, common), `r${a} and r${b} executed different batches`);
    }
  }
}

/** Asserts no request label appears twice in replica i's execution (exactly-once). */
export function assertExecutedOnce(c: Cluster, i: number): void {
  const seen = new Set<string>();
  for (const label of c.executedRequests(i)) {
    assert.ok(!seen.has(label), `r${i} executed ${label} twice`);
    seen.add(label);
  }
}

