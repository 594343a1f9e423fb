/**
 * The client's protocol core: sessions, retransmission and reply quorums.
 * Pure and synchronous like the replica core; time arrives as `tick`.
 *
 * A client owns several sessions (client ids); each has at most one request
 * outstanding, numbered above every earlier request of that session.
 * Invocations wait in a bounded FIFO queue for a free session. A request goes
 * to every replica; its result is accepted when f + 1 distinct replicas
 * returned identical bytes, so at least one correct replica vouches for it
 * (ancestor defect 4: one faulty first reply must not decide). Without an
 * answer the request is sent again, with exponential backoff.
 *
 * f + 1 matching replies marked refused mean a correct replica refused the
 * request at delivery: its session is unknown to a client table that is full,
 * and since sessions are never evicted it stays so. The invocation fails
 * (`refused`) and the session is retired; invocations go on over the
 * others, and fail at once when every session is retired. f + 1 matching
 * `failed` replies (the service threw on the request, which executed) or
 * `rejected` ones (no replica will order it) end the invocation with that
 * answer; the session goes on.
 *
 * A `cancel` (the caller's deadline or abort signal) ends an invocation
 * without an answer: a queued one never goes out, a sent one may still
 * execute. Its session is free again at once: the next request on it has a
 * higher number, so the replicas execute at most one of the two in number
 * order and exactly-once holds; a late reply to the cancelled one is not
 * outstanding any more and is ignored.
 *
 * Read-only invocations (docs/PROTOCOL.md, "Read-only requests", Q1-Q12) go
 * to every replica unordered, numbered by the client's own read ids, at most
 * `readOnlyInFlightMax` at once (more wait in a queue of their own). One
 * resolves when a quorum of replicas (2f + 1 of 3f + 1) return identical
 * executed answers; as soon as that cannot happen any more (answers that
 * disagree or refuse), or after `readOnlyTimeoutTicks`, the same operation
 * becomes an ordinary ordered invocation under the same token, and resolves
 * or fails as one.
 */
import { assert, assertNever } from './assert.js';
import { bytesEqual, type ClientId, type ReplicaId } from './ids.js';
import type {
  ReadReplyMessage,
  ReadReplyStatus,
  ReadRequestMessage,
  ReplyMessage,
  RequestMessage,
  RequestStatement,
  Signature,
} from './messages.js';
import { next, ORDINAL_MAX, requestNo as toRequestNo, type RequestNo, type View } from './ordering.js';
import { quorumSizes, VoteSet } from './quorum.js';

/**
 * Signs requests with the client's Ed25519 key, injected so that the core
 * stays pure (src/runtime/client.ts uses node:crypto; the simulator models it).
 */
export interface RequestSigner {
  /** The client's raw 32-byte Ed25519 public key: the key its session ids derive from. */
  readonly publicKey: Uint8Array;
  /** The client's signature on the request statement (its encoding is the wire codec's `encodeRequestStatement`). */
  sign(statement: RequestStatement): Signature;
}

export interface ClientCoreInit {
  readonly n: number;
  readonly f: number;
  /** The session ids this client may use. */
  readonly sessions: readonly ClientId[];
  /**
   * Request number of each session's first request. Must exceed any number
   * an earlier incarnation with the same ids used (the runtime derives it
   * from the wall clock, as PBFT's request timestamps).
   */
  readonly firstRequestNo: number;
  /** Ticks before the first retransmission of a request. */
  readonly retransmitTicks: number;
  /** Backoff ceiling, in ticks. */
  readonly retransmitTicksMax: number;
  /** Invocations that may wait for a free session. */
  readonly queueMax: number;
  /** Signs every request [A1]. */
  readonly signer: RequestSigner;
  /**
   * Ticks a read-only request waits for a quorum of matching answers before
   * it is ordered instead [Q9]. Default `retransmitTicks` (PBFT orders it
   * when its retransmission timer expires, TOCS 2002 sec. 5.1.3).
   */
  readonly readOnlyTimeoutTicks?: number;
  /** Read-only requests on the wire at once [Q3]; more wait in their queue (bounded by `queueMax`). Default {@link READ_ONLY_IN_FLIGHT_MAX}. */
  readonly readOnlyInFlightMax?: number;
}

