/**
 * A client core's read-only requests (docs/PROTOCOL.md, "Read-only
 * requests", Q1-Q12): sent unordered to every replica under the client's
 * own read ids, at most `inFlightMax` at once (more wait in a queue of their
 * own), resolved by a quorum of identical executed answers, and handed back
 * to be ordered (`order`) as soon as that quorum cannot form any more or
 * when their time is up. Part of src/core/client.ts's ClientCore.
 */
import { assert } from './assert.js';
import type { ClientEffect, Progress, ReadOnlyFallbackReason } from './client.js';
import { sameAnswer, type Answer } from './answer.js';
import type { ReplicaId } from './ids.js';
import type { ReadReplyMessage, ReadReplyStatus } from './messages.js';
import { ORDINAL_MAX } from './ordering.js';
import { VoteSet } from './quorum.js';

/** What the read-only requests need from the client core. */
export interface ReadsHost {
  readonly n: number;
  /** f + 1: alike refusals from that many include a correct replica's. */
  readonly weak: number;
  /** Matching executed answers a read needs: a quorum, 2f + 1 when n = 3f + 1 [Q8]. */
  readonly quorum: number;
  readonly inFlightMax: number;
  readonly queueMax: number;
  emit(effect: ClientEffect): void;
  /** Orders `operation` as an ordinary invocation under `token` [Q8, Q9]. */
  order(token: number, operation: Uint8Array): void;
  reject(from: ReplicaId, reason: string): void;
}

/** A read-only request on the wire. */
interface OutstandingRead {
  readonly token: number;
  readonly operation: Uint8Array;
  /** Each replica's answer: `status` undefined for a `query` result [Q7]. */
  readonly answers: VoteSet<Answer<ReadReplyStatus | undefined>>;
  /** The distinct answers received, each once (at most n). */
  readonly distinct: Answer<ReadReplyStatus | undefined>[];
  ticksLeft: number;
}

/** A read-only invocation waiting for room on the wire. */
interface QueuedRead {
  readonly token: number;
  readonly operation: Uint8Array;
  readonly timeoutTicks: number;
}

export class ClientReads {
  /** Read-only requests on the wire, by read id. */
  private readonly reads = new Map<number, OutstandingRead>();
  private readonly queue: QueuedRead[] = [];
  private lastReadId = 0;

  constructor(private readonly host: ReadsHost) {
    assert(Number.isSafeInteger(host.inFlightMax) && host.inFlightMax >= 1, 'bad read-only in-flight bound');
  }

  /** Read-only invocations on the wire or queued. */
  get size(): number {
    return this.reads.size + this.queue.length;
  }

  /** [Q3] Sends a read-only request to every replica, or queues it while `inFlightMax` are on the wire. */
  invoke(token: number, operation: Uint8Array, timeoutTicks: number): void {
    assert(Number.isSafeInteger(timeoutTicks) && timeoutTicks >= 1, 'bad read-only timeout ticks');
    if (this.reads.size < this.host.inFlightMax) this.send(token, operation, timeoutTicks);
    else if (this.queue.length < this.host.queueMax) this.queue.push({ token, operation, timeoutTicks });
    else this.host.emit({ type: 'overloaded', token });
  }

  /** [Q8] A quorum of identical executed answers resolves; once none can form, the request is ordered. */
  onReply(from: ReplicaId, reply: ReadReplyMessage): void {
    const read = this.reads.get(reply.readId);
    if (read === undefined) return this.host.reject(from, 'not-outstanding'); // late, after a fallback, or never ours
    const answer: Answer<ReadReplyStatus | undefined> = { status: reply.status, result: reply.result };
    const vote = read.answers.add(from, answer);
    if (vote === 'equivocation') return this.host.reject(from, 'equivocating-reply');
    if (vote === 'duplicate') return;
    if (!read.distinct.some((a) => sameAnswer(a, answer))) read.distinct.push(answer);
    const { quorum } = this.host;
    if (answer.status === undefined && read.answers.count(answer) >= quorum) {
      this.end(reply.readId);
      this.host.emit({ type: 'read-resolve', token: read.token, result: reply.result, replicas: quorum });
      return;
    }
    let best = 0; // the most replicas behind one executed answer
    for (const a of read.distinct) if (a.status === undefined) best = Math.max(best, read.answers.count(a));
    const silent = this.host.n - read.answers.size;
    if (best + silent >= quorum) return; // a quorum may still form
    // [Q8] f + 1 alike refusals or failures mean a correct replica gave one: name it; otherwise the answers disagree.
    const refusal = read.distinct.find((a) => a.status !== undefined && read.answers.count(a) >= this.host.weak);
    this.fallBack(reply.readId, refusal?.status ?? 'disagreement');
  }

  /** Ends read-only invocation `token` if it is one of these; whether it was. */
  cancel(token: number): boolean {
    const queued = this.queue.findIndex((w) => w.token === token);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.host.emit({ type: 'cancelled', token, seen: { queued: true, answered: [], matching: 0, needed: this.host.quorum } });
      return true;
    }
    for (const [readId, read] of this.reads) {
      if (read.token !== token) continue;
      this.end(readId);
      this.host.emit({ type: 'cancelled', token, seen: this.progress(read) });
      return true;
    }
    return false;
  }

  /** [Q9] A read-only request without a quorum in time is ordered. */
  onTick(): void {
    for (const [readId, read] of [...this.reads]) if (--read.ticksLeft <= 0) this.fallBack(readId, 'timeout');
  }

  private send(token: number, operation: Uint8Array, timeoutTicks: number): void {
    assert(this.lastReadId < ORDINAL_MAX, 'read ids exhausted');
    const readId = ++this.lastReadId;
    this.reads.set(readId, { token, operation, answers: new VoteSet(sameAnswer), distinct: [], ticksLeft: timeoutTicks });
    this.host.emit({ type: 'broadcast-read', message: { type: 'read-request', readId, operation } });
  }

  /** [Q8, Q9] Read-only request `readId` becomes an ordered invocation of the same operation and token. */
  private fallBack(readId: number, reason: ReadOnlyFallbackReason): void {
    const read = this.reads.get(readId);
    assert(read !== undefined, 'fallback of a read that is not outstanding');
    this.end(readId);
    this.host.emit({ type: 'read-fallback', token: read.token, reason, seen: this.progress(read) });
    this.host.order(read.token, read.operation);
  }

  /** Read-only request `readId` is off the wire: the next queued one takes its place. */
  private end(readId: number): void {
    this.reads.delete(readId);
    const waiting = this.queue.shift();
    if (waiting !== undefined) this.send(waiting.token, waiting.operation, waiting.timeoutTicks);
  }

  private progress(read: OutstandingRead): Progress {
    const answered = read.answers.allVoters().sort((a, b) => a - b);
    return { queued: false, answered, matching: read.answers.mostVotes(), needed: this.host.quorum };
  }
}
