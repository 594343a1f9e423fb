/**
 * A replica whose service diverges repairs itself by state transfer
 * (docs/STATE-TRANSFER.md S16), over real processes: four replicas run
 * test/fixtures/diverging-service.ts, and on replica 3 alone it counts one
 * request twice (BAFOMET_TEST_DIVERGE). At the next checkpoint a quorum
 * certifies, replica 3 sees that its state differs, logs it at error level,
 * fetches the certified image from the others and executes its log after it
 * again. Asserted: its `divergences` counter is 1, and all four replicas end
 * with the same state digest (before, replica 3 kept its own state for good).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { utf8Codec } from '../../src/codecs.js';
import { Client } from '../../src/runtime/client.js';
import { waitFor } from '../support/wait-for.js';

const SERVICE = fileURLToPath(new URL('../fixtures/diverging-service.js', import.meta.url));
const protocol = { checkpointInterval: 4, logWindow: 8 };

describe('a replica whose service diverges (4 replica processes)', { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start({ replicas: 4, service: SERVICE, protocol, env: { 3: { BAFOMET_TEST_DIVERGE: '3' } } });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('notices at the next certified checkpoint, repairs itself, and the four states end equal', async () => {
    const client = await Client.connect({ config: cluster.config, service: { request: utf8Codec, reply: utf8Codec }, sessions: 1, protocol });
    try {
      for (let i = 1; i <= 12; i++) assert.equal(await client.invoke('k', { timeoutMs: 10_000 }), String(i), 'f + 1 correct replicas answer');
      await waitFor(async () => (await cluster.status(3)).divergences >= 1, { timeoutMs: 15_000, what: 'replica 3 to report its divergence' });
      let digests = new Set<string>();
      await waitFor(
        async () => {
          const answers = await Promise.all([0, 1, 2, 3].map((id) => cluster.digest(id)));
          digests = new Set(answers.map((a) => a.digest));
          return new Set(answers.map((a) => a.seq)).size === 1 && digests.size === 1;
        },
        { timeoutMs: 20_000, what: 'the four replicas to hold the same state after the same batch' },
      );
      assert.equal(digests.size, 1);
      assert.equal((await cluster.status(3)).divergences, 1);
    } finally {
      await client.close();
    }
  });
});
