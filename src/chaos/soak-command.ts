/** `bafomet soak` (what `npm run soak` runs): the long-run memory check of soak.ts. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { LogLevel } from '../log.js';
import { defaultSoakOptions, formatSoakReport, runSoak } from './soak.js';
import { LOG_LEVELS } from '../cli/option-parsers.js';

function number(min: number, max: number, integerOnly: boolean) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max || (integerOnly && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`expected ${integerOnly ? 'an integer' : 'a number'} in ${min}..${max}`);
    }
    return value;
  };
}

interface SoakCommandOptions {
  requests: number;
  clients: number;
  replicas: number;
  sampleMs: number;
  warmup: number;
  tolerance: number;
  checkpointInterval?: number;
  timeout: number;
  logLevel: LogLevel;
  json: boolean;
}

/** Adds the `soak` subcommand to `program`. Exit code 1 unless memory stayed flat and every check passed. */
export function addSoakCommand(program: Command): void {
  const d = defaultSoakOptions;
  program
    .command('soak')
    .description('execute many requests on a local cluster while sampling each replica process RSS; memory must stay flat after warm-up')
    .option('--requests <n>', 'requests to execute', number(1, 1e10, true), d.requests)
    .option('--clients <n>', 'client sessions, each in a closed loop', number(1, 65_536, true), d.clients)
    .option('--replicas <n>', 'replica processes', number(4, 64, true), d.replicas)
    .option('--sample-ms <ms>', 'RSS and status sample period', number(10, 3_600_000, true), d.sampleMs)
    .option('--warmup <share>', 'share of the samples left out of the verdict', number(0, 0.9, false), d.warmupShare)
    .option('--tolerance <pct>', "median RSS of the second half (after warm-up) may exceed the first half's by this many percent", number(0, 1000, false), d.tolerancePct)
    .option('--checkpoint-interval <batches>', 'checkpoint interval (default 64); the log window is at least twice it', number(1, 1_000_000, true))
    .option('--timeout <ms>', 'bound on the whole load', number(1, 86_400_000, true), d.timeoutMs)
    .addOption(new Option('--log-level <level>', 'log level of the replica processes').choices(LOG_LEVELS).default(d.logLevel))
    .option('--json', 'print the report (with the whole series) as one JSON object on the last line of stdout', false)
    .action(async (o: SoakCommandOptions) => {
      const report = await runSoak({
        requests: o.requests,
        clients: o.clients,
        replicas: o.replicas,
        sampleMs: o.sampleMs,
        warmupShare: o.warmup,
        tolerancePct: o.tolerance,
        checkpointInterval: o.checkpointInterval,
        timeoutMs: o.timeout,
        logLevel: o.logLevel,
      });
      process.stdout.write(formatSoakReport(report, o.json));
      if (!report.passed) process.exitCode = 1;
    });
}
