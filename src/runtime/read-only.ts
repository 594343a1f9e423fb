/**
 * What a replica holds for read-only requests (docs/PROTOCOL.md Q4): each
 * one admitted waits in the executor's queue, behind the batches handed to
 * it before, until its answer is sent. The gate bounds how many wait per
 * client connection and in all, and their operation bytes in all; a request
 * over a bound is refused at once (a `rejected` read-reply), and its client
 * orders it instead.
 */
import { assert } from '../core/assert.js';
import { ConfigError } from '../errors.js';

/** Bounds on read-only requests a replica has admitted and not yet answered. */
export interface ReadOnlyLimits {
  /** Per client connection. Default 64: a client keeps at most 16 on the wire by default. */
  readonly perConnectionMax: number;
  /** Over all connections. Default 4,096. */
  readonly queuedMax: number;
  /** Their operation bytes, over all connections. Default 16 MiB. */
  readonly queuedBytesMax: number;
}

export const DEFAULT_READ_ONLY_LIMITS: ReadOnlyLimits = {
  perConnectionMax: 64,
  queuedMax: 4096,
  queuedBytesMax: 16 * 1024 * 1024,
};

/** Which bound refused a read-only request: stable codes, for the reply's text and logs. */
export type ReadOnlyRefusal = 'read-only-connection-full' | 'read-only-queue-full' | 'read-only-bytes-full';

/**
 * `limits` over the defaults, checked.
 *
 * @throws ConfigError naming the field that is not a positive safe integer.
 */
export function resolveReadOnlyLimits(limits: Partial<ReadOnlyLimits> = {}): ReadOnlyLimits {
  const resolved = { ...DEFAULT_READ_ONLY_LIMITS, ...limits };
  for (const [field, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`readOnly.${field}`, 'must be a positive integer');
  }
  return resolved;
}

/** Counts read-only requests admitted and not yet answered, per connection `K` and in all [Q4]. */
export class ReadOnlyGate<K> {
  private readonly perConnection = new Map<K, number>();
  private count = 0;
  private bytes = 0;

  constructor(private readonly limits: ReadOnlyLimits) {}

  /** Admits a request of `bytes` operation bytes from `connection`, or says which bound refuses it. */
  admit(connection: K, bytes: number): ReadOnlyRefusal | undefined {
    const held = this.perConnection.get(connection) ?? 0;
    if (held >= this.limits.perConnectionMax) return 'read-only-connection-full';
    if (this.count >= this.limits.queuedMax) return 'read-only-queue-full';
    if (this.bytes + bytes > this.limits.queuedBytesMax) return 'read-only-bytes-full';
    this.perConnection.set(connection, held + 1);
    this.count++;
    this.bytes += bytes;
    return undefined;
  }

  /** A request {@link admit} let in was answered (or will never be). */
  release(connection: K, bytes: number): void {
    const held = this.perConnection.get(connection) ?? 0;
    assert(held >= 1 && this.bytes >= bytes, 'release of a read-only request that was not admitted');
    if (held === 1) this.perConnection.delete(connection);
    else this.perConnection.set(connection, held - 1);
    this.count--;
    this.bytes -= bytes;
  }

  /** Requests admitted and not yet released. */
  get queued(): number {
    return this.count;
  }

  /** Their operation bytes. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Connections holding at least one. */
  get connections(): number {
    return this.perConnection.size;
  }
}
