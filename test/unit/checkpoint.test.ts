import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CheckpointAssembly } from '../../src/checkpoint/assembly.js';
import { ChunkSplitter, chunkCount, chunkDigest, chunkDigests, chunkOf } from '../../src/checkpoint/chunks.js';
import { CheckpointImage } from '../../src/checkpoint/image.js';
import { CheckpointImages } from '../../src/checkpoint/images.js';
import { InvariantViolation } from '../../src/core/assert.js';
import type { SeqNo } from '../../src/core/ordering.js';

const sha256 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(bytes).digest());
const filled = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);
/** An image of two parts cut in chunks of `chunkBytes`, built as a replica takes a checkpoint. */
const imageOf = (clientTable: Uint8Array, serviceState: Uint8Array, chunkBytes: number): CheckpointImage =>
  CheckpointImage.build(clientTable, serviceState, chunkDigests(serviceState, chunkBytes), chunkBytes);
const seq = (value: number): SeqNo => value as SeqNo;

const partsArb = fc.record({
  clientTable: fc.uint8Array({ maxLength: 50 }),
  serviceState: fc.uint8Array({ maxLength: 50 }),
  chunkBytes: fc.integer({ min: 1, max: 20 }),
});

describe('checkpoint chunks', () => {
  it('cut a part from its start into chunkBytes pieces, the last one shorter, none when empty', () => {
    const part = filled(10, 1);
    assert.equal(chunkCount(10, 4), 3);
    assert.equal(chunkCount(8, 4), 2);
    assert.equal(chunkCount(0, 4), 0);
    assert.deepEqual([0, 1, 2].map((i) => chunkOf(part, 4, i)), [part.subarray(0, 4), part.subarray(4, 8), part.subarray(8)]);
    assert.equal(chunkOf(part, 4, 1).buffer, part.buffer, 'a view, not a copy');
    assert.deepEqual(chunkDigests(part, 4), [0, 1, 2].map((i) => sha256(chunkOf(part, 4, i))));
    assert.deepEqual(chunkDigests(new Uint8Array(0), 4), []);
    assert.deepEqual(chunkDigest(part), sha256(part));
    for (const index of [-1, 3, 1.5]) assert.throws(() => chunkOf(part, 4, index), InvariantViolation);
    for (const chunkBytes of [0, -1, 0.5]) assert.throws(() => chunkCount(10, chunkBytes), InvariantViolation);
  });
});

describe('ChunkSplitter', () => {
  /** `bytes` cut at `cuts` into pieces (views), empty ones included. */
  const cut = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
    const at = [0, ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length];
    return at.slice(1).map((end, i) => bytes.subarray(at[i], end));
  };

  it('hashes pieces of any sizes as chunkDigests hashes their concatenation, handing over each chunk in order', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 1, max: 40 }), (bytes, cuts, chunkBytes) => {
        const chunks: Uint8Array[] = [];
        const splitter = new ChunkSplitter(chunkBytes, (chunk) => chunks.push(chunk.slice()));
        for (const piece of cut(bytes, cuts)) splitter.push(piece);
        assert.deepEqual(splitter.end(), { bytes: bytes.length, chunkDigests: chunkDigests(bytes, chunkBytes) });
        assert.deepEqual(chunks, chunkDigests(bytes, chunkBytes).map((_, i) => chunkOf(bytes, chunkBytes, i)));
      }),
      { numRuns: 300 },
    );
  });

  it('hands over views of a piece holding whole chunks, and stages only chunks that straddle pieces', () => {
    const bytes = filled(10, 3);
    const buffers: ArrayBufferLike[] = [];
    const splitter = new ChunkSplitter(4, (chunk) => buffers.push(chunk.buffer));
    splitter.push(bytes.subarray(0, 9));
    splitter.push(bytes.subarray(9));
    splitter.end();
    assert.deepEqual(buffers.slice(0, 2), [bytes.buffer, bytes.buffer]);
    assert.notEqual(buffers[2], bytes.buffer, 'the last chunk straddles the two pieces');
    assert.deepEqual(new ChunkSplitter(4).end(), { bytes: 0, chunkDigests: [] });
    for (const chunkBytes of [0, -1, 1.5]) assert.throws(() => new ChunkSplitter(chunkBytes), InvariantViolation);
  });
});

