/**
 * Pure rules of the view change (docs/VIEW-CHANGE.md): checking the evidence
 * in VIEW-CHANGE messages, and deciding what a new view starts with. The new
 * primary and every backup run the same `decideNewView` on the same
 * VIEW-CHANGEs, so a backup refuses any NEW-VIEW that is not exactly what
 * the evidence implies.
 */
import type { CoreCrypto } from './crypto.js';
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type {
  CheckpointCertificate,
  PreparedCertificate,
  Request,
  ViewChangeMessage,
} from './messages.js';
import type { ProtocolOptions } from './options.js';
import type { SeqNo, View } from './ordering.js';
import type { QuorumSizes } from './quorum.js';
import { rejectPeer, type Rejection } from './rejection.js';

export interface ViewChangeRules {
  readonly sizes: QuorumSizes;
  readonly options: ProtocolOptions;
  readonly crypto: CoreCrypto;
}

export const primaryOf = (v: View, n: number): ReplicaId => (v % n) as ReplicaId;

/** The initial state's checkpoint: stable by definition, no signatures. */
export const GENESIS_CHECKPOINT: CheckpointCertificate = { seq: 0 as SeqNo, stateDigest: new Uint8Array(0), signatures: [] };

function distinctValidSigners(
  signatures: readonly { replica: ReplicaId; signature: Uint8Array }[],
  n: number,
  excluded: ReplicaId | undefined,
  valid: (replica: ReplicaId, signature: Uint8Array) => boolean,
): number {
  const seen = new Set<ReplicaId>();
  for (const { replica, signature } of signatures) {
    if (replica < 0 || replica >= n || replica === excluded || seen.has(replica)) return -1;
    if (!valid(replica, signature)) return -1;
    seen.add(replica);
  }
  return seen.size;
}

/** A quorum of distinct replicas signed (seq, stateDigest) [V3]. */
export function checkpointCertificateValid(cert: CheckpointCertificate, rules: ViewChangeRules): boolean {
  if (cert.seq === 0) return cert.stateDigest.length === 0 && cert.signatures.length === 0;
  if (cert.seq % rules.options.checkpointInterval !== 0) return false;
  const statement = { kind: 'checkpoint', seq: cert.seq, stateDigest: cert.stateDigest } as const;
  const signers = distinctValidSigners(cert.signatures, rules.sizes.n, undefined, (r, s) => rules.crypto.verify(r, statement, s));
  return signers >= rules.sizes.quorum;
}

/** The PRE-PREPARE is the primary's and matches its batch, and quorum - 1 distinct backups signed PREPAREs [V4]. */
export function preparedCertificateValid(cert: PreparedCertificate, rules: ViewChangeRules): boolean {
  const pp = cert.prePrepare;
  const { n, quorum } = rules.sizes;
  const primary = primaryOf(pp.view, n);
  if (pp.requests.length > rules.options.batchRequestsMax) return false;
  const slot = { view: pp.view, seq: pp.seq, digest: pp.digest };
  if (!rules.crypto.verify(primary, { kind: 'pre-prepare', ...slot }, pp.signature)) return false;
  if (!bytesEqual(rules.crypto.batchDigest(pp.requests), pp.digest)) return false;
  const statement = { kind: 'prepare', ...slot } as const;
  const signers = distinctValidSigners(cert.prepares, n, primary, (r, s) => rules.crypto.verify(r, statement, s));
  return signers >= quorum - 1;
}

/**
 * Checks a VIEW-CHANGE received from `from` (or forwarded inside a NEW-VIEW):
 * its signature, its checkpoint proof, and each prepared certificate
 * [V3-V4]. Evidence that does not verify is the sender's fault.
 */
