/**
 * Batch limits and batch integrity (PROTOCOL.md P4, N4, R4). The primary
 * never proposes more than batchRequestsMax requests or batchBytesMax
 * operation bytes in one batch (at least one request always goes, so the
 * queue cannot wedge), and under load fills batches up to those limits.
 * Backups reject, as misbehaviour of the primary: an empty batch, too many
 * requests, too many bytes, and a PRE-PREPARE whose digest does not match
 * its batch (`batch-digest-mismatch`). None of those leaves a PRE-PREPARE in
 * the slot, so the primary's correct proposal is still accepted. A request
 * above requestBytesMax is refused on arrival.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, batchDigest, Cluster, prePrepare, req, runSteps } from './harness.js';

describe('batch limits', () => {
  it('batchRequestsMax = 3: batches of at most 3, filled to 3 under load', () => {
    const c = new Cluster({ n: 4, options: { batchRequestsMax: 3, pipelineMax: 1 } });
    for (let client = 1; client <= 10; client++) c.submit(req(client, 1));
    c.deliverAll();
    assertSameHistories(c);
    assert.deepEqual(
      c.history(0).map((b) => b.requests.join(',')),
      ['c1#1', 'c2#1,c3#1,c4#1', 'c5#1,c6#1,c7#1', 'c8#1,c9#1,c10#1'],
    );
  });

  it('batchBytesMax: batches stop before exceeding the byte limit', () => {
    // Operations of 10 bytes; 25 bytes per batch -> 2 requests per batch.
    const c = new Cluster({ n: 4, options: { batchBytesMax: 25, requestBytesMax: 25, pipelineMax: 1 } });
    for (let client = 1; client <= 7; client++) c.submit(req(client, 1, `operation${client}`));
    c.deliverAll();
    assertSameHistories(c);
    assert.deepEqual(
      c.history(0).map((b) => b.requests.length),
      [1, 2, 2, 2],
    );
  });

  it('rejects malformed batches from the primary and keeps the slot free for a good one', () => {
    const c = new Cluster({ n: 4, options: { batchRequestsMax: 3, batchBytesMax: 40, requestBytesMax: 40 } });
    const A = [req(1, 1, 'a')];
    const B = [req(2, 1, 'b')];
    runSteps(c, [
      {
        step: 'the primary sends s1 with: no request; 4 requests; 41 bytes; the digest of A with batch B',
        run: (c) => {
          c.inject(0, 1, prePrepare(0, 1, []));
          c.inject(0, 1, prePrepare(0, 1, [req(1, 1), req(2, 1), req(3, 1), req(4, 1)]));
          c.inject(0, 1, prePrepare(0, 1, [req(1, 1, 'x'.repeat(21)), req(2, 1, 'y'.repeat(20))]));
          c.inject(0, 1, prePrepare(0, 1, B, batchDigest(A)));
          c.deliverAll();
        },
        expect: [
          'r0 -> r1 pre-prepare v0 s1 []',
          'r1 rejects pre-prepare from r0: empty-batch',
          'r1 rejects pre-prepare from r0: batch-too-many-requests',
          'r1 rejects pre-prepare from r0: batch-too-large',
          'r0 -> r1 pre-prepare v0 s1 [c2#1] digest=[c1#1]',
          'r1 rejects pre-prepare from r0: batch-digest-mismatch',
        ],
        absent: [/^r1 -> r\d prepare/],
        check: (c) => {
          assert.ok(c.rejectionsAt(1).every((r) => r.action === 'reject-peer'));
          assert.equal(c.replica(1).status().slots, 0, 'a rejected PRE-PREPARE leaves no slot');
        },
      },
      {
        step: 'exactly 40 bytes and 3 requests is within the limits; then the real primary proposes A',
        run: (c) => {
          c.inject(0, 2, prePrepare(0, 1, [req(5, 1, 'x'.repeat(20)), req(6, 1, 'y'.repeat(10)), req(7, 1, 'z'.repeat(10))]));
          c.deliverAll();
          c.submit(req(1, 1, 'a'));
          c.deliverAll();
        },
        expect: [
          /^r2 -> r\d prepare v0 s1 \[c5#1,c6#1,c7#1\]$/,
          'r0 -> r1 pre-prepare v0 s1 [c1#1]',
          'r1 executes s1 [c1#1]',
        ],
        check: (c) => {
          // r2 had accepted the (injected) 3-request batch at s1, so it refuses the primary's.
          assert.deepEqual(c.traceMatching('r2 rejects pre-prepare from r0: conflicting-pre-prepare').length, 1);
          for (const r of [0, 1, 3]) assert.deepEqual(c.history(r), [{ seq: 1, requests: ['c1#1'] }]);
          assert.deepEqual(c.history(2), []);
        },
      },
    ]);
  });

  it('a request above requestBytesMax is refused on arrival; one at the limit is executed', () => {
    const c = new Cluster({ n: 4, options: { requestBytesMax: 8 } });
    runSteps(c, [
      {
        step: 'c1#1 with 9 bytes, c2#1 with 8 bytes',
        run: (c) => {
          c.submit(req(1, 1, '123456789'));
          c.submit(req(2, 1, '12345678'));
          c.deliverAll();
        },
        expect: ['r0 rejects request from c1: request-too-large', 'r3 rejects request from c1: request-too-large'],
        check: (c) => {
          for (const r of c.replicas) assert.deepEqual(c.executedRequests(r), ['c2#1']);
        },
      },
    ]);
  });
});
