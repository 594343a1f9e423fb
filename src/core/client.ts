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
 * Read-only invocations (docs/PROTOCOL.md, "Read-only requests", Q1-Q12;
 * src/core/client-reads.ts) go
 * to every replica unordered, numbered by the client's own read ids, at most
 * `readOnlyInFlightMax` at once (more wait in a queue of their own). One
 * resolves when a quorum of replicas (2f + 1 of 3f + 1) return identical
 * executed answers; as soon as that cannot happen any more (answers that
 * disagree or refuse), or after `readOnlyTimeoutTicks`, the same operation
 * becomes an ordinary ordered invocation under the same token, and resolves
 * or fails as one.
 */
import { assert, assertNever } from './assert.js';
import { sameAnswer, type Answer } from './answer.js';
import { ClientReads } from './client-reads.js';
import type { ClientId, ReplicaId } from './ids.js';
import type {
  ReadReplyMessage,
  ReadReplyStatus,
  ReadRequestMessage,
  ReplyMessage,
  RequestMessage,
  RequestStatement,
  Signature,
} from './messages.js';
import { next, requestNo as toRequestNo, type RequestNo, type View } from './ordering.js';
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

interface Outstanding {
  readonly token: number;
  readonly message: RequestMessage;
  readonly replies: VoteSet<Answer<ReplyMessage['status']>>;
  ticksLeft: number;
  backoff: number;
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
  private readonly readTimeoutTicks: number;
  private readonly reads: ClientReads;
  private effects: ClientEffect[] = [];

  constructor(private readonly init: ClientCoreInit) {
    assert(init.sessions.length > 0, 'a client needs at least one session');
    assert(init.n >= 3 * init.f + 1, `n=${init.n} cannot tolerate f=${init.f}`);
    assert(init.firstRequestNo >= 1, 'firstRequestNo must be >= 1');
    assert(init.retransmitTicks >= 1 && init.retransmitTicksMax >= init.retransmitTicks, 'bad retransmission ticks');
    this.weak = init.f + 1;
    this.readTimeoutTicks = init.readOnlyTimeoutTicks ?? init.retransmitTicks;
    assert(Number.isSafeInteger(this.readTimeoutTicks) && this.readTimeoutTicks >= 1, 'bad read-only timeout ticks');
    this.reads = new ClientReads({
      n: init.n,
      weak: this.weak,
      quorum: quorumSizes(init.n, init.f).quorum,
      inFlightMax: init.readOnlyInFlightMax ?? READ_ONLY_IN_FLIGHT_MAX,
      queueMax: init.queueMax,
      emit: (effect) => this.effects.push(effect),
      order: (token, operation) => this.onInvoke(token, operation),
      reject: (from, reason) => this.reject(from, reason),
    });
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
        this.reads.invoke(event.token, event.operation, event.timeoutTicks ?? this.readTimeoutTicks);
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
    return this.sessions.length - this.retired - this.idle.length + this.queue.length + this.reads.size;
  }

  private onReadReply(from: ReplicaId, reply: ReadReplyMessage): void {
    if (from < 0 || from >= this.init.n) return this.reject(from, 'unknown-replica');
    this.reads.onReply(from, reply);
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
    const answer: Answer<ReplyMessage['status']> = { status: reply.status, result: reply.result };
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
    if (this.reads.cancel(token)) return;
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
    this.reads.onTick(); // [Q9]
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
