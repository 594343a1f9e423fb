/**
 * The load one client process puts on the service: `sessions` closed-loop
 * sessions (each sends its next request when the last one's reply quorum
 * arrived, as BFT-SMaRt's ThroughputLatency clients do), or an open loop at
 * a fixed rate that queues in the client beyond its sessions. It measures
 * only inside a window the parent opens after the warm-up and closes at the
 * end ({@link BenchLoad.measure}, {@link BenchLoad.report}).
 *
 * Latency is from the invocation to the reply quorum in the closed loop; in
 * the open loop from the time the request was due, so a request that waited
 * behind a slow one counts its wait (no coordinated omission).
 */
import { performance } from 'node:perf_hooks';
import { BENCH_READ_MARKER } from '../services/bench.js';
import { LatencyHistogram } from './histogram.js';
import type { ClientWindow } from './protocol.js';

export interface BenchLoadOptions {
  /** Concurrent requests on the wire (the client's sessions); in the closed loop, one loop each. */
  readonly sessions: number;
  readonly requestBytes: number;
  /** The size every reply must have; others count as wrong. */
  readonly replyBytes: number;
  /** Requests per second of the open loop; undefined: closed loop. */
  readonly ratePerSec?: number;
  /** Requests are reads (`--read-only`): marked for the bench service, which declares them read-only. */
  readonly reads: boolean;
  /** Sends one request and resolves with its reply (the client's `invoke` or `invokeReadOnly`). */
  readonly invoke: (operation: Uint8Array) => Promise<Uint8Array>;
}

/** How often the open loop issues what is due: a timer's resolution, so requests go in small bursts. */
const OPEN_LOOP_TICK_MS = 1;

export class BenchLoad {
  private running = false;
  private measuring = false;
  private completedTotal = 0;
  private readonly loops: Promise<void>[] = [];
  private openLoopTimer: NodeJS.Timeout | undefined;
  private window = emptyWindow();

  constructor(private readonly options: BenchLoadOptions) {}

  /** Requests completed since {@link start}, measured or not. */
  get completed(): number {
    return this.completedTotal;
  }

  /** Starts the load; the warm-up runs until {@link measure}. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const { ratePerSec, sessions } = this.options;
    if (ratePerSec === undefined) {
      for (let s = 0; s < sessions; s++) this.loops.push(this.closedLoop(s));
    } else {
      this.openLoop(ratePerSec);
    }
  }

  /** Opens the measured window: everything recorded so far (the warm-up) is dropped. */
  measure(): void {
    this.window = emptyWindow();
    this.measuring = true;
  }

  /** Closes the window and returns what was measured in it; the load goes on. */
  report(): ClientWindow {
    const w = this.window;
    this.measuring = false;
    const cpu = process.cpuUsage(w.cpuAt);
    return {
      requests: w.requests,
      errors: { ...w.errors },
      wrongReplies: w.wrongReplies,
      elapsedMs: performance.now() - w.startedAt,
      latency: w.latency.toJSON(),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }

  /**
   * Stops sending; resolves when every closed loop has ended. A loop waits
   * for its outstanding request: close the client to cut them short.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.measuring = false;
    clearInterval(this.openLoopTimer);
    await Promise.all(this.loops);
  }

  private async closedLoop(session: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const sentAt = performance.now();
      await this.send(this.operation(session, n), sentAt);
    }
  }

  /**
   * Issues request k at start + k / rate. Each tick sends every request due
   * by then, each timed from its own due time.
   */
  private openLoop(ratePerSec: number): void {
    const startedAt = performance.now();
    const intervalMs = 1000 / ratePerSec;
    let issued = 0;
    this.openLoopTimer = setInterval(() => {
      const due = Math.floor((performance.now() - startedAt) / intervalMs) + 1;
      for (; issued < due && this.running; issued++) {
        void this.send(this.operation(issued % this.options.sessions, issued), startedAt + issued * intervalMs);
      }
    }, OPEN_LOOP_TICK_MS);
  }

  /** One request; its outcome is recorded if the window is open when it ends. */
  private async send(operation: Uint8Array, since: number): Promise<void> {
    let reply: Uint8Array;
    try {
      reply = await this.options.invoke(operation);
    } catch (error) {
      // After stop, the client's close rejects what was outstanding: not a failure of the service.
      if (this.measuring && this.running) {
        const name = error instanceof Error ? error.name : 'Error';
        this.window.errors[name] = (this.window.errors[name] ?? 0) + 1;
      }
      return;
    }
    this.completedTotal++;
    if (!this.measuring) return;
    this.window.latency.record(performance.now() - since);
    this.window.requests++;
    if (reply.length !== this.options.replyBytes) this.window.wrongReplies++;
  }

  /**
   * Request `n` of `session`: `requestBytes` bytes, the session and number
   * written at the front so that no two requests are alike (the service
   * hashes them; equal requests would still be executed, but a digest over
   * distinct ones shows any difference in order).
   */
  private operation(session: number, n: number): Uint8Array {
    const bytes = new Uint8Array(this.options.requestBytes);
    if (this.options.reads) {
      bytes[0] = BENCH_READ_MARKER; // what the bench service declares read-only; a read need not be unique
      return bytes;
    }
    const view = new DataView(bytes.buffer);
    if (bytes.length >= 4) view.setUint32(0, session, true);
    if (bytes.length >= 12) view.setFloat64(4, n, true);
    return bytes;
  }
}

interface Window {
  requests: number;
  wrongReplies: number;
  errors: Record<string, number>;
  readonly latency: LatencyHistogram;
  readonly startedAt: number;
  readonly cpuAt: NodeJS.CpuUsage;
}

function emptyWindow(): Window {
  return { requests: 0, wrongReplies: 0, errors: {}, latency: new LatencyHistogram(), startedAt: performance.now(), cpuAt: process.cpuUsage() };
}
