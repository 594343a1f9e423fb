/**
 * A replica's simulated disk (docs/SIMULATOR.md, "Disks"; docs/DURABILITY.md):
 * its journal as bytes, framed and encoded by the real storage code
 * (src/storage/frames.ts, src/storage/record-codec.ts), written by group
 * commit like src/storage/journal.ts, and the checkpoint images it took or
 * installed.
 *
 * - {@link append} frames a record and queues it; {@link rotate} queues a
 *   rotation whose base is the fold's records() [D8]. Neither waits.
 * - {@link kick} starts a sync of everything queued if none is in flight
 *   (the node calls it at the end of each step, as the journal's writer
 *   takes a whole synchronous burst): one sync at a time, taking a seeded
 *   time (slow now and then in the fault phase in some seeds); records
 *   queued meanwhile wait for the next one. When it completes, every ticket
 *   of the group is durable and the node releases the sends it held [D10].
 * - {@link crash} keeps the synced bytes and a seeded prefix of the unsynced
 *   tail (what was queued before the first pending rotation: a rotation
 *   writes a new file that a crash discards), sometimes cut mid-frame.
 * - {@link recover} parses the bytes with `parseFrames` (a torn tail is cut
 *   off, as the journal does on open; a corrupt one is a simulator bug),
 *   decodes every record with the replica's wire limits and folds them with
 *   the core's {@link DurableState} [D9].
 *
 * Images are durable once taken or installed (the runtime syncs an image
 * before the CHECKPOINT that names it goes out [D5]); one is deleted only
 * once a later stable checkpoint is durable, so the image of the stable
 * checkpoint a restart recovers is there unless the disk was lost.
 */
import { DurableState, type DurableRecord } from '../core/durable.js';
import { seqNo, type SeqNo } from '../core/ordering.js';
import type { CheckpointImage } from '../checkpoint/image.js';
import { frame, parseFrames } from '../storage/frames.js';
import { decodeRecord, encodeRecord } from '../storage/record-codec.js';
import type { WireLimits } from '../wire/codec.js';
import type { Micros } from './event-queue.js';
import type { Rng } from './rng.js';
import type { StorageSpec } from './scenario.js';

/** What the disk needs of the simulation. */
export interface DiskHost {
  now(): Micros;
  /** Runs `action` after `delay`. */
  after(delay: Micros, action: () => void): void;
  /** Whether faults (slow syncs among them) may still happen. */
  inFaultPhase(): boolean;
}

interface Pending {
  readonly ticket: number;
  /** Frames to append, or (rotate) the base of a new file. */
  readonly frames: readonly Uint8Array[];
  readonly rotate: boolean;
  /** The stable checkpoint this entry makes durable (a stable record, or a rotation's base). */
  readonly stable: SeqNo;
}

/** What a crash left on the disk, and what recovery found in it. */
export interface CrashOutcome {
  /** Bytes of unsynced tail that survived (0: only the synced bytes). */
  readonly keptTailBytes: number;
  /** Unsynced bytes lost. */
  readonly lostTailBytes: number;
  /** The kept tail ends mid-frame. */
  readonly torn: boolean;
}

export interface Recovery {
  /** The fold of the journal's records [D9]: a fresh one for the core. */
  readonly state: DurableState;
  readonly records: number;
  /** Bytes of a torn tail cut off on recovery. */
  readonly truncatedBytes: number;
}

export class SimDisk {
  /** The durable journal file: frames (or chunks of frames) in order. */
  private file: Uint8Array[] = [];
  private fileBytes = 0;
  /** Queued and not yet part of a sync. */
  private queue: Pending[] = [];
  /** The group being synced. */
  private inFlight: Pending[] | undefined;
  private lastTicket_ = 0;
  private durableTicket_ = 0;
  /** Fold of everything appended (synced or not): the base of a rotation [D8]. */
  private fold = new DurableState();
  /** The highest stable checkpoint a synced record names: images below it may go. */
  private durableStable: SeqNo = seqNo(0);
  private readonly images = new Map<SeqNo, CheckpointImage>();
  /** Bumped by a crash: syncs in flight then never complete. */
  private epoch = 0;
  /** The bytes a crash left, until recovery reads them. */
  private crashed: Uint8Array | undefined;
  /** Counters. */
  syncs = 0;
  slowSyncs = 0;
  rotations = 0;

