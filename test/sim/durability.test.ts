/**
 * Scenario generator 7 (docs/SIMULATOR.md, "Disks" and "Power loss") and
 * the checkers it added: disks and benign power loss drawn at the stated
 * rates from a stream of their own, a bias getting exactly what it asks for,
 * the regression seeds keeping their faults; and the own-votes and
 * nothing-lost checkers failing where they must.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replicaId, SESSIONS_PER_CLIENT_KEY, type Digest } from '../../src/core/ids.js';
import type { ReplicaMessage } from '../../src/core/messages.js';
import { seqNo, view } from '../../src/core/ordering.js';
import { ServiceRunner } from '../../src/executor/runner.js';
import { CheckFailure, Checkers } from '../../src/sim/checkers.js';
import { checkpointBy, commitBy, prePrepareBy, prepareBy, SimKeys, simCrypto, viewChangeBy } from '../../src/sim/core-api.js';
import {
  DURABLE_P,
  faultyReplicas,
  generateScenario,
  GENERATOR_VERSION,
  LOST_DISK_P,
  POWER_CUT_P,
  ROLLING_P,
  SLOW_SYNC_P,
} from '../../src/sim/scenario.js';
import { encodeOperation, simService } from '../../src/sim/service.js';
import { GENESIS_CHECKPOINT } from '../../src/core/view-change.js';
import { encodeMessage } from '../../src/wire/codec.js';
import { signedRequest } from '../support/signed-requests.js';

/** Seeds of test/sim/regressions.test.ts (and earlier generators' lists) that predate generator 7. */
const REGRESSION_SEEDS = [20, 1003, 726, 72, 87, 265, 151, 2115, 29, 4747, 13, 85, 31, 61, 341, 8221, 1111, 9, 5600];

