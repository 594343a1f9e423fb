/**
 * Messages between `WorkerExecutor` and its worker. Byte lists travel packed
 * into one fresh buffer per message, transferred rather than cloned: a single
 * copy, and none of the sender's other memory (a view's backing network
 * buffer, say) crosses the thread boundary.
 */

import { describeError } from './errors.js';

/** Options the worker starts with (its `workerData`). */
export interface WorkerInit {
  readonly moduleUrl: string;
  readonly exportName: string;
}

/** A list of byte strings laid end to end in `bytes`, delimited by `lengths`. */
export interface Packed {
  readonly bytes: ArrayBuffer;
  readonly lengths: Uint32Array;
}

/** An error flattened to what survives `postMessage`, whatever user code threw. */
export interface WireError {
  readonly message: string;
  readonly cause?: { readonly name: string; readonly message: string; readonly stack?: string | undefined };
}

/** Where a snapshot's encoding goes: back in one buffer, to a new file, or nowhere (digests only). */
export type SnapshotTarget =
  | { readonly kind: 'memory' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'digests' };

export type ToWorker =
  | { readonly type: 'execute'; readonly seq: number; readonly operations: Packed }
  | { readonly type: 'snapshot'; readonly chunkBytes: number; readonly to: SnapshotTarget }
  | { readonly type: 'restore'; readonly state: ArrayBuffer }
  | { readonly type: 'restore-file'; readonly path: string; readonly pieceBytes: number }
  /** A read-only request [Q6]: `operation` is a copy, transferred. */
  | { readonly type: 'query'; readonly operation: ArrayBuffer };

/** A snapshot's answer: `state` only for the memory target. */
export interface SnapshotReply {
  readonly type: 'snapshot';
  readonly state: ArrayBuffer | undefined;
  readonly bytes: number;
  readonly chunkDigests: Packed;
}

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'load-failed'; readonly error: WireError }
  /** `failed`: the indices (ascending) of the requests that failed; their results are the failures' descriptions. */
  | { readonly type: 'executed'; readonly seq: number; readonly results: Packed; readonly failed: number[] }
  | SnapshotReply
  | { readonly type: 'snapshot-failed'; readonly error: WireError }
  | { readonly type: 'restored' }
  /** The answer to the oldest unanswered query; `result` is a buffer of its own, transferred. */
  | { readonly type: 'queried'; readonly status: 'ok' | 'not-read-only' | 'failed'; readonly result: ArrayBuffer }
  | { readonly type: 'fatal'; readonly error: WireError };

/** Copies `list` into one new buffer. */
export function pack(list: readonly Uint8Array[]): Packed {
  const lengths = new Uint32Array(list.length);
  let total = 0;
  for (let i = 0; i < list.length; i++) total += lengths[i] = list[i]!.byteLength;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const item of list) {
    bytes.set(item, offset);
    offset += item.byteLength;
  }
  return { bytes: bytes.buffer, lengths };
}

/** The buffers to transfer with `packed`. */
export const transferList = (packed: Packed): ArrayBuffer[] => [packed.bytes, packed.lengths.buffer as ArrayBuffer];

/** Views into `packed.bytes`, one per packed item (no copy). */
export function unpack(packed: Packed): Uint8Array[] {
  const views: Uint8Array[] = [];
  let offset = 0;
  for (const length of packed.lengths) {
    views.push(new Uint8Array(packed.bytes, offset, length));
    offset += length;
  }
  return views;
}

/**
 * Flattens `error` (a `ServiceError` or `ServiceLoadError`, whose cause, if
 * any, is what user code threw) for `postMessage`.
 */
export function toWire(error: Error): WireError {
  const cause = error.cause;
  if (cause === undefined) return { message: error.message };
  if (!(cause instanceof Error)) {
    return { message: error.message, cause: { name: 'thrown value', message: describeError(cause) } };
  }
  return { message: error.message, cause: { name: cause.name, message: cause.message, stack: cause.stack } };
}

/** Rebuilds `error` on this side, with its cause as a plain `Error` carrying the original name and stack. */
export function fromWire<E extends Error>(
  error: WireError,
  make: (message: string, options?: { cause?: unknown }) => E,
): E {
  if (error.cause === undefined) return make(error.message);
  const cause = new Error(error.cause.message);
  cause.name = error.cause.name;
  if (error.cause.stack !== undefined) cause.stack = error.cause.stack;
  return make(error.message, { cause });
}
