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
