/**
 * Deterministic scenario harness for the replica core.
 *
 * A cluster of n `ReplicaCore`s joined by one in-memory FIFO of in-flight
 * envelopes (replica -> replica messages and client -> replica requests, each
 * with its sender and receiver). Nothing moves unless a test says so:
 * `deliverAll`, `deliverWhere`, `deliverRound`, `deliverByChoices` take
 * envelopes off the queue; `drop`, `duplicateAll`, `reverseQueue` and
 * `blackhole` misbehave the network; `inject` lets a test speak for a
 * Byzantine replica (the core trusts the channel for the sender's identity,
 * so injection is exactly what a compromised replica could send).
 *
 * Every replica runs an append-log service whose result for an operation is
 * `operation + ':' + entries-so-far`, so results depend on the order of
 * execution and two replicas that executed in different orders disagree.
 * `execute` effects are queued per replica and answered with `executed`
 * events in order (immediately, unless the test holds execution back).
 *
 * Everything observable goes into `trace`, one readable line per event:
 *   c1 -> r0 request c1#1 "a"
 *   r0 -> r1 pre-prepare v0 s1 [c1#1,c2#1]
 *   r1 -> r2 prepare v0 s1 [c1#1,c2#1]        (digests are shown as the batch they name)
 *   r1 executes s1 [c1#1,c2#1]
 *   r1 executed s1 -> "a:1","b:2"
 *   r1 -> c1 reply c1#1 "a:1"
 *   r2 rejects prepare from r0: prepare-from-primary
 *   r2 ignores prepare from r1: duplicate
 *   drop r0 -> r3 pre-prepare v0 s1 [c1#1]     (a test dropped it)
 *   lost r0 -> r3 pre-prepare v0 s1 [c1#1]     (a blackhole swallowed it)
 * Steps can be written as tables (`runSteps`) whose expectations are trace
 * lines, so a failing scenario prints what happened in words.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ReplicaEffect } from '../../src/core/effects.js';
import type { ReplicaEvent } from '../../src/core/events.js';
import { bytesEqual, clientId, replicaId, type Digest, type ReplicaId } from '../../src/core/ids.js';
import type { PrePrepareMessage, ReplicaMessage, Request } from '../../src/core/messages.js';
import { defaultProtocolOptions, type ProtocolOptions } from '../../src/core/options.js';
import { requestNo, seqNo, view, type SeqNo } from '../../src/core/ordering.js';
import { maxFaults } from '../../src/core/quorum.js';
import { ReplicaCore } from '../../src/core/replica.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// --- requests, batches, digests --------------------------------------------

/** A request of client `c<client>` numbered `no`, with a text operation. */
export function req(client: number, no: number, operation = `op${client}.${no}`): Request {
  return { clientId: clientId(client), requestNo: requestNo(no), operation: encoder.encode(operation) };
}

export const requestLabel = (r: Request): string => `c${r.clientId}#${r.requestNo}`;
export const batchLabel = (rs: readonly Request[]): string => `[${rs.map(requestLabel).join(',')}]`;

/**
 * The test-only batch digest: SHA-256 over
 *   u32 count, then per request: u64 clientId, u64 requestNo, u32 length, bytes
 * (big-endian). Deterministic and injective, which is all the core relies on.
 */
export function batchDigest(requests: readonly Request[]): Digest {
  const digest = sha256Batch(requests);
  knownDigests.set(hex(digest), batchLabel(requests));
  return digest;
}

/** Digest (hex) -> label of every batch digested so far, for readable PREPARE / COMMIT lines. */
const knownDigests = new Map<string, string>();

function sha256Batch(requests: readonly Request[]): Digest {
  const hash = createHash('sha256');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(requests.length);
  hash.update(head);
  for (const r of requests) {
    const fixed = Buffer.alloc(20);
    fixed.writeBigUInt64BE(BigInt(r.clientId), 0);
    fixed.writeBigUInt64BE(BigInt(r.requestNo), 8);
    fixed.writeUInt32BE(r.operation.length, 16);
    hash.update(fixed);
    hash.update(r.operation);
  }
  return new Uint8Array(hash.digest());
}

/** A well-formed PRE-PREPARE (digest computed unless given). */
export function prePrepare(v: number, s: number, requests: readonly Request[], digest?: Digest): PrePrepareMessage {
  return { type: 'pre-prepare', view: view(v), seq: seqNo(s), digest: digest ?? batchDigest(requests), requests };
}

export function prepare(v: number, s: number, requests: readonly Request[]): ReplicaMessage {
  return { type: 'prepare', view: view(v), seq: seqNo(s), digest: batchDigest(requests) };
}

