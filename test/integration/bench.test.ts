/**
 * A short real slice of `npm run bench`: `bafomet bench` as its own process,
 * with 4 replica processes and a client process, and once more with the
 * unreplicated baseline. It checks that the report is whole and consistent
 * (correctness, not speed): every field present, requests completed,
 * percentiles in order, the total equal to the client processes' counts,
 * CPU figures for each process, the replicas' states equal at the end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchReport, TargetFigures } from '../../src/bench/report.js';

const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Bound on one bench process: start-up, 1 s warm-up, 2 s measured, stop; twice over with the baseline. */
const RUN_TIMEOUT_MS = 60_000;

/** Runs `bafomet bench <args> --json` to its exit (bounded); its exit code, stderr and the JSON of its last stdout line. */
async function bench(args: readonly string[]): Promise<{ code: number | null; report: BenchReport; stderr: string }> {
  const child = spawn(process.execPath, [CLI_MAIN, 'bench', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BAFOMET_LOG: 'warn' } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode))),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`bafomet bench did not finish within ${RUN_TIMEOUT_MS} ms; stderr:\n${stderr}`));
      }, RUN_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  let report: BenchReport;
  try {
    report = JSON.parse(last) as BenchReport;
  } catch {
    throw new Error(`the last stdout line is not JSON: ${last}\nstderr:\n${stderr}`);
  }
  return { code, report, stderr };
}

/** The checks every target's figures must pass. */
function checkFigures(t: TargetFigures, servers: number, context: string): void {
  assert.ok(t.requests > 0, `requests completed\n${context}`);
  assert.ok(t.opsPerSec > 0, context);
  assert.ok(t.durationSec > 0, context);
  const { p50, p90, p99, max } = t.latencyMs;
  assert.ok(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= max, `percentiles in order\n${context}`);
  assert.equal(t.clientProcesses.length, 1, context);
  assert.equal(t.requests, t.clientProcesses.reduce((sum, c) => sum + c.requests, 0), `the total is the client processes' sum\n${context}`);
  assert.equal(t.cpuSeconds.servers.length, servers, context);
  assert.equal(t.cpuSeconds.clients.length, 1, context);
  assert.ok([...t.cpuSeconds.servers, ...t.cpuSeconds.clients].every((s) => s > 0), `cpu time for every process\n${context}`);
  assert.ok(t.batchMean >= 1, `a batch holds at least one request\n${context}`);
  assert.equal(t.wrongReplies, 0, context);
  assert.ok(t.statesEqual, context);
}

describe('bench: a short slice (4 replica processes, one client process)', { timeout: 2 * RUN_TIMEOUT_MS }, () => {
  it('reports a whole, consistent JSON object', async () => {
    const { code, report, stderr } = await bench(['--duration', '2', '--warmup', '1', '--clients', '4']);
    const context = `${JSON.stringify(report)}\n${stderr}`;
    assert.equal(code, 0, context);
    assert.equal(report.replicas, 4);
    assert.equal(report.f, 1);
    assert.equal(report.clients, 4);
    assert.equal(report.requestBytes, 1024);
    assert.equal(report.replyBytes, 1024);
    assert.equal(report.durable, false);
    assert.equal(report.rate, null);
    assert.equal(report.executor, 'worker');
    assert.deepEqual(report.protocol, {});
    assert.equal(report.baseline, undefined);
    checkFigures(report, 4, context);
    assert.match(stderr, /replicated: measuring/, 'a progress line');
    assert.match(stderr, /throughput \(ops\/s\)/, 'the table');
  });

  it('measures the unreplicated baseline under the same load in the same run', async () => {
    const { code, report, stderr } = await bench(['--duration', '2', '--warmup', '1', '--clients', '4', '--baseline', '--request-bytes', '64', '--reply-bytes', '64']);
    const context = `${JSON.stringify(report)}\n${stderr}`;
    assert.equal(code, 0, context);
    assert.equal(report.requestBytes, 64);
    assert.equal(report.replyBytes, 64);
    checkFigures(report, 4, context);
    assert.ok(report.baseline !== undefined, context);
    checkFigures(report.baseline, 1, context);
  });

  it('measures reads (--read-only) with the service inline (--executor inline): answered, and the state unchanged by them', async () => {
    const { code, report, stderr } = await bench(['--duration', '2', '--warmup', '1', '--clients', '4', '--read-only', '--request-bytes', '16', '--reply-bytes', '16', '--executor', 'inline']);
    const context = `${JSON.stringify(report)}\n${stderr}`;
    assert.equal(code, 0, context);
    assert.equal(report.readOnly, true, context);
    assert.equal(report.executor, 'inline', context);
    assert.ok(report.requests > 0 && report.opsPerSec > 0, context);
    assert.equal(report.requests, report.clientProcesses.reduce((sum, c) => sum + c.requests, 0), context);
    assert.equal(report.wrongReplies, 0, context);
    assert.ok(report.statesEqual, context);
  });

  it('refuses --read-only with empty requests (the first byte marks a read)', async () => {
    const child = spawn(process.execPath, [CLI_MAIN, 'bench', '--read-only', '--request-bytes', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [exitCode] = (await once(child, 'exit')) as [number | null];
    assert.equal(exitCode, 2, stderr);
    assert.match(stderr, /--read-only needs --request-bytes/);
  });
});
