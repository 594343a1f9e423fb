/**
 * The safety checkers, run on every event of every seed, and the liveness
 * verdict at the end (docs/SIMULATOR.md, "Checkers").
 *
 * They watch non-Byzantine replicas only (crashed and restarted ones
 * included: a crash is benign, so what such a replica executes must agree
 * too) and correct clients' accepted replies. "Agreed history" G is the
 * sequence of batches correct replicas executed: G[s] is fixed by the first
 * correct replica that executes s, and every other one must execute the same
 * there.
 *
 * - total order: each replica incarnation executes 1, 2, 3, ... with no gap
 *   and no repetition, so its history is a prefix of G;
 * - agreement: every correct replica executes exactly G[s] at s, and gets the
 *   same results as the reference replay of G;
 * - validity: every request in G was sent by the client owning its session id
 *   (same id, request number and operation bytes);
 * - exactly-once: per session of a correct client, the request numbers in G
 *   strictly increase, so none of its requests is executed twice (a
 *   Byzantine client's request executed again is only counted: it could
 *   have sent the same operation under a new number);
 * - linearizability: every result a correct client accepted is the result of
 *   its request in the reference replay of G, and a request invoked after
 *   another one completed is ordered after it in G;
 * - bounded memory: a correct replica's early-message buffer [V9] never
 *   holds more operation bytes than {@link earlyMessageBytesBound};
 * - own votes (generator 7): no correct replica puts two binding messages on
 *   the wire that contradict each other, in one incarnation or across its
 *   restarts from its disk (docs/DURABILITY.md D12): PRE-PREPAREs (its own or
 *   in its NEW-VIEW), PREPAREs or COMMITs for one (view, seq) with different
 *   digests, CHECKPOINTs for one seq with different state digests, two
 *   different VIEW-CHANGEs for one new view, two different NEW-VIEWs for one
 *   view. A replica restarted without its data starts afresh (D15: it
 *   counts against f);
 * - nothing lost (generator 7): a replica restarted from its disk resumes
 *   from the agreed state at its image's checkpoint; and at the end of a run
 *   held to liveness, some correct replica that is up holds the whole agreed
 *   history, each request once: its service state is the reference replay's
 *   after the last batch of G (the others hold prefixes of it).
 */
import { createHash } from 'node:crypto';
import { bytesEqual, clientKeyOf } from '../core/ids.js';
import type { ReplicaMessage, Request } from '../core/messages.js';
import type { ProtocolOptions } from '../core/options.js';
import type { ReplicaStatus } from '../core/replica.js';
import { ServiceRunner } from '../executor/runner.js';
import { simService } from './service.js';

export type CheckerName =
  | 'agreement'
  | 'total-order'
  | 'validity'
  | 'exactly-once'
  | 'linearizability'
  | 'liveness'
  | 'authentication'
  | 'bounded-memory'
  | 'bounded-work'
  | 'own-votes'
  | 'nothing-lost';

/**
 * Full batches per sequence number of the log window that a correct
 * replica's early-message buffer [V9] may hold: the bound is
 * EARLY_BATCHES_PER_SLOT x logWindow x the largest batch,
 * min(batchBytesMax, batchRequestsMax x requestBytesMax), of operation bytes
 * (earlyMessageBytesBound). Why one: only the view's primary may send
 * PRE-PREPAREs, one batch per sequence number, and on replay nothing outside
 * the window can be accepted; so a buffer that keeps the primary's proposals
 * for the window (deduplicated) never needs more, and whatever it does not
 * keep, retransmission (R7) repairs. A buffer bounded by a message count
 * instead lets any replica park count x batchBytesMax (4,096 x 256 KiB =
 * 1 GiB with the defaults), and one that keeps repeats grows with every
 * retransmission. PREPAREs and COMMITs carry no operations;
 * ReplicaStatus.earlyMessageBytes counts the PRE-PREPAREs' operation bytes.
 */
export const EARLY_BATCHES_PER_SLOT = 1;

