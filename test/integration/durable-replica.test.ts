/**
 * Replica processes with data directories (docs/DURABILITY.md), over real
 * TCP and real files: a replica killed with SIGKILL and started again
 * recovers locally (D11-D14) — its state, log and client table come from
 * its own disk, not from the others by state transfer — and serves on;
 * then the whole cluster loses power at once and nothing acknowledged is
 * lost (the chaos scenario `restart-all` does this under load, cycle after
 * cycle).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { Client } from '../../src/runtime/client.js';
import { counterService, type CounterReply, type CounterRequest } from '../../src/services/counter.js';
import { settledDigests } from '../support/settled-digests.js';
import { waitFor } from '../support/wait-for.js';

const add: CounterRequest = { op: 'add', amount: 1 };

describe('replicas with data directories', { timeout: 120_000 }, () => {
  let cluster: LocalCluster;

  before(async () => {
    // A checkpoint every 16 batches: the restarts below start from a checkpoint image and a log after it.
    cluster = await LocalCluster.start({ replicas: 4, service: 'counter', dataDirs: true, protocol: { checkpointInterval: 16, logWindow: 32 } });
  });

  after(async () => {
    await cluster?.stop();
  });

  /** Adds 1 `count` times over 4 sessions, then reads the counter. */
  async function addMany(count: number): Promise<number> {
    const client = await Client.connect({ config: cluster.config, service: counterService, sessions: 4 });
    try {
      const sessions = Array.from({ length: 4 }, async () => {
        for (let i = 0; i < count / 4; i++) await client.invoke(add);
      });
      await Promise.all(sessions);
      const read: CounterReply = await client.invoke({ op: 'get' });
      return read.value;
    } finally {
      await client.close();
    }
  }

  it('a replica killed with SIGKILL recovers its state from its own disk, without state transfer', async () => {
    assert.equal(await addMany(120), 120);
    await settledDigests(cluster);
    const before = await cluster.status(2);
    assert.ok(before.stableCheckpoint >= 16, `a checkpoint was taken (stable ${before.stableCheckpoint})`);
    assert.ok(before.lastExecuted > before.stableCheckpoint, 'and batches after it');
    await cluster.kill(2);
    await cluster.startReplica(2);
    await waitFor(async () => (await cluster.status(2)).lastExecuted >= before.lastExecuted, { timeoutMs: 10_000, what: 'replica 2 to recover' });
    const after = await cluster.status(2);
    assert.equal(after.checkpointsInstalled, 0, 'nothing fetched from the others');
    assert.equal(after.view, before.view);
    assert.equal(await addMany(8), 128);
    assert.equal((await settledDigests(cluster)).size, 1);
  });

  it('the whole cluster loses power at once: nothing acknowledged is lost, and it serves again', async () => {
    for (const id of [0, 1, 2, 3]) await cluster.kill(id);
    await Promise.all([0, 1, 2, 3].map((id) => cluster.startReplica(id)));
    assert.equal(await addMany(4), 132, 'the 128 acknowledged additions survived, each once');
    assert.equal((await settledDigests(cluster)).size, 1);
  });
});
