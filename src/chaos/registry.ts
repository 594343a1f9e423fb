/** The chaos scenarios by name; a new scenario is one file in `scenarios/` and one line here. */
import { byzantineReplica } from './scenarios/byzantine-replica.js';
import { killBackup } from './scenarios/kill-backup.js';
import { killPrimary } from './scenarios/kill-primary.js';
import { laggingReplica } from './scenarios/lagging-replica.js';
import { largeState } from './scenarios/large-state.js';
import { lossyNetwork } from './scenarios/lossy-network.js';
import { restartAll } from './scenarios/restart-all.js';
import type { Scenario } from './types.js';

const scenarios = new Map<string, Scenario>([killPrimary, killBackup, laggingReplica, largeState, lossyNetwork, byzantineReplica, restartAll].map((s) => [s.name, s]));

export function scenarioNames(): string[] {
  return [...scenarios.keys()];
}

export function findScenario(name: string): Scenario | undefined {
  return scenarios.get(name);
}

export function allScenarios(): Scenario[] {
  return [...scenarios.values()];
}