export function earlyMessageBytesBound(
  options: Pick<ProtocolOptions, 'logWindow' | 'batchBytesMax' | 'batchRequestsMax' | 'requestBytesMax'>,
): number {
  return EARLY_BATCHES_PER_SLOT * options.logWindow * Math.min(options.batchBytesMax, options.batchRequestsMax * options.requestBytesMax);
}

/** A checker found a violation. */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
  constructor(
    readonly checker: CheckerName,
    message: string,
  ) {
    super(message);
  }
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
const requestKey = (r: Request): string => `${r.clientId}:${r.requestNo}`;
const stateKey = (state: Uint8Array): string => createHash('sha256').update(state).digest('hex');
const contentKey = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');

interface Expected {
  readonly result: Uint8Array;
  /** Position of the request in G, counting requests. */
  readonly position: number;
}

export class Checkers {
  /** Request key -> the operations its owner sent under it. */
  private readonly sent = new Map<string, Set<string>>();
  /** G: batch key of each agreed sequence number (index seq - 1). */
  private readonly agreed: string[] = [];
  private readonly agreedBy: number[] = [];
  /** Last sequence number executed by each replica incarnation. */
  private readonly lastExecuted = new Map<string, number>();
  private readonly reference = new ServiceRunner(simService);
  private readonly expected = new Map<string, Expected>();
  /** The reference replay's results of each batch of G (index seq - 1). */
  private readonly resultsAt: (readonly Uint8Array[])[] = [];
  /** Per session, the last request number in G. */
  private readonly lastInG = new Map<number, number>();
  /** Sessions in G per client key (the id over 65,536): at most clientSessionsPerKeyMax. */
  private readonly sessionsPerKey = new Map<number, number>();
  private position = 0;
  /** Highest G position of any request whose result a correct client accepted. */
  private completedPosition = -1;

  /** The reference service state's digest at each checkpoint of G, to check installed ones against. */
  private readonly checkpointStates = new Map<number, string>();
  /** Correct clients' requests refused by a full client table: none may ever execute. */
  private readonly refusedRequests = new Set<string>();
  /** Requests of Byzantine clients executed again (not a violation: counted). */
  reexecutedByzantine = 0;
  /** The most early-message operation bytes any correct replica held. */
  earlyBytesPeak = 0;
  private readonly earlyBound: number;
  /**
   * Per correct replica, what its binding messages said (across its
   * incarnations, until it restarts without its data): statement -> content
   * and the incarnation that first said it.
   */
  private readonly said = new Map<number, Map<string, { readonly content: string; readonly incarnation: number }>>();

  constructor(
    private readonly name: (clientId: number) => string,
    private readonly options: {
      readonly checkpointInterval: number;
      readonly chunkBytes: number;
      readonly logWindow: number;
      readonly batchBytesMax: number;
      readonly batchRequestsMax: number;
      readonly requestBytesMax: number;
      readonly clientSessionsPerKeyMax: number;
    },
    /** Whether the session belongs to a correct client (exactly-once is theirs). */
    private readonly correctSession: (clientId: number) => boolean,
  ) {
    this.earlyBound = earlyMessageBytesBound(options);
  }

  /** Requests executed in G. */
  get requestsOrdered(): number {
    return this.position;
  }

  get batchesOrdered(): number {
    return this.agreed.length;
  }

  private label(r: Request): string {
    return `${this.name(r.clientId)}#${r.requestNo}`;
  }

  /** A client put `request` on the wire (as the owner of its session id). */
  registerSent(request: Request): void {
    const key = requestKey(request);
    let ops = this.sent.get(key);
    if (ops === undefined) {
      ops = new Set();
      this.sent.set(key, ops);
    }
    ops.add(latin1(request.operation));
  }

  /** Whether `request` (id, number and operation) was put on the wire by its session's owner. */
  wasSent(request: Request): boolean {
    return this.sent.get(requestKey(request))?.has(latin1(request.operation)) === true;
  }

