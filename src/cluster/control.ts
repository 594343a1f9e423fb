/**
 * The control channel of a replica process started with `--control`: JSON
 * lines on stdin (commands) and stdout (the ready line and answers). A local
 * parent (demo, tests, chaos runner) uses it to ask for status and state
 * digests; the replica exits when stdin closes, so it never outlives its parent.
 */
export type ControlCommand = { readonly id: number; readonly cmd: 'status' | 'digest' | 'memory' | 'cpu' };

export interface ReadyLine {
  readonly event: 'ready';
  readonly replica: number;
  readonly port: number;
  readonly pid: number;
}

export interface StatusAnswer {
  readonly id: number;
  readonly status: {
    readonly view: number;
    readonly primary: number;
    /** False between voting for `view` and installing it. */
    readonly viewActive: boolean;
    readonly lastDelivered: number;
    readonly lastExecuted: number;
    /** The latest stable checkpoint (low watermark). */
    readonly stableCheckpoint: number;
    readonly pendingRequests: number;
    /** Sequence numbers in its log (slots above the stable checkpoint). */
    readonly slots: number;
    readonly batchesDelivered: number;
    readonly requestsExecuted: number;
    readonly rejectedMessages: number;
    readonly malformedFrames: number;
    /** Views this replica installed beyond view 0 (0 while it stays in view 0). */
    readonly viewChanges: number;
    /** Checkpoints it fetched from others and installed (state transfer). */
    readonly checkpointsInstalled: number;
    /** Times it found its state differing from the certified one and repaired it. */
    readonly divergences: number;
  };
}

export interface DigestAnswer {
  readonly id: number;
  /** SHA-256 of the encoded service state, hex. */
  readonly digest: string;
  /** The state is the one after executing batch `seq`. */
  readonly seq: number;
}

export interface MemoryAnswer {
  readonly id: number;
  /** process.memoryUsage() of the replica process, bytes: `rss` is the whole process, heap figures the main thread's. */
  readonly memory: { readonly rss: number; readonly heapTotal: number; readonly heapUsed: number; readonly external: number; readonly arrayBuffers: number };
}

export interface CpuAnswer {
  readonly id: number;
  /**
   * process.cpuUsage() of the replica process since it started, microseconds:
   * every thread (the executor's worker, libuv's pool) counts. A benchmark
   * takes the difference of two answers (src/bench/).
   */
  readonly cpu: { readonly user: number; readonly system: number };
}

export type ControlAnswer = StatusAnswer | DigestAnswer | MemoryAnswer | CpuAnswer | { readonly id: number; readonly error: string };