describe('CheckpointImage', () => {
  it('lists the client-table chunks, then the service-state chunks, each part starting a chunk', () => {
    const clientTable = filled(5, 1);
    const serviceState = filled(9, 2);
    const image = imageOf(clientTable, serviceState, 4);
    assert.deepEqual(image.manifest, {
      chunkBytes: 4,
      clientTableBytes: 5,
      serviceStateBytes: 9,
      chunkDigests: [
        sha256(clientTable.subarray(0, 4)),
        sha256(clientTable.subarray(4)),
        sha256(serviceState.subarray(0, 4)),
        sha256(serviceState.subarray(4, 8)),
        sha256(serviceState.subarray(8)),
      ],
    });
    assert.deepEqual(image.chunk(1), clientTable.subarray(4));
    assert.deepEqual(image.chunk(2), serviceState.subarray(0, 4));
    assert.equal(image.chunk(4)!.buffer, serviceState.buffer, 'a view, not a copy');
    for (const index of [-1, 5, 1.5, Number.NaN]) assert.equal(image.chunk(index), undefined);
  });

  it('has no chunks for an empty part', () => {
    const state = filled(3, 0);
    assert.deepEqual(imageOf(new Uint8Array(0), state, 4).manifest.chunkDigests, [sha256(state)]);
    assert.deepEqual(imageOf(new Uint8Array(0), new Uint8Array(0), 4).manifest.chunkDigests, []);
    assert.equal(imageOf(new Uint8Array(0), new Uint8Array(0), 4).chunk(0), undefined);
  });

  it('serves chunks that match its manifest and put together give back its parts', () => {
    fc.assert(
      fc.property(partsArb, ({ clientTable, serviceState, chunkBytes }) => {
        const image = imageOf(clientTable, serviceState, chunkBytes);
        const chunks = image.manifest.chunkDigests.map((_, i) => image.chunk(i)!);
        assert.deepEqual(chunks.map(sha256), image.manifest.chunkDigests);
        assert.ok(chunks.every((c) => c.length > 0 && c.length <= chunkBytes));
        const ctChunks = chunkCount(clientTable.length, chunkBytes);
        assert.deepEqual(Buffer.concat(chunks.slice(0, ctChunks)), Buffer.from(clientTable));
        assert.deepEqual(Buffer.concat(chunks.slice(ctChunks)), Buffer.from(serviceState));
      }),
      { numRuns: 300 },
    );
  });

  it('asserts that its manifest describes its parts', () => {
    const { manifest } = imageOf(filled(5, 1), filled(9, 2), 4);
    assert.throws(() => new CheckpointImage(manifest, filled(4, 1), filled(9, 2)), InvariantViolation);
    assert.throws(() => new CheckpointImage(manifest, filled(5, 1), filled(13, 2)), InvariantViolation);
    assert.throws(
      () => new CheckpointImage({ ...manifest, chunkDigests: manifest.chunkDigests.slice(1) }, filled(5, 1), filled(9, 2)),
      InvariantViolation,
    );
    assert.throws(() => CheckpointImage.build(filled(5, 1), filled(9, 2), [], 4), InvariantViolation);
  });
});

