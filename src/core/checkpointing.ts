/**
 * Checkpoints (docs/VIEW-CHANGE.md C1-C6, docs/STATE-TRANSFER.md S1-S3,
 * S12): this replica's own CHECKPOINTs, the votes of others, the stable
 * checkpoint that moves the log's low watermark, the images this replica can
 * serve, and installing an image fetched by state transfer. Pure, like the
 * rest of the core.
 */
import { assert } from './assert.js';
import { CheckpointVotes } from './checkpoints.js';
import type { CoreParts } from './core-parts.js';
import type { ClientTableEntry } from './effects.js';
import { bytesEqual, type Digest, type ReplicaId } from './ids.js';
import type { CheckpointCertificate, CheckpointManifest, CheckpointMessage } from './messages.js';
import type { SeqNo } from './ordering.js';
import { ignore, rejectPeer, type Rejection } from './rejection.js';
import { emptyManifest } from './manifest.js';

export class Checkpointing {
  private readonly votes = new CheckpointVotes();
  /** This replica's CHECKPOINTs above the stable one, resent until they stabilise [C5]. */
  private readonly own = new Map<SeqNo, CheckpointMessage>();
  /** Manifests of this replica's own checkpoints above the stable one [S2]. */
  private readonly ownManifests = new Map<SeqNo, CheckpointManifest>();
  /** The stable checkpoint's manifest, if this replica holds its image (it can serve it) [S3]. */
  private stableManifest: CheckpointManifest | undefined;
  /** A fetched checkpoint waiting for execution to be idle before it is installed [S12]. */
  private pendingInstall: { checkpoint: CheckpointCertificate; manifest: CheckpointManifest; emitted: boolean } | undefined;

  constructor(private readonly parts: CoreParts) {}

  /** The executor built the image of checkpoint `s`: sign and send its digest [C2, S2]. */
  onTaken(s: SeqNo, manifest: CheckpointManifest): void {
    const { ctx, log } = this.parts;
    const stateDigest = ctx.crypto.manifestDigest(manifest); // [S2]
    if (s === log.stable.seq) {
      if (bytesEqual(stateDigest, log.stable.stateDigest)) this.stableManifest = manifest;
      else this.diverged(s, stateDigest, log.stable.stateDigest);
    }
    if (s <= log.stable.seq) return; // already stable from others' votes
    this.ownManifests.set(s, manifest);
    const signature = ctx.crypto.sign({ kind: 'checkpoint', seq: s, stateDigest });
    const message: CheckpointMessage = { type: 'checkpoint', seq: s, stateDigest, signature }; // [C2]
    this.own.set(s, message);
    ctx.persist({ kind: 'checkpoint', message }); // [D5]
    ctx.send('others', message);
    this.votes.add(s, ctx.id, stateDigest, signature);
    this.tryStabilize(s, stateDigest);
  }

  onCheckpoint(from: ReplicaId, m: CheckpointMessage): Rejection | undefined {
    const { ctx, log, transfer } = this.parts;
    if (m.seq % ctx.options.checkpointInterval !== 0 || m.seq === 0) return rejectPeer('checkpoint-off-interval'); // [C3]
    if (m.seq <= log.stable.seq) {
      transfer.onStaleCheckpoint(from, m.seq); // [C6]
      return ignore('below-window');
    }
    if (m.seq > log.high) {
      transfer.sawAboveWindow(from, m.seq); // [S4 b]
      return ignore('above-window');
    }
    if (!ctx.crypto.verify(from, { kind: 'checkpoint', seq: m.seq, stateDigest: m.stateDigest }, m.signature)) {
      return rejectPeer('bad-signature');
    }
    const vote = this.votes.add(m.seq, from, m.stateDigest, m.signature);
    if (vote === 'equivocation') return rejectPeer('equivocating-checkpoint');
    if (vote === 'duplicate') return ignore('duplicate');
    this.tryStabilize(m.seq, m.stateDigest);
    return undefined;
  }

  /**
   * After a restart: `cert` is stable, and `manifest` describes its image if
   * the runtime restored the service from it (this replica can serve it);
   * without one, state transfer fetches it [D11, D13].
   */
  restoreStable(cert: CheckpointCertificate, manifest: CheckpointManifest | undefined): void {
    this.adoptStable(cert);
    if (manifest !== undefined && this.parts.log.stable.seq === cert.seq) this.stableManifest = manifest;
  }

  /**
   * After a restart: this replica's CHECKPOINT above the stable one, resent
   * until it stabilises [D12, C5], and the manifest of its image if the
   * runtime still holds it (then it can serve the image once stable [S3]).
   */
  restoreOwn(message: CheckpointMessage, manifest: CheckpointManifest | undefined): void {
    const { ctx } = this.parts;
    this.own.set(message.seq, message);
    this.votes.add(message.seq, ctx.id, message.stateDigest, message.signature);
    if (manifest !== undefined && bytesEqual(ctx.crypto.manifestDigest(manifest), message.stateDigest)) this.ownManifests.set(message.seq, manifest);
  }

