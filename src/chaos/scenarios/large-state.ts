/**
 * `large-state`: `lagging-replica` on the `slots` service with a state of
 * `stateBytes` (200 MiB by default), so the restarted replica fetches a
 * checkpoint image of that size in chunks from the others.
 *
 * Every replica snapshots and hashes the whole state at each checkpoint
 * (about 0.33 s of its executor thread for 200 MiB on the 2-core test box),
 * so checkpoints are spaced out: every 2048 batches, with a log window of
 * 4096. Those checkpoints and a 200 MiB transfer stall replicas for more
 * than the default 1 s view-change timeout on a shared 2-core box, which
 * replaced a correct primary in most runs; the timeouts are 3 s and 6 s
 * here (docs/CHAOS.md, "large-state settings").
 */
import { lagCycles } from '../lag-cycles.js';
import { protocolForInterval } from '../protocol.js';
import type { Scenario } from '../types.js';
import { slotsWorkload } from '../workload.js';

/** Batches between checkpoints of a large state, unless --checkpoint-interval says otherwise. */
export const LARGE_STATE_CHECKPOINT_INTERVAL = 2048;
/** Ticks (10 ms) before a backup votes out the primary, and before a view is given up: 3 s and 6 s. */
const LARGE_STATE_TIMEOUTS = { viewChangeTimeoutTicks: 300, newViewTimeoutTicks: 600 };

export const largeState: Scenario = {
  name: 'large-state',
  description: 'lagging-replica with a large binary service state (slots, 200 MiB by default): the restarted replica fetches it by state transfer',
  requiresViewChange: false,
  setup: (options) => ({
    workload: slotsWorkload(options.stateBytes, options.clients),
    protocol: { ...protocolForInterval(options.checkpointInterval ?? LARGE_STATE_CHECKPOINT_INTERVAL), ...LARGE_STATE_TIMEOUTS },
  }),
  run: lagCycles,
};
