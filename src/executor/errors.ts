/** Errors raised by executors. */
import { BafometError } from '../errors.js';

/**
 * The executor cannot go on: the state codec failed on the service's own
 * state (a snapshot, a restore, a rollback's rebuild), a replayed request
 * behaved differently the second time, or the worker died. Its state can no
 * longer be trusted. A throwing `update` is not one: that request fails alone.
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

/** Line breaks, with the blanks around them, that {@link describeError} folds into one space. */
const LINE_BREAKS = /\s*[\n\r\u2028\u2029]+\s*/g;

/**
 * A one-line description of anything thrown: an Error's name and message
 * (never its stack), anything else as `String` makes it, line breaks folded
 * into spaces. Deterministic for a deterministic error; never throws itself.
 */
export function describeError(error: unknown): string {
  try {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return text.replace(LINE_BREAKS, ' ');
  } catch {
    return 'a value that cannot be converted to a string';
  }
}
