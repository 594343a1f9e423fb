/**
 * One crashed backup (n = 4, f = 1): r3 receives nothing and sends nothing.
 * The other three are exactly a quorum (3 = 2f + 1), so they still prepare
 * (2 backup PREPAREs: r1, r2), commit (3 COMMITs) and execute every request
 * in the same order; each client gets 3 replies, enough for its f + 1. The
 * same holds whichever backup is the one that crashed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertExecutedOnce, assertSameHistories, Cluster, involving, req, runSteps } from './harness.js';

describe('one backup crashed', () => {
  for (const crashed of [1, 2, 3]) {
    it(`r${crashed} silent: the other three commit and execute 10 requests`, () => {
      const c = new Cluster({ n: 4, options: { pipelineMax: 2 } });
      const alive = [0, 1, 2, 3].filter((r) => r !== crashed);
      c.blackhole(involving(crashed));
      runSteps(c, [
        {
          step: `10 clients send a request to all; r${crashed} is down`,
          run: (c) => {
            for (let client = 1; client <= 10; client++) c.submit(req(client, 1, `w${client}`));
            c.deliverAll();
          },
          expect: [
            `lost c1 -> r${crashed} request c1#1 "w1"`,
            `lost r0 -> r${crashed} pre-prepare v0 s1 [c1#1]`,
            `r${alive[1]} executes s1 [c1#1]`,
          ],
          absent: [new RegExp(`^r${crashed} `), /rejects/],
          check: (c) => {
            assertSameHistories(c, alive);
            for (const r of alive) {
              assertExecutedOnce(c, r);
              assert.equal(c.executedRequests(r).length, 10);
            }
            assert.deepEqual(c.history(crashed), []);
            for (let client = 1; client <= 10; client++) {
              const replies = c.repliesTo(`c${client}#1`);
              assert.deepEqual(
                replies.map((x) => x.from).sort(),
                alive,
                `c${client} answered by ${replies.map((x) => x.from).join(',')}`,
              );
              assert.equal(new Set(replies.map((x) => x.result)).size, 1);
            }
          },
        },
      ]);
    });
  }
});
