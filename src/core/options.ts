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
  /** Sequence numbers the primary keeps in flight (proposed, not yet executed). */
  readonly pipelineMax: number;
  /** Sequence numbers above the last delivered one a replica accepts messages for. */
  readonly logWindow: number;
  /** Batches handed to the executor and not yet executed. */
  readonly executeBacklogMax: number;
  /** Client requests a replica holds before they are ordered. */
  readonly pendingRequestsMax: number;
  /** Client sessions a replica remembers (last request number and reply). */
  readonly clientSessionsMax: number;
}

export const defaultProtocolOptions: ProtocolOptions = {
  batchRequestsMax: 1024,
  batchBytesMax: 4 * 1024 * 1024,
  requestBytesMax: 1024 * 1024,
  replyBytesMax: 1024 * 1024,
  pipelineMax: 8,
  logWindow: 256,
  executeBacklogMax: 32,
  pendingRequestsMax: 100_000,
  clientSessionsMax: 1_000_000,
};