/** Default bound on a client's read-only requests on the wire at once [Q3]. */
export const READ_ONLY_IN_FLIGHT_MAX = 16;

/** Why a read-only invocation became an ordered one [Q8, Q9]. */
export type ReadOnlyFallbackReason = 'disagreement' | 'timeout' | ReadReplyStatus;

export type ClientEvent =
  | { readonly type: 'invoke'; readonly token: number; readonly operation: Uint8Array }
  /** Invoke read-only [Q3]: unordered first, ordered if need be. `timeoutTicks` overrides `readOnlyTimeoutTicks`. */
  | { readonly type: 'invoke-read-only'; readonly token: number; readonly operation: Uint8Array; readonly timeoutTicks?: number }
  | { readonly type: 'read-reply'; readonly from: ReplicaId; readonly message: ReadReplyMessage }
  /** Give up on invocation `token` (deadline or abort); answered by `cancelled` if it was still open. */
  | { readonly type: 'cancel'; readonly token: number }
  | { readonly type: 'reply'; readonly from: ReplicaId; readonly message: ReplyMessage }
  | { readonly type: 'tick' };

export type ClientEffect =
  /** Send to every replica. */
  | { readonly type: 'broadcast'; readonly message: RequestMessage; readonly retransmission: boolean }
  /** Send a read-only request to every replica [Q3]; it is never retransmitted. */
  | { readonly type: 'broadcast-read'; readonly message: ReadRequestMessage }
  /** Read-only invocation `token` completed with `result`, unordered: `replicas` (a quorum) answered it alike [Q8]. */
  | { readonly type: 'read-resolve'; readonly token: number; readonly result: Uint8Array; readonly replicas: number }
  /**
   * Read-only invocation `token` goes on as an ordered one [Q8, Q9] (its
   * `broadcast` follows, or it queues for a session): for logs and metrics.
   * `seen` is what the read-only round saw.
   */
  | { readonly type: 'read-fallback'; readonly token: number; readonly reason: ReadOnlyFallbackReason; readonly seen: Progress }
  /** Invocation `token` completed with `result` (f + 1 matching replies). */
  | {
      readonly type: 'resolve';
      readonly token: number;
      readonly result: Uint8Array;
      /** How many replicas sent this result when it was accepted. */
      readonly replicas: number;
      /** The view of the reply that completed the quorum. */
      readonly view: View;
    }
  /** Invocation `token` was refused: the queue is full. */
  | { readonly type: 'overloaded'; readonly token: number }
  /**
   * Invocation `token` was not executed and never will be: the replicas'
   * client table is full and does not know its session (`replicas` said so,
   * 0 when no session was left to try).
   */
  | { readonly type: 'refused'; readonly token: number; readonly replicas: number }
  /** f + 1 replicas said the service's `update` threw on the request (it executed; the state is as before it). */
  | { readonly type: 'failed'; readonly token: number; readonly message: Uint8Array }
  /** f + 1 replicas rejected the request without ordering it: it breaks a limit they all apply. */
  | { readonly type: 'invalid'; readonly token: number; readonly reason: Uint8Array }
  /** Invocation `token` was cancelled before an answer; what had been seen of it. */
  | { readonly type: 'cancelled'; readonly token: number; readonly seen: Progress }
  /** A reply was ignored; for logs and metrics. */
  | { readonly type: 'rejected'; readonly from: ReplicaId; readonly reason: string };

/** How far an invocation got: for the errors of a deadline or an abort. */
export interface Progress {
  /** It was still waiting for a free session: nothing was sent. */
  readonly queued: boolean;
  /** Replicas that answered the current request, in id order. */
  readonly answered: readonly ReplicaId[];
  /** The most of those answers that agree. */
  readonly matching: number;
  /** Matching answers an invocation needs: f + 1 (a quorum for a read-only request still unordered). */
  readonly needed: number;
}

/** What a replica answered: its reply's status (undefined: executed) and result. */
interface Answer {
  readonly status: ReplyMessage['status'];
  readonly result: Uint8Array;
}

const sameAnswer = (a: Answer, b: Answer): boolean => a.status === b.status && bytesEqual(a.result, b.result);

interface Outstanding {
  readonly token: number;
  readonly message: RequestMessage;
  readonly replies: VoteSet<Answer>;
  ticksLeft: number;
  backoff: number;
}

