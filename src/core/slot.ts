/**
 * Consensus state of one sequence number in the current view: the accepted
 * PRE-PREPARE and the PREPARE / COMMIT votes of distinct replicas
 * (docs/PROTOCOL.md, lines N1-N14).
 */
import { bytesEqual, type Digest } from './ids.js';
import type { PrePrepareMessage } from './messages.js';
import { VoteSet } from './quorum.js';

export class Slot {
  prePrepare: PrePrepareMessage | undefined;
  /** Votes carry the digest voted for; votes may arrive before the PRE-PREPARE. */
  readonly prepares = new VoteSet<Digest>(bytesEqual);
  readonly commits = new VoteSet<Digest>(bytesEqual);
  /** This replica has sent its COMMIT (prepared certificate complete). */
  commitSent = false;
  /** Committed-local: prepared and a quorum of matching COMMITs. */
  committed = false;

  /**
   * Prepared (PBFT's `prepared(m, v, n, i)`): a PRE-PREPARE and quorum - 1
   * matching PREPAREs from distinct backups; the primary's PRE-PREPARE stands
   * for its PREPARE (N6).
   */
  isPrepared(quorum: number): boolean {
    return this.prePrepare !== undefined && this.prepares.count(this.prePrepare.digest) >= quorum - 1;
  }

  /** Committed-local (N10): prepared and quorum matching COMMITs, own included. */
  isCommitted(quorum: number): boolean {
    return this.isPrepared(quorum) && this.commits.count((this.prePrepare as PrePrepareMessage).digest) >= quorum;
  }

}
