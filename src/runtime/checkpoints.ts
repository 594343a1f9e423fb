/**
 * A replica's checkpoint images (docs/STATE-TRANSFER.md S1, S3, S10, S12):
 * the snapshot queued behind each checkpoint batch, the images kept to
 * serve, the one being fetched and its install. Images are whole buffers in
 * memory or, given a {@link CheckpointDirectory}, files the executor's
 * worker writes and reads, and whose chunks the protocol loop reads and
 * writes asynchronously, never waiting on the disk.
 */
import { CheckpointAssembly } from '../checkpoint/assembly.js';
import type { CheckpointDirectory } from '../checkpoint/directory.js';
import { FileAssembly, FileImage } from '../checkpoint/file-image.js';
import { CheckpointImage } from '../checkpoint/image.js';
import { CheckpointImages } from '../checkpoint/images.js';
import { assert } from '../core/assert.js';
import type { ClientTableEntry } from '../core/effects.js';
import type { ReplicaId } from '../core/ids.js';
import type { CheckpointManifest } from '../core/messages.js';
import type { ProtocolOptions } from '../core/options.js';
import type { SeqNo } from '../core/ordering.js';
import { ClosedError } from '../errors.js';
import type { Executor } from '../executor/executor.js';
import type { Logger } from '../log.js';
import { decodeClientTable, encodeClientTable } from '../wire/client-table.js';
import type { WireLimits } from '../wire/codec.js';

type KeptImage = CheckpointImage | FileImage;
type Assembly = CheckpointAssembly | FileAssembly;
/** Builds a checkpoint's image from its snapshot, given the encoded client table. */
type ImageBuilder = (clientTable: Uint8Array) => KeptImage;

/** What {@link Checkpoints} works with: the replica's executor, options and log, and where image files go. */
export interface CheckpointsInit {
  readonly executor: Executor;
  readonly options: ProtocolOptions;
  readonly limits: WireLimits;
  /** Where image files go; undefined keeps images in memory. */
  readonly directory: CheckpointDirectory | undefined;
  /**
   * A data directory's hook (docs/DURABILITY.md D5, D11): each image taken
   * or installed is handed to it, and the core hears of the image only once
   * it resolves; image files then outlive {@link Checkpoints.close}.
   */
  readonly durable?: { kept(seq: SeqNo, image: FileImage): Promise<void> };
  readonly log: Logger;
}

