/**
 * How the `bafomet` command line ends on an error: one line on stderr that
 * says what went wrong and how to fix it, and an exit code by kind of
 * error. Every command's errors end here (main.ts); a stack trace is printed
 * only with BAFOMET_DEBUG=1.
 */
import { ClusterFilesExistError } from '../cluster/init.js';
import { BafometError, ConfigError, StoreCorruptError } from '../errors.js';
import { ServiceError, ServiceLoadError } from '../executor/errors.js';
import type { Logger } from '../log.js';
import type { ReplicaStop } from '../runtime/replica.js';

/** The exit codes of every command; `bafomet replica --help` lists them. */
export const EXIT = {
  ok: 0,
  /** Anything unexpected: an internal error (a bug), a replica that stopped for no reported reason. */
  failure: 1,
  /** A bad command or option; a config or key file missing, unreadable or invalid; `init` into a folder with cluster files. */
  usage: 2,
  /** The service could not be loaded, or failed while running. */
  service: 3,
  /** The host refused: the port is in use, the address is not on this host, permission denied, disk full. */
  environment: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `
Exit codes:
  0  stopped by SIGINT or SIGTERM (or, with --control, stdin closed), after closing
  1  an unexpected error: a bug, or the replica stopped for no reported reason
  2  usage or configuration: a bad option, a config or key file missing, unreadable
     or invalid, init into a folder that has a cluster's files
  3  the service failed: it could not be loaded, or failed while running
  4  the environment: the port is in use, the address is not on this host,
     permission denied, no space left
Errors are one line on stderr; BAFOMET_DEBUG=1 adds the stack trace.`;

const DEBUG_HINT = '(run with BAFOMET_DEBUG=1 for the stack trace)';

/** An error the command line has already explained: `message` is the line to print, after `bafomet: `. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override get name(): string {
    return 'CliError';
  }
}

/** What to print for an error, and how to exit. */
export interface Explained {
  readonly exitCode: ExitCode;
  /** One line, without the `bafomet: ` prefix. */
  readonly message: string;
  /** Unexpected or user-code errors, whose stack may help: the line ends with the BAFOMET_DEBUG hint. */
  readonly hint: boolean;
}

/** Where a replica listens, and where that is configured, for messages about it. */
export interface ReplicaContext {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly configPath: string;
  readonly keyPath: string;
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'already exists',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
};
const USAGE_ERRNOS: ReadonlySet<string> = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EEXIST']);

function errno(error: unknown): (Error & { code: string; syscall?: string; path?: string }) | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? (error as Error & { code: string }) : undefined;
}

/** `text` on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function messageOf(error: unknown): string {
  try {
    return oneLine(error instanceof Error ? error.message : String(error));
  } catch {
    return 'a value that cannot be converted to a string';
  }
}

/** The message and exit code for any error thrown by a command. */
export function explain(error: unknown): Explained {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: oneLine(error.message), hint: false };
  if (error instanceof ClusterFilesExistError) {
    const more = error.paths.length > 1 ? ` (and ${error.paths.length - 1} more of a cluster's files)` : '';
    return {
      exitCode: EXIT.usage,
      message: `init will not overwrite ${error.paths[0]}${more}: choose an empty folder for --out, or move the old cluster's files away`,
      hint: false,
    };
  }
  if (error instanceof ConfigError) return { exitCode: EXIT.usage, message: messageOf(error), hint: false };
  if (error instanceof ServiceLoadError) return { exitCode: EXIT.service, message: `the service could not be loaded: ${messageOf(error)}`, hint: true };
  if (error instanceof ServiceError) return { exitCode: EXIT.service, message: `the service failed: ${messageOf(error)}`, hint: true };
  if (error instanceof StoreCorruptError) return { exitCode: EXIT.environment, message: messageOf(error), hint: false };
  const e = errno(error);
  if (e !== undefined && e.path !== undefined && ERRNO_TEXT[e.code] !== undefined) {
    const what = e.syscall === undefined ? e.path : `${e.syscall} ${e.path}`;
    return { exitCode: USAGE_ERRNOS.has(e.code) ? EXIT.usage : EXIT.environment, message: `${what}: ${ERRNO_TEXT[e.code]}`, hint: false };
  }
  if (error instanceof Error && (error as { code?: unknown }).code === 'ERR_BAFOMET_INVARIANT') {
    return { exitCode: EXIT.failure, message: `internal error (a bug in bafomet): ${messageOf(error)}`, hint: true };
  }
  if (error instanceof BafometError) return { exitCode: EXIT.failure, message: `${error.code}: ${messageOf(error)}`, hint: true };
  return { exitCode: EXIT.failure, message: messageOf(error), hint: true };
}