export function commit(v: number, s: number, requests: readonly Request[]): ReplicaMessage {
  return { type: 'commit', view: view(v), seq: seqNo(s), digest: batchDigest(requests) };
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

/** Predicate builder: `where({ type: 'commit', to: 3 })`. Omitted fields match anything. */
export function where(filter: {
  type?: ReplicaMessage['type'] | 'request' | readonly (ReplicaMessage['type'] | 'request')[];
  from?: number | readonly number[];
  to?: number | readonly number[];
  seq?: number;
}): EnvelopePredicate {
  const oneOf = <T>(spec: T | readonly T[] | undefined, value: T | undefined): boolean =>
    spec === undefined || (Array.isArray(spec) ? (spec as readonly T[]).includes(value as T) : spec === value);
  return (e) => {
    const type = e.kind === 'request' ? 'request' : e.message.type;
    const from = e.kind === 'request' ? undefined : e.from;
    const seq = e.kind === 'request' ? undefined : e.message.seq;
    if (!oneOf(filter.type, type)) return false;
    if (filter.from !== undefined && (from === undefined || !oneOf(filter.from, from))) return false;
    if (!oneOf(filter.to, e.to)) return false;
    if (filter.seq !== undefined && seq !== filter.seq) return false;
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
  /** Request labels, e.g. `c1#1`, in execution order. */
  readonly requests: readonly string[];
}

export interface ReplyRecord {
  readonly from: ReplicaId;
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

interface ReplicaNode {
  readonly core: ReplicaCore;
  readonly service: AppendLog;
  readonly history: ExecutedBatch[];
  /** Execute effects handed out and not yet answered with `executed`. */
  readonly executions: { seq: SeqNo; requests: readonly Request[] }[];
  holdExecution: boolean;
  /** Sequence numbers this replica proposed (as primary). */
  readonly proposed: number[];
}

export interface ClusterInit {
  readonly n: number;
  readonly f?: number;
  readonly options?: Partial<ProtocolOptions>;
}

export class Cluster {
  readonly n: number;
  readonly f: number;
  readonly options: ProtocolOptions;
  readonly trace: string[] = [];
  readonly replies: ReplyRecord[] = [];
  readonly rejections: RejectionRecord[] = [];
  /** Highest number of proposed-but-unexecuted sequence numbers any replica had. */
  pipelinePeak = 0;
  /** Highest lastDelivered - lastExecuted any replica reached. */
  backlogPeak = 0;
  /** Envelopes delivered so far (including duplicates). */
  deliveries = 0;

  private queue: Envelope[] = [];
  private readonly nodes: ReplicaNode[] = [];
  private readonly blackholes: EnvelopePredicate[] = [];

  constructor(init: ClusterInit) {
    this.n = init.n;
    this.f = init.f ?? maxFaults(init.n);
    this.options = { ...defaultProtocolOptions, ...init.options };
    for (let i = 0; i < this.n; i++) {
      this.nodes.push({
        core: new ReplicaCore({
          id: replicaId(i),
          n: this.n,
          f: this.f,
          options: this.options,
          batchDigest,
        }),
        service: new AppendLog(),
        history: [],
        executions: [],
        holdExecution: false,
        proposed: [],
      });
    }
  }

  get replicas(): readonly ReplicaId[] {
    return this.nodes.map((_, i) => replicaId(i));
  }

  replica(i: number): ReplicaCore {
    return this.node(i).core;
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

  /** Sequence numbers replica i proposed while primary. */
  proposedBy(i: number): readonly number[] {
    return this.node(i).proposed;
  }

  /** Replies to request `label` (e.g. `c1#1`). */
  repliesTo(label: string): ReplyRecord[] {
    return this.replies.filter((r) => r.request === label);
  }

  rejectionsAt(i: number): RejectionRecord[] {
    return this.rejections.filter((r) => r.at === i);
  }

  get pending(): readonly Envelope[] {
    return this.queue;
  }

  // --- input --------------------------------------------------------------

  /** A client sends `request` to the given replicas (default: all), through the queue (and blackholes). */
  submit(request: Request, toReplicas: readonly number[] = this.replicas): void {
    for (const to of toReplicas) this.enqueue({ kind: 'request', to: replicaId(to), request });
  }

  /** Puts a message "from" replica `from` on the queue (a Byzantine sender). Bypasses blackholes. */
  inject(from: number, to: number | readonly number[], message: ReplicaMessage): void {
    for (const t of typeof to === 'number' ? [to] : to) {
      this.queue.push({ kind: 'message', from: replicaId(from), to: replicaId(t), message, injected: true });
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

  /** Holds back (`true`) or resumes (`false`) the `executed` answers of replica i. */
  holdExecution(i: number, hold = true): void {
    const node = this.node(i);
    node.holdExecution = hold;
    if (!hold) this.runExecutions(i, Infinity);
  }

  /** Answers up to `count` held executions of replica i (in order). */
  releaseExecutions(i: number, count: number): void {
    this.runExecutions(i, count);
  }

  /** Execute effects of replica i awaiting their `executed` answer. */
  heldExecutions(i: number): number[] {
    return this.node(i).executions.map((e) => e.seq);
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
    return knownDigests.get(hex(digest)) ?? `d:${hex(digest).slice(0, 8)}`;
  }

  describe(e: Envelope): string {
    if (e.kind === 'request') {
      const r = e.request;
      return `c${r.clientId} -> r${e.to} request ${requestLabel(r)} "${decoder.decode(r.operation)}"`;
    }
    return `r${e.from} -> r${e.to} ${this.describeMessage(e.message)}`;
  }

  describeMessage(m: ReplicaMessage): string {
    const head = `${m.type} v${m.view} s${m.seq}`;
    if (m.type === 'pre-prepare') {
      const matches = bytesEqual(batchDigest(m.requests), m.digest);
      return `${head} ${batchLabel(m.requests)}${matches ? '' : ` digest=${this.digestName(m.digest)}`}`;
    }
    return `${head} ${this.digestName(m.digest)}`;
  }

  // --- internals ------------------------------------------------------------

  private node(i: number): ReplicaNode {
    const node = this.nodes[i];
    assert.ok(node !== undefined, `no replica ${i}`);
    return node;
  }

  private enqueue(e: Envelope): void {
    if (this.blackholes.some((p) => p(e))) this.trace.push(`lost ${this.describe(e)}`);
    else this.queue.push(e);
  }

  private deliver(e: Envelope): void {
    this.deliveries++;
    this.trace.push(this.describe(e));
    const event: ReplicaEvent =
      e.kind === 'request'
        ? { type: 'request', request: e.request }
        : { type: 'message', from: e.from, message: e.message };
    this.step(e.to, event);
  }

  private step(i: number, event: ReplicaEvent): void {
    const node = this.node(i);
    const effects = node.core.step(event);
    this.apply(i, effects);
    this.checkInvariants(i);
    this.runExecutions(i, node.holdExecution ? 0 : Infinity);
  }

  private apply(i: number, effects: readonly ReplicaEffect[]): void {
    const node = this.node(i);
    for (const effect of effects) {
      switch (effect.type) {
        case 'send': {
          const m = effect.message;
          if (m.type === 'pre-prepare' && effect.to === 'others') node.proposed.push(m.seq);
          const targets = effect.to === 'others' ? this.replicas.filter((r) => r !== i) : [effect.to];
          for (const to of targets) {
            this.enqueue({ kind: 'message', from: replicaId(i), to, message: m, injected: false });
          }
          break;
        }
        case 'reply': {
          const m = effect.message;
          const label = `c${m.clientId}#${m.requestNo}`;
          const result = decoder.decode(m.result);
          assert.equal(effect.clientId, m.clientId, 'reply addressed to the session it answers');
          this.replies.push({ from: replicaId(i), request: label, result });
          this.trace.push(`r${i} -> c${m.clientId} reply ${label} "${result}"`);
          break;
        }
        case 'execute':
          node.executions.push({ seq: effect.seq, requests: effect.requests });
          this.trace.push(`r${i} executes s${effect.seq} ${batchLabel(effect.requests)}`);
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
        default: {
          const never: never = effect;
          throw new Error(`unknown effect ${JSON.stringify(never)}`);
        }
      }
    }
  }

  /** Answers up to `count` queued executions of replica i, in order. */
  private runExecutions(i: number, count: number): void {
    const node = this.node(i);
    let done = 0;
    while (done < count && node.executions.length > 0) {
      const execution = node.executions.shift() as { seq: SeqNo; requests: readonly Request[] };
      const results = execution.requests.map((r) => node.service.apply(r.operation));
      const labels = execution.requests.map(requestLabel);
      const previous = node.history.at(-1)?.seq ?? 0;
      assert.equal(execution.seq, previous + 1, `r${i} executes s${execution.seq} after s${previous}`);
      node.history.push({ seq: execution.seq, requests: labels });
      this.trace.push(`r${i} executed s${execution.seq} -> ${results.map((r) => `"${decoder.decode(r)}"`).join(',')}`);
      done++;
      const effects = node.core.step({ type: 'executed', seq: execution.seq, results });
      this.apply(i, effects);
      this.checkInvariants(i);
    }
  }

  /** Bounds the core must keep after every step (checked continuously). */
  private checkInvariants(i: number): void {
    const node = this.node(i);
    const status = node.core.status();
    const inPipeline = node.proposed.filter((s) => s > status.lastExecuted).length;
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
    assert.ok(status.slots <= this.options.logWindow, `r${i} holds ${status.slots} slots > logWindow`);
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
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
    s.run(c);
    const lines = c.trace.slice(start);
    const context = (): string =>
      `step ${index + 1} "${s.step}" produced:\n  ${lines.slice(0, 400).join('\n  ')}${lines.length > 400 ? '\n  ...' : ''}`;
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

/** Asserts no request label appears twice in replica i's execution (exactly-once). */
export function assertExecutedOnce(c: Cluster, i: number): void {
  const seen = new Set<string>();
  for (const label of c.executedRequests(i)) {
    assert.ok(!seen.has(label), `r${i} executed ${label} twice`);
    seen.add(label);
  }
}
