/**
 * The protocol rules at which a single broken line would break safety or
 * liveness, gathered in one class so that the simulator's mutants
 * (src/sim/mutants.ts) can replace exactly one rule and show that a checker
 * catches it. The core's modules ask these questions instead of answering
 * them inline; a real replica uses this class as it is.
 */
import { batchLimitProblem } from './agreement.js';
import type { DurableRecord } from './durable.js';
import type { AgreementMessage } from './early-messages.js';
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type { CheckpointCertificate, PrePrepareMessage, Request, ViewChangeMessage } from './messages.js';
import type { MessageLog } from './message-log.js';
import { next, type SeqNo, type View } from './ordering.js';
import type { VoteOutcome, VoteSet } from './quorum.js';
import { ignore, rejectPeer, type Rejection } from './rejection.js';
import type { RequestAuthenticator } from './request-auth.js';
import { checkpointCertificateValid, decideNewView, primaryOf, type NewViewDecision, type ViewChangeRules } from './view-change.js';

/** T2 grows to at most 2^3 = 8 times viewChangeTimeoutTicks (8 s with the defaults and 10 ms ticks). */
const REQUEST_TIMEOUT_DOUBLINGS_MAX = 3;
/** R7 waits at most 2^3 = 8 periods between resends of one slot. */
const VOTE_RESEND_DOUBLINGS_MAX = 3;

export class DecisionPoints {
  constructor(protected readonly rules: ViewChangeRules) {}

  /** Whether `record` goes to the journal [D1-D7]: always; a mutant forgets some. */
  persists(record: DurableRecord): boolean {
    void record;
    return true;
  }

  /** Votes needed to prepare (with the PRE-PREPARE) and to commit [N11, N13]. */
  quorum(): number {
    return this.rules.sizes.quorum;
  }

  /** VIEW-CHANGEs needed to install a view [V5-V6]. */
  viewChangeQuorum(): number {
    return this.rules.sizes.quorum;
  }

  /** What a new view starts with, from its VIEW-CHANGEs [V5-V6]. */
  newViewDecision(viewChanges: readonly ViewChangeMessage[]): NewViewDecision {
    return decideNewView(viewChanges, this.rules);
  }

  /** Whether `from` may send the PRE-PREPARE of view `v` [N2]. */
  mayPrePrepare(from: ReplicaId, v: View): boolean {
    return from === primaryOf(v, this.rules.sizes.n);
  }

  /** Whether the PRE-PREPARE's digest is its batch's [N4]. */
  digestMatches(m: PrePrepareMessage): boolean {
    return bytesEqual(this.rules.crypto.batchDigest(m.requests), m.digest);
  }

  /**
   * Whether a request another replica relayed (FORWARD, PRE-PREPARE,
   * VIEW-CHANGE, NEW-VIEW, LOG-ENTRIES) is its client's: received directly
   * or signed by its client [A2].
   */
  relayedRequestAuthentic(request: Request, auth: RequestAuthenticator): boolean {
    return auth.authentic(request);
  }

  /** Whether the primary may propose `request`: it verified the client's signature itself [A5]. */
  mayPropose(request: Request, auth: RequestAuthenticator): boolean {
    return auth.signatureValid(request);
  }

  /** Records `from`'s vote: one per replica [N10]. */
  recordVote(votes: VoteSet<Digest>, from: ReplicaId, digest: Digest): VoteOutcome {
    return votes.add(from, digest);
  }

  /** Whether a checkpoint certificate from another replica carries a quorum of valid signatures [S7]. */
  checkpointProven(checkpoint: CheckpointCertificate): boolean {
    return checkpointCertificateValid(checkpoint, this.rules);
  }

  /**
   * Replicas whose STATE-SUMMARYs must name the same checkpoint before it
   * becomes the transfer target, all of them its sources [S7]: f + 1, so one
   * of them is correct and holds the image, and no single replica chooses
   * what, or from whom, a laggard fetches.
   */
  targetSupport(): number {
    return this.rules.sizes.weak;
  }

