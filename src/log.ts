/**
 * One structured logger for every component: JSON lines on stderr through
 * pino. Fields are context objects; never put key material or raw peer bytes
 * in them.
 */
import { pino } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

class PinoLogger implements Logger {
  constructor(private readonly target: pino.Logger) {}
  debug(message: string, fields?: LogFields): void {
    this.target.debug(fields ?? {}, message);
  }
  info(message: string, fields?: LogFields): void {
    this.target.info(fields ?? {}, message);
  }
  warn(message: string, fields?: LogFields): void {
    this.target.warn(fields ?? {}, message);
  }
  error(message: string, fields?: LogFields): void {
    this.target.error(fields ?? {}, message);
  }
  child(fields: LogFields): Logger {
    return new PinoLogger(this.target.child(fields));
  }
}

/**
 * A logger writing JSON lines to stderr. The level defaults to the
 * `BAFOMET_LOG` environment variable, else `warn`, so libraries stay quiet.
 */
export function createLogger(options: { level?: LogLevel; name?: string } = {}): Logger {
  const level = options.level ?? (process.env['BAFOMET_LOG'] as LogLevel | undefined) ?? 'warn';
  return new PinoLogger(pino({ level, name: options.name ?? 'bafomet', base: undefined }, pino.destination(2)));
}
