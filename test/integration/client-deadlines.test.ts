/**
 * What a client sees when a request cannot complete, over real TCP to four
 * replica processes (kv, requestBytesMax 1 KiB): it never hangs.
 * - an oversized request rejects at once, before anything is sent, and the
 *   session serves the next request;
 * - one a client lets through anyway (it believes in a larger limit) is
 *   answered by the replicas with a rejection it surfaces, never silence;
 * - an aborted invoke rejects at once, before or after it was sent;
 * - with 2 of 4 replicas up, invoke rejects within its deadline, saying
 *   what it saw; once the replicas are back, the same session serves again
 *   and the timed-out request executed at most once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { AbortError, RequestRejectedError, RequestTooLargeError, TimeoutError } from '../../src/errors.js';
import { Client } from '../../src/runtime/client.js';
import { kvService } from '../../src/services/kv.js';

const REQUEST_BYTES_MAX = 1024;
const protocol = { requestBytesMax: REQUEST_BYTES_MAX };

/** Milliseconds `promise` takes to settle, and how. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error: unknown; value: T | undefined }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, error: undefined, value };
  } catch (error) {
    return { ms: performance.now() - start, error, value: undefined };
  }
}

describe('a client never hangs (4 replica processes, kv)', { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start({ replicas: 4, service: 'kv', protocol });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('an oversized request rejects at once and its session serves the next one', async () => {
    const client = await Client.connect({ config: cluster.config, service: kvService, sessions: 1, protocol });
    try {
      const big = await timed(client.invoke({ op: 'put', key: 'big', value: 'x'.repeat(2 * REQUEST_BYTES_MAX) }));
      assert.ok(big.error instanceof RequestTooLargeError, String(big.error));
      assert.equal(big.error.code, 'ERR_BAFOMET_REQUEST_TOO_LARGE');
      assert.ok(big.ms < 100, `rejected in ${big.ms} ms`);
      assert.deepEqual(await client.invoke({ op: 'put', key: 'small', value: 'v' }, { timeoutMs: 10_000 }), { ok: true });
    } finally {
      await client.close();
    }
  });

  it('a request over the replicas\' limit that the client let through is rejected by them, and the session goes on', async () => {
    const client = await Client.connect({ config: cluster.config, service: kvService, sessions: 1, protocol: { requestBytesMax: 64 * 1024 } });
    try {
      const big = await timed(client.invoke({ op: 'put', key: 'big', value: 'y'.repeat(2 * REQUEST_BYTES_MAX) }, { timeoutMs: 10_000 }));
      assert.ok(big.error instanceof RequestRejectedError, String(big.error));
      assert.match(big.error.message, /request-too-large: the operation has \d+ bytes, over requestBytesMax \(1024\)/);
      assert.deepEqual(await client.invoke({ op: 'get', key: 'big' }, { timeoutMs: 10_000 }), { ok: true, value: null });
    } finally {
      await client.close();
    }
  });

  it('an aborted invoke rejects at once, whether its signal was aborted before or after the call', async () => {
    const client = await Client.connect({ config: cluster.config, service: kvService, sessions: 1, protocol });
    try {
      const early = await timed(client.invoke({ op: 'get', key: 'k' }, { signal: AbortSignal.abort('changed my mind') }));
      assert.ok(early.error instanceof AbortError, String(early.error));
      assert.equal(early.error.code, 'ERR_BAFOMET_ABORTED');
      const controller = new AbortController();
      const pending = timed(client.invoke({ op: 'put', key: 'k', value: 'v' }, { signal: controller.signal }));
      controller.abort();
      const late = await pending;
      assert.ok(late.error instanceof AbortError, String(late.error));
      assert.ok(late.ms < 100, `rejected in ${late.ms} ms`);
      assert.deepEqual(await client.invoke({ op: 'put', key: 'k', value: 'w' }, { timeoutMs: 10_000 }), { ok: true });
    } finally {
      await client.close();
    }
  });

  it('with 2 of 4 replicas up it rejects within its deadline; with them back the session serves again, exactly once', async () => {
    const client = await Client.connect({ config: cluster.config, service: kvService, sessions: 1, protocol });
    try {
      assert.deepEqual(await client.invoke({ op: 'put', key: 'n', value: '0' }, { timeoutMs: 10_000 }), { ok: true });
      await cluster.kill(2);
      await cluster.kill(3);
      const stuck = await timed(client.invoke({ op: 'put', key: 'n', value: '1' }, { timeoutMs: 2_000 }));
      assert.ok(stuck.error instanceof TimeoutError, String(stuck.error));
      assert.equal(stuck.error.code, 'ERR_BAFOMET_TIMEOUT');
      assert.ok(stuck.ms >= 1_990 && stuck.ms < 3_000, `rejected after ${stuck.ms} ms`);
      assert.match(stuck.error.message, /no reply quorum within 2000 ms: \d of 2 needed matching replies/);
      assert.match(stuck.error.message, /may still execute/);
      await cluster.startReplica(2);
      await cluster.startReplica(3);
      // The timed-out put may or may not have executed; the next request on the same session must, once.
      assert.deepEqual(await client.invoke({ op: 'put', key: 'n', value: '2' }, { timeoutMs: 60_000 }), { ok: true });
      assert.deepEqual(await client.invoke({ op: 'get', key: 'n' }, { timeoutMs: 10_000 }), { ok: true, value: '2' });
    } finally {
      await client.close();
    }
  });
});
