/**
 * Scenario generator 4 (docs/SIMULATOR.md, "Late draws") and the checkers it
 * added: what it draws and how often, that a bias gets exactly what it asks
 * for, that the regression seeds kept their generator-3 scenarios, and that
 * the exactly-once and bounded-memory checkers fail where they must.
 */
import { signedRequest } from '../support/signed-requests.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientId, SESSIONS_PER_CLIENT_KEY } from '../../src/core/ids.js';
import type { Request } from '../../src/core/messages.js';
import { requestNo } from '../../src/core/ordering.js';
import { ServiceRunner } from '../../src/executor/runner.js';
import { lateBehaviours, REPLICA_BEHAVIOURS } from '../../src/sim/byzantine.js';
import { CheckFailure, Checkers, earlyMessageBytesBound } from '../../src/sim/checkers.js';
import {
  FLOOD_ROOMY_P,
  GENERATOR_VERSION,
  generateScenario,
  SESSION_FLOOD_P,
  sessionCount,
  sessionsInUse,
  SLOW_NETWORK_FACTOR_MAX,
  SLOW_NETWORK_FACTOR_MIN,
  SLOW_NETWORK_P,
  ISOLATE_THEN_CRASH_P,
  POISON_OPERATION_P,
  POISON_P,
  RESET_P,
  faultyReplicas,
  type PartitionSpec,
  TICK_PERIOD,
  type Scenario,
} from '../../src/sim/scenario.js';
import { encodeOperation, simService } from '../../src/sim/service.js';

const LATE_4 = lateBehaviours(REPLICA_BEHAVIOURS, 4).map((b) => b.name);
const flooder = (s: Scenario) => s.byzantineClients.find((c) => c.flood !== undefined);
const late4Behaviours = (s: Scenario): string[] => s.byzantine.flatMap((b) => b.behaviours.filter((x) => LATE_4.includes(x)));

