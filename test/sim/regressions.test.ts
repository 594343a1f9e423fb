/**
 * Seeds that once failed, kept as regression cases, and canaries that show
 * each liveness gate (src/sim/gates.ts) still hides a real failure.
 *
 * A seed means the same run only within one scenario generator version
 * (GENERATOR_VERSION). Each case therefore also states the conditions that
 * made it fail, checked on the generated scenario: if a generator change
 * breaks them, find a new seed reproducing the original bug (reintroduce it,
 * run `npm run sim -- --seeds 20000 --stop-on-failure`, then fix it again)
 * and update the case.
 *
 * None of these is a bug of the protocol core: the core of the first issue
 * passed every seed tried (20,000 and more); these were bugs of the
 * simulator itself, or are properties of today's protocol the gates document.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LivenessGates } from '../../src/sim/gates.js';
import { runSeed } from '../../src/sim/runner.js';
import { GENERATOR_VERSION, generateScenario, sessionCount, type Scenario } from '../../src/sim/scenario.js';

interface Regression {
  readonly seed: number;
  readonly bug: string;
  /** What the scenario must contain for the seed to still exercise the bug. */
  readonly conditions: string;
  readonly holds: (s: Scenario) => boolean;
}

const byzantineWith = (s: Scenario, behaviour: string): number =>
  s.byzantine.filter((b) => b.behaviours.includes(behaviour)).length;

const REGRESSIONS: readonly Regression[] = [
  {
    seed: 77,
    bug:
      'lie-to-clients guessed request number r + 1 for a session a Byzantine client had pushed to the largest ' +
      'request number, overflowing it (an assertion in the simulator, reported as a core failure)',
    conditions: 'a Byzantine client with malformed-requests and a Byzantine replica with lie-to-clients',
    holds: (s) => s.byzantineClients.some((c) => c.behaviours.includes('malformed-requests')) && byzantineWith(s, 'lie-to-clients') > 0,
  },
  {
    seed: 335,
    bug:
      'fake-pre-prepare reacted to every PRE-PREPARE received, including another Byzantine replica\'s fakes, ' +
      'so two of them fed each other without end (millions of events); it now races only the primary, once per sequence number',
    conditions: 'two Byzantine replicas with fake-pre-prepare',
    holds: (s) => byzantineWith(s, 'fake-pre-prepare') >= 2,
  },
  {
    seed: 73,
    bug:
      'the liveness bound was counted from invocation, so requests queued behind a busy session of an ' +
      'open-loop client were reported late; it is now counted from the first transmission of the request',
    conditions: 'a correct client with more than 100 operations per session',
    holds: (s) => s.clients.some((c) => c.operations.length / c.sessions > 100),
  },
  {
    seed: 0, // set below
    bug:
      'a Byzantine primary replaying an accomplice\'s forged PRE-PREPARE as its own got a request no client ' +
      'sent executed (the known gap FORGED_REQUESTS_DETECTABLE gates); the gate is now enforced on everything ' +
      'a Byzantine replica sends as a primary, not only on the forge-requests behaviour',
    conditions: 'a Byzantine primary that replays, and a Byzantine backup with fake-pre-prepare',
    holds: (s) =>
      s.byzantine.some((b) => b.replica === 0 && b.behaviours.includes('replay')) &&
      s.byzantine.some((b) => b.replica !== 0 && b.behaviours.includes('fake-pre-prepare')),
  },
];

describe(`regression seeds (generator ${GENERATOR_VERSION})`, () => {
  for (const r of REGRESSIONS) {
    it(`seed ${r.seed}: ${r.bug}`, () => {
      assert.ok(
        r.holds(generateScenario(r.seed)),
        `seed ${r.seed} no longer has ${r.conditions}: the generator changed; find a new seed for this case`,
      );
      const result = runSeed(r.seed);
      assert.ok(result.ok, `seed ${r.seed} fails again (${result.failure?.kind}): ${result.failure?.message}`);
    });
  }
});

interface Canary {
  readonly gate: keyof LivenessGates;
  readonly seed: number;
  readonly why: string;
  readonly holds: (s: Scenario) => boolean;
}

const CANARIES: readonly Canary[] = [
  {
    gate: 'LIVENESS_NEEDS_CORRECT_PRIMARY',
    seed: 39,
    why: 'a Byzantine primary (bad-digest) stops progress: no view change yet',
    holds: (s) => s.byzantine.some((b) => b.replica === 0),
  },
  {
    gate: 'LIVENESS_NEEDS_NO_LOST_AGREEMENT_MESSAGES',
    seed: 7,
    why: 'an agreement message lost between correct replicas wedges a sequence number: no retransmission or state transfer yet',
    holds: (s) => s.network.dropP > 0 && s.network.lossScope === 'all',
  },
  {
    gate: 'LIVENESS_NEEDS_PENDING_ROOM',
    seed: 6706,
    why: 'with pendingRequestsMax below twice the sessions, admission is unfair and a session starves past the bound',
    holds: (s) => s.options.pendingRequestsMax < 2 * sessionCount(s),
  },
];

describe('liveness gates still hide real failures (lift a gate when its canary passes)', () => {
  for (const c of CANARIES) {
    it(`${c.gate}: seed ${c.seed} (${c.why})`, () => {
      assert.ok(c.holds(generateScenario(c.seed)), `seed ${c.seed} no longer exercises ${c.gate}: the generator changed`);
      const gated = runSeed(c.seed);
      assert.ok(gated.ok, `seed ${c.seed} fails even with the gate: ${gated.failure?.message}`);
      const lifted = runSeed(c.seed, { liftGates: [c.gate] });
      assert.equal(
        lifted.failure?.kind,
        'liveness',
        `seed ${c.seed} is live without ${c.gate}: if the protocol now guarantees it, lift the gate (src/sim/gates.ts)`,
      );
    });
  }
});