/** A read-only request's answer from one replica: `status` undefined for a `query` result [Q7]. */
interface ReadAnswer {
  readonly status: ReadReplyStatus | undefined;
  readonly result: Uint8Array;
}

const sameReadAnswer = (a: ReadAnswer, b: ReadAnswer): boolean => a.status === b.status && bytesEqual(a.result, b.result);

/** A read-only request on the wire. */
interface OutstandingRead {
  readonly token: number;
  readonly operation: Uint8Array;
  readonly answers: VoteSet<ReadAnswer>;
  /** The distinct answers received, each once (at most n). */
  readonly distinct: ReadAnswer[];
  ticksLeft: number;
}

/** A read-only invocation waiting for room on the wire. */
interface QueuedRead {
  readonly token: number;
  readonly operation: Uint8Array;
  readonly timeoutTicks: number;
}

interface Session {
  readonly id: ClientId;
  lastRequestNo: RequestNo;
  outstanding: Outstanding | undefined;
}

export class ClientCore {
  private readonly sessions: Session[];
  private readonly byId = new Map<ClientId, Session>();
  private readonly idle: Session[];
  /** Sessions a full client table refused; never used again. */
  private retired = 0;
  private readonly queue: { token: number; operation: Uint8Array }[] = [];
  private readonly weak: number;
  /** Matching answers a read-only request needs: a quorum, 2f + 1 when n = 3f + 1 [Q8]. */
  private readonly readQuorum: number;
  private readonly readTimeoutTicks: number;
  private readonly readsMax: number;
  /** Read-only requests on the wire, by read id. */
  private readonly reads = new Map<number, OutstandingRead>();
  private readonly readQueue: QueuedRead[] = [];
  private lastReadId = 0;
  private effects: ClientEffect[] = [];

  constructor(private readonly init: ClientCoreInit) {
    assert(init.sessions.length > 0, 'a client needs at least one session');
    assert(init.n >= 3 * init.f + 1, `n=${init.n} cannot tolerate f=${init.f}`);
    assert(init.firstRequestNo >= 1, 'firstRequestNo must be >= 1');
    assert(init.retransmitTicks >= 1 && init.retransmitTicksMax >= init.retransmitTicks, 'bad retransmission ticks');
    this.weak = init.f + 1;
    this.readQuorum = quorumSizes(init.n, init.f).quorum;
    this.readTimeoutTicks = init.readOnlyTimeoutTicks ?? init.retransmitTicks;
    this.readsMax = init.readOnlyInFlightMax ?? READ_ONLY_IN_FLIGHT_MAX;
    assert(Number.isSafeInteger(this.readTimeoutTicks) && this.readTimeoutTicks >= 1, 'bad read-only timeout ticks');
    assert(Number.isSafeInteger(this.readsMax) && this.readsMax >= 1, 'bad read-only in-flight bound');
    const last = toRequestNo(init.firstRequestNo - 1);
    this.sessions = init.sessions.map((id) => ({ id, lastRequestNo: last, outstanding: undefined }));
    for (const s of this.sessions) this.byId.set(s.id, s);
    this.idle = [...this.sessions].reverse();
  }

  step(event: ClientEvent): ClientEffect[] {
    switch (event.type) {
      case 'invoke':
        this.onInvoke(event.token, event.operation);
        break;
      case 'invoke-read-only':
        this.onInvokeReadOnly(event.token, event.operation, event.timeoutTicks ?? this.readTimeoutTicks);
        break;
      case 'reply':
        this.onReply(event.from, event.message);
        break;
      case 'read-reply':
        this.onReadReply(event.from, event.message);
        break;
      case 'cancel':
        this.onCancel(event.token);
        break;
      case 'tick':
        this.onTick();
        break;
      default:
        assertNever(event, 'client event');
    }
    const out = this.effects;
    this.effects = [];
    return out;
  }

  /** Invocations sent and not yet resolved, plus those queued (read-only ones included). */
  get inFlight(): number {
    return this.sessions.length - this.retired - this.idle.length + this.queue.length + this.reads.size + this.readQueue.length;
  }

