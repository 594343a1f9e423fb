/**
 * Normal case with n = 7 (f = 2, quorum 5): the quorum arithmetic of a larger
 * group. With every replica up, each one prepares on 4 backup PREPAREs and
 * commits on 5 COMMITs, and all 7 execute the same history. With two backups
 * crashed (the most n = 7 tolerates) the remaining 5 are exactly a quorum and
 * still commit; with three crashed nothing commits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertExecutedOnce, assertSameHistories, Cluster, involving, req, runSteps, where } from './harness.js';

describe('normal case, n = 7', () => {
  it('20 requests from 10 clients, all 7 replicas execute the same history', () => {
    const c = new Cluster({ n: 7, options: { pipelineMax: 3 } });
    runSteps(c, [
      {
        step: 'c1 sends c1#1 "first"; PRE-PREPAREs and PREPAREs delivered',
        run: (c) => {
          c.submit(req(1, 1, 'first'));
          c.deliverWhere(where({ type: ['request', 'pre-prepare', 'prepare'] }));
        },
        expect: ['r0 -> r6 pre-prepare v0 s1 [c1#1]', 'r6 -> r5 prepare v0 s1 [c1#1]'],
        absent: [/executes/, /rejects|ignores/],
        check: (c) => {
          // 6 backups PREPARE to 6 others = 36; everyone then has 4 backup PREPAREs and COMMITs to 6 others.
          assert.equal(c.pending.filter(where({ type: 'commit' })).length, 7 * 6);
        },
      },
      {
        step: 'COMMITs delivered',
        run: (c) => c.deliverAll(),
        expect: ['r0 executes s1 [c1#1]', 'r6 -> c1 reply c1#1 "first:1"'],
        check: (c) => {
          for (const r of c.replicas) assert.deepEqual(c.history(r), [{ seq: 1, requests: ['c1#1'] }]);
          assert.equal(c.repliesTo('c1#1').length, 7);
        },
      },
      {
        step: '10 clients send two requests each (second after the first is answered)',
        run: (c) => {
          for (let client = 10; client < 20; client++) c.submit(req(client, 1, `a${client}`));
          c.deliverAll();
          for (let client = 10; client < 20; client++) c.submit(req(client, 2, `b${client}`));
          c.deliverAll();
        },
        absent: [/rejects/],
        check: (c) => {
          assertSameHistories(c);
          for (const r of c.replicas) {
            assertExecutedOnce(c, r);
            assert.equal(c.executedRequests(r).length, 21);
          }
          for (let client = 10; client < 20; client++) {
            for (const no of [1, 2]) {
              const replies = c.repliesTo(`c${client}#${no}`);
              assert.equal(replies.length, 7);
              assert.equal(new Set(replies.map((r) => r.result)).size, 1, 'identical results');
            }
          }
          assert.ok(c.pipelinePeak <= 3);
        },
      },
    ]);
  });

  it('two crashed backups (f = 2): the other five are a quorum and execute', () => {
    const c = new Cluster({ n: 7 });
    c.blackhole(involving(5, 6));
    for (let client = 1; client <= 5; client++) c.submit(req(client, 1), [0, 1, 2, 3, 4]);
    c.deliverAll();
    assertSameHistories(c, [0, 1, 2, 3, 4]);
    assert.deepEqual(c.executedRequests(0), ['c1#1', 'c2#1', 'c3#1', 'c4#1', 'c5#1']);
    assert.deepEqual(c.history(5), []);
    assert.deepEqual(c.history(6), []);
    assert.equal(c.repliesTo('c3#1').length, 5);
  });

  it('three silent backups (more than f): nothing commits', () => {
    const c = new Cluster({ n: 7 });
    c.blackhole(involving(4, 5, 6));
    c.submit(req(1, 1), [0, 1, 2, 3]);
    c.deliverAll();
    for (const r of c.replicas) assert.deepEqual(c.history(r), [], `r${r} executed`);
    assert.ok(c.traceMatching(/^r\d -> r\d prepare /).length > 0, 'backups 1-3 PREPARE ...');
    assert.deepEqual(c.traceMatching(/^r\d -> r\d commit /), [], '... but 3 backup PREPAREs do not prepare (4 needed)');
    assert.deepEqual(c.traceMatching(/executes/), []);
  });
});