  /** Correct replica `replica` (incarnation `incarnation`) hands batch `seq` to its service. */
  execute(replica: number, incarnation: number, seq: number, requests: readonly Request[]): void {
    const who = `${replica}.${incarnation}`;
    const previous = this.lastExecuted.get(who) ?? 0;
    if (seq !== previous + 1) {
      throw new CheckFailure('total-order', `r${replica} executes s${seq} right after s${previous}: its history is not a prefix of the agreed one`);
    }
    this.lastExecuted.set(who, seq);
    let key = '';
    for (const r of requests) key += `${requestKey(r)}=${latin1(r.operation)}|`;
    const agreed = this.agreed[seq - 1];
    if (agreed !== undefined) {
      if (agreed !== key) {
        throw new CheckFailure(
          'agreement',
          `r${replica} executes [${requests.map((r) => this.label(r)).join(',')}] at s${seq}, r${this.agreedBy[seq - 1]} executed a different batch there`,
        );
      }
      return;
    }
    if (seq !== this.agreed.length + 1) {
      throw new CheckFailure('total-order', `r${replica} executes s${seq} before any correct replica executed s${this.agreed.length + 1}`);
    }
    this.agreed.push(key);
    this.agreedBy.push(replica);
    for (const r of requests) {
      if (!this.wasSent(r)) {
        throw new CheckFailure('validity', `r${replica} executes ${this.label(r)} at s${seq}, which its client never sent`);
      }
      const last = this.lastInG.get(r.clientId);
      if (last !== undefined && r.requestNo <= last) {
        if (this.correctSession(r.clientId)) {
          throw new CheckFailure(
            'exactly-once',
            `r${replica} executes ${this.label(r)} at s${seq} after ${this.name(r.clientId)}#${last} was executed (a correct client's session)`,
          );
        }
        this.reexecutedByzantine++;
      }
      if (last === undefined) this.newSession(replica, seq, r);
      this.lastInG.set(r.clientId, Math.max(last ?? 0, r.requestNo));
    }
    const { results } = this.reference.run(seq, requests.map((r) => r.operation));
    this.resultsAt.push(results);
    requests.forEach((r, i) => {
      // A Byzantine client's request executed again keeps its first place (what its client could see).
      const key = requestKey(r);
      if (this.refusedRequests.has(key)) {
        throw new CheckFailure('validity', `${this.label(r)} is executed at s${seq}, but the cluster refused it to its client`);
      }
      if (!this.expected.has(key)) this.expected.set(key, { result: results[i] as Uint8Array, position: this.position });
      this.position++;
    });
    if (seq % this.options.checkpointInterval === 0) this.checkpointStates.set(seq, stateKey(this.reference.snapshot(this.options.chunkBytes).state));
  }

  /**
   * A session's first request in G: its key may have at most
   * clientSessionsPerKeyMax sessions there (bounded memory: one key must not
   * take the client table from the others). Sessions are never forgotten,
   * so G counts them all.
   */
  private newSession(replica: number, seq: number, r: Request): void {
    const key = clientKeyOf(r.clientId);
    const count = (this.sessionsPerKey.get(key) ?? 0) + 1;
    this.sessionsPerKey.set(key, count);
    if (count > this.options.clientSessionsPerKeyMax) {
      throw new CheckFailure(
        'bounded-memory',
        `r${replica} executes ${this.label(r)} at s${seq}: session ${count} of its key in the agreed history, over clientSessionsPerKeyMax = ${this.options.clientSessionsPerKeyMax}`,
      );
    }
  }