describe(`scenario generator ${GENERATOR_VERSION}: disks and power loss`, () => {
  it('gives replicas durable storage in about DURABLE_P of the seeds, and power loss only to durable ones', () => {
    const seeds = 3000;
    let durable = 0;
    let cuts = 0;
    let rolling = 0;
    let slow = 0;
    let restarts = 0;
    let lost = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const s = generateScenario(seed);
      if (!s.storage.durable) {
        assert.equal(s.powerLoss, undefined, `seed ${seed}: power loss in memory`);
        assert.ok(s.crashes.every((c) => c.lostDisk === undefined), `seed ${seed}: a lost disk in memory`);
        continue;
      }
      durable++;
      if (s.storage.slowSyncP > 0) slow++;
      assert.ok(s.storage.syncMin > 0 && s.storage.syncMin <= s.storage.syncMax);
      for (const c of s.crashes) {
        if (c.restartAt === undefined) continue;
        restarts++;
        if (c.lostDisk === true) lost++;
      }
      const loss = s.powerLoss;
      if (loss === undefined) continue;
      if (loss.kind === 'power-cut') {
        cuts++;
        assert.equal(new Set(loss.crashes.map((c) => c.at)).size, 1, 'every replica at once');
      } else {
        rolling++;
        for (let i = 1; i < loss.crashes.length; i++) assert.ok(loss.crashes[i]!.at > loss.crashes[i - 1]!.at, 'one after another');
      }
      const faulty = faultyReplicas(s);
      for (const c of loss.crashes) {
        assert.ok(c.restartAt !== undefined && c.restartAt > c.at && c.restartAt < s.faultEnd, 'restarted within the fault phase');
        // A replica down for a crash of its own meanwhile is left out.
        for (const own of s.crashes.filter((o) => o.replica === c.replica)) {
          assert.ok((own.restartAt ?? Infinity) < c.at || own.at > c.restartAt!, `seed ${seed}: r${c.replica} crashes twice at once`);
        }
      }
      assert.ok(faulty.size <= s.f, 'power loss is benign: not counted against f');
      if (loss.kind === 'power-cut') {
        // Every replica, but one down (or going down) for a crash of its own while the power is out.
        const at = loss.crashes[0]!.at;
        for (let r = 0; r < s.n; r++) {
          if (loss.crashes.some((c) => c.replica === r)) continue;
          assert.ok(
            s.crashes.some((c) => c.replica === r && c.at <= at + 300_000 && (c.restartAt ?? Infinity) >= at),
            `seed ${seed}: r${r} left out of the power cut`,
          );
        }
      }
    }
    const near = (count: number, total: number, p: number, tolerance = 0.03): boolean => Math.abs(count / total - p) < tolerance;
    assert.ok(near(durable, seeds, DURABLE_P), `durable storage in ${durable} of ${seeds} seeds`);
    assert.ok(near(cuts, durable, POWER_CUT_P), `a power cut in ${cuts} of ${durable} durable seeds`);
    assert.ok(near(rolling, durable, ROLLING_P), `rolling restarts in ${rolling} of ${durable} durable seeds`);
    assert.ok(near(slow, durable, SLOW_SYNC_P), `slow syncs in ${slow} of ${durable} durable seeds`);
    assert.ok(near(lost, restarts, LOST_DISK_P, 0.1), `${lost} of ${restarts} restarts lose their disk`);
  });

  it('adds no fault to the regression seeds, and keeps seeds 636 and 5926 (caught mutants) in memory as in generator 6', () => {
    for (const seed of REGRESSION_SEEDS) {
      const s = generateScenario(seed);
      assert.equal(s.powerLoss, undefined, `seed ${seed}: power loss`);
      assert.ok(s.crashes.every((c) => c.lostDisk !== true), `seed ${seed}: a lost disk`);
    }
    for (const seed of [636, 5926]) assert.equal(generateScenario(seed).storage.durable, false, `seed ${seed}`);
  });

  it('gives a bias memory-only replicas and no power loss unless it asks', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const plain = generateScenario(seed, { sizes: [4] });
      assert.equal(plain.storage.durable, false);
      assert.equal(plain.powerLoss, undefined);
    }
    const cut = generateScenario(5, { sizes: [4], powerLoss: 'power-cut' });
    assert.ok(cut.storage.durable && cut.storage.slowSyncP === 0);
    assert.equal(cut.powerLoss?.kind, 'power-cut');
    assert.equal(generateScenario(5, { powerLoss: 'rolling' }).powerLoss?.kind, 'rolling');
    const disk = generateScenario(5, { storage: { tornP: 1, rotateEvery: 2 } });
    assert.ok(disk.storage.durable && disk.storage.tornP === 1 && disk.storage.rotateEvery === 2 && disk.powerLoss === undefined);
  });
});

