/**
 * A request whose `update` throws does not stop the service (four replica
 * processes, test/fixtures/poison-service.ts: `poison:<key>` adds 1000 to a
 * counter, then throws). Before, every replica logged "service failed;
 * replica stops" and the client hung. Now:
 * - the client's invoke rejects with a ServiceError carrying the service's
 *   message, from f + 1 matching `failed` replies;
 * - the failed request's change is rolled back at every replica (the
 *   counter reads as if it never ran), across a checkpoint too;
 * - every replica keeps serving, and all reach the same state digest.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { utf8Codec } from '../../src/codecs.js';
import { ServiceError } from '../../src/executor/errors.js';
import { Client } from '../../src/runtime/client.js';
import { settledDigests } from '../support/settled-digests.js';

const POISON_SERVICE = fileURLToPath(new URL('../fixtures/poison-service.js', import.meta.url));
const codecs = { request: utf8Codec, reply: utf8Codec };
const protocol = { checkpointInterval: 4, logWindow: 8 };

describe('a service that throws on one request (4 replica processes)', { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start({ replicas: 4, service: POISON_SERVICE, protocol });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('rejects that request with the service error, rolls it back everywhere, and keeps serving', async () => {
    const client = await Client.connect({ config: cluster.config, service: codecs, sessions: 2, protocol });
    try {
      assert.equal(await client.invoke('add:a', { timeoutMs: 10_000 }), '1');
      for (let round = 0; round < 3; round++) {
        const failure = await client.invoke('poison:a', { timeoutMs: 10_000 }).then(
          () => undefined,
          (error: unknown) => error,
        );
        assert.ok(failure instanceof ServiceError, String(failure));
        assert.equal(failure.code, 'ERR_BAFOMET_SERVICE');
        assert.match(failure.message, /RangeError: poisoned counter a/);
        // Enough requests between the poisons that checkpoints (every 4 batches) fall in between.
        for (let i = 0; i < 6; i++) await client.invoke(`add:b`, { timeoutMs: 10_000 });
      }
      assert.equal(await client.invoke('add:a', { timeoutMs: 10_000 }), '2', "the poisons' +1000 were rolled back");
      assert.deepEqual(cluster.running, [0, 1, 2, 3], 'no replica stopped');
      assert.equal((await settledDigests(cluster)).size, 1, 'one state digest across 4 replicas');
    } finally {
      await client.close();
    }
  });
});