  /** Whether a STATE-SUMMARY this replica did not ask for is taken [S5]: never, so no replica starts a transfer. */
  takesUnsolicitedSummaries(): boolean {
    return false;
  }

  /**
   * Whether a replica that resends a CHECKPOINT at or below this replica's
   * stable one is sent the certificate [C6]: yes. Nobody resends a stable
   * CHECKPOINT, so a replica that missed the quorum would never learn it.
   */
  answersStaleCheckpoints(): boolean {
    return true;
  }

  /**
   * Whether a replica that holds a stable certificate without its image
   * still sends the certificate when asked or answering C6 [S6]: yes. The
   * replicas that hold the image but missed the quorum adopt it and serve
   * it; otherwise each side waits for the other (finding 20).
   */
  answersWithoutImage(): boolean {
    return true;
  }

  /**
   * Whether T2 holds off while this replica is behind by batches after its
   * stable checkpoint only [S5]: no. Fewer than f + 1 replicas may hold them
   * (the others restarted behind), so only agreement brings them back, and a
   * view change is how it does when the primary no longer can.
   */
  logCatchUpHoldsRequestTimer(): boolean {
    return false;
  }

  /** Whether a fetched chunk has the digest its manifest names [S10]. */
  chunkMatches(bytes: Uint8Array, expected: Digest): boolean {
    return bytesEqual(this.rules.crypto.chunkDigest(bytes), expected);
  }

  /**
   * Why an agreement message for the view being installed may not wait for
   * its NEW-VIEW, or undefined [V9]: the checks that need no signature (who
   * may send it in that view, the window, a batch's limits), so a Byzantine
   * replica cannot park messages the view would refuse.
   */
  earlyMessageProblem(from: ReplicaId, m: AgreementMessage, log: MessageLog): Rejection | undefined {
    if (m.type === 'pre-prepare' && !this.mayPrePrepare(from, m.view)) return rejectPeer('pre-prepare-not-from-primary');
    if (m.type === 'prepare' && from === primaryOf(m.view, this.rules.sizes.n)) return rejectPeer('prepare-from-primary');
    if (m.seq <= log.stable.seq) return ignore('below-window');
    if (m.seq > log.high) return ignore('above-window');
    if (m.type === 'pre-prepare') return batchLimitProblem(m, this.rules.options);
    return undefined;
  }

  /** Most doublings of T2 after view changes that brought no progress (T4 has its own) [T2]. */
  requestTimeoutDoublingsMax(): number {
    return REQUEST_TIMEOUT_DOUBLINGS_MAX;
  }

  /** Most doublings of the wait between resends of one slot's votes [R7]. */
  voteResendDoublingsMax(): number {
    return VOTE_RESEND_DOUBLINGS_MAX;
  }

  /** The sequence number to deliver next, if it is decided: strictly the next one [E1]. */
  nextDeliverable(log: MessageLog): SeqNo | undefined {
    const s = next(log.lastDelivered);
    const slot = log.get(s);
    return slot !== undefined && (slot.committed || slot.proven !== undefined) && !slot.delivered ? s : undefined;
  }

  /**
   * What delivery does with a request of a session the client table does not
   * know once it knows clientSessionsMax [E2-E3]: refuse it. Never evict: a
   * forgotten session's late retransmission would run a second time.
   */
  sessionsFull(): 'refuse' | 'evict-least-recent' {
    return 'refuse';
  }

  /**
   * Whether a new session of a client key is refused once the table knows
   * clientSessionsPerKeyMax of that key's sessions [E2]: yes, so one key
   * cannot take the table from the others.
   */
  keyQuotaApplies(): boolean {
    return true;
  }

  /**
   * Whether the client signatures of requests that evidence already proves
   * (a VIEW-CHANGE's prepared certificates [A7], f + 1 matching LOG-ENTRIES
   * [A8]) are checked again: no. A correct backup may have accepted one its
   * client sent it directly with a bad signature, and re-checking makes
   * correct replicas refuse each other's VIEW-CHANGEs for good.
   */
  recheckCertifiedRequests(): boolean {
    return false;
  }
}
