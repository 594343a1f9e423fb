/**
 * Mutants: the real replica core with one protocol rule broken on purpose,
 * to prove the simulator can fail. Each overrides exactly one of the core's
 * decision points (src/core/decision-points.ts); every
 * correct replica of a mutant run runs the mutant (Byzantine ones run the
 * real core underneath their behaviours).
 *
 * A mutant's `bias` steers scenario generation toward the faults that make
 * its bug observable (e.g. an equivocating primary for a weakened quorum);
 * the verdict is still a checker's, never the bias's.
 */
import type { CoreCrypto } from '../core/crypto.js';
import { DecisionPoints } from '../core/decision-points.js';
import type { DurableRecord } from '../core/durable.js';
import { replicaId, type Digest, type ReplicaId } from '../core/ids.js';
import type { MessageLog } from '../core/message-log.js';
import type { CheckpointCertificate, PrePrepareMessage, Request, ViewChangeMessage } from '../core/messages.js';
import { next, type SeqNo, type View } from '../core/ordering.js';
import type { VoteOutcome, VoteSet } from '../core/quorum.js';
import type { Rejection } from '../core/rejection.js';
import { ReplicaCore } from '../core/replica.js';
import type { RequestAuthenticator } from '../core/request-auth.js';
import type { NewViewDecision, ViewChangeRules } from '../core/view-change.js';
import { plainCore, type CoreFactory } from './replica-node.js';
import type { ScenarioBias } from './scenario.js';

export interface Mutant {
  readonly name: string;
  readonly description: string;
  readonly make: CoreFactory;
  readonly bias: ScenarioBias;
  /**
   * For a mutant that seeds 1-200 do not catch: a seed that does, with its
   * bias or without (the ordinary seed at which the simulator found the bug).
   */
  readonly caughtAt?: { readonly seed: number; readonly bias: boolean };
  /** A rule of the runtime rather than the core: a request the service throws on stops the replica. */
  readonly serviceFailureStops?: true;
}

/** Commits (and prepares) with f + 1 votes instead of a quorum of 2f + 1. */
class WeakQuorum extends DecisionPoints {
  override quorum(): number {
    return this.rules.sizes.weak;
  }
}

/**
 * Accepts a PRE-PREPARE from any replica, not only the primary of its view.
 * Since PRE-PREPAREs are signed, the rule "who may propose" is checked twice:
 * by mayPrePrepare [N2] and by the signature check against the view's
 * primary [N4, V4]. The mutant breaks the rule, not one of its two checks:
 * it also accepts a PRE-PREPARE signed by any replica (see docs/SIMULATOR.md,
 * "Mutants").
 */
class AcceptAnyPrePrepare extends DecisionPoints {
  override mayPrePrepare(_from: ReplicaId, _v: View): boolean {
    return true;
  }
}

function anyProposer(crypto: CoreCrypto, n: number): CoreCrypto {
  return {
    batchDigest: (requests) => crypto.batchDigest(requests),
    manifestDigest: (manifest) => crypto.manifestDigest(manifest),
    chunkDigest: (bytes) => crypto.chunkDigest(bytes),
    sign: (statement) => crypto.sign(statement),
    verifyRequest: (request) => crypto.verifyRequest(request),
    verify(signer, statement, signature) {
      if (crypto.verify(signer, statement, signature)) return true;
      if (statement.kind !== 'pre-prepare') return false;
      for (let r = 0; r < n; r++) if (crypto.verify(replicaId(r), statement, signature)) return true;
      return false;
    },
  };
}

/** Does not check that a PRE-PREPARE's digest is its batch's. */
class SkipDigestCheck extends DecisionPoints {
  override digestMatches(_m: PrePrepareMessage): boolean {
    return true;
  }
}

/** Delivers the lowest committed sequence number in the window, even past a gap. */
class ExecuteOutOfOrder extends DecisionPoints {
  override nextDeliverable(log: MessageLog): SeqNo | undefined {
    for (let s = next(log.lastDelivered); s <= log.high; s = next(s)) {
      const slot = log.get(s);
      if (slot !== undefined && slot.committed && !slot.delivered) return s;
    }
    return undefined;
  }
}

/**
 * Takes a STATE-SUMMARY's checkpoint on its sender's word [S7]: no quorum of
 * signatures, no other replica naming it. (The two guards are independent:
 * with f + 1 namers required, a forged certificate is never a target even
 * unchecked, so breaking the signature check alone survives every seed.)
 */