describe('checkers added with generator 7', () => {
  const keys = new SimKeys(3, 4);
  const crypto = simCrypto(keys, replicaId(1));
  const options = { checkpointInterval: 2, chunkBytes: 64, logWindow: 8, batchBytesMax: 1024, batchRequestsMax: 4, requestBytesMax: 128, clientSessionsPerKeyMax: 4 };
  const base = 5 * SESSIONS_PER_CLIENT_KEY;
  const checkers = (): Checkers => new Checkers((id) => `c${id}`, options, () => true);
  const digest = (b: number): Digest => new Uint8Array(32).fill(b);
  const sent = (c: Checkers, incarnation: number, m: ReplicaMessage): void => c.replicaSent(1, incarnation, m, encodeMessage(m));

  it('own votes: the same vote again is fine, in one incarnation or after a restart', () => {
    const c = checkers();
    for (const incarnation of [0, 0, 1]) {
      sent(c, incarnation, prepareBy(crypto, view(0), seqNo(1), digest(1)));
      sent(c, incarnation, commitBy(crypto, view(0), seqNo(1), digest(1)));
      sent(c, incarnation, checkpointBy(crypto, seqNo(2), digest(7)));
      sent(c, incarnation, viewChangeBy(crypto, replicaId(1), view(1), GENESIS_CHECKPOINT, []));
    }
    sent(c, 1, prepareBy(crypto, view(1), seqNo(1), digest(2))); // another view: another statement
  });

  const contradictions: [string, ReplicaMessage, ReplicaMessage][] = [
    ['PREPARE', prepareBy(crypto, view(0), seqNo(1), digest(1)), prepareBy(crypto, view(0), seqNo(1), digest(2))],
    ['COMMIT', commitBy(crypto, view(0), seqNo(3), digest(1)), commitBy(crypto, view(0), seqNo(3), digest(2))],
    ['PRE-PREPARE', prePrepareBy(crypto, view(1), seqNo(1), []), prePrepareBy(crypto, view(1), seqNo(1), [], digest(9))],
    ['CHECKPOINT', checkpointBy(crypto, seqNo(4), digest(1)), checkpointBy(crypto, seqNo(4), digest(2))],
    [
      'VIEW-CHANGE',
      viewChangeBy(crypto, replicaId(1), view(2), GENESIS_CHECKPOINT, []),
      viewChangeBy(crypto, replicaId(1), view(2), { seq: seqNo(2), stateDigest: digest(5), signatures: [] }, []),
    ],
  ];
  for (const [what, first, second] of contradictions) {
    it(`own votes: a ${what} contradicting one sent before a restart from the disk fails`, () => {
      const c = checkers();
      sent(c, 0, first);
      assert.throws(
        () => sent(c, 1, second),
        (e: unknown) => e instanceof CheckFailure && e.checker === 'own-votes' && /incarnation 0, before restarting from its disk/.test(e.message),
      );
    });
  }

  it("own votes: a NEW-VIEW's PRE-PREPAREs bind its sender too, and two NEW-VIEWs for one view contradict", () => {
    const c = checkers();
    const pp = prePrepareBy(crypto, view(1), seqNo(1), []);
    const nv = { type: 'new-view', view: view(1), viewChanges: [], prePrepares: [pp] } as const;
    sent(c, 0, nv);
    assert.throws(() => sent(c, 1, prePrepareBy(crypto, view(1), seqNo(1), [], digest(3))), /PRE-PREPARE for \(v1, s1\)/);
    const c2 = checkers();
    sent(c2, 0, nv);
    assert.throws(() => sent(c2, 1, { ...nv, prePrepares: [] }), /NEW-VIEW for v1/);
  });

  it('own votes: a replica restarted without its data starts afresh (D15)', () => {
    const c = checkers();
    sent(c, 0, prepareBy(crypto, view(0), seqNo(1), digest(1)));
    c.forgetSent(1);
    sent(c, 1, prepareBy(crypto, view(0), seqNo(1), digest(2)));
  });

  it('nothing lost: a restart resumes from the agreed state at its image, not from another one', () => {
    const c = checkers();
    const runner = new ServiceRunner(simService);
    const batches = [1, 2].map((no) => [signedRequest(base + 1, no, encodeOperation('append', 1, new Uint8Array([no])))]);
    batches.forEach((batch, i) => {
      for (const r of batch) c.registerSent(r);
      c.execute(0, 0, i + 1, batch);
      runner.run(i + 1, batch.map((r) => r.operation));
    });
    const state = runner.snapshot(options.chunkBytes).state;
    c.restored(0, 1, 2, state);
    assert.ok(c.caughtUp(0, 1));
    c.holdsEverything(0, 1, state);
    assert.throws(() => c.restored(1, 1, 2, new Uint8Array([1, 2, 3])), (e: unknown) => e instanceof CheckFailure && e.checker === 'nothing-lost');
    assert.throws(() => c.restored(1, 1, 4, state), /before any correct replica executed s3/);
    assert.throws(() => c.holdsEverything(2, 0, state), /ends at s0 of 2 agreed batches/);
  });
});
