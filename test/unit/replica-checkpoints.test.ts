/**
 * The runtime's checkpoint images (src/runtime/checkpoints.ts) over a real
 * executor, in memory and in a directory: a checkpoint taken on one replica
 * is served chunk by chunk, stored and installed on another, and served
 * again from there; files go when their images do.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CheckpointDirectory } from '../../src/checkpoint/directory.js';
import type { ClientTableEntry } from '../../src/core/effects.js';
import type { ClientId, ReplicaId } from '../../src/core/ids.js';
import type { CheckpointManifest } from '../../src/core/messages.js';
import type { ProtocolOptions } from '../../src/core/options.js';
import type { RequestNo, SeqNo } from '../../src/core/ordering.js';
import type { ExecutorCallbacks } from '../../src/executor/executor.js';
import { InlineExecutor } from '../../src/executor/inline-executor.js';
import type { Logger } from '../../src/log.js';
import { Checkpoints } from '../../src/runtime/checkpoints.js';
import { resolveProtocolOptions } from '../../src/runtime/protocol-options.js';
import { kvService } from '../../src/services/kv.js';
import { wireLimitsFrom } from '../../src/wire/codec.js';
import { waitFor } from '../support/wait-for.js';

const options: ProtocolOptions = resolveProtocolOptions({ chunkBytes: 64, chunksInFlightMax: 2 });
const limits = wireLimitsFrom(options, 4);
const seq = (value: number): SeqNo => value as SeqNo;
const replica = (value: number): ReplicaId => value as ReplicaId;
const clientTable: ClientTableEntry[] = [
  { clientId: 7 as ClientId, requestNo: 3 as RequestNo, result: new Uint8Array([1, 2, 3]) },
  { clientId: 9 as ClientId, requestNo: 1 as RequestNo, result: new Uint8Array(0) },
];
const callbacks: ExecutorCallbacks = { onExecuted: () => {}, onFatal: (error) => assert.fail(error) };

/** A logger that fails the test on a warning: nothing here is expected to go wrong. */
const strictLog: Logger = {
  debug: () => {},
  info: () => {},
  warn: (message, fields) => assert.fail(`${message} ${JSON.stringify(fields)}`),
  error: (message, fields) => assert.fail(`${message} ${JSON.stringify(fields)}`),
  child: () => strictLog,
};

let root: string;
let directories = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bafomet-replica-checkpoints-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A replica's executor and checkpoints, with a directory of its own or in memory. */
async function node(inDirectory: boolean) {
  const executor = new InlineExecutor(kvService, callbacks);
  const directory = inDirectory ? await CheckpointDirectory.open(join(root, `replica-${directories++}`)) : undefined;
  const checkpoints = new Checkpoints({ executor, options, limits, directory, log: strictLog });
  const files = async (): Promise<string[]> => (directory === undefined ? [] : readdir(directory.path));
  return { executor, checkpoints, files };
}

/** Every chunk of image `at` served by `checkpoints`, by index, asked for one at a time. */
async function serveAll(checkpoints: Checkpoints, at: SeqNo, manifest: CheckpointManifest): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for (let index = 0; index < manifest.chunkDigests.length; index++) {
    checkpoints.serve(replica(1), at, index, (bytes) => (chunks[index] = bytes));
    await waitFor(() => chunks[index] !== undefined, { timeoutMs: 5000, what: `chunk ${index} served` });
  }
  return chunks;
}

/** Runs puts on `executor` as batch `at` and snapshots behind it, as the replica does for a checkpoint batch. */
function checkpointBatch(target: Awaited<ReturnType<typeof node>>, at: SeqNo, entries: number): void {
  const puts = Array.from({ length: entries }, (_, i) => kvService.request.encode({ op: 'put', key: `k${at}-${i}`, value: 'v'.repeat(i) }));
  target.executor.execute(at, puts);
  target.checkpoints.snapshotAfter(at);
}

