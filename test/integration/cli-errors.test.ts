/**
 * The command line's errors, in real `bafomet` processes: operator mistakes
 * end with one line on stderr (no stack trace) and the exit code that
 * `bafomet replica --help` documents; a replica that stops by itself exits
 * non-zero; a replica stopped by SIGTERM exits 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../../src/cli/fatal.js';
import { defaultProtocolOptions } from '../../src/core/options.js';
import { view } from '../../src/core/ordering.js';
import { Journal } from '../../src/storage/journal.js';
import { wireLimitsFrom } from '../../src/wire/codec.js';
import { freePorts } from '../../src/cluster/free-ports.js';
import { initCluster, replicaKeyFile } from '../../src/cluster/init.js';
import type { ClusterConfig } from '../../src/config.js';
import { Client } from '../../src/runtime/client.js';
import { exitingWhereMarkedService } from '../fixtures/services.js';
import { waitFor } from '../support/wait-for.js';

const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FIXTURE_SERVICES = new URL('../fixtures/services.js', import.meta.url).href;
/** Bound on one process's run: start, fail or stop. */
const PROCESS_TIMEOUT_MS = 15_000;

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Settles when the process exits: its code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

/** Starts `bafomet <args>` at the log level of an operator who set none, without BAFOMET_DEBUG, with `extraEnv` added. */
function bafomet(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, BAFOMET_LOG: 'warn', ...extraEnv };
  delete env['BAFOMET_DEBUG'];
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(child);
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
    ),
  };
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (run.stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (run.stderr += text));
  return run;
}