  /** [Q3] Sends a read-only request to every replica, or queues it while `readOnlyInFlightMax` are on the wire. */
  private onInvokeReadOnly(token: number, operation: Uint8Array, timeoutTicks: number): void {
    assert(Number.isSafeInteger(timeoutTicks) && timeoutTicks >= 1, 'bad read-only timeout ticks');
    if (this.reads.size < this.readsMax) this.sendRead(token, operation, timeoutTicks);
    else if (this.readQueue.length < this.init.queueMax) this.readQueue.push({ token, operation, timeoutTicks });
    else this.effects.push({ type: 'overloaded', token });
  }

  private sendRead(token: number, operation: Uint8Array, timeoutTicks: number): void {
    assert(this.lastReadId < ORDINAL_MAX, 'read ids exhausted');
    const readId = ++this.lastReadId;
    this.reads.set(readId, { token, operation, answers: new VoteSet(sameReadAnswer), distinct: [], ticksLeft: timeoutTicks });
    this.effects.push({ type: 'broadcast-read', message: { type: 'read-request', readId, operation } });
  }

  /** [Q8] A quorum of identical executed answers resolves; once none can form, the request is ordered. */
  private onReadReply(from: ReplicaId, reply: ReadReplyMessage): void {
    if (from < 0 || from >= this.init.n) return this.reject(from, 'unknown-replica');
    const read = this.reads.get(reply.readId);
    if (read === undefined) return this.reject(from, 'not-outstanding'); // late, after a fallback, or never ours
    const answer: ReadAnswer = { status: reply.status, result: reply.result };
    const vote = read.answers.add(from, answer);
    if (vote === 'equivocation') return this.reject(from, 'equivocating-reply');
    if (vote === 'duplicate') return;
    if (!read.distinct.some((a) => sameReadAnswer(a, answer))) read.distinct.push(answer);
    let best = 0; // the most replicas behind one executed answer
    for (const a of read.distinct) if (a.status === undefined) best = Math.max(best, read.answers.count(a));
    if (answer.status === undefined && read.answers.count(answer) >= this.readQuorum) {
      this.endRead(reply.readId);
      this.effects.push({ type: 'read-resolve', token: read.token, result: reply.result, replicas: this.readQuorum });
      return;
    }
    const silent = this.init.n - read.answers.size;
    if (best + silent >= this.readQuorum) return; // a quorum may still form
    // [Q8] f + 1 alike refusals or failures mean a correct replica gave one: name it; otherwise the answers disagree.
    const refusal = read.distinct.find((a) => a.status !== undefined && read.answers.count(a) >= this.weak);
    this.fallBack(reply.readId, refusal?.status ?? 'disagreement');
  }

  /** [Q8, Q9] Read-only request `readId` becomes an ordered invocation of the same operation and token. */
  private fallBack(readId: number, reason: ReadOnlyFallbackReason): void {
    const read = this.reads.get(readId);
    assert(read !== undefined, 'fallback of a read that is not outstanding');
    this.endRead(readId);
    this.effects.push({ type: 'read-fallback', token: read.token, reason, seen: this.readProgress(read) });
    this.onInvoke(read.token, read.operation);
  }

  /** Read-only request `readId` is off the wire: the next queued one takes its place. */
  private endRead(readId: number): void {
    this.reads.delete(readId);
    const waiting = this.readQueue.shift();
    if (waiting !== undefined) this.sendRead(waiting.token, waiting.operation, waiting.timeoutTicks);
  }

  private readProgress(read: OutstandingRead): Progress {
    let matching = 0;
    for (const a of read.distinct) matching = Math.max(matching, read.answers.count(a));
    const answered = read.answers.allVoters().sort((a, b) => a - b);
    return { queued: false, answered, matching, needed: this.readQuorum };
  }

  private onInvoke(token: number, operation: Uint8Array): void {
    if (this.retired === this.sessions.length) {
      this.effects.push({ type: 'refused', token, replicas: 0 });
      return;
    }
    const session = this.idle.pop();
    if (session !== undefined) {
      this.send(session, token, operation);
    } else if (this.queue.length < this.init.queueMax) {
      this.queue.push({ token, operation });
    } else {
      this.effects.push({ type: 'overloaded', token });
    }
  }