class UnprovenCheckpoint extends DecisionPoints {
  override checkpointProven(_checkpoint: CheckpointCertificate): boolean {
    return true;
  }
  override targetSupport(): number {
    return 1;
  }
}

/**
 * Lets one replica start and steer a state transfer, as the core did before
 * [S5, S7]: takes summaries nobody asked for, and targets a genuine
 * checkpoint one replica names, with that replica as its only source.
 */
class LoneSummaryTarget extends DecisionPoints {
  override takesUnsolicitedSummaries(): boolean {
    return true;
  }
  override targetSupport(): number {
    return 1;
  }
}

/** R7's period never grows: on a network slower than it, resends overtake their first copies [R7]. */
class FixedVoteResend extends DecisionPoints {
  override voteResendDoublingsMax(): number {
    return 0;
  }
}

/** Nobody tells a replica that resends a stable CHECKPOINT that it is stable [C6]. */
class SilentStableCheckpoint extends DecisionPoints {
  override answersStaleCheckpoints(): boolean {
    return false;
  }
}

/** A replica behind by log entries alone never times the primary, as before findings 19 and 21 [S5]. */
class PatientLogCatchUp extends DecisionPoints {
  override logCatchUpHoldsRequestTimer(): boolean {
    return true;
  }
}

/** T2 never grows: every view gets viewChangeTimeoutTicks, however slow the network [T2]. */
class FixedRequestTimer extends DecisionPoints {
  override requestTimeoutDoublingsMax(): number {
    return 0;
  }
}

/** Holds any agreement message for the view being installed, unchecked, as the core did before [V9]. */
class UncheckedEarlyMessages extends DecisionPoints {
  override earlyMessageProblem(): Rejection | undefined {
    return undefined;
  }
}

/** Installs fetched chunks without checking them against the manifest [S10]. */
class UncheckedChunks extends DecisionPoints {
  override chunkMatches(_bytes: Uint8Array, _expected: Digest): boolean {
    return true;
  }
}

/**
 * Installs a view with f + 1 VIEW-CHANGEs instead of a quorum [V5-V6]. Only
 * observable when a batch committed at a single correct replica (V6 keeps
 * that one out of the new view) is missing from those f + 1 VIEW-CHANGEs and
 * a Byzantine replica votes for its replacement: the bias's `orphan-commits`
 * primary arranges exactly that.
 */
class WeakViewChangeQuorum extends DecisionPoints {
  override viewChangeQuorum(): number {
    return this.rules.sizes.weak;
  }
}

/** A new view re-proposes null requests everywhere, ignoring the prepared certificates [V5-V6]. */
class NewViewDropsCertificates extends DecisionPoints {
  override newViewDecision(viewChanges: readonly ViewChangeMessage[]): NewViewDecision {
    const decision = super.newViewDecision(viewChanges);
    const empty = this.rules.crypto.batchDigest([]);
    return { checkpoint: decision.checkpoint, slots: decision.slots.map((slot) => ({ seq: slot.seq, digest: empty, requests: [] })) };
  }
}

/**
 * Counts a replica's repeated vote again, as if another replica had cast it.
 * (For PREPAREs the core's lazy signature check drops the ghost votes before
 * they count; COMMITs, unsigned, keep them.)
 */
class DoubleCountVotes extends DecisionPoints {
  private ghost = this.rules.sizes.n;
  override recordVote(votes: VoteSet<Digest>, from: ReplicaId, digest: Digest): VoteOutcome {
    const outcome = super.recordVote(votes, from, digest);
    if (outcome !== 'duplicate') return outcome;
    votes.add(replicaId(this.ghost++), digest);
    return 'new';
  }
}

/**
 * Forgets the least recently used client session when a new one arrives at
 * a full client table, as the core did before finding 4 [E2-E3]: a late
 * retransmission of the forgotten session's last request is new again and
 * runs a second time, at every correct replica alike.
 */
class EvictSessions extends DecisionPoints {
  override sessionsFull(): 'refuse' | 'evict-least-recent' {
    return 'evict-least-recent';
  }
}

/**
 * Checks again the client signatures of requests a VIEW-CHANGE's
 * certificates or f + 1 LOG-ENTRIES already prove [A7, A8], as the first
 * version of client authentication did: a Byzantine client's badly signed
 * request, sent directly to the backups and proposed by a Byzantine primary,
 * executes, and then correct replicas refuse each other's VIEW-CHANGEs.
 */
