/**
 * A replica's data directory (docs/DURABILITY.md): the journal of the
 * core's records (src/storage/journal.ts), the checkpoint images it names
 * (files in `checkpoints/`, written by the executor), and the ordering
 * rule D10 — a send waits until every record appended before it is synced.
 * Also what a restart reads back: the fold of the journal and the stable
 * checkpoint's image, checked chunk by chunk before the service is restored
 * from it [D11, D13].
 */
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { chunkDigest } from '../checkpoint/chunks.js';
import { CheckpointDirectory } from '../checkpoint/directory.js';
import { FileImage } from '../checkpoint/file-image.js';
import { manifestDigest } from '../checkpoint/manifest-digest.js';
import { DurableState, type DurableRecord } from '../core/durable.js';
import { bytesEqual } from '../core/ids.js';
import type { CheckpointManifest } from '../core/messages.js';
import type { SeqNo } from '../core/ordering.js';
import type { Logger } from '../log.js';
import { Journal } from '../storage/journal.js';
import { syncPath } from '../storage/sync-path.js';
import type { ImageRecord } from '../storage/records.js';
import type { WireLimits } from '../wire/codec.js';

/**
 * Decoder limits for the journal: what this replica wrote itself, under
 * whatever options it ran with then (an operator may have lowered a limit
 * since, or an image outgrew checkpointBytesMax). The frame length bounds
 * every record and CRCs guard the bytes, so only the cluster size stays.
 */
export function journalLimits(limits: WireLimits): WireLimits {
  const unbounded = 2 ** 31 - 1;
  return {
    batchRequestsMax: unbounded,
    batchBytesMax: unbounded,
    requestBytesMax: unbounded,
    replyBytesMax: unbounded,
    viewChangeBytesMax: unbounded,
    newViewBytesMax: unbounded,
    logWindow: unbounded,
    replicas: limits.replicas,
    chunkBytes: unbounded,
    manifestChunksMax: unbounded,
    logEntriesMax: unbounded,
    clientSessionsMax: unbounded,
    clientReplyCacheBytesMax: unbounded,
  };
}

/** A journal segment grown past this is rotated at the next stable checkpoint or view change [D8]. */
const ROTATE_BYTES = 8 * 1024 * 1024;
const IMAGES_FOLDER = 'checkpoints';

/** What a replica restarted from its data directory found there. */
export interface StoredState {
  /** The fold of the journal [D9]. */
  readonly state: DurableState;
  /** The stable checkpoint's image, sound and ready to restore from [D11]; undefined if there is none [D13]. */
  readonly image: FileImage | undefined;
  /** Images of checkpoints above the stable one whose files are there: this replica's own, to serve once stable [D12]. */
  readonly laterImages: ReadonlyMap<SeqNo, FileImage>;
  /** Whether the directory held a journal (a restart) rather than nothing (a first start, or a lost disk [D15]). */
  readonly restarted: boolean;
}

export interface DurableStoreInit {
  readonly dataDir: string;
  readonly limits: WireLimits;
  readonly log: Logger;
  /** The journal failed to write or sync: the replica must stop, it cannot keep its promises. */
  readonly onFatal: (error: Error) => void;
}

/** The journal and images of one replica, with the waiting line of sends behind unsynced records. */
export class DurableStore {
  /** Actions (sends, image deletions) waiting for the record appended before them to be synced [D10]. */
  private readonly held: { readonly ticket: number; readonly run: () => void }[] = [];
  /**
   * The last record a send may depend on. Deliveries and stable checkpoints
   * bind nothing (D6, D7): a send after one of them need not wait for it.
   * Image records come right before the CHECKPOINT record that covers them.
   */
  private bindingTicket = 0;

  private constructor(
    private readonly journal: Journal,
    readonly directory: CheckpointDirectory,
    private readonly dataDir: string,
    /** The fold of everything appended: the rotation base [D8]. */
    private readonly state: DurableState,
    /** Image records at or above the stable checkpoint: the rotation base keeps them. */
    private readonly images: Map<SeqNo, ImageRecord>,
  ) {
    journal.onDurable((ticket) => this.release(ticket));
  }

  /**
   * Opens (or creates) the data directory, folds its journal and checks the
   * stable checkpoint's image. Image files no surviving record names are
   * deleted (a crash between writing one and recording it).
   *
   * @throws {StoreCorruptError} when the journal is corrupt (not merely torn).
   */
  static async open(init: DurableStoreInit): Promise<{ store: DurableStore; stored: StoredState }> {
    const { dataDir, limits, log } = init;
    const restarted = await Journal.exists(dataDir);
    const opened = await Journal.open(dataDir, { limits: journalLimits(limits), onFatal: init.onFatal });
    if (opened.truncatedBytes > 0) log.warn('journal ended in a torn write (a crash before its sync); cut off', { bytes: opened.truncatedBytes });
    const images = new Map<SeqNo, ImageRecord>();
    const state = new DurableState();
    for (const record of opened.records) {
      if (record.kind === 'image') images.set(record.seq, record);
      else state.apply(record);
    }
    const stable = state.stable.seq;
    for (const seq of images.keys()) if (seq < stable) images.delete(seq);
    const directory = await CheckpointDirectory.openKeeping(join(dataDir, IMAGES_FOLDER), new Set([...images.values()].map((r) => r.file)));
    const store = new DurableStore(opened.journal, directory, dataDir, state, images);
    const image = stable === 0 ? undefined : await store.soundImage(images.get(stable), state, log);
    const laterImages = new Map<SeqNo, FileImage>();
    for (const [seq, record] of images) {
      const path = join(directory.path, record.file);
      if (seq > stable && (await exists(path))) laterImages.set(seq, new FileImage(record.manifest, record.clientTable, path));
    }
    return { store, stored: { state, image, laterImages, restarted } };
  }

