/**
 * ChunkFetch (src/core/chunk-fetch.ts, docs/STATE-TRANSFER.md S11): a source
 * that never answers costs its chunks in flight one timeout, all of them
 * together, not one timeout each, doubling in turn (T, 2T, 4T, 8T: the
 * fetch-wide timeout of an earlier version, raised by each chunk of the same
 * wave as it was looked at). Found by a review.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkFetch } from '../../src/core/chunk-fetch.js';
import { replicaId } from '../../src/core/ids.js';

const r = replicaId;

describe('ChunkFetch: one silent source', () => {
  it('has its chunks of one wave re-asked together, one timeout after they were sent', () => {
    const fetch = new ChunkFetch(64, 8, 10);
    fetch.addSource(r(0));
    fetch.addSource(r(1)); // silent
    const first = fetch.due(0);
    const silent = first.filter((q) => q.to === 1).map((q) => q.index);
    for (const q of first) if (q.to === 0) fetch.markStored(q.index, r(0));
    const reaskedAt = new Map<number, number>();
    for (let now = 1; now <= 400 && reaskedAt.size < silent.length; now++) {
      for (const q of fetch.due(now)) {
        if (silent.includes(q.index) && !reaskedAt.has(q.index)) reaskedAt.set(q.index, now);
        fetch.markStored(q.index, q.to); // r0 answers everything at once
      }
    }
    const ticks = silent.map((i) => reaskedAt.get(i));
    assert.deepEqual(ticks, silent.map(() => 10), 're-asked one timeout (10 ticks) after they were sent');
  });
});