describe(`scenario generator ${GENERATOR_VERSION}`, () => {
  it('is generator 7 (disks and power loss: test/sim/durability.test.ts), with three late replica behaviours', () => {
    assert.equal(GENERATOR_VERSION, 7);
    assert.deepEqual(LATE_4.sort(), ['flood-early', 'hook-state-transfer', 'withhold-checkpoints']);
  });

  it('adds nothing to the regression seeds (they keep their generator-3 scenarios)', () => {
    for (const seed of [20, 641, 726, 72, 87, 265, 451, 2115, 29, 4747]) {
      const s = generateScenario(seed);
      assert.equal(s.slowNetwork, undefined, `seed ${seed}: slow network`);
      assert.equal(flooder(s), undefined, `seed ${seed}: session flood`);
      assert.deepEqual(late4Behaviours(s), [], `seed ${seed}: generator-4 behaviours`);
    }
  });

  it('draws slow networks, session floods and the new behaviours in ordinary seeds at the stated rates', () => {
    const seeds = 2000;
    let slow = 0;
    let flood = 0;
    let small = 0;
    const behaviours = new Map<string, number>();
    for (let seed = 1; seed <= seeds; seed++) {
      const s = generateScenario(seed);
      const o = s.options;
      if (s.slowNetwork !== undefined) {
        slow++;
        const { latencyMin, latencyMax, factor } = s.slowNetwork;
        assert.ok(factor >= SLOW_NETWORK_FACTOR_MIN && factor <= SLOW_NETWORK_FACTOR_MAX);
        assert.equal(latencyMin, Math.max(1, Math.round(factor * o.viewChangeTimeoutTicks * TICK_PERIOD)));
        assert.ok(latencyMax >= latencyMin && latencyMax <= latencyMin * 1.1 + 1, 'constant or narrowly jittered');
        assert.ok(s.livenessBound > 60 * latencyMax, 'the bound grows with the slow network');
      }
      const f = flooder(s);
      if (f !== undefined) {
        flood++;
        const spec = f.flood!;
        assert.deepEqual(f.behaviours, ['session-flood']);
        assert.ok(spec.lateAfter >= sessionCount(s) && spec.lateAfter <= sessionCount(s) + 16, 'a small table: the honest sessions and a few');
        assert.ok(spec.sessions > spec.lateAfter, 'the flood overflows it');
        assert.ok(spec.sessions <= SESSIONS_PER_CLIENT_KEY - 2);
        if (o.clientSessionsMax < sessionsInUse(s)) {
          small++;
          assert.equal(o.clientSessionsMax, spec.lateAfter);
        } else {
          assert.equal(o.clientSessionsMax, spec.lateAfter + spec.sessions, 'or room for the flood too');
        }
        assert.equal(f.endpoint, s.n + s.clients.length + s.byzantineClients.length - 1, 'a client of its own, after the others');
      }
      for (const b of late4Behaviours(s)) behaviours.set(b, (behaviours.get(b) ?? 0) + 1);
    }
    const near = (count: number, p: number): boolean => Math.abs(count / seeds - p) < 0.03;
    assert.ok(near(slow, SLOW_NETWORK_P), `slow network in ${slow} of ${seeds} seeds`);
    assert.ok(near(flood, SESSION_FLOOD_P), `session flood in ${flood} of ${seeds} seeds`);
    assert.ok(Math.abs(small / flood - (1 - FLOOD_ROOMY_P)) < 0.15, `a small client table in ${small} of ${flood} session-flood seeds`);
    for (const b of LATE_4) assert.ok((behaviours.get(b) ?? 0) >= seeds / 20, `${b} drawn for ${behaviours.get(b) ?? 0} replicas`);
  });

  it('makes one correct replica lag, another miss quorums and a third crash in about ISOLATE_THEN_CRASH_P of the seeds, none of them a regression seed', () => {
    for (const seed of [20, 641, 726, 72, 87, 265, 451, 2115, 29, 4747, 13, 85, 31, 61, 341, 8221]) {
      assert.equal(generateScenario(seed).isolation, undefined, `seed ${seed}: generator-5 isolation`);
    }
    const seeds = 2000;
    let drawn = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const s = generateScenario(seed);
      if (s.isolation === undefined) continue;
      drawn++;
      const { lagging, isolated, crashed } = s.isolation;
      const [lag, iso] = s.partitions.filter((p) => p.kind !== 'reset').slice(-2) as [PartitionSpec, PartitionSpec];
      assert.deepEqual([lag.kind, lag.b, iso.kind, iso.b], ['one-way', [lagging], 'one-way', [isolated]]);
      assert.ok(iso.start >= lag.start && iso.end <= lag.end, 'the second isolation is inside the lag');
      assert.ok(![lagging, isolated, crashed].includes(0), 'never the first primary');
      assert.ok(faultyReplicas(s).size <= s.f, 'within the fault budget');
      if (crashed !== undefined) assert.deepEqual(s.crashes.map((c) => c.replica), [crashed]);
    }
    assert.ok(Math.abs(drawn / seeds - ISOLATE_THEN_CRASH_P) < 0.02, `isolate-then-crash in ${drawn} of ${seeds} seeds`);
    assert.ok(generateScenario(3, { sizes: [4], isolateThenCrash: true }).isolation !== undefined);
    assert.equal(generateScenario(3, { sizes: [4] }).isolation, undefined);
  });

  it('gives correct clients poison operations in about POISON_P of the seeds, none of them a regression or mutant seed', () => {
    const poisoned = (s: Scenario): number => s.clients.reduce((sum, c) => sum + c.operations.filter((o) => o.kind === 'poison').length, 0);
    for (const seed of [20, 641, 726, 72, 87, 265, 451, 2115, 29, 4747, 13, 85, 31, 61, 341, 8221, 5926, 636]) {
      assert.equal(poisoned(generateScenario(seed)), 0, `seed ${seed}`);
    }
    const seeds = 2000;
    let seedsWith = 0;
    let operations = 0;
    let poison = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const s = generateScenario(seed);
      const count = poisoned(s);
      if (count > 0) seedsWith++;
      if (count > 0) {
        poison += count;
        operations += s.clients.reduce((sum, c) => sum + c.operations.length, 0);
      }
    }
    assert.ok(Math.abs(seedsWith / seeds - POISON_P) < 0.03, `poison in ${seedsWith} of ${seeds} seeds`);
    assert.ok(Math.abs(poison / operations - POISON_OPERATION_P) < 0.02, `${poison} of ${operations} operations of those seeds`);
    assert.ok(poisoned(generateScenario(3, { poison: true })) > 0);
    assert.equal(poisoned(generateScenario(3, { sizes: [4] })), 0);
  });

  it('resets connections in about RESET_P of the seeds, none of them a regression or mutant seed', () => {
    const resets = (s: Scenario): PartitionSpec[] => s.partitions.filter((p) => p.kind === 'reset');
    for (const seed of [20, 641, 726, 72, 87, 265, 451, 2115, 29, 4747, 13, 85, 31, 61, 341, 8221, 5926, 636]) {
      assert.deepEqual(resets(generateScenario(seed)), [], `seed ${seed}`);
    }
    const seeds = 2000;
    let drawn = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const s = generateScenario(seed);
      const r = resets(s);
      if (r.length === 0) continue;
      drawn++;
      assert.ok(r.length <= 5);
      for (const p of r) {
        assert.ok(p.a.length === 1 && p.b.length === 1 && p.a[0]! < s.n && p.a[0] !== p.b[0], 'a replica and another endpoint');
        assert.ok(p.start < p.end && p.end <= s.faultEnd, 'healed by the end of the fault phase');
      }
    }
    assert.ok(Math.abs(drawn / seeds - RESET_P) < 0.03, `resets in ${drawn} of ${seeds} seeds`);
    assert.ok(resets(generateScenario(3, { resets: true })).length > 0);
  });

  it('gives a bias exactly what it asks for, and none of the random additions', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const plain = generateScenario(seed, { sizes: [4] });
      assert.equal(plain.slowNetwork, undefined);
      assert.equal(flooder(plain), undefined);
      assert.deepEqual(late4Behaviours(plain), []);
    }
    const slow = generateScenario(7, { slowNetwork: 0.7 });
    assert.equal(slow.slowNetwork?.factor, 0.7);
    assert.ok(slow.livenessBound > generateScenario(7, { sizes: [slow.n] }).livenessBound);
    const flood = generateScenario(7, { sessionFlood: true, options: { clientSessionsMax: 5 } });
    assert.ok(flooder(flood) !== undefined && flood.options.clientSessionsMax === 5);
    const hook = generateScenario(7, { backup: ['hook-state-transfer:starve', 'flood-early'] });
    assert.ok(hook.byzantine.some((b) => b.replica !== 0 && b.behaviours.join() === 'hook-state-transfer:starve,flood-early'));
  });
});

