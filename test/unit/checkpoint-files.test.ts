import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { chunkDigests } from '../../src/checkpoint/chunks.js';
import { CheckpointDirectory } from '../../src/checkpoint/directory.js';
import { FileAssembly, FileImage } from '../../src/checkpoint/file-image.js';
import { CheckpointImage } from '../../src/checkpoint/image.js';
import { OpenStateFile, StateFileWriter } from '../../src/checkpoint/state-file.js';
import { InvariantViolation } from '../../src/core/assert.js';
import type { SeqNo } from '../../src/core/ordering.js';
import { waitFor } from '../support/wait-for.js';

const filled = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);
const seq = (value: number): SeqNo => value as SeqNo;

let root: string;
let files = 0;
/** A path in this run's temporary directory, never used before. */
const freshPath = (): string => join(root, `file-${files++}`);

/** A file image of `clientTable` and `serviceState`, written as the executor writes it, and the same image in memory. */
function imagesOf(clientTable: Uint8Array, serviceState: Uint8Array, chunkBytes: number): { file: FileImage; memory: CheckpointImage } {
  const path = freshPath();
  const writer = new StateFileWriter(path);
  writer.write(serviceState);
  writer.close();
  const digests = chunkDigests(serviceState, chunkBytes);
  return {
    file: FileImage.build(clientTable, path, serviceState.length, digests, chunkBytes),
    memory: CheckpointImage.build(clientTable, serviceState, digests, chunkBytes),
  };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bafomet-checkpoint-files-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('state files', () => {
  it('are written whole, read whole, and read in pieces of their own, the last one shorter', () => {
    const path = freshPath();
    const writer = new StateFileWriter(path);
    writer.write(filled(5, 1));
    writer.write(new Uint8Array(0));
    writer.write(filled(6, 2));
    writer.close();
    const whole = new Uint8Array([...filled(5, 1), ...filled(6, 2)]);
    const file = new OpenStateFile(path);
    assert.deepEqual(file.whole(), whole);
    const pieces = [...file.pieces(4)];
    file.close();
    assert.deepEqual(pieces.map((piece) => piece.length), [4, 4, 3]);
    assert.ok(pieces.every((piece) => piece.byteLength === piece.buffer.byteLength), 'each piece owns its buffer');
    assert.deepEqual(new Uint8Array(Buffer.concat(pieces)), whole);
    assert.throws(() => new StateFileWriter(path), /EEXIST/, 'never overwrites a file');
  });

  it('are deleted when discarded', () => {
    const writer = new StateFileWriter(freshPath());
    writer.write(filled(3, 0));
    writer.discard();
    assert.equal(existsSync(writer.path), false);
  });
});

describe('CheckpointDirectory', () => {
  it('deletes the image files a previous run left, and nothing else, at open and on clean', async () => {
    const path = join(root, 'images');
    const first = await CheckpointDirectory.open(path);
    assert.notEqual(first.file(seq(64)), first.file(seq(64)), 'a new name every time');
    await writeFile(first.file(seq(128)), 'left over');
    await writeFile(join(path, 'notes.txt'), 'not ours');
    const second = await CheckpointDirectory.open(path);
    assert.deepEqual(await readdir(path), ['notes.txt']);
    await writeFile(second.file(seq(64)), 'an image');
    await second.clean();
    assert.deepEqual(await readdir(path), ['notes.txt']);
  });
});

describe('FileImage', () => {
  it('serves the chunks of the same image in memory, reading the service state from its file', async () => {
    const { file, memory } = imagesOf(filled(5, 1), filled(9, 2), 4);
    assert.deepEqual(file.manifest, memory.manifest);
    for (let index = 0; index < memory.manifest.chunkDigests.length; index++) {
      assert.deepEqual(await file.chunk(index), memory.chunk(index), `chunk ${index}`);
    }
    for (const index of [-1, 5, 1.5, Number.NaN]) assert.equal(await file.chunk(index), undefined);
    await file.release();
  });

  it('on release, lets the reads in flight finish, then serves nothing and deletes its file', async () => {
    const { file, memory } = imagesOf(filled(3, 1), filled(40, 2), 8);
    const reads = [2, 3, 4, 5].map((index) => file.chunk(index));
    const released = file.release();
    assert.equal(file.release(), released, 'idempotent');
    assert.deepEqual(await Promise.all(reads), [2, 3, 4, 5].map((index) => memory.chunk(index)));
    await released;
    assert.equal(existsSync(file.path), false);
    assert.equal(await file.chunk(2), undefined);
    assert.equal(await file.chunk(0), undefined, 'nor its client-table chunks');
  });

  it('rejects a read past the end of a truncated file', async () => {
    const { file } = imagesOf(new Uint8Array(0), filled(9, 2), 4);
    await truncate(file.path, 6);
    assert.deepEqual(await file.chunk(0), filled(9, 2).subarray(0, 4));
    await assert.rejects(file.chunk(1), /ends before byte 8/);
    await file.release();
  });

  it('asserts that its manifest describes its client table', () => {
    const { file } = imagesOf(filled(5, 1), filled(9, 2), 4);
    assert.throws(() => new FileImage(file.manifest, filled(4, 1), file.path), InvariantViolation);
    assert.throws(() => new FileImage({ ...file.manifest, chunkDigests: [] }, filled(5, 1), file.path), InvariantViolation);
  });
});

describe('FileAssembly', () => {
  const partsArb = fc.record({
    clientTable: fc.uint8Array({ maxLength: 50 }),
    serviceState: fc.uint8Array({ maxLength: 100 }),
    chunkBytes: fc.integer({ min: 1, max: 20 }),
  });

  it('writes chunks stored in any order into the image of their manifest', async () => {
    await fc.assert(
      fc.asyncProperty(partsArb, fc.nat(), async ({ clientTable, serviceState, chunkBytes }, shuffle) => {
        const source = CheckpointImage.build(clientTable, serviceState, chunkDigests(serviceState, chunkBytes), chunkBytes);
        const count = source.manifest.chunkDigests.length;
        const assembly = new FileAssembly(seq(64), source.manifest, freshPath(), count + 1);
        const order = source.manifest.chunkDigests.map((_, i) => i);
        order.push(...order.splice(0, count === 0 ? 0 : shuffle % count));
        if (shuffle % 2 === 1) order.reverse();
        for (const index of order) {
          assert.equal(assembly.complete, false);
          assembly.store(index, source.chunk(index)!);
        }
        assert.equal(assembly.complete, true);
        const image = await assembly.finish();
        assert.equal(image.manifest, source.manifest);
        assert.deepEqual(image.clientTable, clientTable);
        assert.deepEqual(new Uint8Array(await readFile(image.path)), serviceState);
        for (const index of order) assert.deepEqual(await image.chunk(index), source.chunk(index));
        await image.release();
      }),
      { numRuns: 100 },
    );
  });

  it('has at most writesMax writes in flight: full until one ends', async () => {
    const serviceState = filled(64, 5);
    const source = CheckpointImage.build(new Uint8Array(0), serviceState, chunkDigests(serviceState, 4), 4);
    const assembly = new FileAssembly(seq(64), source.manifest, freshPath(), 3);
    for (const index of [0, 1, 2]) assembly.store(index, source.chunk(index)!);
    assert.equal(assembly.full, true);
    assert.throws(() => assembly.store(3, source.chunk(3)!), InvariantViolation);
    for (let index = 3; index < 16; index++) {
      await waitFor(() => !assembly.full, { timeoutMs: 5000, what: 'a write to end' });
      assembly.store(index, source.chunk(index)!);
    }
    const image = await assembly.finish();
    assert.deepEqual(new Uint8Array(await readFile(image.path)), serviceState);
    await image.release();
  });

  it('makes an empty file for an image without service-state chunks', async () => {
    const source = CheckpointImage.build(filled(3, 1), new Uint8Array(0), [], 4);
    const assembly = new FileAssembly(seq(64), source.manifest, freshPath(), 2);
    assembly.store(0, source.chunk(0)!);
    const image = await assembly.finish();
    assert.deepEqual(image.clientTable, filled(3, 1));
    assert.equal((await readFile(image.path)).length, 0);
    await image.release();
  });

  it('deletes its file when abandoned, once its writes end', async () => {
    const source = CheckpointImage.build(new Uint8Array(0), filled(12, 1), chunkDigests(filled(12, 1), 4), 4);
    const assembly = new FileAssembly(seq(64), source.manifest, freshPath(), 2);
    assembly.store(0, source.chunk(0)!);
    assembly.store(2, source.chunk(2)!);
    await assembly.abandon();
    assert.equal(existsSync(assembly.path), false);
  });

  it('rejects finish() with the I/O error when its file cannot be made', async () => {
    const source = CheckpointImage.build(new Uint8Array(0), filled(5, 1), chunkDigests(filled(5, 1), 4), 4);
    const assembly = new FileAssembly(seq(64), source.manifest, join(root, 'no-such-directory', 'image'), 2);
    assembly.store(0, source.chunk(0)!);
    assembly.store(1, source.chunk(1)!);
    await assert.rejects(assembly.finish(), /ENOENT/);
  });

  it('asserts on local bugs: an unknown or repeated index, a chunk of the wrong size, missing chunks', async () => {
    const source = CheckpointImage.build(filled(5, 1), filled(9, 2), chunkDigests(filled(9, 2), 4), 4);
    const assembly = new FileAssembly(seq(64), source.manifest, freshPath(), 4);
    await assert.rejects(assembly.finish(), InvariantViolation);
    for (const index of [-1, 5, 1.5]) assert.throws(() => assembly.store(index, filled(4, 0)), InvariantViolation);
    assert.throws(() => assembly.store(1, filled(4, 0)), InvariantViolation, 'the last client-table chunk has 1 byte');
    assert.throws(() => assembly.store(4, filled(4, 0)), InvariantViolation, 'the last service-state chunk has 1 byte');
    assembly.store(2, source.chunk(2)!);
    assert.throws(() => assembly.store(2, source.chunk(2)!), InvariantViolation);
    await assembly.abandon();
    const wrongCount = { ...source.manifest, chunkDigests: source.manifest.chunkDigests.slice(1) };
    assert.throws(() => new FileAssembly(seq(64), wrongCount, freshPath(), 4), InvariantViolation);
    assert.throws(() => new FileAssembly(seq(64), source.manifest, freshPath(), 0), InvariantViolation);
  });
});
