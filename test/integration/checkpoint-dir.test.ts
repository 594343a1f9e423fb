/**
 * Checkpoint images on disk, end to end: 4 replica OS processes (f = 1) of
 * the kv service (which has the stateStream hook), each given a
 * `checkpointDir`, over real TCP. Every replica snapshots into files and
 * serves chunks from them; one is killed, the others move on past several
 * checkpoints, and it restarts empty on the same directory: it must clear
 * what it left there, fetch the stable checkpoint into a file, install it,
 * catch up on the log and reach the others' state digest. Closing a replica
 * empties its directory.
 *
 * The replicas are started here rather than by LocalCluster, whose CLI has
 * no flag for the directory.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { freePorts } from '../../src/cluster/free-ports.js';
import { initCluster, replicaKeyFile } from '../../src/cluster/init.js';
import type { ClusterConfig } from '../../src/config.js';
import type { ProtocolOptions } from '../../src/core/options.js';
import type { ReplicaStatus } from '../../src/core/replica.js';
import { Client } from '../../src/runtime/client.js';
import type { ReplicaCounters } from '../../src/runtime/replica.js';
import { kvService, type KvReply, type KvRequest } from '../../src/services/kv.js';
import { waitFor } from '../support/wait-for.js';

/** Checkpoints every 8 batches, in chunks of 4 KiB: a state of ~100 KiB is a few dozen chunks. */
const PROTOCOL: Partial<ProtocolOptions> = { checkpointInterval: 8, logWindow: 16, chunkBytes: 4096 };
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * One replica process, written to a file (a worker inherits `node -e`'s
 * flags): `Replica.start` with a `checkpointDir`, a line on stdout once it
 * listens, answers to `status` and `digest` lines on stdin, and `close()`
 * when stdin ends.
 */
const REPLICA_SCRIPT = `
import { createInterface } from 'node:readline';
const options = JSON.parse(process.argv[2]);
const { Replica } = await import(options.runtime);
const { loadClusterConfig } = await import(options.configModule);
const replica = await Replica.start({
  config: await loadClusterConfig(options.config),
  id: options.id,
  identity: options.key,
  service: options.service,
  protocol: options.protocol,
  checkpointDir: options.checkpointDir,
});
process.stdout.write(JSON.stringify({ ready: true }) + '\\n');
createInterface({ input: process.stdin })
  .on('line', async (line) => {
    const { id, cmd } = JSON.parse(line);
    const answer = cmd === 'digest' ? await replica.stateDigest() : { ...replica.status(), ...replica.counts() };
    process.stdout.write(JSON.stringify({ id, answer }) + '\\n');
  })
  .on('close', () => void replica.close().then(() => process.exit(0)));
`;

type Status = ReplicaStatus & ReplicaCounters;

class ReplicaProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: unknown) => void>();
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;

  constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    let onReady = (): void => {};
    this.ready = new Promise((resolve) => (onReady = resolve));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { ready?: true; id?: number; answer?: unknown };
      if (message.ready === true) onReady();
      else this.waiting.get(message.id!)?.(message.answer);
    });
  }

  async ask<T>(cmd: 'status' | 'digest'): Promise<T> {
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (a) => resolve(a as T));
      timer = setTimeout(() => reject(new Error(`no answer to ${cmd}`)), ANSWER_TIMEOUT_MS);
    });
    this.child.stdin!.write(JSON.stringify({ id, cmd }) + '\n');
    try {
      return await answer;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  /** Closes the replica (its stdin ends) and waits for the process to exit. */
  async close(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

const imageFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => name.endsWith('.state'));

describe('replicas keeping checkpoint images in a directory', { timeout: 120_000 }, () => {
  let dir: string;
  let config: ClusterConfig;
  let configPath: string;
  const replicas: (ReplicaProcess | undefined)[] = [];
  const checkpointDir = (id: number): string => join(dir, `checkpoints-${id}`);

  async function start(id: number): Promise<void> {
    const options = {
      runtime: new URL('../../src/runtime/replica.js', import.meta.url).href,
      configModule: new URL('../../src/config.js', import.meta.url).href,
      service: new URL('../../src/services/kv.js', import.meta.url).href,
      config: configPath,
      id,
      key: replicaKeyFile(dir, id),
      protocol: PROTOCOL,
      checkpointDir: checkpointDir(id),
    };
    const child = spawn(process.execPath, [join(dir, 'replica.mjs'), JSON.stringify(options)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const replica = new ReplicaProcess(child);
    replicas[id] = replica;
    await Promise.race([replica.ready, replica.exited.then((code) => Promise.reject(new Error(`replica ${id} exited with ${code}`)))]);
  }

  const status = (id: number): Promise<Status> => replicas[id]!.ask<Status>('status');

  /** Puts `count` keys of ~300 bytes each, `from` on, 8 at a time. */
  async function put(from: number, count: number): Promise<void> {
    const client = await Client.connect<KvRequest, KvReply>({ config, service: kvService, sessions: 8 });
    try {
      for (let at = from; at < from + count; at += 8) {
        const puts = Array.from({ length: Math.min(8, from + count - at) }, (_, i) =>
          client.invoke({ op: 'put', key: `key-${at + i}`, value: `${at + i}:`.padEnd(300, 'x') }),
        );
        assert.ok((await Promise.all(puts)).every((reply) => reply.ok));
      }
    } finally {
      await client.close();
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bafomet-checkpoint-dir-'));
    await writeFile(join(dir, 'replica.mjs'), REPLICA_SCRIPT);
    const ports = await freePorts(4);
    ({ config, configPath } = await initCluster({ replicas: 4, host: '127.0.0.1', basePort: 0, ports, out: dir }));
    await Promise.all([0, 1, 2, 3].map(start));
  });

  after(async () => {
    await Promise.all(replicas.map((replica) => replica?.kill()));
    await rm(dir, { recursive: true, force: true });
  });

  it('snapshots into files, and a replica restarted empty catches up from them to the same state digest', async () => {
    await put(0, 200);
    // (A replica that lags adopts a stable checkpoint before its own image of it exists.)
    const keepsFiles = async (id: number): Promise<boolean> => (await status(id)).stableCheckpoint > 0 && (await imageFiles(checkpointDir(id))).length > 0;
    await waitFor(async () => (await Promise.all([0, 1, 2, 3].map(keepsFiles))).every(Boolean), {
      timeoutMs: 20_000,
      what: 'a stable checkpoint and image files at every replica',
    });

    await replicas[3]!.kill();
    replicas[3] = undefined;
    const left = await imageFiles(checkpointDir(3));
    assert.ok(left.length > 0, 'a killed replica leaves its files');
    await put(200, 200);
    const { stableCheckpoint } = await status(0);

    await start(3);
    // The files of the previous run are gone before the new run listens (its own are named after later checkpoints).
    assert.deepEqual((await imageFiles(checkpointDir(3))).filter((name) => left.includes(name)), []);

    // No traffic while it catches up: a replica that installs while the others' stable checkpoint moves
    // past its window can end up waiting alone in a higher view (docs/DESIGN.md, Known gaps).
    await waitFor(async () => (await status(3)).checkpointsInstalled > 0, { timeoutMs: 30_000, what: 'replica 3 to install a checkpoint' });
    let digests: { digest: string; seq: number }[] = [];
    await waitFor(
      async () => {
        digests = await Promise.all([0, 1, 2, 3].map((id) => replicas[id]!.ask<{ digest: string; seq: number }>('digest')));
        return new Set(digests.map((d) => `${d.seq}/${d.digest}`)).size === 1;
      },
      { timeoutMs: 30_000, what: 'the four replicas to reach the same state digest after the same batch' },
    ).catch(async (error: Error) => {
      const statuses = await Promise.all([0, 1, 2, 3].map(status));
      throw new Error(`${error.message}: ${JSON.stringify({ digests, statuses })}`);
    });
    const installed = await status(3);
    assert.ok(installed.stableCheckpoint >= stableCheckpoint, JSON.stringify(installed));
    assert.ok((await imageFiles(checkpointDir(3))).length > 0, 'the installed image is served from a file');

    for (const id of [0, 1, 2, 3]) {
      await replicas[id]!.close();
      replicas[id] = undefined;
      assert.deepEqual(await imageFiles(checkpointDir(id)), [], `replica ${id} empties its directory on close`);
    }
  });
});
