/**
 * State transfer's decisions (docs/STATE-TRANSFER.md S4-S15): noticing that
 * this replica is behind, choosing a stable checkpoint proven by a quorum,
 * fetching its image's chunks from several replicas and checking each, the
 * log after it on f + 1 matching claims, and the view the others are in.
 * Serving other replicas lives here too. Pure, like the rest of the core:
 * it talks to the replica through {@link StateTransferHost}.
 */
import { ChunkFetch } from './chunk-fetch.js';
import type { DecisionPoints } from './decision-points.js';
import type { ReplicaEffect } from './effects.js';
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import { LogVotes } from './log-votes.js';
import type {
  CheckpointCertificate,
  CheckpointManifest,
  ChunkMessage,
  LogEntriesMessage,
  LoggedBatch,
  ReplicaMessage,
  Request,
  StateSummaryMessage,
} from './messages.js';
import { next, type SeqNo, type View } from './ordering.js';
import { emptyManifest, manifestProblem } from './manifest.js';
import { ignore, rejectPeer, type Rejection } from './rejection.js';
import type { ViewChangeRules } from './view-change.js';

/** What state transfer needs from the replica. */
export interface StateTransferHost {
  readonly id: ReplicaId;
  readonly rules: ViewChangeRules;
  now(): number;
  lastDelivered(): SeqNo;
  lastExecuted(): SeqNo;
  /** This replica's stable checkpoint. */
  stable(): CheckpointCertificate;
  view(): { readonly view: View; readonly active: boolean };
  /** The latest stable checkpoint and its manifest, if this replica holds its image. */
  servable(): { readonly checkpoint: CheckpointCertificate; readonly manifest: CheckpointManifest } | undefined;
  /** Whether this replica holds the image of checkpoint `seq` (stable or its own above it). */
  holdsImage(seq: SeqNo): boolean;
  /** Delivered batches after `after`, in order, at most `max`. */
  deliveredAfter(after: SeqNo, max: number): LoggedBatch[];
  /** The batch at next(lastDelivered) is proven committed: deliver it [S15]. */
  deliverProven(seq: SeqNo, requests: readonly Request[]): void;
  /** Whether every request of a batch is its client's by its signature [A2] (a mutant's rule asks, A8). */
  requestsAuthentic(requests: readonly Request[]): boolean;
  /** Every chunk of `checkpoint` is stored: install it once execution is idle [S12]. */
  installWhenIdle(checkpoint: CheckpointCertificate, manifest: CheckpointManifest): void;
  /** `checkpoint` is proven and at or below what this replica delivered: make it the stable one [S7]. */
  adoptStable(checkpoint: CheckpointCertificate): void;
  /** f + 1 replicas are active in view `w` or later: change to it [S8]. */
  joinView(w: View): void;
  /** The rules of S5, S7 and S10 that mutants break (src/core/decision-points.ts). */
  readonly decide: DecisionPoints;
  send(to: ReplicaId | 'others', message: ReplicaMessage): void;
  effect(effect: ReplicaEffect): void;
}

interface Target {
  readonly checkpoint: CheckpointCertificate;
  readonly manifest: CheckpointManifest;
  readonly fetch: ChunkFetch;
}

interface PeerSummary {
  readonly view: View;
  readonly viewActive: boolean;
  readonly lastDelivered: SeqNo;
  readonly checkpoint: CheckpointCertificate;
  /** Undefined: the sender holds the certificate without the image (S6), so it names no source. */
  readonly manifest: CheckpointManifest | undefined;
}

/**
 * Stale CHECKPOINT sequence numbers remembered per peer [C6]: more than a
 * correct peer resends at once (its window holds logWindow /
 * checkpointInterval checkpoints; 2 with the defaults); a Byzantine one
 * cycling through more only clears its own set.
 */
const STALE_CHECKPOINTS_PER_PEER = 16;