export function checkViewChange(vc: ViewChangeMessage, rules: ViewChangeRules): Rejection | undefined {
  const { n } = rules.sizes;
  if (vc.replica < 0 || vc.replica >= n) return rejectPeer('view-change-bad-replica');
  const { signature, ...body } = vc;
  if (!rules.crypto.verify(vc.replica, { kind: 'view-change', message: body }, signature)) {
    return rejectPeer('view-change-bad-signature');
  }
  if (!checkpointCertificateValid(vc.checkpoint, rules)) return rejectPeer('view-change-bad-checkpoint');
  if (vc.prepared.length > rules.options.logWindow) return rejectPeer('view-change-too-many-certificates');
  let previous = vc.checkpoint.seq;
  for (const cert of vc.prepared) {
    const { seq, view } = cert.prePrepare;
    // Strictly increasing and inside the window above the checkpoint.
    if (seq <= previous || seq > vc.checkpoint.seq + rules.options.logWindow) return rejectPeer('view-change-bad-sequence');
    if (view >= vc.newView) return rejectPeer('view-change-certificate-from-future');
    if (!preparedCertificateValid(cert, rules)) return rejectPeer('view-change-bad-certificate');
    previous = seq;
  }
  return undefined;
}

/** One sequence number of a new view: the batch to re-propose (empty: a null request). */
export interface NewViewSlot {
  readonly seq: SeqNo;
  readonly digest: Digest;
  readonly requests: readonly Request[];
}

export interface NewViewDecision {
  /** The stable checkpoint the new view starts from (min-s). */
  readonly checkpoint: CheckpointCertificate;
  /** Every sequence number in (min-s, max-s], in order. */
  readonly slots: readonly NewViewSlot[];
}

/**
 * What a new view starts with, from a quorum of checked VIEW-CHANGEs [N1-N3
 * of docs/VIEW-CHANGE.md]: the highest checkpoint among them, and for every
 * later sequence number up to the highest prepared one, the batch of the
 * certificate from the highest view, or a null request where none prepared.
 * Deterministic in its input.
 */
export function decideNewView(viewChanges: readonly ViewChangeMessage[], rules: ViewChangeRules): NewViewDecision {
  let checkpoint = GENESIS_CHECKPOINT;
  for (const vc of viewChanges) if (vc.checkpoint.seq > checkpoint.seq) checkpoint = vc.checkpoint;
  const best = new Map<SeqNo, PreparedCertificate>();
  let maxSeq = checkpoint.seq;
  for (const vc of viewChanges) {
    for (const cert of vc.prepared) {
      const { seq, view } = cert.prePrepare;
      if (seq <= checkpoint.seq) continue;
      const known = best.get(seq);
      if (known === undefined || view > known.prePrepare.view) best.set(seq, cert);
      if (seq > maxSeq) maxSeq = seq;
    }
  }
  const slots: NewViewSlot[] = [];
  for (let seq = (checkpoint.seq + 1) as SeqNo; seq <= maxSeq; seq = (seq + 1) as SeqNo) {
    const cert = best.get(seq);
    slots.push(
      cert === undefined
        ? { seq, digest: rules.crypto.batchDigest([]), requests: [] }
        : { seq, digest: cert.prePrepare.digest, requests: cert.prePrepare.requests },
    );
  }
  return { checkpoint, slots };
}

/**
 * The VIEW-CHANGEs a new primary puts in its NEW-VIEW: its own and those of
 * the lowest-numbered other replicas, a quorum in all, or undefined if it
 * does not have a quorum for `view` yet.
 */
export function chooseViewChanges(
  known: ReadonlyMap<ReplicaId, ViewChangeMessage>,
  view: View,
  self: ReplicaId,
  quorum: number,
): ViewChangeMessage[] | undefined {
  const own = known.get(self);
  if (own === undefined || own.newView !== view) return undefined;
  const others = [...known.values()]
    .filter((vc) => vc.replica !== self && vc.newView === view)
    .sort((a, b) => a.replica - b.replica);
  if (others.length + 1 < quorum) return undefined;
  return [own, ...others.slice(0, quorum - 1)];
}
