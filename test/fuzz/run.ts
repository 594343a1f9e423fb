/**
 * The long fuzz run: every target of test/fuzz/targets.ts, the cases split
 * by the targets' weights, in chunks so that progress shows.
 *
 *   node dist/test/fuzz/run.js [--cases 1000000] [--seed S] [--target NAME]
 *
 * Progress goes to stderr; the last line of stdout is a JSON summary
 * `{cases, failures, seed, perTarget, corpus, elapsedMs}`. On a failure it
 * prints the target, the chunk's seed and fast-check's report (the shrunk
 * counterexample and the path that replays it:
 * `fc.check(property, { seed, path })`), goes on with the other targets
 * and exits 1. Without --seed the seed is drawn and printed: a run replays
 * with the same --seed and --cases.
 */
import fc from 'fast-check';
import { scriptCoverage } from './cluster-script.js';
import { coverage, simCorpus } from './sim-corpus.js';
import { FUZZ_TARGETS } from './targets.js';

interface TargetSummary {
  cases: number;
  failures: number;
  ms: number;
}

/** Cases per fast-check run: progress and a fresh seed every chunk. */
const CHUNKS_PER_TARGET = 20;

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

function positiveInteger(name: string, fallback: number): number {
  const text = argument(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`--${name} must be a non-negative integer, not ${text}`);
  return value;
}

/** A 31-bit seed per (run seed, target, chunk), so chunks and targets draw different cases. */
function chunkSeed(seed: number, target: string, chunk: number): number {
  let h = seed ^ 0x9e37_79b9;
  for (const ch of `${target}/${chunk}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x0100_0193);
  return (h >>> 0) & 0x7fff_ffff;
}

function main(): number {
  const total = positiveInteger('cases', 1_000_000);
  const seed = positiveInteger('seed', Math.floor(Math.random() * 0x7fff_ffff));
  const only = argument('target');
  const targets = FUZZ_TARGETS.filter((t) => only === undefined || t.name === only);
  if (targets.length === 0) throw new RangeError(`no target named ${only}; targets: ${FUZZ_TARGETS.map((t) => t.name).join(', ')}`);
  const began = performance.now();
  const corpus = coverage(simCorpus());
  const clusterTypes = scriptCoverage();
  process.stderr.write(`fuzz: seed ${seed}, ${total} cases; corpus ${JSON.stringify(corpus)}; cluster corpus ${JSON.stringify(clusterTypes)}\n`);
  const weights = targets.reduce((sum, t) => sum + t.weight, 0);
  const perTarget: Record<string, TargetSummary> = {};
  let failures = 0;
  let cases = 0;
  let assigned = 0;
  for (const [index, target] of targets.entries()) {
    // The last target takes what rounding left, so the run makes exactly `total` cases.
    const share = index === targets.length - 1 ? Math.max(0, total - assigned) : Math.round((total * target.weight) / weights);
    assigned += share;
    const summary: TargetSummary = { cases: 0, failures: 0, ms: 0 };
    perTarget[target.name] = summary;
    const start = performance.now();
    const property = target.property();
    const chunkCases = Math.max(1, Math.ceil(share / CHUNKS_PER_TARGET));
    for (let chunk = 0; summary.cases < share; chunk++) {
      const numRuns = Math.min(chunkCases, share - summary.cases);
      const runSeed = chunkSeed(seed, target.name, chunk);
      const out = fc.check(property, { seed: runSeed, numRuns });
      summary.cases += out.numRuns;
      if (out.failed) {
        summary.failures++;
        // The message carries the input (test/fuzz/failure.ts appends it after the stack was taken).
        const error = out.errorInstance instanceof Error ? `${out.errorInstance.message}\n${out.errorInstance.stack ?? ''}` : String(out.errorInstance);
        process.stderr.write(`\nFAILURE in ${target.name} (run seed ${seed}, chunk ${chunk}, fast-check seed ${runSeed}):\n${fc.defaultReportMessage(out) ?? ''}\n${error}\n`);
        break;
      }
      const elapsed = ((performance.now() - began) / 1000).toFixed(0);
      process.stderr.write(`fuzz: ${target.name} ${summary.cases}/${share} cases, ${elapsed} s\n`);
    }
    summary.ms = Math.round(performance.now() - start);
    cases += summary.cases;
    failures += summary.failures;
  }
  const result = { cases, failures, seed, perTarget, corpus, clusterCorpus: clusterTypes, elapsedMs: Math.round(performance.now() - began) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return failures === 0 ? 0 : 1;
}

process.exitCode = main();
