/**
 * The npm package as a user gets it (issue 14): `npm pack` of this build,
 * installed into a scratch project from the tarball (its dependencies from
 * the registry), prints no warning; there, a service module of the user's
 * own, written against `import ... from 'bafomet'`, runs on 4 replica
 * processes started with the installed `bafomet replica`, and a client
 * script of the user's own gets its replies through the installed package.
 *
 * The tarball is packed with --ignore-scripts: `npm test` has just built
 * dist/, which is what `prepack` would build.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../src/cluster/free-ports.js';
import { initCluster } from '../../src/cluster/init.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** Bound on each npm command (the install fetches a few packages from the registry). */
const NPM_TIMEOUT_MS = 180_000;
const READY_TIMEOUT_MS = 30_000;
const REPLICAS = 4;

const SERVICE = `
import { defineService, jsonCodec } from 'bafomet';
export default defineService({
  name: 'tally',
  request: jsonCodec(),
  reply: jsonCodec(),
  state: jsonCodec(),
  initialState: () => ({ total: 0 }),
  update(state, request) {
    state.total += request.add;
    return { total: state.total };
  },
});
`;

const CLIENT = `
import { Client, loadClusterConfig } from 'bafomet';
import tally from './tally.js';
const client = await Client.connect({ config: await loadClusterConfig(process.argv[2]), service: tally, timeoutMs: 20000 });
const totals = [];
for (const add of [1, 2, 3]) totals.push((await client.invoke({ add })).total);
await client.close();
console.log(JSON.stringify(totals));
`;

const children = new Set<ChildProcess>();
const dirs: string[] = [];
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Runs a command to its exit (bounded): its code and output. */
async function run(command: string, args: readonly string[], cwd: string, timeoutMs = NPM_TIMEOUT_MS): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.once('close', resolve)),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} did not end in ${timeoutMs} ms\n${stderr}`)), timeoutMs))),
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    children.delete(child);
  }
}

/** Starts the installed `bafomet replica` and waits (bounded) for its ready line. */
async function startReplica(project: string, configPath: string, id: number): Promise<void> {
  const bin = join(project, 'node_modules', '.bin', 'bafomet');
  const child = spawn(bin, ['replica', '--config', configPath, '--id', String(id), '--service', './tally.js', '--control', '--log-level', 'warn'], {
    cwd: project,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) => lines.on('line', (line) => line.includes('"event":"ready"') && resolve())),
      new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`replica ${id} exited with ${code} before it was ready`)))),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`replica ${id} not ready in ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the npm package, installed into a scratch project', { timeout: 2 * NPM_TIMEOUT_MS + 60_000 }, () => {
  it('installs without a warning and runs a user service on replicas and a client from it', async () => {
    const packDir = await mkdtemp(join(tmpdir(), 'bafomet-pack-'));
    const project = await mkdtemp(join(tmpdir(), 'bafomet-user-'));
    dirs.push(packDir, project);

    const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], REPO);
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = (await readdir(packDir)).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball !== undefined, `a tarball in ${packDir}`);

    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', join(packDir, tarball)], project);
    assert.equal(installed.code, 0, installed.stderr);
    assert.doesNotMatch(installed.stderr, /warn/i, `npm install printed a warning:\n${installed.stderr}`);

    await writeFile(join(project, 'tally.js'), SERVICE);
    await writeFile(join(project, 'client.js'), CLIENT);
    const { configPath } = await initCluster({ replicas: REPLICAS, host: '127.0.0.1', basePort: 0, ports: await freePorts(REPLICAS), out: join(project, 'cluster') });
    await Promise.all(Array.from({ length: REPLICAS }, (_, id) => startReplica(project, configPath, id)));

    const client = await run(process.execPath, ['client.js', configPath], project, 60_000);
    assert.equal(client.code, 0, client.stderr);
    assert.deepEqual(JSON.parse(client.stdout.trim()), [1, 3, 6], 'the replicated tally through the installed package');
  });
});
