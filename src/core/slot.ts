/**
 * Consensus state of one sequence number: the votes of the current view
 * (docs/PROTOCOL.md N1-N13), and what outlives a view change — the prepared
 * certificate of the highest view (docs/VIEW-CHANGE.md) and whether the
 * batch was delivered. Slots stay until a stable checkpoint covers them.
 */
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type { PreparedCertificate, PrePrepareMessage, Request, Signature } from './messages.js';
import { VoteSet } from './quorum.js';

export class Slot {
  prePrepare: PrePrepareMessage | undefined;
  /** PREPARE votes of this view, with their signatures; votes may precede the PRE-PREPARE. */
  prepares = new VoteSet<Digest>(bytesEqual);
  prepareSignatures = new Map<ReplicaId, Signature>();
  /** Voters whose PREPARE signature was checked (signatures are checked only when they would count). */
  verifiedPrepares = new Set<ReplicaId>();
  commits = new VoteSet<Digest>(bytesEqual);
  /** This replica has sent its COMMIT in this view. */
  commitSent = false;
  /** Committed-local in this view: prepared and a quorum of matching COMMITs. */
  committed = false;
  /** The batch went to the executor (at most once, whatever the view). */
  delivered = false;
  /** The batch delivered here, and its digest: kept across views to serve LOG-REQUESTs and check NEW-VIEWs. */
  deliveredBatch: { readonly digest: Digest; readonly requests: readonly Request[] } | undefined;
  /** Proven committed by f + 1 replicas' LOG-ENTRIES, without this replica's votes [S15], or by its own journal [D14]. */
  proven: { readonly digest: Digest; readonly requests: readonly Request[] } | undefined;
  /** Its delivery is in the journal already (restored from it): delivering it again journals nothing [D14]. */
  deliveryJournaled = false;
  /** Tick at which this replica last answered each peer's retransmission for this slot [R8]. */
  helpedAt = new Map<ReplicaId, number>();
  /**
   * R7 rounds in this view that resent this replica's part of the slot, and
   * the first tick the next may: each resend doubles the wait (up to
   * voteResendDoublingsMax), so a slot stuck on a slow network is not
   * resent faster than its copies travel, while a fresh loss elsewhere is
   * still repaired at the base period.
   */
  resends = 0;
  nextResendAt = 0;
  /** Prepared certificate of the highest view this replica prepared the slot in. */
  certificate: PreparedCertificate | undefined;

  /**
   * Prepared (PBFT's `prepared(m, v, n, i)`): a PRE-PREPARE and quorum - 1
   * matching PREPAREs from distinct backups; the primary's PRE-PREPARE stands
   * for its PREPARE (N6).
   */
  isPrepared(quorum: number): boolean {
    return this.prePrepare !== undefined && this.prepares.count(this.prePrepare.digest) >= quorum - 1;
  }

  /** Committed-local (N13): prepared and quorum matching COMMITs, own included. */
  isCommitted(quorum: number): boolean {
    return this.isPrepared(quorum) && this.commits.count((this.prePrepare as PrePrepareMessage).digest) >= quorum;
  }

  /** The proof of `isPrepared`, for VIEW-CHANGE messages. */
  preparedCertificate(quorum: number): PreparedCertificate {
    const prePrepare = this.prePrepare as PrePrepareMessage;
    const prepares = this.prepares
      .voters(prePrepare.digest)
      .slice(0, quorum - 1)
      .map((replica) => ({ replica, signature: this.prepareSignatures.get(replica) as Signature }));
    return { prePrepare, prepares };
  }

  /** Starts a new view: votes are per view; the certificate and delivery survive. */
  enterView(prePrepare: PrePrepareMessage | undefined): void {
    this.prePrepare = prePrepare;
    this.prepares = new VoteSet<Digest>(bytesEqual);
    this.prepareSignatures = new Map();
    this.verifiedPrepares = new Set();
    this.helpedAt = new Map();
    this.commits = new VoteSet<Digest>(bytesEqual);
    this.commitSent = false;
    this.committed = false;
    this.resends = 0;
    this.nextResendAt = 0;
  }
}