  private send(session: Session, token: number, operation: Uint8Array): void {
    session.lastRequestNo = next(session.lastRequestNo);
    const statement: RequestStatement = { clientId: session.id, requestNo: session.lastRequestNo, operation };
    const { signer } = this.init;
    const message: RequestMessage = {
      type: 'request',
      request: { ...statement, clientKey: signer.publicKey, signature: signer.sign(statement) },
    };
    session.outstanding = {
      token,
      message,
      replies: new VoteSet(sameAnswer),
      ticksLeft: this.init.retransmitTicks,
      backoff: this.init.retransmitTicks,
    };
    this.effects.push({ type: 'broadcast', message, retransmission: false });
  }

  private onReply(from: ReplicaId, reply: ReplyMessage): void {
    if (from < 0 || from >= this.init.n) return this.reject(from, 'unknown-replica');
    const session = this.byId.get(reply.clientId);
    const outstanding = session?.outstanding;
    if (session === undefined || outstanding === undefined || reply.requestNo !== session.lastRequestNo) {
      return this.reject(from, 'not-outstanding'); // late duplicate or never ours
    }
    const answer: Answer = { status: reply.status, result: reply.result };
    const vote = outstanding.replies.add(from, answer);
    if (vote === 'equivocation') return this.reject(from, 'equivocating-reply');
    if (vote === 'duplicate') return;
    const matching = outstanding.replies.count(answer);
    if (matching < this.weak) return;
    session.outstanding = undefined;
    const { token } = outstanding;
    switch (answer.status) {
      case 'refused':
        this.effects.push({ type: 'refused', token, replicas: matching });
        this.retire();
        return;
      case 'failed':
        this.effects.push({ type: 'failed', token, message: reply.result });
        break;
      case 'rejected':
        this.effects.push({ type: 'invalid', token, reason: reply.result });
        break;
      case undefined:
        this.effects.push({ type: 'resolve', token, result: reply.result, replicas: matching, view: reply.view });
        break;
      default:
        assertNever(answer.status, 'reply status');
    }
    this.release(session);
  }

  /** `session` has nothing outstanding: it takes the next queued invocation, or waits. */
  private release(session: Session): void {
    const waiting = this.queue.shift();
    if (waiting !== undefined) this.send(session, waiting.token, waiting.operation);
    else this.idle.push(session);
  }

  private onCancel(token: number): void {
    const queuedRead = this.readQueue.findIndex((w) => w.token === token);
    if (queuedRead >= 0) {
      this.readQueue.splice(queuedRead, 1);
      this.effects.push({ type: 'cancelled', token, seen: { queued: true, answered: [], matching: 0, needed: this.readQuorum } });
      return;
    }
    for (const [readId, read] of this.reads) {
      if (read.token !== token) continue;
      this.endRead(readId);
      this.effects.push({ type: 'cancelled', token, seen: this.readProgress(read) });
      return;
    }
    const queued = this.queue.findIndex((w) => w.token === token);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.effects.push({ type: 'cancelled', token, seen: { queued: true, answered: [], matching: 0, needed: this.weak } });
      return;
    }
    const session = this.sessions.find((s) => s.outstanding?.token === token);
    const outstanding = session?.outstanding;
    if (session === undefined || outstanding === undefined) return; // already answered
    session.outstanding = undefined;
    const answered = outstanding.replies.allVoters().sort((a, b) => a - b);
    this.effects.push({ type: 'cancelled', token, seen: { queued: false, answered, matching: outstanding.replies.mostVotes(), needed: this.weak } });
    this.release(session);
  }

  /** A session was refused; once none is left, nothing queued can ever be sent. */
  private retire(): void {
    this.retired++;
    if (this.retired < this.sessions.length) return;
    for (const waiting of this.queue.splice(0)) this.effects.push({ type: 'refused', token: waiting.token, replicas: 0 });
  }

  private onTick(): void {
    // [Q9] A read-only request without a quorum in time is ordered.
    for (const [readId, read] of [...this.reads]) if (--read.ticksLeft <= 0) this.fallBack(readId, 'timeout');
    for (const session of this.sessions) {
      const o = session.outstanding;
      if (o === undefined || --o.ticksLeft > 0) continue;
      o.backoff = Math.min(o.backoff * 2, this.init.retransmitTicksMax);
      o.ticksLeft = o.backoff;
      this.effects.push({ type: 'broadcast', message: o.message, retransmission: true });
    }
  }

  private reject(from: ReplicaId, reason: string): void {
    this.effects.push({ type: 'rejected', from, reason });
  }
}