export class StateTransfer {
  /** Evidence that this replica is behind was seen and not yet resolved [S4]. */
  private behind: boolean;
  private lastQuery = Number.NEGATIVE_INFINITY;
  private lastLogRequest = Number.NEGATIVE_INFINITY;
  private target: Target | undefined;
  /** Waiting for the replica to install a fetched image. */
  private installing = false;
  /** This replica's state diverged at this checkpoint: a target at or above it is wanted, delivered or not [S16]. */
  private repairFrom: SeqNo | undefined;
  /** Replicas whose summary showed this replica level with them since it fell behind: f + 1 clear it. */
  private readonly levelWith = new Set<ReplicaId>();
  /** Highest sequence number each replica sent something above our window for [S4 b]. */
  private readonly aboveWindow = new Map<ReplicaId, SeqNo>();
  /** The latest summary of each replica, answering this replica's queries. */
  private readonly summaries = new Map<ReplicaId, PeerSummary>();
  /** Replicas asked for a summary that have not answered since [S5]: only they may send one. */
  private readonly asked = new Set<ReplicaId>();
  /** Tick of the last answer to each replica's STATE-QUERY and LOG-REQUEST, and chunks served this tick. */
  private readonly answeredQuery = new Map<ReplicaId, number>();
  private readonly answeredLog = new Map<ReplicaId, number>();
  private readonly chunksServed = new Map<ReplicaId, { tick: number; count: number }>();
  /** Per replica: the stale CHECKPOINTs it sent (C6, a few), and the tick its last unsolicited summary was weighed (S7). */
  private readonly staleCheckpoints = new Map<ReplicaId, Set<SeqNo>>();
  private readonly weighedUnsolicited = new Map<ReplicaId, number>();
  private readonly logVotes: LogVotes;

  /** `recovering`: the replica (re)starts next to running ones and asks where they are at once [S4 c]. */
  constructor(
    private readonly host: StateTransferHost,
    recovering: boolean,
  ) {
    this.behind = recovering;
    this.logVotes = new LogVotes(2 * host.rules.options.logEntriesMax);
  }

  private get options() {
    return this.host.rules.options;
  }

  /**
   * Installing a fetched checkpoint: the replica must not deliver meanwhile
   * (the image replaces what lies below it). While chunks are still being
   * fetched, batches the log proves keep being delivered [S12].
   */
  get transferring(): boolean {
    return this.installing;
  }

  /**
   * [S5] Known to be behind, its own waiting requests say nothing about the
   * primary: T2 holds off. Except when all it lacks are batches after its
   * stable checkpoint and nobody names a checkpoint above what it delivered:
   * those come from f + 1 replicas' LOG-ENTRIES or, when fewer hold them
   * (the others restarted behind it, or lie), from agreement only, which a
   * view change re-proposes from the prepared certificates of the replicas
   * that hold them (findings 19 and 21). T2 counts from the last delivery,
   * so a catch-up that delivers keeps it off all the same.
   */
  get holdsRequestTimerOff(): boolean {
    if (this.target !== undefined || this.repairFrom !== undefined) return true;
    if (!this.behind) return false;
    if (this.host.decide.logCatchUpHoldsRequestTimer()) return true;
    const delivered = this.host.lastDelivered();
    if (this.host.stable().seq > delivered) return true;
    for (const summary of this.summaries.values()) if (summary.checkpoint.seq > delivered) return true;
    return false;
  }

  // --- detecting [S4-S5] ------------------------------------------------------

  /** The replica adopted a stable checkpoint above what it delivered [S4 a]. */
  fellBehind(): void {
    this.raise();
  }

  /**
   * This replica's state after `seq` differs from the certified one: fetch a
   * certified image at or above it [S16]. False if a repair was already under way.
   */
  repair(seq: SeqNo): boolean {
    const started = this.repairFrom === undefined;
    if (started || seq < (this.repairFrom as SeqNo)) this.repairFrom = seq;
    this.raise();
    return started;
  }

  /** Checkpoints above this are worth fetching: what was delivered, or below a diverged state [S16]. */
  private floor(): SeqNo {
    const lastDelivered = this.host.lastDelivered();
    return this.repairFrom !== undefined && this.repairFrom <= lastDelivered ? ((this.repairFrom - 1) as SeqNo) : lastDelivered;
  }

  /** `from` sent an agreement message or CHECKPOINT for `seq`, above this replica's window [S4 b]. */
  sawAboveWindow(from: ReplicaId, seq: SeqNo): void {
    if ((this.aboveWindow.get(from) ?? 0) < seq) this.aboveWindow.set(from, seq);
    if (this.aboveWindow.size >= this.host.rules.sizes.weak) this.raise();
  }

  private raise(): void {
    this.behind = true;
    this.levelWith.clear();
  }

  /** Nothing was delivered for a retransmission round while work waits: ask for the log [S13]. */
  stalled(): void {
    this.requestLog();
  }

  onTick(): void {
    const now = this.host.now();
    if (this.behind && now - this.lastQuery >= this.options.viewChangeResendTicks) {
      this.lastQuery = now;
      for (let r = 0; r < this.host.rules.sizes.n; r++) if (r !== this.host.id) this.asked.add(r as ReplicaId);
      this.host.send('others', { type: 'state-query', lastExecuted: this.host.lastExecuted() }); // [S5]
    }
    this.dropIfOvertaken();
    this.requestChunks();
  }

