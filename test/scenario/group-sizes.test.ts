/**
 * Group sizes other than 4 and 7, including n > 3f + 1 where the quorum is
 * ceil((n + f + 1) / 2) rather than 2f + 1, and the degenerate f = 0 groups
 * (one replica commits alone). For each: with everyone up all replicas execute
 * the same history; with n - quorum backups silent the rest is exactly a
 * quorum and still executes; with one more silent nothing commits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quorumSizes } from '../../src/core/quorum.js';
import { assertExecutedOnce, assertSameHistories, Cluster, involving, req } from './harness.js';

const groups: [n: number, f: number][] = [
  [1, 0],
  [2, 0],
  [3, 0],
  [5, 1],
  [6, 1],
  [10, 3],
  [10, 1],
];

describe('group sizes', () => {
  for (const [n, f] of groups) {
    const { quorum } = quorumSizes(n, f);
    const all = [...Array(n).keys()];

    it(`n = ${n}, f = ${f} (quorum ${quorum}): everyone up`, () => {
      const c = new Cluster({ n, f, options: { pipelineMax: 2, batchRequestsMax: 2 } });
      for (let client = 1; client <= 5; client++) c.submit(req(client, 1));
      c.deliverAll();
      assertSameHistories(c);
      for (const r of all) {
        assertExecutedOnce(c, r);
        assert.equal(c.executedRequests(r).length, 5);
      }
    });

    if (n > 1) {
      it(`n = ${n}, f = ${f}: ${n - quorum} silent backups still leave a quorum; ${n - quorum + 1} do not`, () => {
        const silentOk = all.slice(quorum);
        const up = all.slice(0, quorum);
        const c = new Cluster({ n, f });
        c.blackhole(involving(...silentOk));
        c.submit(req(1, 1, 'a'));
        c.deliverAll();
        assertSameHistories(c, up);
        for (const r of up) assert.deepEqual(c.executedRequests(r), ['c1#1'], `r${r}`);

        const tooFew = new Cluster({ n, f });
        tooFew.blackhole(involving(...all.slice(quorum - 1)));
        tooFew.submit(req(1, 1, 'a'));
        tooFew.deliverAll();
        for (const r of all) assert.deepEqual(tooFew.history(r), [], `r${r} executed with ${quorum - 1} replicas up`);
      });
    }
  }
});