  /** Appends a core record [D1-D7]; at a stable checkpoint, forgets images below it and may rotate [D8]. */
  persist(record: DurableRecord): void {
    const ticket = this.journal.append(record);
    if (record.kind !== 'delivered' && record.kind !== 'stable') this.bindingTicket = ticket;
    this.state.apply(record);
    if (record.kind === 'stable') for (const seq of this.images.keys()) if (seq < record.certificate.seq) this.images.delete(seq);
    // [D8] At the records that make earlier ones obsolete: a stable checkpoint, or a view change
    // (a long one, without checkpoints, must not grow the journal without bound).
    const compacts = record.kind === 'stable' || record.kind === 'view-change' || record.kind === 'new-view' || record.kind === 'view-installed';
    if (compacts && this.journal.segmentBytes > ROTATE_BYTES) this.journal.rotate([...this.state.records(), ...this.images.values()]);
  }

  /**
   * Makes checkpoint `seq`'s image durable: syncs its state file and the
   * folder, then records it. The CHECKPOINT that follows waits for that
   * record [D5]; a restart can restore from the image [D11].
   */
  async imageKept(seq: SeqNo, image: { readonly manifest: CheckpointManifest; readonly clientTable: Uint8Array; readonly path: string }): Promise<void> {
    await syncPath(image.path);
    await syncPath(this.directory.path);
    const record: ImageRecord = { kind: 'image', seq, manifest: image.manifest, clientTable: image.clientTable, file: basename(image.path) };
    if (seq >= this.state.stable.seq) this.images.set(seq, record);
    this.journal.append(record);
  }

  /**
   * Runs `action` — a send or a reply — once every record it may depend on
   * is synced [D10]; actions run in the order given.
   */
  afterSync(action: () => void): void {
    this.after(this.bindingTicket, action);
  }

  /** Runs `action` — deleting what a record replaced — once every record appended so far is synced. */
  afterAllSynced(action: () => void): void {
    this.after(this.journal.lastTicket, action);
  }

  private after(ticket: number, action: () => void): void {
    if (ticket <= this.journal.durableTicket && this.held.length === 0) {
      action();
      return;
    }
    this.held.push({ ticket: Math.max(ticket, this.held.at(-1)?.ticket ?? 0), run: action });
  }

  /** Syncs what is queued and closes the journal; image files stay for the next start. */
  async close(): Promise<void> {
    await this.journal.close();
  }

  private release(durable: number): void {
    let released = 0;
    while (released < this.held.length && (this.held[released] as { ticket: number }).ticket <= durable) released++;
    for (const { run } of this.held.splice(0, released)) run();
  }

  /**
   * The image `record` names if it is sound [D11]: its file is there, every
   * chunk's SHA-256 is the manifest's, and the manifest's digest is the one
   * a quorum certified. Otherwise undefined and a warning [D13].
   */
  private async soundImage(record: ImageRecord | undefined, state: DurableState, log: Logger): Promise<FileImage | undefined> {
    const seq = state.stable.seq;
    if (record === undefined) {
      log.warn('no image of the stable checkpoint in the data directory; fetching it by state transfer', { seq });
      return undefined;
    }
    const image = new FileImage(record.manifest, record.clientTable, join(this.directory.path, record.file));
    const problem = await imageProblem(image, state.stable.stateDigest);
    if (problem === undefined) return image;
    log.error('the stable checkpoint image in the data directory is damaged; fetching it by state transfer', { seq, problem, dataDir: this.dataDir });
    await image.release();
    return undefined;
  }
}

/** Why `image` is not the certified one, or undefined if every chunk matches. */
async function imageProblem(image: FileImage, certified: Uint8Array): Promise<string | undefined> {
  if (!bytesEqual(manifestDigest(image.manifest), certified)) return 'its manifest is not the certified one';
  try {
    for (let index = 0; index < image.manifest.chunkDigests.length; index++) {
      const bytes = await image.chunk(index);
      if (bytes === undefined) return `chunk ${index} is missing`;
      const digest = chunkDigest(bytes);
      if (!bytesEqual(digest, image.manifest.chunkDigests[index] as Uint8Array)) return `chunk ${index} fails its checksum`;
    }
  } catch (error) {
    return `unreadable: ${String(error)}`;
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