/** A file the operator named (`what`, e.g. "cluster config") cannot be read: the line says which and how to fix it. */
export function unreadableFile(error: unknown, path: string, what: string, fix: string): CliError {
  const e = errno(error);
  const why = e === undefined ? messageOf(error) : (ERRNO_TEXT[e.code] ?? messageOf(error));
  return new CliError(`cannot read the ${what} ${path}: ${why}; ${fix}`, EXIT.usage, { cause: error });
}

/**
 * An error of `Replica.start`, with what the operator needs to fix it: a
 * listen error names the replica, its address and the config field to change.
 */
export function inReplicaContext(error: unknown, replica: ReplicaContext): unknown {
  const { id, host, port, configPath } = replica;
  const at = `replica ${id} cannot listen on ${host}:${port}`;
  const e = errno(error);
  if (e !== undefined && (e.syscall === 'listen' || e.syscall === 'bind' || e.syscall === 'getaddrinfo')) {
    switch (e.code) {
      case 'EADDRINUSE':
        return new CliError(`${at}: the port is in use (another replica or process?); stop it or change replicas[${id}].port in ${configPath}`, EXIT.environment, { cause: error });
      case 'EADDRNOTAVAIL':
        return new CliError(`${at}: the address is not on this host; run replica ${id} on ${host}, or change replicas[${id}].host in ${configPath}`, EXIT.environment, { cause: error });
      case 'EACCES':
        return new CliError(`${at}: permission denied (ports below 1024 need privileges); change replicas[${id}].port in ${configPath}`, EXIT.environment, { cause: error });
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new CliError(`${at}: the host name does not resolve; change replicas[${id}].host in ${configPath}`, EXIT.environment, { cause: error });
      default:
        return new CliError(`${at}: ${messageOf(error)}`, EXIT.environment, { cause: error });
    }
  }
  if (error instanceof ConfigError && error.field === `replicas[${id}].publicKey`) {
    return new CliError(`${replica.keyPath} is not the key of replica ${id} in ${configPath} (its publicKey differs); pass the right --key or --id`, EXIT.usage, { cause: error });
  }
  return error;
}

/** A replica that stopped by itself: the runtime's {@link ReplicaStop}, or only a reason when the runtime gave none. */
export type StopReason = Pick<ReplicaStop, 'reason'> & Partial<Pick<ReplicaStop, 'error'>>;

/** The message and exit code of a replica that stopped by itself while running. */
export function explainStop(id: number, stop: StopReason): Explained {
  const service = stop.error instanceof ServiceError || stop.error instanceof ServiceLoadError;
  return { exitCode: service ? EXIT.service : EXIT.failure, message: `replica ${id} stopped: ${oneLine(stop.reason)}`, hint: stop.error !== undefined };
}

function debugging(): boolean {
  const value = process.env['BAFOMET_DEBUG'];
  return value !== undefined && value !== '' && value !== '0';
}

function stackOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.stack === undefined) return undefined;
  let text = error.stack;
  for (let cause = error.cause, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    text += `\ncaused by: ${cause.stack ?? `${cause.name}: ${cause.message}`}`;
  }
  return text;
}

/** Writes the line for `explained` (and with BAFOMET_DEBUG=1 the stack of `error`) to stderr. */
export function report(explained: Explained, error?: unknown): void {
  const debug = debugging();
  const hint = explained.hint && !debug ? ` ${DEBUG_HINT}` : '';
  let text = `bafomet: ${explained.message}${hint}\n`;
  const stack = debug ? stackOf(error) : undefined;
  if (stack !== undefined) text += stack + '\n';
  process.stderr.write(text);
}

let crashLogger: Logger | undefined;

/** The structured log that crashes (uncaught errors) are also written to, once a command has one. */
export function setCrashLogger(logger: Logger): void {
  crashLogger = logger;
}

/** Reports `error` and exits with its code. */
export function exitWith(error: unknown): never {
  const explained = explain(error);
  report(explained, error);
  process.exit(explained.exitCode);
}

/**
 * Uncaught exceptions and unhandled rejections (an internal assertion in a
 * timer, say) end the process like any other error: one line, a non-zero
 * code, and a structured log line if a command set up a log.
 */
export function installCrashHandlers(): void {
  process.on('uncaughtException', (error) => {
    const explained = explain(error);
    try {
      crashLogger?.error('process exits on an uncaught error', { exitCode: explained.exitCode, reason: explained.message });
    } catch {
      // Reporting below matters more than the log.
    }
    report(explained, error);
    process.exit(explained.exitCode);
  });
}
