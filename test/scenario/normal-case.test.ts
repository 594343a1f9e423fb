/**
 * Normal case, n = 4 (f = 1, quorum 3), no faults. First one request, traced
 * message by message through PRE-PREPARE, PREPARE, COMMIT, execution and
 * reply (PROTOCOL.md R1-E7). Then 50 clients submit at once: the primary
 * keeps several batches in flight but never more than pipelineMax proposed
 * and unexecuted, batches grow while the pipeline is full, and all four
 * replicas execute the same requests in the same order (the append-log
 * service makes any difference in order visible in the results), each
 * request exactly once, and every client gets 4 identical replies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertExecutedOnce,
  assertSameHistories,
  Cluster,
  req,
  runSteps,
  where,
} from './harness.js';

describe('normal case, n = 4', () => {
  it('one request goes through the three phases and is executed once by every replica', () => {
    const c = new Cluster({ n: 4 });
    runSteps(c, [
      {
        step: 'client c1 sends c1#1 "a" to all replicas; only requests are delivered',
        run: (c) => {
          c.submit(req(1, 1, 'a'));
          c.deliverWhere(where({ type: 'request' }));
        },
        expect: ['c1 -> r0 request c1#1 "a"', 'c1 -> r3 request c1#1 "a"'],
        check: (c) => {
          assert.deepEqual(c.proposedBy(0), [1], 'the primary proposed s1 at once (no batch waiting)');
          assert.deepEqual(c.proposedBy(1), [], 'backups never propose');
          assert.equal(c.pending.length, 3, 'three PRE-PREPAREs queued');
        },
      },
      {
        step: 'PRE-PREPAREs delivered',
        run: (c) => c.deliverWhere(where({ type: 'pre-prepare' })),
        expect: [
          'r0 -> r1 pre-prepare v0 s1 [c1#1]',
          'r0 -> r2 pre-prepare v0 s1 [c1#1]',
          'r0 -> r3 pre-prepare v0 s1 [c1#1]',
        ],
        check: (c) => {
          assert.equal(c.pending.filter(where({ type: 'prepare' })).length, 9, 'each backup PREPAREs to 3 others');
        },
      },
      {
        step: 'PREPAREs delivered: every replica prepares and sends COMMIT',
        run: (c) => c.deliverWhere(where({ type: 'prepare' })),
        expect: ['r1 -> r0 prepare v0 s1 [c1#1]', 'r3 -> r2 prepare v0 s1 [c1#1]'],
        absent: [/rejects|ignores/, /executes/],
        check: (c) => {
          assert.equal(c.pending.filter(where({ type: 'commit' })).length, 12, 'all 4 replicas COMMIT to 3 others');
        },
      },
      {
        step: 'COMMITs delivered: all execute s1 and reply',
        run: (c) => c.deliverAll(),
        expect: ['r0 executes s1 [c1#1]', 'r0 executed s1 -> "a:1"', 'r0 -> c1 reply c1#1 "a:1"'],
        absent: [/rejects/],
        check: (c) => {
          for (const r of c.replicas) {
            assert.deepEqual(c.history(r), [{ seq: 1, requests: ['c1#1'] }]);
            assert.deepEqual(c.serviceLog(r), ['a']);
            assert.equal(c.replica(r).status().lastExecuted, 1);
            // Since checkpoints, a delivered slot is kept until a stable checkpoint covers it (C4).
            assert.equal(c.replica(r).status().slots, 1, 'the slot stays until a stable checkpoint');
            assert.equal(c.replica(r).status().pendingRequests, 0);
          }
          assert.deepEqual(
            c.repliesTo('c1#1').map((r) => `r${r.from}:${r.result}`).sort(),
            ['r0:a:1', 'r1:a:1', 'r2:a:1', 'r3:a:1'],
          );
        },
      },
    ]);
    // Each replica executes s1 exactly once.
    for (const r of c.replicas) assert.equal(c.traceMatching(`r${r} executes s1 `).length, 1);
  });

  it('50 clients at once: several batches in flight, bounded by pipelineMax, same order everywhere', () => {
    const pipelineMax = 4;
    const c = new Cluster({ n: 4, options: { pipelineMax, batchRequestsMax: 16 } });
    const labels: string[] = [];
    runSteps(c, [
      {
        step: '50 clients each send one request to all replicas',
        run: (c) => {
          for (let client = 1; client <= 50; client++) {
            c.submit(req(client, 1, `x${client}`));
            labels.push(`c${client}#1`);
          }
        },
      },
      {
        step: 'deliver everything (FIFO)',
        run: (c) => c.deliverAll(),
        expect: [
          // Under light load the first requests go out one per batch...
          'r0 -> r1 pre-prepare v0 s1 [c1#1]',
          'r0 -> r1 pre-prepare v0 s4 [c4#1]',
          'r0 executes s1 [c1#1]',
          // ... then the pipeline is full: each execution at the primary frees
          // one place, and the next batch takes up to batchRequestsMax = 16 waiting requests.
          /^r0 -> r1 pre-prepare v0 s5 \[c5#1,c6#1,.*,c20#1\]$/,
          /^r0 -> r1 pre-prepare v0 s6 \[c21#1,.*,c36#1\]$/,
          /^r0 -> r1 pre-prepare v0 s7 \[c37#1,.*,c50#1\]$/,
          /^r3 executed s7 -> "x37:37",.*,"x50:50"$/,
        ],
        absent: [/rejects/],
      },
    ]);

    // Batching: more than one batch, some with more than one request, none above the limits.
    const batches = c.history(0);
    assert.ok(batches.length > 1, `${batches.length} batches`);
    assert.ok(batches.some((b) => b.requests.length > 1), 'batches grow under load');
    assert.ok(batches.every((b) => b.requests.length >= 1 && b.requests.length <= 16));
    assert.deepEqual(
      batches.map((b) => b.requests.length),
      [1, 1, 1, 1, 16, 16, 14],
    );
    // Pipeline: the primary had exactly pipelineMax proposals in flight at its peak, never more.
    assert.equal(c.pipelinePeak, pipelineMax);
    assert.deepEqual(
      c.proposedBy(0),
      batches.map((b) => b.seq),
    );

    // Agreement and exactly-once: same history everywhere, every request once.
    assertSameHistories(c);
    for (const r of c.replicas) {
      assertExecutedOnce(c, r);
      assert.deepEqual([...c.executedRequests(r)].sort(), [...labels].sort());
      assert.equal(c.replica(r).status().pendingRequests, 0);
      assert.equal(c.replica(r).status().lastExecuted, batches.length);
    }
    // Service results follow the agreed order: the k-th executed request got ":k".
    const order = c.executedRequests(0);
    for (const [k, label] of order.entries()) {
      const client = label.slice(1, label.indexOf('#'));
      const replies = c.repliesTo(label);
      assert.equal(replies.length, 4, `${label} got ${replies.length} replies`);
      assert.deepEqual(new Set(replies.map((r) => r.from)).size, 4, 'from 4 distinct replicas');
      for (const reply of replies) assert.equal(reply.result, `x${client}:${k + 1}`);
    }
  });
});
