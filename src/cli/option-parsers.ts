/** Parsers of the CLI's numeric options and the log levels it offers, shared by every command (commander). */
import { InvalidArgumentError } from 'commander';
import type { LogLevel } from '../log.js';

/** Every log level, for `--log-level` choices. */
export const LOG_LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** An integer in min..max. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return value;
  };
}

/** A replica's address on the command line. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port,host:port,...` (an IPv6 host in brackets: `[::1]:7000`). */
export function hostList(text: string): HostPort[] {
  return text.split(',').map((entry) => {
    const at = entry.lastIndexOf(':');
    const host = entry.slice(0, at).replace(/^\[(.*)\]$/, '$1');
    const port = Number(entry.slice(at + 1));
    if (at <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidArgumentError(`expected host:port entries separated by commas, got "${entry}"`);
    }
    return { host, port };
  });
}

/** A number in (0, max]. */
export function positive(max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0 || value > max) throw new InvalidArgumentError(`expected a number in (0, ${max}]`);
    return value;
  };
}

/** A number of seconds in min..max, fractions allowed. */
export function seconds(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) throw new InvalidArgumentError(`expected a number of seconds in ${min}..${max}`);
    return value;
  };
}