  constructor(
    private readonly host: DiskHost,
    private readonly spec: StorageSpec,
    private readonly rng: Rng,
    private readonly onDurable: (ticket: number) => void,
  ) {}

  /** The ticket of the last record or rotation queued (0 before any). */
  get lastTicket(): number {
    return this.lastTicket_;
  }

  /** Every ticket up to this one is on stable storage. */
  get durableTicket(): number {
    return this.durableTicket_;
  }

  /** Bytes of the durable journal file. */
  get bytes(): number {
    return this.fileBytes;
  }

  /** Queues `record` [D1-D7]; returns its ticket. */
  append(record: DurableRecord): number {
    this.fold.apply(record);
    const ticket = ++this.lastTicket_;
    const stable = record.kind === 'stable' ? record.certificate.seq : seqNo(0);
    this.queue.push({ ticket, frames: [frame(encodeRecord(record))], rotate: false, stable });
    return ticket;
  }

  /**
   * Queues a rotation [D8]: a new file holding the fold's records() replaces
   * the journal atomically once its sync completes.
   */
  rotate(): number {
    const base = this.fold.records().map((record) => frame(encodeRecord(record)));
    const ticket = ++this.lastTicket_;
    this.queue.push({ ticket, frames: base, rotate: true, stable: this.fold.stable.seq });
    this.rotations++;
    return ticket;
  }

  /** Starts a sync of everything queued, unless one is in flight (group commit). */
  kick(): void {
    if (this.inFlight !== undefined || this.queue.length === 0) return;
    const group = this.queue;
    this.queue = [];
    this.inFlight = group;
    const epoch = this.epoch;
    this.host.after(this.syncTime(), () => {
      if (epoch === this.epoch) this.synced(group);
    });
  }

  /** Keeps the image of checkpoint `seq` (taken or installed): durable from now on [D5]. */
  keepImage(seq: SeqNo, image: CheckpointImage): void {
    if (seq >= this.durableStable) this.images.set(seq, image);
  }

  /** The kept image of checkpoint `seq`, if any. */
  image(seq: SeqNo): CheckpointImage | undefined {
    return this.images.get(seq);
  }

  /**
   * Power is lost: the synced bytes stay, and of the unsynced tail a seeded
   * prefix (none, all, or some, possibly ending mid-frame). Syncs in flight
   * never complete.
   */
  crash(): CrashOutcome {
    this.epoch++;
    const pending = [...(this.inFlight ?? []), ...this.queue];
    this.inFlight = undefined;
    this.queue = [];
    // What was written to the journal file, unsynced: entries before the first rotation (a rotation's new file is discarded).
    const tail: Uint8Array[] = [];
    for (const entry of pending) {
      if (entry.rotate) break;
      tail.push(...entry.frames);
    }
    const tailBytes = tail.reduce((sum, f) => sum + f.length, 0);
    const r = this.rng;
    // Always drawn, in this order, so the stream stays aligned.
    const keep = r.chance(this.spec.tailKeepP);
    const torn = r.chance(this.spec.tornP);
    const fraction = r.float();
    let kept = 0;
    let isTorn = false;
    if (keep && tailBytes > 0) {
      // A frame boundary, or (torn) a cut inside a frame, within the tail.
      const boundaries = [0];
      for (const f of tail) boundaries.push((boundaries.at(-1) as number) + f.length);
      if (torn) {
        kept = Math.min(tailBytes - 1, Math.floor(fraction * tailBytes) + 1);
        isTorn = !boundaries.includes(kept);
      } else {
        kept = boundaries[Math.min(boundaries.length - 1, 1 + Math.floor(fraction * (boundaries.length - 1)))] as number;
      }
    }
    const out = new Uint8Array(this.fileBytes + kept);
    let at = 0;
    for (const chunk of this.file) {
      out.set(chunk, at);
      at += chunk.length;
    }
    for (const f of tail) {
      if (at >= out.length) break;
      const take = Math.min(f.length, out.length - at);
      out.set(take === f.length ? f : f.subarray(0, take), at);
      at += take;
    }
    this.crashed = out;
    return { keptTailBytes: kept, lostTailBytes: tailBytes - kept, torn: isTorn };
  }