  /**
   * Correct replica `replica` (incarnation `incarnation`) installed a fetched
   * checkpoint: the service state after batch `seq` of G, its history going on
   * from there. A stable checkpoint carries a quorum's signatures, so f + 1
   * correct replicas executed through `seq` before: G is known that far.
   */
  installed(replica: number, incarnation: number, seq: number, serviceState: Uint8Array): void {
    const who = `${replica}.${incarnation}`;
    const previous = this.lastExecuted.get(who) ?? 0;
    if (seq <= previous) throw new CheckFailure('total-order', `r${replica} installs checkpoint s${seq} after executing s${previous}`);
    if (seq > this.agreed.length) {
      throw new CheckFailure('agreement', `r${replica} installs checkpoint s${seq} before any correct replica executed s${this.agreed.length + 1}`);
    }
    const expected = this.checkpointStates.get(seq);
    if (expected === undefined || expected !== stateKey(serviceState)) {
      throw new CheckFailure('agreement', `r${replica} installs a state at s${seq} that differs from the agreed history's`);
    }
    this.lastExecuted.set(who, seq);
  }

  /**
   * Correct replica `replica` restarted from its disk as incarnation
   * `incarnation`, its service restored from its image of checkpoint `seq`
   * (docs/DURABILITY.md D11): that is the agreed state after s`seq`, and its
   * history goes on from there. (Without an image it starts from the initial
   * state, at 0.)
   */
  restored(replica: number, incarnation: number, seq: number, serviceState: Uint8Array): void {
    if (seq > this.agreed.length) {
      throw new CheckFailure('nothing-lost', `r${replica} restarts from an image of s${seq} before any correct replica executed s${this.agreed.length + 1}`);
    }
    const expected = this.checkpointStates.get(seq);
    if (expected === undefined || expected !== stateKey(serviceState)) {
      throw new CheckFailure('nothing-lost', `r${replica} restarts from an image of s${seq} that differs from the agreed history's state there`);
    }
    this.lastExecuted.set(`${replica}.${incarnation}`, seq);
  }

  /**
   * End of a run held to liveness: correct replica `replica` (incarnation
   * `incarnation`, up) must hold all of G, each request once: it executed
   * (or installed) through the last batch of G, and its service state is
   * the reference replay's there.
   */
  holdsEverything(replica: number, incarnation: number, serviceState: Uint8Array): void {
    const last = this.lastExecuted.get(`${replica}.${incarnation}`) ?? 0;
    if (last < this.agreed.length) {
      throw new CheckFailure(
        'nothing-lost',
        `r${replica} ends at s${last} of ${this.agreed.length} agreed batches: what correct replicas executed is not in its final state`,
      );
    }
    if (stateKey(serviceState) !== stateKey(this.reference.snapshot(this.options.chunkBytes).state)) {
      throw new CheckFailure('nothing-lost', `r${replica}'s final service state is not the agreed history's after s${this.agreed.length}`);
    }
  }

  /** Whether correct replica `replica` (incarnation `incarnation`) executed or installed every batch of G. */
  caughtUp(replica: number, incarnation: number): boolean {
    return this.lastExecutedBy(replica, incarnation) >= this.agreed.length;
  }

  /** The last batch correct replica `replica` executed or installed in incarnation `incarnation`. */
  lastExecutedBy(replica: number, incarnation: number): number {
    return this.lastExecuted.get(`${replica}.${incarnation}`) ?? 0;
  }

  /**
   * Correct replica `replica` put `message` (encoded as `bytes`) on the
   * wire: it must not contradict a binding message it sent before, in this
   * incarnation or an earlier one restarted from its disk [D12].
   */
  replicaSent(replica: number, incarnation: number, message: ReplicaMessage, bytes: Uint8Array): void {
    switch (message.type) {
      case 'pre-prepare':
        return this.says(replica, incarnation, `a PRE-PREPARE for (v${message.view}, s${message.seq})`, latin1(message.digest));
      case 'prepare':
        return this.says(replica, incarnation, `a PREPARE for (v${message.view}, s${message.seq})`, latin1(message.digest));
      case 'commit':
        return this.says(replica, incarnation, `a COMMIT for (v${message.view}, s${message.seq})`, latin1(message.digest));
      case 'checkpoint':
        return this.says(replica, incarnation, `a CHECKPOINT for s${message.seq}`, latin1(message.stateDigest));
      case 'view-change':
        return this.says(replica, incarnation, `a VIEW-CHANGE for v${message.newView}`, contentKey(bytes));
      case 'new-view':
        this.says(replica, incarnation, `a NEW-VIEW for v${message.view}`, contentKey(bytes));
        for (const pp of message.prePrepares) this.says(replica, incarnation, `a PRE-PREPARE for (v${pp.view}, s${pp.seq})`, latin1(pp.digest));
        return;
      default:
        return;
    }
  }

