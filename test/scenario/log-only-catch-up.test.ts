import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecisionPoints } from '../../src/core/decision-points.js';
import { Cluster, fastTimers, req, where } from './harness.js';

const options = { ...fastTimers, batchRequestsMax: 1 };
const ALIVE = [0, 1, 2];

class Patient extends DecisionPoints {
  override logCatchUpHoldsRequestTimer(): boolean {
    return true;
  }
}

function run(patient: boolean) {
  const c = new Cluster({ n: 4, options, decisions: patient ? (rules) => new Patient(rules) : undefined });
  const commits = c.blockWhere(where({ type: 'commit', to: [1, 2] }));
  for (let k = 1; k <= 4; k++) {
    c.submit(req(k, 1));
    c.deliverAll();
  }
  console.log(c.replicas.map((r) => [c.status(r).lastDelivered, c.status(r).stableCheckpoint]));
  c.restart(0);
  c.crash(3);
  for (let k = 5; k <= 8; k++) {
    c.submit(req(k, 1), [0]);
    c.deliverAll();
  }
  console.log(c.replicas.map((r) => [c.status(r).lastDelivered, c.status(r).stableCheckpoint]));
  c.restart(1);
  c.restart(2);
  commits();
  for (let k = 5; k <= 8; k++) c.submit(req(k, 1), ALIVE);
  const total = 8;
  const ticks = c.runUpTo(() => ALIVE.every((r) => c.serviceLog(r).length === total), 300);
  console.log(ticks, ALIVE.map((r) => [c.serviceLog(r).length, c.status(r).view, c.status(r).lastDelivered]));
  return c;
}

describe('x', () => {
  it('fixed', () => {
    const c = run(false);
    require_trace(c);
  });
  it('patient', () => {
    const c = run(true);
    require_trace(c);
  });
});
function require_trace(c: Cluster) {
  if (process.env.TRACE) console.log(c.trace.slice(0, 600).join('\n'));
}