class RecheckCertifiedRequests extends DecisionPoints {
  override recheckCertifiedRequests(): boolean {
    return true;
  }
}

/**
 * Lets one client key open sessions past clientSessionsPerKeyMax [E2]: a
 * key with many sessions fills the client table, and every key after it is
 * refused.
 */
class UnboundedKeySessions extends DecisionPoints {
  override keyQuotaApplies(): boolean {
    return false;
  }
}

/**
 * Takes every request another replica relays, and proposes every request
 * it holds, without checking the client's signature [A2, A5]: the hole
 * client authentication closes. A Byzantine backup's forged FORWARD is
 * proposed by a correct primary and executed everywhere.
 */
class UncheckedRequests extends DecisionPoints {
  override relayedRequestAuthentic(_request: Request, _auth: RequestAuthenticator): boolean {
    return true;
  }

  override mayPropose(_request: Request, _auth: RequestAuthenticator): boolean {
    return true;
  }
}

/**
 * Keeps its votes in memory only, as every replica did before durability
 * [D1, D2]: PRE-PREPARE and prepared records never reach the journal (nor
 * the delivered records that lean on a PRE-PREPARE record for their
 * requests: the fold would refuse them). A replica restarted from its disk
 * takes back its view and stable checkpoint but not what it proposed,
 * PREPAREd or COMMITted in it: as primary it proposes other batches at the
 * same sequence numbers, as backup it PREPAREs whatever comes, and after a
 * power cut of the whole cluster a view change may fill an executed slot
 * with another batch.
 */
class VolatileVotes extends DecisionPoints {
  override persists(record: DurableRecord): boolean {
    if (record.kind === 'pre-prepare' || record.kind === 'prepared') return false;
    return record.kind !== 'delivered' || record.requests !== undefined;
  }
}