  // --- serving [S6, S14] ------------------------------------------------------

  onStateQuery(from: ReplicaId): Rejection | undefined {
    return this.answerQuery(from);
  }

  private answerQuery(from: ReplicaId): Rejection | undefined {
    if (!this.firstThisRound(this.answeredQuery, from, this.options.viewChangeResendTicks)) return ignore('rate-limited');
    // A replica that made a checkpoint stable before executing up to it holds the certificate
    // without the image: the certificate alone lets the replicas that hold the image adopt it and
    // serve it (finding 20). An empty manifest says so; it cannot match a later state's digest.
    let servable = this.host.servable();
    if (servable === undefined && this.host.decide.answersWithoutImage()) servable = { checkpoint: this.host.stable(), manifest: emptyManifest(this.options.chunkBytes) };
    if (servable === undefined) return ignore('no-image');
    const { view, active } = this.host.view();
    this.host.send(from, {
      type: 'state-summary',
      view,
      viewActive: active,
      checkpoint: servable.checkpoint,
      manifest: servable.manifest,
      lastDelivered: this.host.lastDelivered(),
    }); // [S6]
    return undefined;
  }

  /**
   * [C6] `from` sent a CHECKPOINT at or below this replica's stable one. Said
   * once, it is only late; said again, it is C5 resending: `from` never saw
   * the quorum that made it stable, and nobody resends a stable CHECKPOINT.
   * Send it the certificate (a STATE-SUMMARY; S7 lets it adopt the proof).
   * C5 resends every unstable CHECKPOINT in turn (4, 8, 4, ...), so each
   * sequence number is remembered per sender, a few of them.
   */
  onStaleCheckpoint(from: ReplicaId, seq: SeqNo): void {
    let seen = this.staleCheckpoints.get(from);
    if (seen === undefined) this.staleCheckpoints.set(from, (seen = new Set()));
    const repeated = seen.has(seq);
    if (seen.size >= STALE_CHECKPOINTS_PER_PEER) seen.clear();
    seen.add(seq);
    if (repeated && this.host.decide.answersStaleCheckpoints()) this.answerQuery(from);
  }

  onChunkRequest(from: ReplicaId, seq: SeqNo, index: number): Rejection | undefined {
    if (!this.host.holdsImage(seq)) return ignore('no-image');
    const now = this.host.now();
    const served = this.chunksServed.get(from);
    // A correct fetcher asks at most chunksInFlightMax per tick of its own clock; twice that absorbs clock skew.
    if (served !== undefined && served.tick === now && served.count >= 2 * this.options.chunksInFlightMax) return ignore('rate-limited');
    this.chunksServed.set(from, { tick: now, count: served?.tick === now ? served.count + 1 : 1 });
    this.host.effect({ type: 'send-chunk', to: from, seq, index }); // the runtime checks the index against the image
    return undefined;
  }

  onLogRequest(from: ReplicaId, after: SeqNo): Rejection | undefined {
    if (!this.firstThisRound(this.answeredLog, from, 1)) return ignore('rate-limited');
    const batches = this.host.deliveredAfter(after, this.options.logEntriesMax);
    if (batches.length === 0) return ignore('nothing-after');
    this.host.send(from, { type: 'log-entries', batches }); // [S14]
    return undefined;
  }

  // --- catching up [S7-S12, S15] ----------------------------------------------