/** The checkpoint images of one replica, applied by its runtime for the core's checkpoint effects. */
export class Checkpoints {
  /** The snapshot right after each checkpoint batch handed to the executor, until the core asks for it [S1]; undefined if it failed. */
  private readonly snapshots = new Map<SeqNo, Promise<ImageBuilder | undefined>>();
  private readonly images: CheckpointImages<KeptImage>;
  /** The image being fetched, if any [S10]. */
  private assembly: Assembly | undefined;
  /** Chunk reads in flight per peer: at most what the core serves a peer per tick, the rest is shed. */
  private readonly reads = new Map<ReplicaId, number>();
  private readonly readsMax: number;
  /** File work running on its own (reads, deletions): close() waits for it. */
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly init: CheckpointsInit) {
    const { logWindow, checkpointInterval, chunksInFlightMax } = init.options;
    this.readsMax = 2 * chunksInFlightMax;
    // A data directory keeps the old stable image while a fetched one installs, until the new stable record is synced.
    const extra = init.durable === undefined ? 0 : 1;
    this.images = new CheckpointImages<KeptImage>(Math.floor(logWindow / checkpointInterval) + 1 + extra, (image) => this.drop(image));
  }

  /** Queues a snapshot of the service state right behind batch `seq`, just handed to the executor [S1]. */
  snapshotAfter(seq: SeqNo): void {
    const { executor, directory, log } = this.init;
    const { chunkBytes } = this.init.options;
    let taken: Promise<ImageBuilder>;
    if (directory === undefined) {
      taken = executor
        .snapshot(chunkBytes)
        .then(({ state, chunkDigests }) => (table) => CheckpointImage.build(table, state, chunkDigests, chunkBytes));
    } else {
      const path = directory.file(seq);
      taken = executor
        .snapshotToFile(chunkBytes, path)
        .then(({ bytes, chunkDigests }) => (table) => FileImage.build(table, path, bytes, chunkDigests, chunkBytes));
    }
    const snapshot = taken.catch((error: unknown) => {
      // A fatal executor failure already stops the replica; a state file's costs this checkpoint only.
      if (!this.closed) log.warn('snapshot failed', { seq, error: String(error) });
      return undefined;
    });
    this.snapshots.set(seq, snapshot);
  }

  /**
   * Builds and keeps checkpoint `seq`'s image from the snapshot after its
   * batch and `clientTable` as of it [S1]; resolves to its manifest, or to
   * undefined if the snapshot failed or this closed meanwhile.
   */
  take(seq: SeqNo, clientTable: readonly ClientTableEntry[]): Promise<CheckpointManifest | undefined> {
    const snapshot = this.snapshots.get(seq);
    assert(snapshot !== undefined, `checkpoint ${seq} asked for without a snapshot after its batch`);
    this.snapshots.delete(seq);
    const table = encodeClientTable(clientTable);
    return snapshot.then(async (build) => {
      if (build === undefined) return undefined;
      const image = build(table);
      if (!this.keep(seq, image)) return undefined;
      if (image instanceof FileImage) await this.init.durable?.kept(seq, image);
      const { clientTableBytes, serviceStateBytes } = image.manifest;
      const bytes = clientTableBytes + serviceStateBytes;
      // Nothing else bounds the image, and a lagging replica refuses a manifest above the limit.
      if (bytes > this.init.options.checkpointBytesMax) this.init.log.warn('checkpoint image above checkpointBytesMax: no replica will fetch it', { seq, bytes });
      else this.init.log.debug('checkpoint taken', { seq, bytes });
      return image.manifest;
    });
  }

  /**
   * Sends chunk `index` of kept image `seq` to `to` through `send`, if there
   * is such a chunk [S6]. From a file it is read asynchronously; a read
   * beyond the bound for `to` is shed, and the fetcher asks again [S11].
   */
  serve(to: ReplicaId, seq: SeqNo, index: number, send: (bytes: Uint8Array) => void): void {
    const image = this.images.get(seq);
    if (image === undefined) return;
    if (image instanceof CheckpointImage) {
      const bytes = image.chunk(index);
      if (bytes !== undefined) send(bytes);
      return;
    }
    const reading = this.reads.get(to) ?? 0;
    if (reading >= this.readsMax) return;
    this.reads.set(to, reading + 1);
    const read = image.chunk(index).then((bytes) => {
      if (bytes !== undefined && !this.closed) send(bytes);
    });
    this.track(
      read.finally(() => {
        const left = (this.reads.get(to) ?? 1) - 1;
        if (left === 0) this.reads.delete(to);
        else this.reads.set(to, left);
      }),
      'serve a chunk',
    );
  }

  /**
   * Whether a CHUNK may reach the core now: not while the image file being
   * fetched has its bound of writes in flight. A chunk refused here is asked
   * for again after a timeout [S11], so a disk slower than the network
   * slows the transfer down instead of queueing chunks in memory.
   */
  get acceptsChunk(): boolean {
    return !(this.assembly instanceof FileAssembly && this.assembly.full);
  }

  /** Keeps verified chunk `index` of checkpoint `seq`'s image, abandoning an image of another checkpoint [S10, S11]. */
  store(seq: SeqNo, manifest: CheckpointManifest, index: number, bytes: Uint8Array): void {
    this.assemblyOf(seq, manifest).store(index, bytes);
  }

  /**
   * Installs checkpoint `seq`'s fetched image [S12]: once its file is
   * written, restores the service state from it in the executor, then keeps
   * the image to serve and resolves to its client table. The core hands the
   * executor no batch until it hears back, so the restore keeps its place in
   * the executor's queue however long the writes take. Rejects if the file
   * cannot be completed, the restore fails or this closes meanwhile.
   */
  async install(seq: SeqNo, manifest: CheckpointManifest): Promise<readonly ClientTableEntry[]> {
    const assembly = this.assemblyOf(seq, manifest);
    this.assembly = undefined;
    const image = assembly instanceof FileAssembly ? await assembly.finish() : assembly.image();
    const clientTable = decodeClientTable(image.clientTable, this.init.limits);
    // Every chunk matched a manifest a quorum vouches for: correct replicas encoded this table.
    assert(clientTable !== undefined, `client table of checkpoint ${seq} does not decode`);
    const { executor, options } = this.init;
    try {
      await (image instanceof FileImage ? executor.restoreFromFile(image.path, options.chunkBytes) : executor.restore(image.serviceState));
    } catch (error) {
      this.drop(image);
      throw error;
    }
    // Kept only now: a later stable checkpoint could otherwise delete the file being restored from.
    // The installed checkpoint becomes the stable one, so the images below it go first — in a data
    // directory only once the record of the new stable checkpoint is synced (the stable-checkpoint effect):
    // a crash before must find the old one's image [D11].
    if (this.init.durable === undefined) this.images.stableAt(seq);
    if (!this.keep(seq, image)) throw new ClosedError('replica');
    if (image instanceof FileImage) await this.init.durable?.kept(seq, image);
    return clientTable;
  }

  /** Keeps an image a restart found in the data directory — the stable checkpoint's or a later own one — to serve it [D11, D12]. */
  adopt(seq: SeqNo, image: FileImage): void {
    this.keep(seq, image);
  }

  /** Checkpoint `seq` is stable: the images below it are dropped [S3]. */
  stableAt(seq: SeqNo): void {
    this.images.stableAt(seq);
  }

  /**
   * Drops every image and, with a directory, deletes the image files once
   * the file work in flight ends. Call once the executor is closed: its
   * worker may be writing a snapshot file until then.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.images.clear();
    if (this.assembly instanceof FileAssembly) this.track(this.assembly.abandon(), 'delete an abandoned image file');
    this.assembly = undefined;
    await Promise.all(this.pending);
    if (this.init.durable === undefined) await this.init.directory?.clean();
  }

  /** Keeps `image` unless this is closed (then drops it); returns whether it was kept. */
  private keep(seq: SeqNo, image: KeptImage): boolean {
    if (this.closed) {
      this.drop(image);
      return false;
    }
    this.images.keep(seq, image);
    return true;
  }

  private drop(image: KeptImage): void {
    if (image instanceof FileImage) this.track(image.release(!(this.closed && this.init.durable !== undefined)), 'delete an image file');
  }

  /** The assembly of checkpoint `seq`'s image; one of another checkpoint is abandoned [S11]. */
  private assemblyOf(seq: SeqNo, manifest: CheckpointManifest): Assembly {
    if (this.assembly?.seq === seq) return this.assembly;
    if (this.assembly instanceof FileAssembly) this.track(this.assembly.abandon(), 'delete an abandoned image file');
    const { directory, options } = this.init;
    // Twice the chunks the core has in flight: a disk that keeps up with the network never sheds one.
    this.assembly =
      directory === undefined
        ? new CheckpointAssembly(seq, manifest)
        : new FileAssembly(seq, manifest, directory.file(seq), 2 * options.chunksInFlightMax);
    return this.assembly;
  }

  /** Runs `work` on its own until close(); its failure is logged, never thrown. */
  private track(work: Promise<unknown>, what: string): void {
    const tracked: Promise<void> = work
      .then(
        () => undefined,
        (error: unknown) => this.init.log.warn(`failed to ${what}`, { error: String(error) }),
      )
      .then(() => {
        this.pending.delete(tracked);
      });
    this.pending.add(tracked);
  }
}
