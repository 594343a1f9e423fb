/**
 * The executor backlog bound (PROTOCOL.md E1, E5, options.executeBacklogMax).
 * A replica hands at most executeBacklogMax batches to its executor before
 * their `executed` answers come back. With a backup's answers withheld, it
 * delivers exactly that many, keeps the rest committed in its log, and
 * resumes one delivery per answer, in sequence order; its history ends equal
 * to everyone else's. Withheld at the primary, the bound also stops the
 * pipeline: the primary proposes no more than pipelineMax batches past its
 * last executed one, and catches up (proposing the waiting requests) as
 * results arrive.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameHistories, Cluster, req, runSteps } from './harness.js';

describe('executeBacklogMax', () => {
  it('a backup with a slow executor delivers at most executeBacklogMax batches, then one per result', () => {
    const c = new Cluster({ n: 4, options: { pipelineMax: 6, executeBacklogMax: 2, batchRequestsMax: 1 } });
    runSteps(c, [
      {
        step: "r1's executor answers nothing; 6 clients send a request",
        run: (c) => {
          c.holdExecution(1);
          for (let client = 1; client <= 6; client++) c.submit(req(client, 1, `o${client}`));
          c.deliverAll();
        },
        expect: ['r1 executes s1 [c1#1]', 'r1 executes s2 [c2#1]', 'r0 executed s6 -> "o6:6"'],
        absent: [/^r1 executes s3/, /^r1 executed/],
        check: (c) => {
          assert.deepEqual(c.heldExecutions(1), [1, 2]);
          const status = c.replica(1).status();
          assert.equal(status.lastDelivered, 2);
          assert.equal(status.lastExecuted, 0);
          // s3..s6 committed and waiting in the log; s1, s2 (delivered) also stay there until a
          // stable checkpoint covers them (VIEW-CHANGE.md C4; checkpointInterval is 64 here).
          assert.equal(status.slots, 6, 's1..s6 in the log');
          assert.equal(c.heldExecutions(1).length + 4, 6, 's3..s6 committed and waiting');
          for (const r of [0, 2, 3]) assert.equal(c.history(r).length, 6);
          assert.equal(c.backlogPeak, 2);
        },
      },
      {
        step: 'one result (s1) arrives: exactly one more delivery (s3)',
        run: (c) => c.releaseExecutions(1, 1),
        expect: ['r1 executed s1 -> "o1:1"', 'r1 -> c1 reply c1#1 "o1:1"', 'r1 executes s3 [c3#1]'],
        absent: [/^r1 executes s4/],
        check: (c) => assert.deepEqual(c.heldExecutions(1), [2, 3]),
      },
      {
        step: 'the executor catches up',
        run: (c) => c.holdExecution(1, false),
        expect: ['r1 executes s4 [c4#1]', 'r1 executes s6 [c6#1]', 'r1 executed s6 -> "o6:6"'],
        check: (c) => {
          assertSameHistories(c);
          assert.equal(c.replica(1).status().lastDelivered, 6);
          assert.equal(c.replica(1).status().slots, 6, 'kept until a stable checkpoint (none at interval 64)');
          assert.ok(c.backlogPeak <= 2);
        },
      },
    ]);
  });

  it('a slow executor at the primary stops proposals at pipelineMax; they resume with results', () => {
    const c = new Cluster({ n: 4, options: { pipelineMax: 3, executeBacklogMax: 2, batchRequestsMax: 1 } });
    runSteps(c, [
      {
        step: "r0's executor answers nothing; 8 clients send a request",
        run: (c) => {
          c.holdExecution(0);
          for (let client = 1; client <= 8; client++) c.submit(req(client, 1));
          c.deliverAll();
        },
        expect: ['r0 -> r1 pre-prepare v0 s3 [c3#1]', 'r0 executes s2 [c2#1]'],
        absent: [/pre-prepare v0 s4/, /^r0 executes s3/],
        check: (c) => {
          assert.deepEqual(c.proposedBy(0), [1, 2, 3]);
          assert.deepEqual(c.heldExecutions(0), [1, 2]);
          for (const r of [1, 2, 3]) assert.equal(c.history(r).length, 3);
          assert.equal(c.replica(0).status().pendingRequests, 5 + 1, '5 unproposed + s3 proposed and undelivered');
        },
      },
      {
        step: 'results arrive one by one',
        run: (c) => {
          for (let i = 0; i < 20 && c.heldExecutions(0).length > 0; i++) {
            c.releaseExecutions(0, 1);
            c.deliverAll();
          }
        },
        expect: [
          'r0 executed s1 -> "op1.1:1"',
          'r0 executes s3 [c3#1]',
          'r0 -> r1 pre-prepare v0 s4 [c4#1]',
          'r0 -> r1 pre-prepare v0 s8 [c8#1]',
        ],
        check: (c) => {
          assertSameHistories(c);
          assert.equal(c.history(0).length, 8);
          assert.equal(c.pipelinePeak, 3);
          assert.equal(c.backlogPeak, 2);
        },
      },
    ]);
  });
});
