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