  onStateSummary(from: ReplicaId, m: StateSummaryMessage): Rejection | undefined {
    const { checkpoint, manifest } = m;
    // [S7] Only answers to this replica's own queries: one replica must not start a transfer.
    if (!this.asked.has(from) && !this.host.decide.takesUnsolicitedSummaries()) return this.weighUnsolicited(from, checkpoint);
    this.asked.delete(from); // one answer per query, valid or not: invalid ones cannot be sent for free
    if (!this.host.decide.checkpointProven(checkpoint)) return rejectPeer('bad-checkpoint-certificate'); // [S7]
    let imaged = true;
    if (checkpoint.seq > 0) {
      const problem = manifestProblem(manifest, this.options.chunkBytes, this.options.checkpointBytesMax);
      if (problem !== undefined) return rejectPeer(problem);
      if (!bytesEqual(this.host.rules.crypto.manifestDigest(manifest), checkpoint.stateDigest)) {
        if (manifest.chunkDigests.length > 0) return rejectPeer('manifest-digest-mismatch');
        imaged = false; // the certificate without the image [S6]
      }
    }
    this.summaries.set(from, { view: m.view, viewActive: m.viewActive, lastDelivered: m.lastDelivered, checkpoint, manifest: imaged ? manifest : undefined });
    const lastDelivered = this.host.lastDelivered();
    // A replica that caught up from the log missed the CHECKPOINTs sent while they were above its
    // window (nobody resends them once stable): without this its window would never move again.
    if (checkpoint.seq > this.host.stable().seq && checkpoint.seq <= lastDelivered) this.host.adoptStable(checkpoint);
    // Within a pipeline of f + 1 replicas' progress is caught up (one of them correct; a liar alone
    // cannot stop the asking): what is in flight completes through agreement, and a replica busy
    // catching up for good would never time the primary (T2). New evidence raises it again.
    // (Never while this replica's own stable checkpoint is above what it delivered: that takes a transfer.)
    const level = this.target === undefined && this.repairFrom === undefined && this.host.stable().seq <= lastDelivered && checkpoint.seq <= lastDelivered;
    if (level && m.lastDelivered <= lastDelivered + this.options.pipelineMax) this.levelWith.add(from);
    if (this.behind && this.levelWith.size >= this.host.rules.sizes.weak) {
      this.behind = false;
      this.aboveWindow.clear();
      this.asked.clear(); // caught up: answers still on their way are not wanted any more
    }
    if (checkpoint.seq > this.floor()) this.chooseTarget();
    else if (m.lastDelivered > lastDelivered) this.requestLog();
    this.followView();
    return undefined;
  }

  onChunk(from: ReplicaId, m: ChunkMessage): Rejection | undefined {
    const target = this.target;
    if (target === undefined || m.seq !== target.checkpoint.seq || this.installing) return ignore('not-fetching');
    if (!target.fetch.expects(from, m.index)) return ignore('unexpected-chunk');
    const expected = target.manifest.chunkDigests[m.index];
    if (expected === undefined || !this.host.decide.chunkMatches(m.bytes, expected)) {
      target.fetch.dropSource(from); // [S10] a liar is caught per chunk; its chunks go to the others
      return rejectPeer('chunk-digest-mismatch');
    }
    target.fetch.markStored(m.index, from);
    this.host.effect({ type: 'store-chunk', seq: m.seq, manifest: target.manifest, index: m.index, bytes: m.bytes });
    if (target.fetch.done && !this.dropIfOvertaken()) {
      this.installing = true;
      this.host.installWhenIdle(target.checkpoint, target.manifest);
    } // more chunks are asked for on the next tick: at most chunksInFlightMax per tick, what a source serves (S9)
    return undefined;
  }

  /** The replica installed the fetched checkpoint [S12]. */
  installed(): void {
    this.target = undefined;
    this.installing = false;
    this.repairFrom = undefined;
    this.logVotes.dropUpTo(this.host.lastDelivered());
    this.requestLog();
  }

  onLogEntries(from: ReplicaId, m: LogEntriesMessage): Rejection | undefined {
    if (this.installing) return ignore('transferring');
    const weak = this.host.rules.sizes.weak;
    for (const batch of m.batches) {
      const digest = this.host.rules.crypto.batchDigest(batch.requests);
      const outcome = this.logVotes.add(this.host.lastDelivered(), from, batch.seq, digest, batch.requests);
      if (outcome === 'equivocation') return rejectPeer('equivocating-log-entry');
    }
    // Deliver in order whatever f + 1 replicas agree on [S15].
    for (;;) {
      const s = next(this.host.lastDelivered());
      const proven = this.logVotes.proven(s, weak);
      if (proven === undefined) break;
      // f + 1 matching claims include a correct replica's, which delivered it: its requests are
      // authentic by that, not by their signatures, which are not checked again [A8] (unless a mutant's rule does).
      if (this.host.decide.recheckCertifiedRequests() && !this.host.requestsAuthentic(proven.requests)) return rejectPeer('forged-request');
      this.host.deliverProven(s, proven.requests);
      if (this.host.lastDelivered() !== s) break; // held back (execution backlog); retried on the next answer
      this.logVotes.dropUpTo(s);
    }
    const ahead = [...this.summaries.values()].some((p) => p.lastDelivered > this.host.lastDelivered());
    if (ahead && m.batches.length >= this.options.logEntriesMax) this.requestLog();
    return undefined;
  }

  // --- helpers ----------------------------------------------------------------

