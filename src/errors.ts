/** Errors with stable `name` and `code`, so callers can branch on them. */
export class BafometError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override get name(): string {
    return 'BafometError';
  }
}

/** A configuration value is wrong; `field` names it (e.g. `replicas[2].port`). */
export class ConfigError extends BafometError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('ERR_BAFOMET_CONFIG', `${field}: ${message}`);
  }
  override get name(): string {
    return 'ConfigError';
  }
}

/** The client or replica was closed while the operation was outstanding. */
export class ClosedError extends BafometError {
  constructor(what: string) {
    super('ERR_BAFOMET_CLOSED', `${what} is closed`);
  }
  override get name(): string {
    return 'ClosedError';
  }
}

/** Too many invocations are queued in a client; retry later. */
export class OverloadedError extends BafometError {
  constructor(limit: number) {
    super('ERR_BAFOMET_OVERLOADED', `more than ${limit} invocations queued`);
  }
  override get name(): string {
    return 'OverloadedError';
  }
}

/**
 * The replicas refused the request without executing it: their client table
 * holds `clientSessionsMax` sessions and does not know this one. It never
 * forgets a session (that would break exactly-once), so retrying on the same
 * session cannot succeed; the client stops using it.
 */
export class SessionsFullError extends BafometError {
  constructor() {
    super('ERR_BAFOMET_SESSIONS_FULL', 'the replicas hold their most client sessions (clientSessionsMax) and refused a new one; the request was not executed');
  }
  override get name(): string {
    return 'SessionsFullError';
  }
}

/**
 * `Client.invoke` gave up at its deadline (`timeoutMs`) without f + 1
 * matching replies. The message says how far it got (answers seen,
 * replicas not connected). THE REQUEST MAY STILL EXECUTE: it may have
 * reached the replicas. The session it used serves later requests, and
 * exactly-once still holds.
 */
export class TimeoutError extends BafometError {
  constructor(message: string) {
    super('ERR_BAFOMET_TIMEOUT', message);
  }
  override get name(): string {
    return 'TimeoutError';
  }
}

/**
 * `Client.invoke`'s `signal` was aborted before f + 1 matching replies. As
 * with {@link TimeoutError}, the request may still execute if it was sent.
 */
export class AbortError extends BafometError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BAFOMET_ABORTED', message, options);
  }
  override get name(): string {
    return 'AbortError';
  }
}

/** The encoded request is larger than `requestBytesMax`: refused before anything was sent. */
export class RequestTooLargeError extends BafometError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super('ERR_BAFOMET_REQUEST_TOO_LARGE', `the encoded request has ${bytes} bytes, over requestBytesMax (${limit}); nothing was sent`);
  }
  override get name(): string {
    return 'RequestTooLargeError';
  }
}

/**
 * f + 1 replicas rejected the request without ordering it: it breaks a limit
 * they all apply (`reason` names it). It was not executed and never will be.
 */
export class RequestRejectedError extends BafometError {
  constructor(readonly reason: string) {
    super('ERR_BAFOMET_REQUEST_REJECTED', `the replicas rejected the request without executing it: ${reason}`);
  }
  override get name(): string {
    return 'RequestRejectedError';
  }
}

/**
 * A replica's journal is damaged before its end (not merely cut short by a
 * crash): a record it once made durable cannot be read, so the replica no
 * longer knows what it promised and must not start on it. `file` and
 * `offset` say where.
 */
export class StoreCorruptError extends BafometError {
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
  ) {
    super(
      'ERR_BAFOMET_STORE_CORRUPT',
      `the journal ${file} is corrupt at byte ${offset} (${detail}); this replica cannot trust what it promised: move the data directory away to rejoin by state transfer`,
    );
  }
  override get name(): string {
    return 'StoreCorruptError';
  }
}