describe('the checkpoint images of a replica', () => {
  for (const [mode, inDirectory] of [
    ['in a directory', true],
    ['in memory', false],
  ] as const) {
    it(`takes, serves, installs and serves again a checkpoint, ${mode}`, async () => {
      const source = await node(inDirectory);
      checkpointBatch(source, seq(4), 30);
      const manifest = await source.checkpoints.take(seq(4), clientTable);
      assert.ok(manifest !== undefined);
      const chunks = await serveAll(source.checkpoints, seq(4), manifest);
      assert.equal(manifest.serviceStateBytes, (await source.executor.snapshot(64)).state.length);
      assert.equal((await source.files()).length, inDirectory ? 1 : 0);

      const target = await node(inDirectory);
      // Chunks arrive in any order, when the replica takes them.
      for (const index of [...chunks.keys()].reverse()) {
        await waitFor(() => target.checkpoints.acceptsChunk, { timeoutMs: 5000, what: 'room for a chunk' });
        target.checkpoints.store(seq(4), manifest, index, chunks[index]!);
      }
      assert.deepEqual(await target.checkpoints.install(seq(4), manifest), clientTable);
      assert.deepEqual(await target.executor.snapshot(64), await source.executor.snapshot(64));
      assert.deepEqual(await serveAll(target.checkpoints, seq(4), manifest), chunks);

      // A later checkpoint becomes stable: the image below it goes, and so does its file.
      checkpointBatch(source, seq(8), 5);
      const later = await source.checkpoints.take(seq(8), clientTable);
      source.checkpoints.stableAt(seq(8));
      const none: Uint8Array[] = [];
      source.checkpoints.serve(replica(1), seq(4), 0, (bytes) => none.push(bytes));
      assert.deepEqual(none, []);
      assert.equal((await serveAll(source.checkpoints, seq(8), later!)).length, later!.chunkDigests.length);
      await waitFor(async () => (await source.files()).length === (inDirectory ? 1 : 0), { timeoutMs: 5000, what: 'the file of checkpoint 4 to go' });

      for (const { checkpoints, files } of [source, target]) {
        await checkpoints.close();
        assert.deepEqual(await files(), []);
      }
    });
  }

  it('reads at most twice chunksInFlightMax chunks from files for a peer at a time, shedding the rest', async () => {
    const source = await node(true);
    checkpointBatch(source, seq(4), 40);
    const manifest = (await source.checkpoints.take(seq(4), clientTable))!;
    const sent: [number, number][] = [];
    for (let index = 2; index < 10; index++) source.checkpoints.serve(replica(1), seq(4), index, () => sent.push([1, index]));
    source.checkpoints.serve(replica(2), seq(4), 2, () => sent.push([2, 2]));
    await waitFor(() => sent.length === 5, { timeoutMs: 5000, what: 'the reads not shed' });
    assert.deepEqual(sent.sort(), [[1, 2], [1, 3], [1, 4], [1, 5], [2, 2]]);
    // Once they are sent, the peer is served again; an index past the image sends nothing.
    source.checkpoints.serve(replica(1), seq(4), 6, () => sent.push([1, 6]));
    source.checkpoints.serve(replica(1), seq(4), manifest.chunkDigests.length, () => sent.push([1, -1]));
    await waitFor(() => sent.length === 6, { timeoutMs: 5000, what: 'a read after the others' });
    await source.checkpoints.close();
    assert.deepEqual(sent.at(-1), [1, 6]);
  });

  it('takes no chunk while the image file being fetched has twice chunksInFlightMax writes in flight', async () => {
    const source = await node(false);
    checkpointBatch(source, seq(4), 40);
    const manifest = (await source.checkpoints.take(seq(4), []))!;
    const chunks = await serveAll(source.checkpoints, seq(4), manifest);
    const target = await node(true);
    assert.equal(target.checkpoints.acceptsChunk, true);
    // Chunk 0 is the client table's, kept in memory; the next four are written.
    for (let index = 0; index < 5; index++) target.checkpoints.store(seq(4), manifest, index, chunks[index]!);
    assert.equal(target.checkpoints.acceptsChunk, false);
    await waitFor(() => target.checkpoints.acceptsChunk, { timeoutMs: 5000, what: 'the writes to end' });
    // Another checkpoint's chunk abandons this image, and its file.
    target.checkpoints.store(seq(8), { ...manifest }, 0, chunks[0]!);
    const files = async (): Promise<string> => (await target.files()).join();
    await waitFor(async () => (await files()) === 'checkpoint-8-1.state', { timeoutMs: 5000, what: 'the abandoned file to go' });
    await target.checkpoints.close();
    assert.deepEqual(await target.files(), []);
  });
});
