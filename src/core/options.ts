/**
 * Protocol limits and timing, in one validated object. Every queue, batch and
 * window of the core is bounded by one of these names.
 */
export interface ProtocolOptions {
  /** Most requests in one PRE-PREPARE batch. */
  readonly batchRequestsMax: number;
  /** Most operation bytes in one batch (bounds a PRE-PREPARE frame). */
  readonly batchBytesMax: number;
  /** Most bytes in one client operation. */
  readonly requestBytesMax: number;
  /** Most bytes in one reply. */
  readonly replyBytesMax: number;
  /**
   * Sequence numbers the primary keeps in flight (proposed, not yet
   * executed). Default 1, as BFT-SMaRt orders one batch at a time: under
   * load the next batch takes what waited meanwhile, and on this project's
   * 2-core machine fewer, larger batches cost less CPU per request
   * (docs/BENCHMARKS.md, "Pipeline depth"). Raise it where the round trip
   * between replicas, not CPU, limits a lightly loaded cluster.
   */
  readonly pipelineMax: number;
  /** Sequence numbers above the last delivered one a replica accepts messages for. */
  readonly logWindow: number;
  /** Batches handed to the executor and not yet executed. */
  readonly executeBacklogMax: number;
  /** Client requests a replica holds before they are ordered. */
  readonly pendingRequestsMax: number;
  /** Operation bytes, summed, of the client requests a replica holds before they are ordered; at least requestBytesMax. */
  readonly pendingRequestBytesMax: number;
  /**
   * Client requests a replica holds for the sessions of one client key: one
   * key cannot take the whole of pendingRequestsMax (a value above it changes nothing).
   */
  readonly pendingRequestsPerKeyMax: number;
  /** Operation bytes of the requests held for one client key; at least requestBytesMax. */
  readonly pendingRequestBytesPerKeyMax: number;
  /**
   * Client sessions a replica remembers (last request number and reply).
   * Sessions are never forgotten: a request of a new session is refused
   * once this many are known (docs/DESIGN.md, "Exactly-once").
   */
  readonly clientSessionsMax: number;
  /**
   * Sessions of one client key the client table admits: a new session of a
   * key that has this many is refused at delivery, like one over
   * clientSessionsMax (a value above it changes nothing).
   */
  readonly clientSessionsPerKeyMax: number;
  /**
   * Bytes of cached replies the client table keeps, summed; at least
   * replyBytesMax. Past it the least recently executed sessions' reply
   * bodies are dropped (the sessions and their request numbers stay).
   */
  readonly clientReplyCacheBytesMax: number;
  /** A checkpoint every this many sequence numbers; at most logWindow / 2 so the window never stalls. */
  readonly checkpointInterval: number;
  /** Ticks a client request may wait at a backup before it is forwarded to the primary. */
  readonly requestTimeoutTicks: number;
  /** Ticks a client request may wait before the backup votes to change the view (first attempt). */
  readonly viewChangeTimeoutTicks: number;
  /** Ticks to wait for the NEW-VIEW once a quorum moved to a view; doubles with each failed view. */
  readonly newViewTimeoutTicks: number;
  /** Ticks between retransmission rounds: VIEW-CHANGE while changing view, CHECKPOINTs not yet stable, votes of waiting slots. */
  readonly viewChangeResendTicks: number;
  /** Most bytes of a VIEW-CHANGE or NEW-VIEW (they carry certificates with whole batches). */
  readonly viewChangeBytesMax: number;
  /** Bytes per chunk of a checkpoint image (and most bytes of one CHUNK message) [S1]. */
  readonly chunkBytes: number;
  /** Most bytes of a checkpoint image (client table and service state); bounds a manifest's chunk count. */
  readonly checkpointBytesMax: number;
  /** Chunks a replica in state transfer has requested and not yet received [S9]. */
  readonly chunksInFlightMax: number;
  /** Most batches in one LOG-ENTRIES answer [S14]. */
  readonly logEntriesMax: number;
}