  /**
   * [S7] An unsolicited summary (C6 sends them) can only prove a checkpoint
   * stable: adopted if this replica delivered up to it, else evidence that it
   * is behind (S4 a), which its own queries then resolve. It never chooses a
   * target or a source. At most one is weighed per sender per round, and only
   * when it names a checkpoint above the stable one, before any signature.
   */
  private weighUnsolicited(from: ReplicaId, checkpoint: CheckpointCertificate): Rejection | undefined {
    if (checkpoint.seq <= this.host.stable().seq) return ignore('unsolicited');
    if (!this.firstThisRound(this.weighedUnsolicited, from, this.options.viewChangeResendTicks)) return ignore('rate-limited');
    if (!this.host.decide.checkpointProven(checkpoint)) return rejectPeer('bad-checkpoint-certificate');
    if (checkpoint.seq <= this.host.lastDelivered()) this.host.adoptStable(checkpoint);
    else this.raise();
    return undefined;
  }

  /**
   * [S7, S11] The target is the highest checkpoint above what this replica
   * delivered that targetSupport replicas' latest summaries name (same
   * sequence number and state digest), and its sources are those replicas:
   * one replica can neither choose the checkpoint nor be its only source.
   * Replicas that name the current target later join its sources; a newer
   * supported checkpoint abandons it.
   */
  private chooseTarget(): void {
    const floor = this.floor();
    let best: { checkpoint: CheckpointCertificate; manifest: CheckpointManifest; sources: ReplicaId[] } | undefined;
    for (const candidate of this.summaries.values()) {
      const { checkpoint, manifest } = candidate;
      if (manifest === undefined || checkpoint.seq <= floor || (best !== undefined && checkpoint.seq <= best.checkpoint.seq)) continue;
      const sources = this.namers(checkpoint);
      if (sources.length >= this.host.decide.targetSupport()) best = { checkpoint, manifest, sources };
    }
    const current = this.target;
    if (current !== undefined && (best === undefined || best.checkpoint.seq <= current.checkpoint.seq)) {
      for (const r of this.namers(current.checkpoint)) current.fetch.addSource(r);
      return;
    }
    if (best === undefined || this.installing) return; // a newer one is taken after this install, from the next summaries
    const chunks = best.manifest.chunkDigests.length;
    const fetch = new ChunkFetch(chunks, this.options.chunksInFlightMax, this.options.viewChangeResendTicks);
    for (const r of best.sources) fetch.addSource(r);
    this.target = { checkpoint: best.checkpoint, manifest: best.manifest, fetch };
    if (chunks === 0) {
      this.installing = true;
      this.host.installWhenIdle(best.checkpoint, best.manifest);
    } // else the first requests go out on the next tick
  }

  /** The log overtook the target while its chunks were fetched: nothing left to install, drop it [S11]. */
  private dropIfOvertaken(): boolean {
    if (this.target === undefined || this.installing || this.target.checkpoint.seq > this.floor()) return false;
    this.target = undefined;
    return true;
  }

  /** Replicas whose latest summary names `checkpoint` (its sequence number and state digest) with its image. */
  private namers(checkpoint: CheckpointCertificate): ReplicaId[] {
    const out: ReplicaId[] = [];
    for (const [r, p] of this.summaries) {
      if (p.manifest !== undefined && p.checkpoint.seq === checkpoint.seq && bytesEqual(p.checkpoint.stateDigest, checkpoint.stateDigest)) out.push(r);
    }
    return out;
  }

  private requestChunks(): void {
    const target = this.target;
    if (target === undefined || this.installing) return;
    for (const { to, index } of target.fetch.due(this.host.now())) {
      this.host.send(to, { type: 'chunk-request', seq: target.checkpoint.seq, index });
    }
  }

  /** Asks every other replica (a batch needs f + 1 of them to name it), at most once per tick [S13]. */
  private requestLog(): void {
    const now = this.host.now();
    if (this.installing || now === this.lastLogRequest) return;
    this.lastLogRequest = now;
    this.host.send('others', { type: 'log-request', after: this.host.lastDelivered() });
  }

  /** [S8] f + 1 replicas report an active view above ours: at least one correct replica is there. */
  private followView(): void {
    const own = this.host.view().view;
    const ahead = [...this.summaries.values()].filter((p) => p.viewActive && p.view > own).map((p) => p.view);
    const weak = this.host.rules.sizes.weak;
    if (ahead.length < weak) return;
    ahead.sort((a, b) => b - a);
    this.host.joinView(ahead[weak - 1] as View);
  }

  private firstThisRound(answered: Map<ReplicaId, number>, from: ReplicaId, period: number): boolean {
    const now = this.host.now();
    const last = answered.get(from);
    if (last !== undefined && now - last < period) return false;
    answered.set(from, now);
    return true;
  }
}
