/**
 * Client admission in real replica processes (docs/DESIGN.md, "Connections
 * and admission"): with `clients` in the config, a listed key's client is
 * served, and a client with any other key is refused at every replica right
 * after its TLS handshake, so its invocation reaches its deadline unserved.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clientKeyFile } from '../../src/cluster/init.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { TimeoutError } from '../../src/errors.js';
import { Client } from '../../src/runtime/client.js';
import { kvService } from '../../src/services/kv.js';

describe('client admission (4 replica processes, two listed client keys)', { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start({ replicas: 4, clientKeys: 2 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('serves a listed key and refuses an unlisted one at the handshake', async () => {
    assert.equal(cluster.config.clients?.length, 2);
    const listed = await Client.connect({ config: cluster.config, service: kvService, identity: clientKeyFile(cluster.dir, 1) });
    try {
      assert.deepEqual(await listed.invoke({ op: 'put', key: 'k', value: 'listed' }), { ok: true });
    } finally {
      await listed.close();
    }
    const stranger = await Client.connect({ config: cluster.config, service: kvService });
    try {
      await assert.rejects(stranger.invoke({ op: 'put', key: 'k', value: 'stranger' }, { timeoutMs: 3000 }), (e: unknown) => e instanceof TimeoutError);
    } finally {
      await stranger.close();
    }
    const reader = await Client.connect({ config: cluster.config, service: kvService, identity: clientKeyFile(cluster.dir, 0) });
    try {
      assert.deepEqual(await reader.invoke({ op: 'get', key: 'k' }), { ok: true, value: 'listed' });
    } finally {
      await reader.close();
    }
  });
});