export const defaultProtocolOptions: ProtocolOptions = {
  batchRequestsMax: 1024,
  batchBytesMax: 256 * 1024,
  requestBytesMax: 256 * 1024,
  replyBytesMax: 1024 * 1024,
  pipelineMax: 1,
  logWindow: 128,
  executeBacklogMax: 32,
  pendingRequestsMax: 100_000,
  pendingRequestBytesMax: 128 * 1024 * 1024,
  pendingRequestsPerKeyMax: 4096,
  pendingRequestBytesPerKeyMax: 16 * 1024 * 1024,
  clientSessionsMax: 1_000_000,
  clientSessionsPerKeyMax: 4096,
  clientReplyCacheBytesMax: 256 * 1024 * 1024,
  checkpointInterval: 64,
  requestTimeoutTicks: 40,
  viewChangeTimeoutTicks: 100,
  newViewTimeoutTicks: 200,
  viewChangeResendTicks: 30,
  viewChangeBytesMax: 64 * 1024 * 1024,
  chunkBytes: 1024 * 1024,
  checkpointBytesMax: 16 * 1024 * 1024 * 1024,
  chunksInFlightMax: 8,
  logEntriesMax: 16,
};

/**
 * The first inconsistency in `options`, or undefined. Limits that must agree
 * are checked together: a request larger than a batch could never be
 * proposed without every backup rejecting the batch.
 */
export function protocolOptionsProblem(options: ProtocolOptions): { field: keyof ProtocolOptions; message: string } | undefined {
  for (const [field, value] of Object.entries(options) as [keyof ProtocolOptions, number][]) {
    if (!Number.isSafeInteger(value) || value < 1) return { field, message: 'must be a positive integer' };
  }
  if (options.requestBytesMax > options.batchBytesMax) {
    return { field: 'requestBytesMax', message: 'must not exceed batchBytesMax' };
  }
  // One request, or one reply, must always fit: a bound below it would refuse every request of that size.
  if (options.pendingRequestBytesMax < options.requestBytesMax) {
    return { field: 'pendingRequestBytesMax', message: 'must be at least requestBytesMax' };
  }
  if (options.pendingRequestBytesPerKeyMax < options.requestBytesMax) {
    return { field: 'pendingRequestBytesPerKeyMax', message: 'must be at least requestBytesMax' };
  }
  if (options.clientReplyCacheBytesMax < options.replyBytesMax) {
    return { field: 'clientReplyCacheBytesMax', message: 'must be at least replyBytesMax' };
  }
  if (options.logWindow < options.pipelineMax) return { field: 'logWindow', message: 'must be at least pipelineMax' };
  if (options.checkpointInterval * 2 > options.logWindow) {
    return { field: 'checkpointInterval', message: 'must be at most logWindow / 2' };
  }
  if (viewChangeBytesNeeded(options) > options.viewChangeBytesMax) {
    return { field: 'viewChangeBytesMax', message: `must hold logWindow full batches (${viewChangeBytesNeeded(options)} bytes)` };
  }
  // A lost vote is resent within two rounds (R7); at least one must come before T2. The defaults allow both.
  if (options.viewChangeTimeoutTicks <= options.viewChangeResendTicks) {
    return { field: 'viewChangeTimeoutTicks', message: 'must exceed viewChangeResendTicks' };
  }
  if (options.viewChangeTimeoutTicks <= options.requestTimeoutTicks) {
    return { field: 'viewChangeTimeoutTicks', message: 'must exceed requestTimeoutTicks' };
  }
  return undefined;
}

/**
 * Wire bytes per request besides its operation (124: ids, client key and
 * signature, with their length fields), and per certificate besides its
 * batch (rounded up).
 */
const REQUEST_OVERHEAD_BYTES = 128;
const CERTIFICATE_OVERHEAD_BYTES = 4096;

/** The most wire bytes a full batch takes: operations plus per-request framing. */
export function batchWireBytesMax(options: ProtocolOptions): number {
  return options.batchBytesMax + options.batchRequestsMax * REQUEST_OVERHEAD_BYTES;
}

/** The largest VIEW-CHANGE a replica may have to send: a full batch certificate for every slot of the window. */
export function viewChangeBytesNeeded(options: ProtocolOptions): number {
  return options.logWindow * (batchWireBytesMax(options) + CERTIFICATE_OVERHEAD_BYTES);
}

/** The largest NEW-VIEW: up to n VIEW-CHANGEs and the PRE-PREPAREs they imply. */
export function newViewBytesMax(options: ProtocolOptions, replicas: number): number {
  return (replicas + 1) * options.viewChangeBytesMax;
}