  /**
   * Reads the journal after a crash, as `Journal.open` does: parses the
   * frames, cuts a torn tail off, decodes every record and folds them [D9].
   * Throws if the bytes are corrupt or a record does not decode: the disk
   * only ever loses a suffix, so either is a bug (of the simulator, the
   * codec or the core's records).
   */
  recover(limits: WireLimits): Recovery {
    const bytes = this.crashed ?? this.joined();
    this.crashed = undefined;
    const parsed = parseFrames(bytes);
    if (parsed.tail === 'corrupt') throw new Error(`simulated journal corrupt at byte ${parsed.corruptAt ?? parsed.validBytes} of ${bytes.length}`);
    const forCore = new DurableState();
    const forDisk = new DurableState();
    let stable = seqNo(0);
    for (const [i, payload] of parsed.payloads.entries()) {
      const decoded = decodeRecord(payload, limits);
      if (!decoded.ok) throw new Error(`simulated journal: record ${i} does not decode: ${decoded.reason}`);
      const record = decoded.record;
      if (record.kind === 'image') throw new Error('simulated journal: an image record (the simulator keeps images outside the journal)');
      forCore.apply(record);
      forDisk.apply(record);
      if (record.kind === 'stable' && record.certificate.seq > stable) stable = record.certificate.seq;
    }
    const valid = bytes.subarray(0, parsed.validBytes);
    this.file = valid.length > 0 ? [valid] : [];
    this.fileBytes = valid.length;
    this.fold = forDisk;
    this.durableStable = stable > this.durableStable ? stable : this.durableStable;
    this.pruneImages();
    // What survived is durable; tickets lost with the tail are void.
    this.durableTicket_ = this.lastTicket_;
    return { state: forCore, records: parsed.payloads.length, truncatedBytes: bytes.length - parsed.validBytes };
  }

  /** The disk is lost (or replaced): no journal, no images (docs/DURABILITY.md D15). */
  wipe(): void {
    this.epoch++;
    this.file = [];
    this.fileBytes = 0;
    this.queue = [];
    this.inFlight = undefined;
    this.crashed = undefined;
    this.fold = new DurableState();
    this.durableStable = seqNo(0);
    this.images.clear();
    this.lastTicket_ = 0;
    this.durableTicket_ = 0;
  }

  private synced(group: readonly Pending[]): void {
    this.inFlight = undefined;
    this.syncs++;
    for (const entry of group) {
      if (entry.rotate) {
        this.file = [...entry.frames];
        this.fileBytes = entry.frames.reduce((sum, f) => sum + f.length, 0);
      } else {
        this.file.push(...entry.frames);
        for (const f of entry.frames) this.fileBytes += f.length;
      }
      if (entry.stable > this.durableStable) this.durableStable = entry.stable;
    }
    this.pruneImages();
    this.durableTicket_ = (group.at(-1) as Pending).ticket;
    this.onDurable(this.durableTicket_);
    this.kick();
  }

  private pruneImages(): void {
    for (const seq of this.images.keys()) if (seq < this.durableStable) this.images.delete(seq);
  }

  private joined(): Uint8Array {
    const out = new Uint8Array(this.fileBytes);
    let at = 0;
    for (const chunk of this.file) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** How long the next sync takes: [syncMin, syncMax], and in the fault phase sometimes up to slowSyncMax more. */
  private syncTime(): Micros {
    const s = this.spec;
    const r = this.rng;
    let t = r.int(s.syncMin, s.syncMax);
    const slow = r.chance(s.slowSyncP);
    const extra = r.int(0, s.slowSyncMax);
    if (slow && this.host.inFaultPhase()) {
      t += extra;
      this.slowSyncs++;
    }
    return Math.max(1, t);
  }
}