  /** Own CHECKPOINTs that have not stabilised, again [C5]. */
  resend(): void {
    for (const message of this.own.values()) this.parts.ctx.send('others', message);
  }

  private tryStabilize(s: SeqNo, stateDigest: Digest): void {
    const cert = this.votes.stable(s, stateDigest, this.parts.ctx.sizes.quorum); // [C4]
    if (cert === undefined) return;
    this.adoptStable(cert);
    this.parts.agreement.propose(); // the window moved
  }

  /** Moves the low watermark to `cert` and collects everything below it [C4]. */
  adoptStable(cert: CheckpointCertificate): void {
    const { ctx, log, agreement, transfer, viewChange } = this.parts;
    if (!log.advanceStable(cert)) return;
    ctx.persist({ kind: 'stable', certificate: cert }); // [D6]
    ctx.rejoin?.stableAt(cert.seq); // [D15]
    const own = this.ownManifests.get(cert.seq);
    const ownDigest = own === undefined ? undefined : ctx.crypto.manifestDigest(own);
    this.stableManifest = ownDigest !== undefined && bytesEqual(ownDigest, cert.stateDigest) ? own : undefined;
    for (const s of this.ownManifests.keys()) if (s <= cert.seq) this.ownManifests.delete(s);
    this.votes.dropUpTo(cert.seq);
    agreement.windowMovedTo(cert.seq);
    viewChange.windowMovedTo(cert.seq);
    for (const s of this.own.keys()) if (s <= cert.seq) this.own.delete(s);
    ctx.emit({ type: 'stable-checkpoint', seq: cert.seq });
    if (cert.seq > log.lastDelivered) transfer.fellBehind(); // [S4 a]
    if (ownDigest !== undefined && this.stableManifest === undefined) this.diverged(cert.seq, ownDigest, cert.stateDigest);
  }

  /**
   * [S16] This replica's state after `s` is not the one a quorum certified:
   * say so (once per repair), forget the CHECKPOINTs it signed from that
   * state, and fetch the certified image; its log after `s` then runs again
   * on it.
   */
  private diverged(s: SeqNo, ownDigest: Digest, certifiedDigest: Digest): void {
    const { ctx, transfer } = this.parts;
    for (const seq of this.own.keys()) if (seq > s) this.own.delete(seq);
    for (const seq of this.ownManifests.keys()) if (seq > s) this.ownManifests.delete(seq);
    this.votes.dropVotesAbove(s, ctx.id);
    // Once per repair: later checkpoints certified meanwhile find the same divergence.
    if (transfer.repair(s)) ctx.emit({ type: 'diverged', seq: s, ownDigest, certifiedDigest });
  }

  /** The stable checkpoint with its manifest, if this replica can serve its image; the genesis one has an empty image [S6]. */
  servable(): { checkpoint: CheckpointCertificate; manifest: CheckpointManifest } | undefined {
    const { ctx, log } = this.parts;
    if (log.stable.seq === 0) {
      return { checkpoint: log.stable, manifest: emptyManifest(ctx.options.chunkBytes) };
    }
    return this.stableManifest !== undefined ? { checkpoint: log.stable, manifest: this.stableManifest } : undefined;
  }

  /** Whether this replica holds the image of checkpoint `seq` and may serve its chunks [S6]. */
  holdsImage(seq: SeqNo): boolean {
    return seq === this.parts.log.stable.seq && this.stableManifest !== undefined;
  }

  /** State transfer fetched every chunk of `checkpoint`: install it once execution is idle [S12]. */
  installWhenIdle(checkpoint: CheckpointCertificate, manifest: CheckpointManifest): void {
    this.pendingInstall = { checkpoint, manifest, emitted: false };
    this.tryInstall();
  }

  /** Emits the fetched checkpoint's install once every handed-over batch is executed [S12]. */
  tryInstall(): void {
    const install = this.pendingInstall;
    if (install === undefined || install.emitted || this.parts.log.executingCount > 0) return;
    install.emitted = true;
    this.parts.ctx.emit({ type: 'install-checkpoint', seq: install.checkpoint.seq, manifest: install.manifest });
  }

  /** The runtime installed the fetched image: the log resumes after it [S12]. */
  onInstalled(s: SeqNo, clientTable: readonly ClientTableEntry[]): void {
    const { log, clients, pending, agreement, execution, transfer, viewChange } = this.parts;
    const install = this.pendingInstall;
    assert(install?.emitted === true && install.checkpoint.seq === s, `checkpoint ${s} installed without being asked`);
    this.pendingInstall = undefined;
    clients.restore(clientTable);
    for (const entry of clientTable) pending.ordered(entry);
    log.restartAfter(s);
    viewChange.caughtUp();
    this.adoptStable(install.checkpoint);
    // (Votes may have made a later checkpoint stable meanwhile: then this image is not the stable one.)
    if (log.stable.seq === s) this.stableManifest = install.manifest;
    agreement.windowMovedTo(s);
    transfer.installed();
    execution.deliver();
    agreement.propose();
  }
}
