/**
 * `bafomet client` against 4 real replica processes (kv): requests from the
 * arguments and from stdin, one JSON line per reply, a line that is not
 * JSON answered with an error line and exit 1, `--read-only` reads.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LocalCluster } from '../../src/cluster/local-cluster.js';

const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const RUN_TIMEOUT_MS = 60_000;

let cluster: LocalCluster;
before(async () => {
  cluster = await LocalCluster.start({ replicas: 4, service: 'kv' });
});
after(async () => {
  await cluster?.stop();
});

/** Runs `bafomet client --config <cluster> <args>` with `stdin` to its exit (bounded): exit code and stdout's JSON lines. */
async function client(args: readonly string[], stdin = ''): Promise<{ code: number | null; lines: unknown[]; stderr: string }> {
  const child = spawn(process.execPath, [CLI_MAIN, 'client', '--config', cluster.configPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdin.end(stdin);
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.once('close', resolve)),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`bafomet client did not exit in ${RUN_TIMEOUT_MS} ms\n${stderr}`)), RUN_TIMEOUT_MS))),
    ]);
    return { code, lines: stdout.trimEnd().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown), stderr };
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
  }
}

describe('bafomet client', { timeout: 4 * RUN_TIMEOUT_MS }, () => {
  it('sends the requests given as arguments, in order, and prints each reply as a JSON line', async () => {
    const { code, lines, stderr } = await client(['{"op":"put","key":"a","value":"1"}', '{"op":"get","key":"a"}']);
    assert.equal(code, 0, stderr);
    assert.deepEqual(lines, [{ reply: { ok: true } }, { reply: { ok: true, value: '1' } }]);
  });

  it('reads requests from stdin, one per line; a line that is not JSON gets an error line, the rest are sent, exit 1', async () => {
    const { code, lines, stderr } = await client([], '{"op":"put","key":"b","value":"2"}\nnot json\n\n{"op":"get","key":"b"}\n');
    assert.equal(code, 1, stderr);
    assert.equal(lines.length, 3, JSON.stringify(lines));
    assert.deepEqual(lines[0], { reply: { ok: true } });
    assert.equal((lines[1] as { error: string }).error, 'SyntaxError');
    assert.deepEqual(lines[2], { reply: { ok: true, value: '2' } });
  });

  it('--read-only: a get answered as invoke would', async () => {
    const { code, lines, stderr } = await client(['--read-only', '{"op":"get","key":"a"}']);
    assert.equal(code, 0, stderr);
    assert.deepEqual(lines, [{ reply: { ok: true, value: '1' } }]);
  });
});