describe('checkers added with generator 4', () => {
  const options = { checkpointInterval: 4, chunkBytes: 64, logWindow: 8, batchBytesMax: 1024, batchRequestsMax: 4, requestBytesMax: 128, clientSessionsPerKeyMax: 2 };
  const correctBase = 5 * SESSIONS_PER_CLIENT_KEY;
  const byzantineBase = 9 * SESSIONS_PER_CLIENT_KEY;
  const checkers = (): Checkers =>
    new Checkers((id) => `c${id}`, options, (id) => id - (id % SESSIONS_PER_CLIENT_KEY) === correctBase);
  const request = (base: number, no: number): Request => signedRequest(base + 1, no, encodeOperation('append', 1, new Uint8Array([no])));
  const run = (c: Checkers, batches: Request[][]): void => {
    batches.forEach((batch, i) => {
      for (const r of batch) c.registerSent(r);
      c.execute(0, 0, i + 1, batch);
    });
  };

  it('exactly-once: a correct client request executed again fails', () => {
    const c = checkers();
    assert.throws(
      () => run(c, [[request(correctBase, 10)], [request(correctBase, 11)], [request(correctBase, 10)]]),
      (e: unknown) => e instanceof CheckFailure && e.checker === 'exactly-once' && /correct client/.test(e.message),
    );
  });

  it("exactly-once: a Byzantine client's request executed again is counted, not a failure", () => {
    const c = checkers();
    const batches = [[request(byzantineBase, 10)], [request(byzantineBase, 10)], [request(byzantineBase, 3)]];
    run(c, batches);
    assert.equal(c.reexecutedByzantine, 2);
    // Results are checked per position in G: a replica replaying G (its service state included) agrees at each.
    const replica = new ServiceRunner(simService);
    batches.forEach((batch, i) => c.executed(1, i + 1, batch, replica.run(i + 1, batch.map((r) => r.operation)).results));
    assert.throws(() => c.executed(1, 2, batches[1]!, [new Uint8Array(1)]), /differs/);
  });

  it('bounded-memory: no key has more than clientSessionsPerKeyMax sessions in the agreed history (generator 6)', () => {
    const c = checkers();
    const session = (base: number, s: number): Request => signedRequest(base + s, 1, encodeOperation('append', 1, new Uint8Array([s])));
    // Two sessions of the Byzantine key, and a later request of one of them: within the quota.
    run(c, [[session(byzantineBase, 1), session(byzantineBase, 2)], [signedRequest(byzantineBase + 1, 2, encodeOperation('append', 1, new Uint8Array([9])))]]);
    assert.throws(
      () => {
        const third = session(byzantineBase, 3);
        c.registerSent(third);
        c.execute(0, 0, 3, [third]);
      },
      (e: unknown) => e instanceof CheckFailure && e.checker === 'bounded-memory' && /clientSessionsPerKeyMax = 2/.test(e.message),
    );
  });

  it('bounded-memory: logWindow full batches of early messages, and not a byte more', () => {
    const bound = earlyMessageBytesBound(options);
    assert.equal(bound, 8 * Math.min(1024, 4 * 128));
    const c = checkers();
    c.earlyMessages(2, { view: 3 as never, earlyMessages: 8, earlyMessageBytes: bound });
    assert.equal(c.earlyBytesPeak, bound);
    assert.throws(
      () => c.earlyMessages(2, { view: 3 as never, earlyMessages: 9, earlyMessageBytes: bound + 1 }),
      (e: unknown) => e instanceof CheckFailure && e.checker === 'bounded-memory',
    );
  });
});
