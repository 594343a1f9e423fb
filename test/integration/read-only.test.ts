/**
 * Read-only requests over real TCP to four replica processes
 * (docs/PROTOCOL.md, "Read-only requests", Q1-Q12):
 * - kv, replicas with data directories: a put, then `invokeReadOnly` of a
 *   get returns the value; once every replica has executed the put, the get
 *   is answered unordered by a quorum; a put sent read-only is refused by
 *   every replica, never run unordered, and ordered instead; a client
 *   holding the service's declaration orders it without asking;
 * - a counter (test/fixtures/read-only-service.ts) whose replica 3 lies in
 *   every read-only answer: the client still gets the right value, from the
 *   quorum of the three others; a write sent read-only executes exactly once
 *   and leaves the four states equal; with a correct replica down, no
 *   unordered quorum can form and the read-only deadline orders the read.
 * Nothing waits on a clock: conditions are polled with bounds, and the
 * read-only deadline is made long wherever the test expects a quorum.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { utf8Codec } from '../../src/codecs.js';
import { Client } from '../../src/runtime/client.js';
import type { ReplicaCounters } from '../../src/runtime/replica.js';
import { kvService } from '../../src/services/kv.js';
import { waitFor } from '../support/wait-for.js';

const COUNTER = fileURLToPath(new URL('../fixtures/read-only-service.js', import.meta.url));
/** A read-only deadline no test should reach where it expects an unordered quorum. */
const NEVER_MS = 120_000;
const IDS = [0, 1, 2, 3];

type Status = ReplicaCounters & { readonly lastExecuted: number };
const status = async (cluster: LocalCluster, id: number): Promise<Status> => (await cluster.status(id)) as unknown as Status;

/** Waits until replicas `ids` have executed the same batches (none is behind): their read-only answers agree. */
async function settled(cluster: LocalCluster, ids: readonly number[] = IDS): Promise<void> {
  await waitFor(
    async () => {
      const executed = await Promise.all(ids.map(async (id) => (await status(cluster, id)).lastExecuted));
      return new Set(executed).size === 1;
    },
    { timeoutMs: 30_000, what: `replicas ${ids.join(', ')} to have executed the same batches` },
  );
}

/** The sum over replicas `ids` of one of their counters. */
async function total(cluster: LocalCluster, counter: keyof ReplicaCounters, ids: readonly number[] = IDS): Promise<number> {
  const values = await Promise.all(ids.map(async (id) => (await status(cluster, id))[counter]));
  return values.reduce((a, b) => a + b, 0);
}

describe('read-only requests, kv (4 durable replica processes)', { timeout: 180_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    // With data directories: answers go out after the sync a reply would wait for (Q7, D10).
    cluster = await LocalCluster.start({ replicas: 4, service: 'kv', dataDirs: true });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a put, then invokeReadOnly of a get returns the value; with every replica caught up, unordered', async () => {
    const client = await Client.connect({ config: cluster.config, service: kvService, sessions: 1 });
    try {
      assert.deepEqual(await client.invoke({ op: 'put', key: 'a', value: '1' }, { timeoutMs: 30_000 }), { ok: true });
      // Right whichever way it is answered: a quorum, or ordered because a replica had not executed the put yet.
      assert.deepEqual(await client.invokeReadOnly({ op: 'get', key: 'a' }, { timeoutMs: 30_000 }), { ok: true, value: '1' });
      await settled(cluster);
      const before = client.readOnlyCounts;
      assert.deepEqual(await client.invokeReadOnly({ op: 'get', key: 'a' }, { timeoutMs: 60_000, readOnlyTimeoutMs: NEVER_MS }), { ok: true, value: '1' });
      assert.deepEqual(await client.invokeReadOnly({ op: 'get', key: 'none' }, { timeoutMs: 60_000, readOnlyTimeoutMs: NEVER_MS }), { ok: true, value: null });
      const after = client.readOnlyCounts;
      assert.equal(after.unordered, before.unordered + 2, `answered unordered by a quorum: ${JSON.stringify(after)}`);
      assert.deepEqual(after.ordered, before.ordered, 'nothing ordered');
      // Each of the three reads reached every replica, and each answered it with query.
      await waitFor(async () => (await total(cluster, 'readOnlyAnswered')) === 3 * 4, { timeoutMs: 30_000, what: 'every replica to answer every read' });
    } finally {
      await client.close();
    }
  });

  it('a put sent read-only is refused by every replica, never run unordered, and ordered instead', async () => {
    // Codecs only: the client cannot tell, so the replicas decide [Q5].
    const client = await Client.connect({ config: cluster.config, service: { request: kvService.request, reply: kvService.reply }, sessions: 1 });
    try {
      const refusedBefore = await total(cluster, 'readOnlyRefused');
      const answeredBefore = await total(cluster, 'readOnlyAnswered');
      assert.deepEqual(await client.invokeReadOnly({ op: 'put', key: 'b', value: '2' }, { timeoutMs: 60_000, readOnlyTimeoutMs: NEVER_MS }), { ok: true });
      assert.equal(client.readOnlyCounts.ordered['not-read-only'], 1, JSON.stringify(client.readOnlyCounts));
      assert.equal(client.readOnlyCounts.unordered, 0);
      await waitFor(async () => (await total(cluster, 'readOnlyRefused')) === refusedBefore + 4, {
        timeoutMs: 30_000,
        what: 'every replica to refuse the put sent read-only',
      });
      assert.equal(await total(cluster, 'readOnlyAnswered'), answeredBefore, 'no replica ran it with query');
      assert.deepEqual(await client.invoke({ op: 'get', key: 'b' }, { timeoutMs: 30_000 }), { ok: true, value: '2' }, 'the ordered put executed');
    } finally {
      await client.close();
    }
  });

  it('a client holding the service\'s declaration orders a request it does not declare read-only without asking', async () => {
    const client = await Client.connect({ config: cluster.config, service: kvService, sessions: 1 });
    try {
      assert.deepEqual(await client.invokeReadOnly({ op: 'delete', key: 'b' }, { timeoutMs: 30_000, readOnlyTimeoutMs: NEVER_MS }), { ok: true });
      assert.deepEqual(client.readOnlyCounts, {
        unordered: 0,
        declaredNotReadOnly: 1,
        ordered: { disagreement: 0, timeout: 0, 'not-read-only': 0, failed: 0, rejected: 0 },
      });
      assert.deepEqual(await client.invoke({ op: 'get', key: 'b' }, { timeoutMs: 30_000 }), { ok: true, value: null });
    } finally {
      await client.close();
    }
  });
});