/** A core whose decision points are `Rules` (one rule broken). */
function mutated(Rules: new (rules: ViewChangeRules) => DecisionPoints): CoreFactory {
  return (init) => new ReplicaCore({ ...init, decisions: (rules) => new Rules(rules) });
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'weak-quorum',
    description: 'prepare and commit on f + 1 votes instead of 2f + 1',
    make: mutated(WeakQuorum),
    bias: { primary: ['equivocate'] },
  },
  {
    name: 'accept-any-pre-prepare',
    description: 'accept a PRE-PREPARE from any replica, not only the primary',
    make: (init) => mutated(AcceptAnyPrePrepare)({ ...init, crypto: anyProposer(init.crypto, init.n) }),
    bias: { backup: ['fake-pre-prepare'] },
  },
  {
    name: 'skip-digest-check',
    description: "accept a PRE-PREPARE whose digest is not its batch's",
    make: mutated(SkipDigestCheck),
    bias: { primary: ['bad-digest'] },
  },
  {
    name: 'execute-out-of-order',
    description: 'deliver a committed sequence number before the ones below it are committed',
    make: mutated(ExecuteOutOfOrder),
    bias: { options: { pipelineMax: 8, logWindow: 256 }, network: { reorderP: 0.3 } },
  },
  {
    name: 'new-view-drops-certificates',
    description: 'a new view re-proposes null requests instead of the prepared batches',
    make: mutated(NewViewDropsCertificates),
    bias: { primary: ['withhold:intermittent'], network: { reorderP: 0.3 } },
  },
  {
    name: 'weak-view-change-quorum',
    description: 'install a view on f + 1 VIEW-CHANGEs instead of 2f + 1',
    make: mutated(WeakViewChangeQuorum),
    bias: { sizes: [4], primary: ['orphan-commits'], options: { logWindow: 16 } },
  },
  {
    name: 'unproven-checkpoint',
    description: "fetch and install a checkpoint on one replica's word (its certificate's signatures unchecked)",
    make: mutated(UnprovenCheckpoint),
    bias: { backup: ['lie-state-transfer'], options: { pipelineMax: 4, checkpointInterval: 2, logWindow: 8 } },
  },
  {
    name: 'unchecked-chunks',
    description: 'install fetched chunks without checking their digests',
    make: mutated(UncheckedChunks),
    bias: { backup: ['lie-state-transfer'], options: { pipelineMax: 4, checkpointInterval: 2, logWindow: 8, chunkBytes: 16 } },
    // At seed 4 a lie lands in the client table's chunk, whose decoding asserts first (an invariant,
    // not a checker); at seed 8 it lands in the service state and the agreement checker sees it.
    caughtAt: { seed: 8, bias: true },
  },
  {
    name: 'double-count-votes',
    description: "count the same replica's repeated vote twice",
    make: mutated(DoubleCountVotes),
    bias: {
      sizes: [4],
      primary: ['duplicate-votes', 'lie-view-change:hide', 'withhold:intermittent'],
      network: { duplicateP: 0.3, dropP: 0.3, lossScope: 'all' },
    },
  },
  {
    name: 'evict-sessions',
    description: 'forget the least recently used client session when the client table is full, instead of refusing the new one',
    make: mutated(EvictSessions),
    bias: { sessionFlood: true, options: { clientSessionsMax: 3 } },
  },
  {
    name: 'recheck-certified-requests',
    description: "check again the client signatures of requests a VIEW-CHANGE's certificates or f + 1 LOG-ENTRIES prove",
    make: mutated(RecheckCertifiedRequests),
    bias: { primary: ['forge-requests', 'silent'], badSignatures: true },
  },
  {
    name: 'unbounded-key-sessions',
    description: 'admit sessions of a client key past clientSessionsPerKeyMax',
    make: mutated(UnboundedKeySessions),
    bias: { sessionFlood: true, quotas: true },
  },
  {
    name: 'lone-summary-target',
    description: "start and steer a state transfer on one replica's summary (unsolicited ones taken, a target one replica names)",
    make: mutated(LoneSummaryTarget),
    bias: { backup: ['hook-state-transfer:starve'], options: { pipelineMax: 4, checkpointInterval: 2, logWindow: 8, chunkBytes: 16 } },
    // C6 rescues most of these runs: correct replicas send the hooked replica their certificates,
    // which this mutant takes as summaries from more namers (defence in depth, docs/SIMULATOR.md).
    caughtAt: { seed: 819, bias: true },
  },
  {
    name: 'fixed-request-timer',
    description: 'T2 never backs off after views that brought no progress',
    make: mutated(FixedRequestTimer),
    bias: { slowNetwork: 0.7 },
  },
  {
    name: 'unchecked-early-messages',
    description: 'hold any agreement message for the view being installed, unchecked and unbounded per sender',
    make: mutated(UncheckedEarlyMessages),
    bias: { backup: ['flood-early'] },
  },
  {
    name: 'silent-stable-checkpoint',
    description: 'never send the certificate to a replica that resends a CHECKPOINT already stable',
    make: mutated(SilentStableCheckpoint),
    bias: { sizes: [4], isolateThenCrash: true, options: { pipelineMax: 4, checkpointInterval: 2, logWindow: 8 } },
    caughtAt: { seed: 636, bias: false },
  },
  {
    name: 'patient-log-catch-up',
    description: 'T2 holds off while a replica is behind by log entries only, which fewer than f + 1 replicas may hold',
    make: mutated(PatientLogCatchUp),
    bias: { sizes: [4], powerLoss: 'power-cut' },
    caughtAt: { seed: 3305, bias: false },
  },
  {
    name: 'fixed-vote-resend',
    description: 'R7 resends at a fixed period however slow the network (no backoff)',
    make: mutated(FixedVoteResend),
    bias: { sizes: [10], slowNetwork: 0.8, options: { viewChangeResendTicks: 3, viewChangeTimeoutTicks: 50, pipelineMax: 4 } },
    caughtAt: { seed: 5926, bias: false },
  },
  {
    name: 'unchecked-requests',
    description: 'take and propose client requests without checking their signatures (forwarded, proposed or relayed)',
    make: mutated(UncheckedRequests),
    bias: { backup: ['forward-forged'] },
  },
  {
    name: 'volatile-votes',
    description: 'forget its PRE-PREPAREs, PREPAREs and COMMITs on a restart (they never reach the journal)',
    make: mutated(VolatileVotes),
    bias: { powerLoss: 'power-cut' },
  },
  {
    name: 'service-failure-stops',
    description: 'a request the service throws on stops the replica (fail-stop), instead of failing alone and being rolled back',
    make: plainCore,
    serviceFailureStops: true,
    bias: { poison: true },
  },
];

export function mutantNamed(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}
