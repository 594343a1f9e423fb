/**
 * `bafomet bench --read-only`: every request an unordered read
 * (`Client.invokeReadOnly`, issue 13), which does not exist yet. This file
 * is the one place that knows: the command asks {@link readOnlyUnsupported}
 * before starting anything, and the client processes get their invoke
 * function from {@link benchInvoker}. To switch it on, once the client has
 * `invokeReadOnly`: set {@link READ_ONLY_SUPPORTED} and let
 * {@link benchInvoker} return `(operation) => client.invokeReadOnly(operation)`
 * (the bench service may then need to declare its requests read-only, as
 * the client's codecs allow).
 */
import { BafometError } from '../errors.js';
import type { Client } from '../runtime/client.js';

/** Whether read-only requests can be benchmarked. */
export const READ_ONLY_SUPPORTED = false;

/** `--read-only` asked of a client that cannot send read-only requests yet. */
export class ReadOnlyUnsupportedError extends BafometError {
  constructor() {
    super('ERR_BAFOMET_BENCH_READ_ONLY', '--read-only is not yet supported: it needs Client.invokeReadOnly, which does not exist yet');
  }
  override get name(): string {
    return 'ReadOnlyUnsupportedError';
  }
}

/** Why `--read-only` cannot run, or undefined once it can. */
export function readOnlyUnsupported(): ReadOnlyUnsupportedError | undefined {
  return READ_ONLY_SUPPORTED ? undefined : new ReadOnlyUnsupportedError();
}

/** How a bench session sends one request: ordered (`invoke`), or read-only. */
export function benchInvoker(client: Client<Uint8Array, Uint8Array>, readOnly: boolean): (operation: Uint8Array) => Promise<Uint8Array> {
  if (!readOnly) return (operation) => client.invoke(operation);
  // Switched on: return (operation) => client.invokeReadOnly(operation);
  throw new ReadOnlyUnsupportedError();
}
