/**
 * A lossy middlebox: a TCP proxy on loopback that forwards every connection
 * to one target and, as its seeded faults say, corrupts bytes, duplicates
 * chunks, cuts connections or stalls them (stops forwarding without closing,
 * as a blackholing NAT or firewall does). It is what the `lossy-network`
 * chaos scenario puts on every link; TLS turns each fault into a dead
 * connection, which the network layer must notice and replace
 * (docs/DESIGN.md, "Link liveness").
 *
 * The faults are decided per chunk as the proxy reads it, from a seeded
 * stream per connection, so the decisions depend on the seed and the chunks,
 * not on Math.random. Chunk boundaries depend on timing, so a real-process
 * run is not replayable byte for byte; the seed still fixes the rates.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Rng } from '../sim/rng.js';

/** What the middlebox does to the bytes it forwards. Every probability is in [0, 1]. */
export interface MiddleboxFaults {
  /** Probability that a forwarded byte is corrupted (XORed with a random non-zero byte). */
  readonly corruptByteProbability: number;
  /** Probability, per chunk read, that the chunk is written twice. */
  readonly duplicateChunkProbability: number;
  /** Probability, per chunk read, that the connection is cut instead: both sides destroyed, the chunk dropped. */
  readonly cutChunkProbability: number;
  /**
   * Probability, per chunk read, that the connection stalls instead: from then
   * on nothing is forwarded in either direction and neither side is closed
   * (reads continue and are discarded, so senders feel no backpressure).
   */
  readonly stallChunkProbability: number;
}

/** The kinds of fault a middlebox injects. */
export type MiddleboxFault = 'corrupt' | 'duplicate' | 'cut' | 'stall';

/** A middlebox that forwards faithfully. */
export const NO_FAULTS: MiddleboxFaults = Object.freeze({
  corruptByteProbability: 0,
  duplicateChunkProbability: 0,
  cutChunkProbability: 0,
  stallChunkProbability: 0,
});

/** Faults injected and traffic forwarded so far. */
export interface MiddleboxCounts {
  /** Connections accepted (and forwarded to the target). */
  readonly connections: number;
  /** Connections refused because `connectionsMax` were open. */
  readonly refusedConnections: number;
  /** Chunks read from either side while not stalled: each is one round of fault decisions. */
  readonly chunks: number;
  /** Bytes written towards either side, duplicates included. */
  readonly bytesForwarded: number;
  readonly corruptedBytes: number;
  readonly duplicatedChunks: number;
  readonly cuts: number;
  readonly stalls: number;
}

/** Counts of no traffic. */
export const ZERO_COUNTS: MiddleboxCounts = Object.freeze({
  connections: 0,
  refusedConnections: 0,
  chunks: 0,
  bytesForwarded: 0,
  corruptedBytes: 0,
  duplicatedChunks: 0,
  cuts: 0,
  stalls: 0,
});

/** The field-by-field sum of counts, e.g. of every middlebox of a run. */
export function sumCounts(all: readonly MiddleboxCounts[]): MiddleboxCounts {
  const total: Record<keyof MiddleboxCounts, number> = { ...ZERO_COUNTS };
  for (const counts of all) for (const key of Object.keys(total) as (keyof MiddleboxCounts)[]) total[key] += counts[key];
  return total;
}

/** Settings of {@link Middlebox.start}. */
export interface MiddleboxOptions {
  /** Where every accepted connection is forwarded to. */
  readonly target: { readonly host: string; readonly port: number };
  /** Seed of the fault decisions (a safe integer). */
  readonly seed: number;
  /** Default {@link NO_FAULTS}; {@link Middlebox.setFaults} changes them while running. */
  readonly faults?: MiddleboxFaults;
  /** Listening host; default 127.0.0.1. */
  readonly host?: string;
  /** Listening port; default 0 (any free port, see {@link Middlebox.port}). */
  readonly port?: number;
  /** Connections open at once; more are refused. Default {@link MIDDLEBOX_CONNECTIONS_MAX}. */
  readonly connectionsMax?: number;
  /**
   * A stalled connection whose ends never close is destroyed after this
   * long, so endpoints that do not notice cannot pin sockets for ever.
   * Default {@link STALL_HOLD_MS}.
   */
  readonly stallHoldMs?: number;
  /** Called as each fault is injected (once per corrupted byte). */
  readonly onFault?: (fault: MiddleboxFault) => void;
}