  /** Correct replica `replica` restarted without its data: what it said before no longer binds it (D15). */
  forgetSent(replica: number): void {
    this.said.delete(replica);
  }

  private says(replica: number, incarnation: number, statement: string, content: string): void {
    let said = this.said.get(replica);
    if (said === undefined) {
      said = new Map();
      this.said.set(replica, said);
    }
    const before = said.get(statement);
    if (before === undefined) {
      said.set(statement, { content, incarnation });
      return;
    }
    if (before.content !== content) {
      const when = before.incarnation === incarnation ? 'earlier in this incarnation' : `in incarnation ${before.incarnation}, before restarting from its disk`;
      throw new CheckFailure('own-votes', `r${replica} (incarnation ${incarnation}) sends ${statement} that contradicts the one it sent ${when}`);
    }
  }

  /** Correct replica `replica`'s service returned `results` for batch `seq` (G[seq]: `execute` checked it). */
  executed(replica: number, seq: number, requests: readonly Request[], results: readonly Uint8Array[]): void {
    const reference = this.resultsAt[seq - 1];
    requests.forEach((r, i) => {
      const expected = reference?.[i];
      if (expected === undefined || !bytesEqual(expected, results[i] as Uint8Array)) {
        throw new CheckFailure('agreement', `r${replica}'s result for ${this.label(r)} at s${seq} differs from the agreed history's`);
      }
    });
  }

  /** Correct replica `replica`'s status after a step: its early-message buffer must stay within the bound. */
  earlyMessages(replica: number, status: Pick<ReplicaStatus, 'view' | 'earlyMessages' | 'earlyMessageBytes'>): void {
    const bytes = status.earlyMessageBytes;
    if (bytes > this.earlyBytesPeak) this.earlyBytesPeak = bytes;
    if (bytes > this.earlyBound) {
      throw new CheckFailure(
        'bounded-memory',
        `r${replica} holds ${bytes} operation bytes in ${status.earlyMessages} early messages for view ${status.view}, ` +
          `more than ${EARLY_BATCHES_PER_SLOT} full batch per slot of the log window = ${this.earlyBound}`,
      );
    }
  }

  /** A correct client invokes an operation; the snapshot is checked when it completes. */
  invoked(): number {
    return this.completedPosition;
  }

  /**
   * A correct client took f + 1 refusals of `request` (a full client table):
   * it must not be in the agreed history, now or later — a refusal is an
   * answer, and the request must then never run.
   */
  refused(request: Request): void {
    const key = requestKey(request);
    if (this.expected.has(key)) throw new CheckFailure('validity', `${this.label(request)} was refused to its client, but it is executed in the agreed history`);
    this.refusedRequests.add(key);
  }

  /** A correct client accepted `result` for `request`, invoked when `snapshot` was taken. */
  accepted(request: { clientId: number; requestNo: number }, result: Uint8Array, snapshot: number): void {
    const label = `${this.name(request.clientId)}#${request.requestNo}`;
    const expected = this.expected.get(`${request.clientId}:${request.requestNo}`);
    if (expected === undefined) {
      throw new CheckFailure('linearizability', `the client accepted a result for ${label}, which no correct replica executed`);
    }
    if (!bytesEqual(expected.result, result)) {
      throw new CheckFailure('linearizability', `the client accepted a result for ${label} that is not its result in the agreed history`);
    }
    if (expected.position <= snapshot) {
      throw new CheckFailure(
        'linearizability',
        `${label} is ordered at position ${expected.position}, before a request (position ${snapshot}) that completed before it was invoked`,
      );
    }
    if (expected.position > this.completedPosition) this.completedPosition = expected.position;
  }
}
