/**
 * What a `ServiceRunner` rolls back from: the state as of its latest
 * snapshot or restore (the initial state before any), and the batches
 * executed since. Services are deterministic, so decoding the base and
 * replaying those batches, without the requests that failed, gives back
 * exactly the state a failed request found.
 */
import type { OpenStateFile } from '../checkpoint/state-file.js';

/**
 * Where the state is rebuilt from: `initialState()`, a private copy of an
 * encoding the runner produced or was given, or a state file it wrote or
 * restored from, held open.
 */
export type StateBase =
  | { readonly kind: 'initial' }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly what: string }
  | { readonly kind: 'file'; readonly file: OpenStateFile; readonly pieceBytes: number; readonly what: string };

/** A batch executed since the base: replayed, but for its `failed` requests, by a rollback. */
export interface KeptBatch {
  readonly seq: number;
  /** The encoded requests, owned by the runner: nobody changes or reuses them. */
  readonly operations: readonly Uint8Array[];
  /** Indices (ascending) of the requests that failed, and left the state as it was. */
  readonly failed: readonly number[];
}

/** Bytes a kept request is counted for on top of its own, for its view and slot in the batch. */
export const KEPT_REQUEST_OVERHEAD_BYTES = 64;
