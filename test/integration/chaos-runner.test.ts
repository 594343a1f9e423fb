/**
 * The chaos runner's own checks, against 4 real replica processes:
 * - the lost-write accounting on a ledger;
 * - the read-back finds writes that really went missing (a rogue client rolls
 *   one key back to an old value and deletes another after the load);
 * - the kill-backup scenario (no view change needed) passes end to end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChaosLoad, valueOf, type KeyLedger } from '../../src/chaos/load.js';
import { runChaos } from '../../src/chaos/runner.js';
import { lostWrites, readBack, settle } from '../../src/chaos/verify.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { Client } from '../../src/runtime/client.js';
import { kvService, type KvReply, type KvRequest } from '../../src/services/kv.js';

describe('chaos: lost-write accounting', () => {
  const entry: KeyLedger = { acked: [3, 7, 11], pending: 15 };
  it('counts the acknowledged writes newer than the value found', () => {
    assert.deepEqual(lostWrites(2, entry, valueOf(2, 11)), { lost: 0, corrupt: false });
    assert.deepEqual(lostWrites(2, entry, valueOf(2, 15)), { lost: 0, corrupt: false }, 'the unacknowledged put may have run');
    assert.deepEqual(lostWrites(2, entry, valueOf(2, 7)), { lost: 1, corrupt: false });
    assert.deepEqual(lostWrites(2, entry, valueOf(2, 3)), { lost: 2, corrupt: false });
    assert.deepEqual(lostWrites(2, entry, null), { lost: 3, corrupt: false });
  });
  it('treats a value never written to the key as corrupt, every write lost', () => {
    assert.deepEqual(lostWrites(2, entry, valueOf(2, 9)), { lost: 3, corrupt: true });
    assert.deepEqual(lostWrites(2, entry, valueOf(1, 11)), { lost: 3, corrupt: true });
    assert.deepEqual(lostWrites(2, entry, 'c2-w011'), { lost: 3, corrupt: true });
  });
});

describe('chaos: read-back against 4 replica processes', { timeout: 120_000 }, () => {
  it('finds acknowledged writes that are missing from the replicated state', async () => {
    const cluster = await LocalCluster.start({ replicas: 4, service: 'kv', logLevel: 'error' });
    let load: ChaosLoad | undefined;
    let rogue: Client<KvRequest, KvReply> | undefined;
    try {
      load = await ChaosLoad.start({ config: cluster.config, sessions: 4, retransmitMs: 300, retransmitMsMax: 600 });
      assert.ok(await load.waitForAcks(600, 30_000), 'the load made progress');
      await load.stop(5_000);
      const clean = await readBack(cluster, load.ledger, { sessions: 8, timeoutMs: 30_000 });
      assert.equal(clean.unverifiedKeys, 0);
      assert.equal(clean.lostWrites, 0);
      assert.equal(clean.corruptKeys, 0);
      assert.equal(clean.keysChecked, load.ledger.size);

      // Two keys with at least two acknowledged writes each: roll one back to its first value, delete the other.
      const [rolledBack, deleted] = [...load.ledger].filter(([, { entry }]) => entry.acked.length >= 2 && entry.pending === undefined);
      assert.ok(rolledBack !== undefined && deleted !== undefined, 'keys written twice');
      rogue = await Client.connect({ config: cluster.config, service: kvService });
      const [rbKey, rb] = rolledBack;
      const [delKey, del] = deleted;
      assert.deepEqual(await rogue.invoke({ op: 'put', key: rbKey, value: valueOf(rb.session, rb.entry.acked[0]!) }), { ok: true });
      assert.deepEqual(await rogue.invoke({ op: 'delete', key: delKey }), { ok: true });

      const dirty = await readBack(cluster, load.ledger, { sessions: 8, timeoutMs: 30_000 });
      assert.equal(dirty.unverifiedKeys, 0);
      assert.equal(dirty.corruptKeys, 0);
      assert.equal(dirty.lostWrites, rb.entry.acked.length - 1 + del.entry.acked.length);
      const settled = await settle(cluster, 15_000);
      const statuses = await Promise.all(cluster.running.map((id) => cluster.status(id)));
      assert.ok(settled.settled && settled.digestsEqual, JSON.stringify({ settled, statuses }));
    } finally {
      await rogue?.close();
      await load?.close();
      await cluster.stop();
    }
  });
});

describe('chaos: kill a backup (4 replica processes)', { timeout: 120_000 }, () => {
  it('keeps ordering without a view change and loses no acknowledged write', async () => {
    const lines: string[] = [];
    const report = await runChaos({ scenario: 'kill-backup', durationSec: 2, clients: 4 }, (line) => lines.push(line));
    const context = `${JSON.stringify(report)}\n${lines.join('\n')}`;
    assert.equal(report.faults.length, 1, context);
    assert.equal(report.faults[0]!.role, 'backup', context);
    assert.notEqual(report.faults[0]!.replica, 0, context);
    assert.ok(report.faults[0]!.recovered && report.faults[0]!.requestsAfterRecovery > 0, context);
    assert.ok(report.requestsAcknowledged > 0 && report.writesAcknowledged > 0, context);
    assert.equal(report.requestsLost, 0, context);
    assert.equal(report.requestsUnverified, 0, context);
    assert.equal(report.wrongReplies, 0, context);
    assert.equal(report.survivors.length, 3, context);
    assert.ok(report.digestsEqual, context);
    assert.ok(report.passed, context);
  });
});