describe('CheckpointAssembly', () => {
  it('puts chunks stored in any order back into the two parts', () => {
    fc.assert(
      fc.property(partsArb, fc.nat(), ({ clientTable, serviceState, chunkBytes }, shuffle) => {
        const source = imageOf(clientTable, serviceState, chunkBytes);
        const assembly = new CheckpointAssembly(seq(64), source.manifest);
        const order = source.manifest.chunkDigests.map((_, i) => i);
        // A deterministic permutation: rotated, and reversed for odd `shuffle`.
        order.push(...order.splice(0, order.length === 0 ? 0 : shuffle % order.length));
        if (shuffle % 2 === 1) order.reverse();
        for (const index of order) {
          assert.equal(assembly.complete, false);
          assembly.store(index, source.chunk(index)!);
        }
        assert.equal(assembly.complete, true);
        const image = assembly.image();
        assert.deepEqual(image.clientTable, clientTable);
        assert.deepEqual(image.serviceState, serviceState);
        assert.equal(image.manifest, source.manifest);
        for (const index of order) assert.deepEqual(image.chunk(index), source.chunk(index));
      }),
      { numRuns: 300 },
    );
  });

  it('copies each chunk once into parts allocated on the first chunk', () => {
    const source = imageOf(filled(5, 1), filled(9, 2), 4);
    const assembly = new CheckpointAssembly(seq(64), source.manifest);
    const chunk = source.chunk(2)!.slice();
    assembly.store(2, chunk);
    chunk.fill(0);
    for (const index of [0, 1, 3, 4]) assembly.store(index, source.chunk(index)!);
    const image = assembly.image();
    assert.deepEqual(image.serviceState, filled(9, 2), 'a copy: the stored chunk can be reused');
    assert.notEqual(image.clientTable.buffer, image.serviceState.buffer, 'one buffer per part');
    assert.equal(image.serviceState.buffer.byteLength, 9, 'exactly the part');
  });

  it('is complete at once for a manifest without chunks', () => {
    const empty = imageOf(new Uint8Array(0), new Uint8Array(0), 4);
    const assembly = new CheckpointAssembly(seq(64), empty.manifest);
    assert.equal(assembly.complete, true);
    assert.deepEqual(assembly.image().manifest, empty.manifest);
  });

  it('asserts on local bugs: an unknown or repeated index, a chunk of the wrong size, missing chunks', () => {
    const source = imageOf(filled(5, 1), filled(9, 2), 4);
    const assembly = new CheckpointAssembly(seq(64), source.manifest);
    assert.throws(() => assembly.image(), InvariantViolation);
    for (const index of [-1, 5, 1.5]) assert.throws(() => assembly.store(index, filled(4, 0)), InvariantViolation);
    assert.throws(() => assembly.store(1, filled(4, 0)), InvariantViolation, 'the last client-table chunk has 1 byte');
    assert.throws(() => assembly.store(2, filled(3, 0)), InvariantViolation);
    assembly.store(0, source.chunk(0)!);
    assert.throws(() => assembly.store(0, source.chunk(0)!), InvariantViolation);
    const wrongCount = { ...source.manifest, chunkDigests: source.manifest.chunkDigests.slice(1) };
    assert.throws(() => new CheckpointAssembly(seq(64), wrongCount), InvariantViolation);
  });
});

describe('CheckpointImages', () => {
  const image = imageOf(filled(2, 0), filled(3, 0), 4);

  it('keeps the stable image and those above it, dropping the ones below a new stable checkpoint', () => {
    const images = new CheckpointImages(3);
    images.keep(seq(64), image);
    images.keep(seq(128), image);
    images.stableAt(seq(64));
    assert.equal(images.get(seq(64)), image);
    images.keep(seq(192), image);
    images.stableAt(seq(128));
    assert.equal(images.get(seq(64)), undefined);
    assert.equal(images.get(seq(128)), image);
    assert.equal(images.get(seq(192)), image);
    // An image finished after a later checkpoint became stable is never asked for.
    images.keep(seq(64), image);
    assert.equal(images.get(seq(64)), undefined);
    // Stability never goes back.
    images.stableAt(seq(64));
    images.keep(seq(64), image);
    assert.equal(images.get(seq(64)), undefined);
  });

  it('hands every image it stops keeping to onDrop, once', () => {
    const [a, b, c, d] = [1, 2, 3, 4].map((i) => imageOf(filled(2, i), filled(3, i), 4));
    const dropped: CheckpointImage[] = [];
    const images = new CheckpointImages(3, (dropping) => dropped.push(dropping));
    images.keep(seq(64), a!);
    images.keep(seq(128), b!);
    images.keep(seq(128), b!);
    images.keep(seq(128), c!);
    assert.deepEqual(dropped, [b], 'replaced');
    images.stableAt(seq(128));
    assert.deepEqual(dropped, [b, a], 'below the stable checkpoint');
    images.keep(seq(64), d!);
    assert.deepEqual(dropped, [b, a, d], 'finished after a later checkpoint became stable');
    images.keep(seq(192), d!);
    images.clear();
    assert.deepEqual(dropped, [b, a, d, c, d]);
    assert.equal(images.get(seq(192)), undefined);
  });

  it('asserts its bound', () => {
    const images = new CheckpointImages(2);
    images.keep(seq(64), image);
    images.keep(seq(128), image);
    images.keep(seq(128), image);
    assert.throws(() => images.keep(seq(192), image), InvariantViolation);
    assert.throws(() => new CheckpointImages(0), InvariantViolation);
  });
});
