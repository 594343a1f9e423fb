/** Errors raised by executors. */
import { BafometError } from '../errors.js';

/**
 * The service failed while running (its `update` threw, a codec failed on its
 * own output, the worker died). Its state can no longer be trusted.
 */
export class ServiceError extends BafometError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BAFOMET_SERVICE', message, options);
  }
  override get name(): string {
    return 'ServiceError';
  }
}

/** The service module could not be imported, has no such export, or its `initialState()` threw. */
export class ServiceLoadError extends BafometError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BAFOMET_SERVICE_LOAD', message, options);
  }
  override get name(): string {
    return 'ServiceLoadError';
  }
}

/**
 * A checkpoint's state file could not be written. Not the service's fault:
 * that snapshot fails, and the executor carries on.
 */
export class CheckpointFileError extends BafometError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BAFOMET_CHECKPOINT_FILE', message, options);
  }
  override get name(): string {
    return 'CheckpointFileError';
  }
}

/** A one-line description of anything thrown; never throws itself. */
export function describeError(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return 'a value that cannot be converted to a string';
  }
}