describe('read-only requests with a replica lying in its answers (4 replica processes)', { timeout: 180_000 }, () => {
  let cluster: LocalCluster;
  const codecs = { request: utf8Codec, reply: utf8Codec };
  before(async () => {
    cluster = await LocalCluster.start({ replicas: 4, service: COUNTER, env: { 3: { BAFOMET_TEST_WRONG_READS: '1000' } } });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('the client gets the right value: the three correct replicas make the quorum, the liar is outvoted', async () => {
    const client = await Client.connect({ config: cluster.config, service: codecs, sessions: 1 });
    try {
      assert.equal(await client.invoke('add:7', { timeoutMs: 30_000 }), '7');
      assert.equal(await client.invokeReadOnly('get', { timeoutMs: 30_000 }), '7', 'right, by a quorum or ordered');
      await settled(cluster);
      assert.equal(await client.invokeReadOnly('get', { timeoutMs: 60_000, readOnlyTimeoutMs: NEVER_MS }), '7');
      assert.ok(client.readOnlyCounts.unordered >= 1, JSON.stringify(client.readOnlyCounts));
    } finally {
      await client.close();
    }
  });

  it('a write sent read-only executes exactly once, ordered, and the four states stay equal', async () => {
    const client = await Client.connect({ config: cluster.config, service: codecs, sessions: 1 });
    try {
      const value = Number(await client.invoke('add:0', { timeoutMs: 30_000 }));
      const refusedBefore = await total(cluster, 'readOnlyRefused');
      assert.equal(await client.invokeReadOnly('add:5', { timeoutMs: 60_000, readOnlyTimeoutMs: NEVER_MS }), String(value + 5));
      assert.equal(client.readOnlyCounts.ordered['not-read-only'], 1, JSON.stringify(client.readOnlyCounts));
      await waitFor(async () => (await total(cluster, 'readOnlyRefused')) === refusedBefore + 4, {
        timeoutMs: 30_000,
        what: 'every replica to refuse the write sent read-only',
      });
      // Had any replica also run it unordered, its state would hold value + 10.
      assert.equal(await client.invoke('add:0', { timeoutMs: 30_000 }), String(value + 5));
      let digests = new Set<string>();
      await waitFor(
        async () => {
          const answers = await Promise.all(IDS.map((id) => cluster.digest(id)));
          digests = new Set(answers.map((a) => a.digest));
          return new Set(answers.map((a) => a.seq)).size === 1 && digests.size === 1;
        },
        { timeoutMs: 30_000, what: 'the four replicas to hold the same state after the same batch' },
      );
      assert.equal(digests.size, 1);
    } finally {
      await client.close();
    }
  });

  it('with a correct replica down no unordered quorum can form: the read-only deadline orders the read, right', async () => {
    const client = await Client.connect({ config: cluster.config, service: codecs, sessions: 1 });
    try {
      const value = await client.invoke('add:1', { timeoutMs: 30_000 });
      await settled(cluster); // replicas 0 and 1 answer alike
      await cluster.kill(2);
      // Replicas 0 and 1 answer the value, replica 3 the value + 1000, replica 2 nothing: never 3 alike.
      assert.equal(await client.invokeReadOnly('get', { timeoutMs: 60_000, readOnlyTimeoutMs: 300 }), value);
      assert.equal(client.readOnlyCounts.ordered.timeout, 1, JSON.stringify(client.readOnlyCounts));
      assert.equal(client.readOnlyCounts.unordered, 0);
    } finally {
      await client.close();
    }
  });
});
