/**
 * A replica's journal on files: records framed (`frames.ts`) and appended to
 * `journal-<n>.log` in the replica's data directory, made durable by group
 * commit, and compacted by rotation to `journal-<n + 1>.log`. Other files in
 * the directory are left alone.
 *
 * Crash safety rests on three orders. A group is written (O_DSYNC) and on disk
 * before its tickets count as durable, and the next group is written only
 * after that, so a crash can only tear the last, unacknowledged group. A
 * rotation's new segment is complete and on disk before it is renamed
 * into place, and the rename is made durable before the old segment is
 * deleted, so some complete segment always exists. Opening reads only the
 * newest segment: anything older, and any `.tmp`, is what an interrupted
 * rotation left behind.
 */
import type { FileHandle } from 'node:fs/promises';
import { constants as fsConstants, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { assert } from '../core/assert.js';
import { StoreCorruptError } from '../errors.js';
import type { WireLimits } from '../wire/codec.js';
import { syncPath } from './sync-path.js';
import { frame, groupEnd, parseFrames, SALT_BYTES, segmentStart, type ParsedFrames } from './frames.js';
import { randomBytes } from 'node:crypto';
import { decodeRecord, encodeRecord } from './record-codec.js';
import type { JournalRecord } from './records.js';

/**
 * Segments are written with O_DSYNC: each write returns once its data is on
 * disk, as a write followed by fdatasync would, in one trip to the thread
 * pool instead of two (each trip waits for the protocol loop to pick up its
 * result, which on a busy machine costs more than the disk).
 */
const { O_CREAT, O_DSYNC, O_EXCL, O_RDWR, O_TRUNC, O_WRONLY } = fsConstants;
const CREATE_SYNCED = O_WRONLY | O_CREAT | O_EXCL | O_DSYNC;
const OPEN_SYNCED = O_RDWR | O_DSYNC;
const REPLACE_SYNCED = O_WRONLY | O_CREAT | O_TRUNC | O_DSYNC;
const SEGMENT_NAME = /^journal-(0|[1-9][0-9]*)\.log$/;
const TEMPORARY_NAME = /^journal-(0|[1-9][0-9]*)\.log\.tmp$/;
/** The number of the segment a new journal starts with. */
const FIRST_SEGMENT = 1;

/** What {@link Journal.open} needs besides the directory. */
export interface JournalOptions {
  /** Limits records are decoded within: the replica's own wire limits (see `decodeRecord`). */
  readonly limits: WireLimits;
  /**
   * Called once when a write, sync, rename or delete fails. The journal is
   * then dead: nothing more is written, and tickets not yet durable never
   * become so. The replica must stop, since it cannot keep promises it
   * cannot write.
   */
  readonly onFatal: (error: Error) => void;
}

/** An opened journal and what it held. */
export interface OpenedJournal {
  readonly journal: Journal;
  /** The records of the newest segment, in the order they were appended. */
  readonly records: JournalRecord[];
  /** The segment that was read (or created), as a path. */
  readonly file: string;
  /** Bytes of a torn tail (the unsynced end of a crash) cut off the segment; 0 if it ended cleanly. */
  readonly truncatedBytes: number;
}

/** What the writer does next: frames to append, or a rotation whose base replaces everything before it. */
interface Pending {
  readonly ticket: number;
  readonly frames: readonly Uint8Array[];
  readonly rotate: boolean;
}

interface Waiter {
  readonly ticket: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * An append-only journal with group commit. {@link append} and
 * {@link rotate} never wait: they queue and return a ticket (tickets
 * increase by one per call). One writer at a time takes everything queued,
 * writes it with one synchronous-data write, and then makes all of its
 * tickets durable at once; what is queued meanwhile forms the next group.
 */
export class Journal {
  private queue: Pending[] = [];
  private waiters: Waiter[] = [];
  private readonly listeners = new Set<(ticket: number) => void>();
  private lastTicket_ = 0;
  private durableTicket_ = 0;
  private syncs_ = 0;
  private bytesWritten_ = 0;
  private writing = false;
  private loop: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly dir: string,
    private readonly onFatal: (error: Error) => void,
    private handle: FileHandle,
    private segment: number,
    private segmentBytes_: number,
    /** The current segment's salt, in each group-end marker (frames.ts). */
    private salt: Uint8Array,
  ) {}

  /**
   * Opens the journal in `dir`, creating the directory and a first segment
   * if there are none (and syncing the directories that gain an entry).
   * Reads the newest `journal-<n>.log`: a torn tail is cut off and synced
   * (`truncatedBytes` says how much, for the caller to log); the segment is
   * synced in any case, since a process that crashed may have left records
   * only in the page cache, and they must not vanish once acted upon. Then
   * older segments and `.tmp` files, leftovers of an interrupted rotation,
   * are deleted.
   *
   * @throws {StoreCorruptError} when a frame in the middle of the segment is
   * bad or a record does not decode; nothing is modified then.
   */
  static async open(dir: string, options: JournalOptions): Promise<OpenedJournal> {
    await createDirectory(dir);
    const names = await readdir(dir);
    const segments = names.map((name) => numberIn(name, SEGMENT_NAME)).filter((n) => n !== undefined);
    const newest = segments.length === 0 ? undefined : Math.max(...segments);
    const leftovers = names.filter((name) => {
      const n = numberIn(name, SEGMENT_NAME);
      return TEMPORARY_NAME.test(name) || (n !== undefined && newest !== undefined && n < newest);
    });
    const segment = newest ?? FIRST_SEGMENT;
    const file = join(dir, segmentName(segment));
    if (newest === undefined) {
      const handle = await open(file, CREATE_SYNCED);
      const { salt, bytes } = await startSegment(handle);
      await settle(handle, dir, leftovers);
      return { journal: new Journal(dir, options.onFatal, handle, segment, bytes, salt), records: [], file, truncatedBytes: 0 };
    }
    const bytes = await readFile(file);
    const parsed = parseFrames(bytes);
    if (parsed.tail === 'corrupt') {
      throw new StoreCorruptError(file, parsed.validBytes, 'a frame fails its length or checksum, and valid frames follow it');
    }
    const records = decodeAll(file, parsed, options.limits);
    const truncatedBytes = bytes.length - parsed.validBytes;
    const handle = await open(file, OPEN_SYNCED);
    if (parsed.salt === undefined) {
      // The crash tore the segment's very first group: nothing in it was ever synced.
      await handle.truncate(0);
      const { salt, bytes: start } = await startSegment(handle);
      await settle(handle, dir, leftovers);
      return { journal: new Journal(dir, options.onFatal, handle, segment, start, salt), records, file, truncatedBytes };
    }
    await settle(handle, dir, leftovers, truncatedBytes > 0 ? parsed.validBytes : undefined);
    const journal = new Journal(dir, options.onFatal, handle, segment, parsed.validBytes, parsed.salt);
    return { journal, records, file, truncatedBytes };
  }

  /** Whether `dir` holds a journal segment (even an empty one): a restart rather than a first start. */
  static async exists(dir: string): Promise<boolean> {
    try {
      return (await readdir(dir)).some((name) => SEGMENT_NAME.test(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** The last ticket {@link append} or {@link rotate} returned (0 before any). */
  get lastTicket(): number {
    return this.lastTicket_;
  }

  /** The highest ticket on disk: it and every ticket below it are durable. */
  get durableTicket(): number {
    return this.durableTicket_;
  }

  /** Whether some ticket is not durable yet. */
  get hasUndurable(): boolean {
    return this.lastTicket_ > this.durableTicket_;
  }

  /** Synchronous-data writes and fsyncs (of files and the directory) the writer issued since open. */
  get syncs(): number {
    return this.syncs_;
  }

  /** Frame bytes the writer wrote since open, rotation bases included. */
  get bytesWritten(): number {
    return this.bytesWritten_;
  }

  /** Bytes of the current segment on disk: what the next rotation would shed. */
  get segmentBytes(): number {
    return this.segmentBytes_;
  }

  /**
   * Queues `record` and returns its ticket; never waits. After a fatal error
   * the record is dropped and its ticket never becomes durable. Appending
   * after {@link close} is a bug and fails an assertion.
   */
  append(record: JournalRecord): number {
    return this.enqueue([frame(encodeRecord(record))], false);
  }

  /**
   * Compacts the journal: queued in order with appends, it starts a new
   * segment holding `baseRecords`, and records appended after this call
   * follow them there. The caller guarantees that `baseRecords` fold to the
   * same state as everything appended before this call: those records are
   * not written again (and if still queued, not written at all). The
   * returned ticket, and every one before it, is durable once the new
   * segment is renamed into place and the directory synced.
   */
  rotate(baseRecords: readonly JournalRecord[]): number {
    return this.enqueue(baseRecords.map((record) => frame(encodeRecord(record))), true);
  }

  /**
   * Resolves once `ticket` is durable; rejects with the fatal error if the
   * journal fails first. Asserts `ticket` was issued.
   */
  whenDurable(ticket: number): Promise<void> {
    assert(Number.isSafeInteger(ticket) && ticket <= this.lastTicket_, `ticket ${ticket} was not issued`);
    if (ticket <= this.durableTicket_) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ ticket, resolve, reject }));
  }

  /**
   * Calls `listener` with the new {@link durableTicket} each time a group
   * becomes durable, synchronously from the writer (a listener that throws
   * is a bug, and surfaces as an unhandled rejection). Returns a function
   * that removes it.
   */
  onDurable(listener: (ticket: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Writes and syncs everything queued, then closes the segment. Idempotent:
   * every call returns the same promise. Rejects with the fatal error if the
   * journal failed, since what was queued then was not written.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private enqueue(frames: readonly Uint8Array[], rotate: boolean): number {
    assert(this.closing === undefined, 'journal used after close');
    const ticket = ++this.lastTicket_;
    if (this.failure !== undefined) return ticket;
    this.queue.push({ ticket, frames, rotate });
    if (!this.writing) {
      this.writing = true;
      this.loop = this.drain();
    }
    return ticket;
  }

  /** The writer: one group at a time until nothing is queued. */
  private async drain(): Promise<void> {
    try {
      // Lets the rest of the caller's synchronous burst of appends join the first group.
      await Promise.resolve();
      while (this.queue.length > 0 && this.failure === undefined) {
        const group = this.queue;
        this.queue = [];
        try {
          await this.commit(group);
        } catch (error) {
          this.fail(error);
          return;
        }
        this.markDurable((group.at(-1) as Pending).ticket);
      }
    } finally {
      this.writing = false;
    }
  }

  /** Writes `group` durably: appended to the segment, or, from its last rotation on, into a new segment. */
  private async commit(group: readonly Pending[]): Promise<void> {
    const lastRotation = group.findLastIndex((pending) => pending.rotate);
    const frames = group.slice(Math.max(lastRotation, 0)).flatMap((pending) => pending.frames);
    if (lastRotation < 0) {
      // The marker that ends the group says where it starts: how a reader tells a torn tail from corruption.
      const bytes = Buffer.concat([...frames, groupEnd(this.segmentBytes_, this.salt)]);
      await writeAll(this.handle, bytes, this.segmentBytes_);
      this.bytesWritten_ += bytes.length;
      this.segmentBytes_ += bytes.length;
      this.syncs_++; // the write itself, O_DSYNC
      return;
    }
    const salt = newSalt();
    const bytes = Buffer.concat([segmentStart(salt), ...frames, groupEnd(0, salt)]);
    const next = this.segment + 1;
    const file = join(this.dir, segmentName(next));
    const temporary = `${file}.tmp`;
    const handle = await open(temporary, REPLACE_SYNCED);
    try {
      await writeAll(handle, bytes, 0);
      this.bytesWritten_ += bytes.length;
      this.syncs_++; // the write itself, O_DSYNC
      await rename(temporary, file);
      await syncPath(this.dir);
      this.syncs_++;
    } catch (error) {
      // The journal is failing with `error`; a failure to close as well would add nothing.
      await handle.close().catch(() => undefined);
      throw error;
    }
    const old = this.handle;
    const oldFile = join(this.dir, segmentName(this.segment));
    this.handle = handle;
    this.segment = next;
    this.salt = salt;
    this.segmentBytes_ = bytes.length;
    await old.close();
    await unlink(oldFile);
  }

  private markDurable(ticket: number): void {
    this.durableTicket_ = ticket;
    const waiting: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.ticket <= ticket) waiter.resolve();
      else waiting.push(waiter);
    }
    this.waiters = waiting;
    for (const listener of this.listeners) listener(ticket);
  }

  private fail(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    this.failure = failure;
    this.queue = [];
    for (const waiter of this.waiters) waiter.reject(failure);
    this.waiters = [];
    this.onFatal(failure);
  }

  private async shutdown(): Promise<void> {
    // Nothing is queued after close, so the running writer (if any) writes the rest.
    await this.loop;
    await this.handle.close();
    if (this.failure !== undefined) throw this.failure;
  }
}

function segmentName(n: number): string {
  return `journal-${n}.log`;
}

/** The counter in `name` if it matches `pattern`, else undefined. */
function numberIn(name: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(name);
  if (match === null) return undefined;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Makes the segment open in `handle` durable as it will be used: cut to
 * `truncateTo` bytes if given, synced (a process that crashed may have left
 * records only in the page cache, and they must not vanish once acted
 * upon), its directory entry synced (a new segment's, or an interrupted
 * rotation's rename before its old segment goes), and then the `leftovers`
 * deleted. Closes `handle` if any of it fails.
 */
async function settle(handle: FileHandle, dir: string, leftovers: readonly string[], truncateTo?: number): Promise<void> {
  try {
    if (truncateTo !== undefined) await handle.truncate(truncateTo);
    await handle.sync();
    await syncPath(dir);
    for (const name of leftovers) await unlink(join(dir, name));
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** A new random salt: client bytes written into records cannot know it (frames.ts). */
function newSalt(): Uint8Array {
  return new Uint8Array(randomBytes(SALT_BYTES));
}

/** Writes a new segment's first group (its salted start marker) into the empty file `handle`; the caller syncs. */
async function startSegment(handle: FileHandle): Promise<{ salt: Uint8Array; bytes: number }> {
  const salt = newSalt();
  const start = Buffer.concat([segmentStart(salt), groupEnd(0, salt)]);
  await writeAll(handle, start, 0);
  return { salt, bytes: start.length };
}

/** Decodes every payload, or throws naming the first that does not decode and its offset in `file`. */
function decodeAll(file: string, parsed: ParsedFrames, limits: WireLimits): JournalRecord[] {
  return parsed.payloads.map((payload, i) => {
    const decoded = decodeRecord(payload, limits);
    if (!decoded.ok) throw new StoreCorruptError(file, parsed.offsets[i] as number, `a record does not decode: ${decoded.reason}`);
    return decoded.record;
  });
}

/** Creates `dir` if missing, and syncs the parent of every directory it created so their entries survive a crash. */
async function createDirectory(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  const top = resolve(first);
  for (let created = resolve(dir); ; created = dirname(created)) {
    await syncPath(dirname(created));
    if (created === top) return;
  }
}


/** Writes all of `bytes` at `position`, however many writes the system takes. */
async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten === 0) throw new Error(`write at byte ${position + done} made no progress`);
    done += bytesWritten;
  }
}
