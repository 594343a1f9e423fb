/** SendQueue (src/net/send-queue.ts): bounded in frames and in bytes, whatever the peer reads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QUEUED_BYTES_MAX, SendQueue } from '../../src/net/send-queue.js';

describe('SendQueue', () => {
  it('drops frames past its frame bound', () => {
    const counters = { sent: 0, dropped: 0 };
    const q = new SendQueue(2, 100, counters);
    assert.deepEqual([q.push(new Uint8Array(1)), q.push(new Uint8Array(1)), q.push(new Uint8Array(1))], ['queued', 'queued', 'full']);
    assert.equal(counters.dropped, 1);
  });

  it('drops frames past its byte bound, so a peer that never reads cannot pin large frames without limit', () => {
    const counters = { sent: 0, dropped: 0 };
    const chunk = QUEUED_BYTES_MAX / 4;
    const q = new SendQueue(1000, QUEUED_BYTES_MAX * 2, counters);
    for (let i = 0; i < 4; i++) assert.equal(q.push(new Uint8Array(chunk)), 'queued');
    assert.equal(q.push(new Uint8Array(1)), 'full');
    assert.equal(q.length, 4);
  });

  it('still takes one frame larger than the byte bound into an empty queue', () => {
    const counters = { sent: 0, dropped: 0 };
    const q = new SendQueue(10, QUEUED_BYTES_MAX * 2, counters);
    assert.equal(q.push(new Uint8Array(QUEUED_BYTES_MAX + 1)), 'queued');
    assert.equal(q.push(new Uint8Array(1)), 'full');
    q.clear();
    assert.equal(q.push(new Uint8Array(1)), 'queued', 'clearing frees the bytes');
  });
});