/** Default bound on open connections per middlebox. */
export const MIDDLEBOX_CONNECTIONS_MAX = 256;
/** Default bound on how long a stalled connection is held open. */
export const STALL_HOLD_MS = 60_000;

/** Throws RangeError unless every probability is in [0, 1]. */
function checkFaults(faults: MiddleboxFaults): MiddleboxFaults {
  for (const [name, p] of Object.entries(faults)) {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a probability in [0, 1]`);
  }
  return { ...faults };
}

/** Bytes to skip before the next corrupted one: geometric with parameter p (Infinity for p = 0). */
function nextCorruption(rng: Rng, p: number): number {
  if (p <= 0) return Infinity;
  if (p >= 1) return 0;
  // 1 - float() is in (0, 1], so the logarithm is finite.
  return Math.floor(Math.log(1 - rng.float()) / Math.log(1 - p));
}

/** What a relay reads from its middlebox: the current faults, its bounds, the shared counters. */
interface RelayHost {
  faults: MiddleboxFaults;
  readonly stallHoldMs: number;
  readonly counters: Record<keyof MiddleboxCounts, number>;
  readonly onFault: (fault: MiddleboxFault) => void;
}

/** One forwarded connection: a downstream socket (the dialer) and an upstream one (the target). */
class Relay {
  private stalled = false;
  private closed = false;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Bytes before the next corrupted one, per direction (0: downstream to upstream), drawn for `corruptDrawnFor`. */
  private readonly untilCorrupt: [number, number] = [Infinity, Infinity];
  private corruptDrawnFor = 0;

  constructor(
    private readonly host: RelayHost,
    readonly down: Socket,
    readonly up: Socket,
    private readonly rng: Rng,
    private readonly onClosed: () => void,
  ) {
    down.on('error', () => {});
    up.on('error', () => {});
    // Either side closing ends the relay; while stalled, a close is not passed on (a blackhole forwards no FIN either).
    down.once('close', () => this.sideClosed(up));
    up.once('close', () => this.sideClosed(down));
    up.once('connect', () => {
      down.on('data', (chunk: Buffer) => this.forward(chunk, down, up, 0));
      up.on('data', (chunk: Buffer) => this.forward(chunk, up, down, 1));
    });
  }

  /** Destroys both sides. */
  destroy(): void {
    this.down.destroy();
    this.up.destroy();
  }

  private sideClosed(other: Socket): void {
    if (!this.stalled) other.destroy();
    if (this.down.destroyed && this.up.destroyed && !this.closed) {
      this.closed = true;
      clearTimeout(this.stallTimer);
      this.onClosed();
    }
  }

  private forward(chunk: Buffer, from: Socket, to: Socket, direction: 0 | 1): void {
    if (this.stalled) return;
    const { faults, counters } = this.host;
    counters.chunks++;
    if (this.rng.chance(faults.cutChunkProbability)) {
      counters.cuts++;
      this.host.onFault('cut');
      this.destroy();
      return;
    }
    if (this.rng.chance(faults.stallChunkProbability)) {
      counters.stalls++;
      this.host.onFault('stall');
      this.stalled = true;
      this.stallTimer = setTimeout(() => this.destroy(), this.host.stallHoldMs);
      this.stallTimer.unref();
      return;
    }
    if (faults.corruptByteProbability !== this.corruptDrawnFor) {
      // The rate changed (setFaults): the gaps drawn for the old one no longer apply.
      this.corruptDrawnFor = faults.corruptByteProbability;
      this.untilCorrupt[0] = nextCorruption(this.rng, this.corruptDrawnFor);
      this.untilCorrupt[1] = nextCorruption(this.rng, this.corruptDrawnFor);
    }
    let data: Buffer = chunk;
    let skip = this.untilCorrupt[direction];
    if (skip < chunk.length) {
      data = Buffer.from(chunk);
      while (skip < data.length) {
        data[skip] = (data[skip] as number) ^ this.rng.int(1, 255);
        counters.corruptedBytes++;
        this.host.onFault('corrupt');
        skip += 1 + nextCorruption(this.rng, faults.corruptByteProbability);
      }
    }
    this.untilCorrupt[direction] = skip - data.length;
    const copies = this.rng.chance(faults.duplicateChunkProbability) ? 2 : 1;
    if (copies === 2) {
      counters.duplicatedChunks++;
      this.host.onFault('duplicate');
    }
    let flowing = true;
    for (let i = 0; i < copies; i++) {
      counters.bytesForwarded += data.length;
      flowing = to.write(data) && flowing;
    }
    if (!flowing && !from.isPaused()) {
      // Backpressure: read no more from this side until the other drains, so a slow reader bounds what we buffer.
      from.pause();
      to.once('drain', () => from.resume());
    }
  }
}

/** A loopback TCP proxy that injects seeded faults; see the file comment. */
export class Middlebox {
  private readonly host: RelayHost;
  private readonly counters: Record<keyof MiddleboxCounts, number> = { ...ZERO_COUNTS };
  private readonly relays = new Set<Relay>();
  private readonly rng: Rng;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: MiddleboxOptions,
  ) {
    this.host = {
      faults: checkFaults(options.faults ?? NO_FAULTS),
      stallHoldMs: options.stallHoldMs ?? STALL_HOLD_MS,
      counters: this.counters,
      onFault: options.onFault ?? (() => {}),
    };
    this.rng = Rng.derive(options.seed, 'middlebox');
    server.on('connection', this.onConnection);
  }

  /**
   * Listens and resolves once it does.
   *
   * @throws RangeError if a fault probability is not in [0, 1]; the listen error if the port is taken.
   */
  static async start(options: MiddleboxOptions): Promise<Middlebox> {
    const box = new Middlebox(createServer(), options);
    await new Promise<void>((resolve, reject) => {
      box.server.once('error', reject);
      box.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        box.server.off('error', reject);
        resolve();
      });
    });
    return box;
  }

  /** The port it listens on. */
  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('middlebox is not listening');
    return address.port;
  }

  /** The faults applied now. */
  get faults(): MiddleboxFaults {
    return this.host.faults;
  }

  /**
   * Changes the faults of every connection, open or future (a stalled one
   * stays stalled).
   *
   * @throws RangeError as {@link Middlebox.start}.
   */
  setFaults(faults: MiddleboxFaults): void {
    this.host.faults = checkFaults(faults);
  }

  /** A snapshot of the counts. */
  counts(): MiddleboxCounts {
    return { ...this.counters };
  }

  /** Connections open now (stalled ones included). */
  get openConnections(): number {
    return this.relays.size;
  }

  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const relay of this.relays) relay.destroy();
    });
    return this.closing;
  }

  private readonly onConnection = (down: Socket): void => {
    if (this.closing !== undefined || this.relays.size >= (this.options.connectionsMax ?? MIDDLEBOX_CONNECTIONS_MAX)) {
      this.counters.refusedConnections++;
      down.destroy();
      return;
    }
    this.counters.connections++;
    const up = connect(this.options.target.port, this.options.target.host);
    const relay = new Relay(this.host, down, up, this.rng.fork(`connection ${this.counters.connections}`), () => this.relays.delete(relay));
    this.relays.add(relay);
  };
}
