/**
 * The event trace of one run. Every event the simulation processes is
 * recorded as a few integers (kind, time, endpoints, a checksum of the bytes
 * involved); SHA-256 over those records, computed incrementally, is the
 * run's `traceDigest`. Replaying a seed must reproduce it bit for bit.
 *
 * Readable lines are produced only in verbose mode: callers test
 * {@link Trace.verbose} before formatting anything, so an ordinary run never
 * builds a string per event.
 */
import { createHash, type Hash } from 'node:crypto';

/** Kinds of trace records (the first integer of each record). */
export const Rec = {
  Send: 1,
  Deliver: 2,
  Drop: 3,
  Duplicate: 4,
  PartitionLoss: 5,
  CrashLoss: 6,
  AuthReject: 7,
  Malformed: 8,
  Rejected: 9,
  Execute: 10,
  Executed: 11,
  Reply: 12,
  Invoke: 13,
  Resolve: 14,
  Crash: 15,
  Restart: 16,
  PartitionStart: 17,
  PartitionEnd: 18,
  Byzantine: 19,
  Phase: 20,
  Tick: 21,
  Snapshot: 22,
  Stable: 23,
  ViewChange: 24,
  ViewInstalled: 25,
  /** A replica's disk synced (generator 7): replica, ticket, held sends released. */
  Synced: 26,
  /** What a crash left of a disk's unsynced tail: replica, kept bytes, lost bytes, torn. */
  DiskCrash: 27,
} as const;
export type Rec = (typeof Rec)[keyof typeof Rec];

const BUFFER_INTS = 8192;

/** 32-bit FNV-1a of `bytes` (a cheap content checksum for trace records). */
export function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private readonly buffer = new Int32Array(BUFFER_INTS);
  private used = 0;
  private digestHex: string | undefined;
  /** Records written so far. */
  records = 0;

  /**
   * @param sink receives readable lines when verbose; undefined = quiet.
   */
  constructor(private readonly sink?: (line: string) => void) {}

  get verbose(): boolean {
    return this.sink !== undefined;
  }

  /** Appends one record of up to 6 integers (values are truncated to 32 bits). */
  rec(kind: Rec, time: number, a = 0, b = 0, c = 0, d = 0): void {
    if (this.used + 7 > BUFFER_INTS) this.flush();
    const buf = this.buffer;
    let i = this.used;
    buf[i++] = kind;
    buf[i++] = time;
    buf[i++] = time / 0x1_0000_0000;
    buf[i++] = a;
    buf[i++] = b;
    buf[i++] = c;
    buf[i++] = d;
    this.used = i;
    this.records++;
  }

  /** A readable line (verbose mode only; callers check `verbose` first). */
  line(time: number, text: string): void {
    this.sink?.(`${formatTime(time).padStart(12)} ${text}`);
  }

  /** SHA-256 (hex) of every record so far; no records may follow. */
  digest(): string {
    if (this.digestHex === undefined) {
      this.flush();
      this.digestHex = this.hash.digest('hex');
    }
    return this.digestHex;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.hash.update(new Uint8Array(this.buffer.buffer, 0, this.used * 4));
    this.used = 0;
  }
}

/** Microseconds as milliseconds with three decimals, e.g. `12.345ms`. */
export function formatTime(micros: number): string {
  return `${(micros / 1000).toFixed(3)}ms`;
}