/** Waits (bounded) for the process to exit; its exit code. */
async function exitCode(run: Run): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bafomet did not exit within ${PROCESS_TIMEOUT_MS} ms; stderr: ${run.stderr}`)), PROCESS_TIMEOUT_MS);
  });
  try {
    const { code, signal } = await Promise.race([run.exited, timeout]);
    assert.equal(signal, null, `ended by ${signal}`);
    // Let the pipes drain: 'exit' can come before the last output.
    await Promise.all([run.child.stdout, run.child.stderr].map((s) => (s!.readableEnded ? undefined : new Promise((r) => s!.once('end', r)))));
    return code;
  } finally {
    clearTimeout(timer);
  }
}

/** The only line of stderr, checked to be one line with no stack frames. */
function onlyLine(run: Run): string {
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack frames');
  assert.match(lines[0]!, /^bafomet: /);
  return lines[0]!;
}

async function readyLine(run: Run): Promise<void> {
  await waitFor(() => run.stdout.includes('"event":"ready"') || run.child.exitCode !== null, {
    timeoutMs: PROCESS_TIMEOUT_MS,
    what: 'the replica to print its ready line',
  });
  assert.ok(run.stdout.includes('"event":"ready"'), `replica exited before ready; stderr: ${run.stderr}`);
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) files.set(name, await readFile(join(dir, name)));
  return files;
}

describe('bafomet command-line errors', { timeout: 60_000 }, () => {
  let dir: string;
  let clusterDir: string;
  let configPath: string;
  let config: ClusterConfig;
  /** Holds replica 0's port. */
  let squatter: Server;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bafomet-cli-errors-'));
    // Other replicas dial this port too: hang up on them.
    squatter = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(0, '127.0.0.1', resolve);
    });
    const address = squatter.address();
    assert.ok(address !== null && typeof address === 'object');
    clusterDir = join(dir, 'cluster');
    ({ config, configPath } = await initCluster({
      replicas: 4,
      host: '127.0.0.1',
      basePort: 0,
      ports: [address.port, ...(await freePorts(3))],
      out: clusterDir,
    }));
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await new Promise((resolve) => squatter?.close(resolve));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('replica on a port in use: one line naming the address and the config field, exit 4', async () => {
    const run = bafomet(['replica', '--config', configPath, '--id', '0']);
    assert.equal(await exitCode(run), EXIT.environment);
    const line = onlyLine(run);
    assert.match(line, /port is in use/);
    assert.ok(line.includes(`127.0.0.1:${config.replicas[0]!.port}`), line);
    assert.ok(line.includes('replicas[0].port'), line);
  });

  it('replica whose journal is corrupt in the middle: one line saying where and what to do, exit 4, journal untouched', async () => {
    const dataDir = join(dir, 'corrupt-data');
    const { journal } = await Journal.open(dataDir, { limits: wireLimitsFrom(defaultProtocolOptions, 4), onFatal: (error) => assert.fail(error) });
    for (const v of [1, 2, 3]) await journal.whenDurable(journal.append({ kind: 'view-installed', view: view(v) }));
    await journal.close();
    const file = join(dataDir, 'journal-1.log');
    const damaged = await readFile(file);
    damaged[10]! ^= 0x01; // in the marker that starts the segment: the later groups show it was synced once
    await writeFile(file, damaged);
    const run = bafomet(['replica', '--config', configPath, '--id', '1', '--data-dir', dataDir]);
    assert.equal(await exitCode(run), EXIT.environment);
    const line = onlyLine(run);
    assert.match(line, /journal-1\.log is corrupt at byte 0/);
    assert.match(line, /move the data directory away to rejoin by state transfer/);
    assert.deepEqual(await readFile(file), damaged);
  });

  it('--version prints the package version, exit 0', async () => {
    const run = bafomet(['--version']);
    assert.equal(await exitCode(run), 0, run.stderr);
    const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(run.stdout.trim(), version);
  });

  it('init into a folder with keys: refuses in one line, exit 2, files untouched', async () => {
    const before = await filesOf(clusterDir);
    const run = bafomet(['init', '--out', clusterDir, '--base-port', '20000']);
    assert.equal(await exitCode(run), EXIT.usage);
    const line = onlyLine(run);
    assert.ok(line.includes(clusterDir), line);
    assert.deepEqual(await filesOf(clusterDir), before, 'every file keeps its bytes');
  });

  it('replica with a missing config: one line naming the path, exit 2', async () => {
    const missing = join(dir, 'missing.json');
    const run = bafomet(['replica', '--config', missing, '--id', '0']);
    assert.equal(await exitCode(run), EXIT.usage);
    assert.ok(onlyLine(run).includes(missing));
  });

  it('replica whose service cannot start (initialState throws): one line, exit 3', async () => {
    const module = join(dir, 'broken-init.mjs');
    await writeFile(module, `export { brokenInitService as default } from ${JSON.stringify(FIXTURE_SERVICES)};\n`);
    const run = bafomet(['replica', '--config', configPath, '--id', '1', '--service', module]);
    assert.equal(await exitCode(run), EXIT.service);
    assert.match(onlyLine(run), /no state today/);
  });

  it('replica stopped by SIGTERM: exit 0', async () => {
    const run = bafomet(['replica', '--config', configPath, '--id', '1', '--key', replicaKeyFile(clusterDir, 1)]);
    await readyLine(run);
    run.child.kill('SIGTERM');
    assert.equal(await exitCode(run), EXIT.ok, run.stderr);
  });

  it('a replica whose service worker dies while running: exits non-zero with a one-line reason, and the others go on', async () => {
    // A cluster of its own, every port free. Only replica 3's worker dies: were
    // every worker to die, a replica whose peers stopped before their COMMITs
    // reached it could never execute the request, and rightly so.
    const out = join(dir, 'running');
    const running = await initCluster({ replicas: 4, host: '127.0.0.1', basePort: 0, ports: await freePorts(4), out });
    const module = join(dir, 'exiting.mjs');
    await writeFile(module, `export { exitingWhereMarkedService as default } from ${JSON.stringify(FIXTURE_SERVICES)};\n`);
    const DYING = 3;
    const runs = [0, 1, 2, 3].map((id) =>
      bafomet(['replica', '--config', running.configPath, '--id', String(id), '--service', module], id === DYING ? { BAFOMET_TEST_EXIT: '1' } : {}),
    );
    await Promise.all(runs.map(readyLine));
    const client = await Client.connect({ config: running.config, service: exitingWhereMarkedService });
    try {
      assert.equal(await client.invoke('hello'), 'done hello');
      assert.equal(await client.invoke('exit'), 'done exit', 'the three others execute it');
      const code = await exitCode(runs[DYING]!);
      const stderr = runs[DYING]!.stderr;
      assert.notEqual(code, EXIT.ok, `exit code; stderr:\n${stderr}`);
      const human = stderr.split('\n').filter((line) => line.startsWith('bafomet: '));
      assert.equal(human.length, 1, stderr);
      assert.match(human[0]!, new RegExp(`^bafomet: replica ${DYING} stopped: `));
      assert.doesNotMatch(stderr, /^\s+at /m);
      assert.equal(await client.invoke('after'), 'done after', 'three replicas still make a quorum');
    } finally {
      await client.close().catch(() => undefined);
    }
    for (const [id, run] of runs.entries()) {
      if (id === DYING) continue;
      run.child.kill('SIGTERM');
      assert.equal(await exitCode(run), EXIT.ok, run.stderr);
    }
  });
});
