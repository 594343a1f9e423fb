#!/usr/bin/env node
/**
 * `npm run sim -- [options]`: runs seeds of the deterministic simulator
 * (docs/SIMULATOR.md). Exit code 1 if any seed failed.
 */
import { Command, InvalidArgumentError } from 'commander';
import { LIVENESS_GATES, type LivenessGates } from './gates.js';
import { MUTANTS } from './mutants.js';
import { resolveMutant, runSeeds, type Summary } from './runner.js';
import type { RunResult } from './simulation.js';

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

interface Options {
  seeds?: number;
  seed?: number;
  start: number;
  verbose?: boolean;
  json?: boolean;
  mutant?: string;
  listMutants?: boolean;
  stopOnFailure?: boolean;
  bias: boolean;
  liftGate?: string[];
}

const program = new Command()
  .name('bafomet-sim')
  .description('Deterministic simulator: runs the real protocol core against seeded faults and checks it.')
  .option('--seeds <N>', 'run N seeds (default 100)', integer)
  .option('--start <S>', 'first seed of the range', integer, 1)
  .option('--seed <S>', 'run the single seed S (replay)', integer)
  .option('--verbose', 'print a readable trace (single seed)')
  .option('--json', 'print a JSON summary as the last line of stdout')
  .option('--mutant <NAME>', 'plant a protocol bug (see --list-mutants)')
  .option('--list-mutants', 'print the mutant names, one per line')
  .option('--stop-on-failure', 'stop at the first failing seed')
  .option('--lift-gate <GATE...>', `run without a liveness gate of src/sim/gates.ts (${Object.keys(LIVENESS_GATES).join(', ')})`)
  .option('--no-bias', "with --mutant: run the seeds' ordinary scenarios, not ones steered toward the bug")
  .parse();

const opts = program.opts<Options>();

function replayCommand(seed: number, mutant: string | undefined): string {
  let flags = mutant !== undefined ? ` --mutant ${mutant}${opts.bias ? '' : ' --no-bias'}` : '';
  if ((opts.liftGate ?? []).length > 0) flags += ` --lift-gate ${(opts.liftGate ?? []).join(' ')}`;
  return `npm run sim -- --seed ${seed}${flags} --verbose`;
}

function main(): number {
  if (opts.listMutants === true) {
    for (const m of MUTANTS) process.stdout.write(`${m.name}\n`);
    return 0;
  }
  try {
    resolveMutant(opts.mutant);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const liftGates = opts.liftGate ?? [];
  for (const gate of liftGates) {
    if (!(gate in LIVENESS_GATES)) {
      process.stderr.write(`unknown gate ${gate} (one of ${Object.keys(LIVENESS_GATES).join(', ')})\n`);
      return 2;
    }
  }
  const single = opts.seed !== undefined;
  const start = opts.seed ?? opts.start;
  const count = single ? 1 : (opts.seeds ?? 100);
  const verbose = opts.verbose === true;
  const json = opts.json === true;

  let buffered: string[] = [];
  const flush = (): void => {
    if (buffered.length > 0) process.stdout.write(`${buffered.join('\n')}\n`);
    buffered = [];
  };
  const sink = verbose
    ? (line: string): void => {
        buffered.push(line);
        if (buffered.length >= 1000) flush();
      }
    : undefined;

  const onResult = (r: RunResult): void => {
    flush();
    if (!r.ok && r.failure !== undefined) {
      const out = json ? process.stderr : process.stdout;
      out.write(`seed ${r.seed} FAILED (${r.failure.kind}) at ${(r.failure.time / 1000).toFixed(3)}ms: ${r.failure.message}\n`);
      out.write(`  replay: ${replayCommand(r.seed, opts.mutant)}\n`);
    }
    if (single && !json) {
      process.stdout.write(
        `seed ${r.seed}: n=${r.n} f=${r.f} ${r.ok ? 'ok' : 'FAILED'}; ${r.requestsCompleted}/${r.requests} requests completed, ` +
          `${r.batchesOrdered} batches ordered, liveness ${r.liveness}, ${r.events} events, ${(r.simTime / 1000).toFixed(1)} ms simulated\n` +
          `faults: ${JSON.stringify(r.faults)}\ntraceDigest ${r.traceDigest}\n`,
      );
    }
  };

  const summary: Summary = runSeeds(start, count, {
    ...(opts.mutant !== undefined ? { mutant: opts.mutant } : {}),
    ...(sink !== undefined ? { sink } : {}),
    stopOnFailure: opts.stopOnFailure === true,
    bias: opts.bias,
    liftGates: liftGates as (keyof LivenessGates)[],
    onResult,
  });
  flush();
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else if (!single) {
    process.stdout.write(
      `${summary.seeds} seeds (${start}..${start + summary.seeds - 1})${opts.mutant !== undefined ? ` with mutant ${opts.mutant}` : ''}: ` +
        `${summary.failed} failed; ${summary.requestsCompleted}/${summary.requests} requests completed; ` +
        `liveness ${JSON.stringify(summary.liveness)}; ${summary.seedsPerSecond} seeds/s\n` +
        `faults: ${JSON.stringify(summary.faults)}\n`,
    );
    if (summary.failed > 0) process.stdout.write(`failing seeds: ${summary.failingSeeds.join(' ')}\n`);
  }
  return summary.failed > 0 ? 1 : 0;
}

// `npm run sim -- --seed 1 --verbose | head` closes stdout early: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = main();
