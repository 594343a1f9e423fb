/**
 * Key files for admitted clients: `bafomet keygen --out <file>` and
 * `bafomet init --client-keys <n>` (src/cli/keygen.ts, src/cluster/init.ts).
 * Private keys are written with mode 0600, never overwritten, never printed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { loadClusterConfig } from '../../src/config.js';
import { clientKeyFile, initCluster, replicaKeyFile } from '../../src/cluster/init.js';
import { loadIdentity, publicKeyBase64 } from '../../src/net/identity.js';

const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bafomet-keygen-'));
  dirs.push(dir);
  return dir;
}

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('bafomet keygen', () => {
  it('writes a 0600 key file, prints only its public key, and refuses to overwrite it in one line', async () => {
    const path = join(await tempDir(), 'client.key.pem');
    const first = spawnSync(process.execPath, [CLI_MAIN, 'keygen', '--out', path], { encoding: 'utf8' });
    assert.equal(first.status, 0, first.stderr);
    assert.equal(await mode(path), 0o600);
    assert.equal(first.stdout, `${publicKeyBase64(await loadIdentity(path))}\n`);
    const pem = await readFile(path, 'utf8');
    const second = spawnSync(process.execPath, [CLI_MAIN, 'keygen', '--out', path], { encoding: 'utf8' });
    assert.equal(second.status, 2);
    assert.equal(second.stdout, '');
    assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
    assert.match(second.stderr, /will not overwrite/);
    assert.equal(await readFile(path, 'utf8'), pem, 'the key is untouched');
    assert.ok(!first.stdout.includes('PRIVATE') && !second.stderr.includes('PRIVATE'));
  });
});

describe('init --client-keys', () => {
  it('writes n client key files (0600) and admits exactly their keys', async () => {
    const out = await tempDir();
    const { config, configPath } = await initCluster({ replicas: 4, host: '127.0.0.1', basePort: 21000, out, clientKeys: 2 });
    const clientKeys = await Promise.all([0, 1].map(async (index) => publicKeyBase64(await loadIdentity(clientKeyFile(out, index)))));
    assert.deepEqual(config.clients, clientKeys);
    assert.deepEqual((await loadClusterConfig(configPath)).clients, clientKeys);
    for (const path of [...[0, 1].map((i) => clientKeyFile(out, i)), ...[0, 1, 2, 3].map((id) => replicaKeyFile(out, id))]) {
      assert.equal(await mode(path), 0o600, path);
    }
  });

  it('lists no clients without client keys, so any key is admitted', async () => {
    const { config } = await initCluster({ replicas: 4, host: '127.0.0.1', basePort: 21000, out: await tempDir() });
    assert.equal(config.clients, undefined);
  });
});
