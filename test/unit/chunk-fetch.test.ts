/** ChunkFetch (src/core/chunk-fetch.ts): spreading chunk requests over sources, re-asking, dropping liars (docs/STATE-TRANSFER.md S9-S11). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkFetch } from '../../src/core/chunk-fetch.js';
import { replicaId } from '../../src/core/ids.js';

const r = replicaId;

describe('ChunkFetch', () => {
  it('spreads chunks over every source, at most inFlightMax at a time', () => {
    const fetch = new ChunkFetch(6, 4, 10);
    fetch.addSource(r(0));
    fetch.addSource(r(1));
    fetch.addSource(r(2));
    const first = fetch.due(0);
    assert.deepEqual(first, [
      { to: 0, index: 0 },
      { to: 1, index: 1 },
      { to: 2, index: 2 },
      { to: 0, index: 3 },
    ]);
    assert.deepEqual(fetch.due(1), [], 'the in-flight bound holds');
    fetch.markStored(0, r(0));
    fetch.markStored(1, r(1));
    assert.deepEqual(fetch.due(2), [
      { to: 1, index: 4 },
      { to: 2, index: 5 },
    ]);
    for (const [i, from] of [[2, 2], [3, 0], [4, 1], [5, 2]] as const) fetch.markStored(i, r(from));
    assert.ok(fetch.done);
  });

  it('asks a chunk not answered in time of the next source', () => {
    const fetch = new ChunkFetch(1, 1, 10);
    fetch.addSource(r(0));
    fetch.addSource(r(1));
    assert.deepEqual(fetch.due(0), [{ to: 0, index: 0 }]);
    assert.deepEqual(fetch.due(9), []);
    assert.deepEqual(fetch.due(10), [{ to: 1, index: 0 }]);
    assert.ok(fetch.expects(r(0), 0), 'a late answer from the first source is still taken (a slow network is not a lie)');
    assert.ok(fetch.expects(r(1), 0));
    assert.ok(!fetch.expects(r(2), 0), 'nobody else was asked');
    fetch.markStored(0, r(0));
    assert.ok(!fetch.expects(r(1), 0), 'a stored chunk is expected from nobody');
  });

  it('each timeout doubles the request timeout, up to 16 times the base', () => {
    const fetch = new ChunkFetch(1, 1, 10);
    fetch.addSource(r(0));
    let now = 0;
    assert.equal(fetch.due(now).length, 1);
    const waits: number[] = [];
    for (let round = 0; round < 6; round++) {
      const sentAt = now;
      do now++;
      while (fetch.due(now).length === 0);
      waits.push(now - sentAt);
    }
    assert.deepEqual(waits, [10, 20, 40, 80, 160, 160]);
  });

  it('a source that let a request time out is skipped while others serve, and used again once it answers in time', () => {
    const fetch = new ChunkFetch(4, 1, 10);
    fetch.addSource(r(0));
    fetch.addSource(r(1));
    assert.deepEqual(fetch.due(0), [{ to: 0, index: 0 }]);
    // r0 never answers: from its timeout on every chunk goes to r1 (one timeout, not one per chunk).
    assert.deepEqual(fetch.due(10), [{ to: 1, index: 0 }]);
    fetch.markStored(0, r(1));
    assert.deepEqual(fetch.due(11), [{ to: 1, index: 1 }]);
    fetch.markStored(1, r(1));
    assert.deepEqual(fetch.due(12), [{ to: 1, index: 2 }]);
    // r1 stalls too (its own timeout is still 10): with no serving source left, the stalled ones are asked.
    assert.deepEqual(fetch.due(21), []);
    const fallback = fetch.due(22);
    assert.equal(fallback.length, 1);
    const served = fallback[0]!.to;
    fetch.markStored(2, served); // in time: that source serves again
    assert.deepEqual(fetch.due(23), [{ to: served, index: 3 }], 'the source that answered in time is used again; the other stays skipped');
  });

  it('a late answer is taken but does not lift the stall mark (no timing out on purpose and coming back)', () => {
    const fetch = new ChunkFetch(3, 2, 10);
    fetch.addSource(r(0));
    fetch.addSource(r(1));
    assert.deepEqual(fetch.due(0), [
      { to: 0, index: 0 },
      { to: 1, index: 1 },
    ]);
    fetch.markStored(1, r(1));
    assert.deepEqual(fetch.due(1), [{ to: 1, index: 2 }]);
    assert.deepEqual(fetch.due(10), [{ to: 1, index: 0 }], 'chunk 0 timed out at r0: asked of r1');
    assert.ok(fetch.expects(r(0), 0));
    fetch.markStored(0, r(0)); // r0's late answer: taken
    fetch.markStored(2, r(1));
    assert.ok(fetch.done);
  });

  it('each source holds at most its share of the requests in flight, so slow answers cannot gather every slot', () => {
    const fetch = new ChunkFetch(40, 4, 100);
    fetch.addSource(r(0)); // answers at once
    fetch.addSource(r(1)); // slow: never within these ticks
    const asked: Record<number, number> = { 0: 0, 1: 0 };
    for (let now = 0; now < 50; now++) {
      for (const q of fetch.due(now)) {
        asked[q.to]!++;
        if (q.to === 0) fetch.markStored(q.index, r(0));
      }
    }
    assert.equal(asked[1], 2, 'r1 holds its share (2 of 4) and no more');
    assert.equal(asked[0], 38, 'r0 carries everything else');
  });

  it('a dropped source loses its chunks in flight to the others and is never added again', () => {
    const fetch = new ChunkFetch(2, 2, 10);
    fetch.addSource(r(0));
    fetch.addSource(r(1));
    assert.deepEqual(fetch.due(0), [
      { to: 0, index: 0 },
      { to: 1, index: 1 },
    ]);
    fetch.dropSource(r(1));
    fetch.addSource(r(1));
    assert.equal(fetch.sourceCount, 1);
    assert.deepEqual(fetch.due(1), [{ to: 0, index: 1 }]);
  });

  it('without sources it asks nothing, and resumes when one is added', () => {
    const fetch = new ChunkFetch(1, 1, 10);
    assert.deepEqual(fetch.due(0), []);
    fetch.addSource(r(3));
    assert.deepEqual(fetch.due(1), [{ to: 3, index: 0 }]);
  });
});
