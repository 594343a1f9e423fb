/**
 * `lagging-replica`: kill -9 a backup under steady load, keep the load for
 * `downRequests` requests (many checkpoints at the default interval of 64
 * batches), restart it empty and time its catch-up: state transfer of the
 * latest stable checkpoint, then the log after it. It must end with the
 * others' state digest.
 */
import { defaultProtocolOptions } from '../../core/options.js';
import { lagCycles } from '../lag-cycles.js';
import { protocolForInterval } from '../protocol.js';
import type { Scenario } from '../types.js';
import { kvWorkload } from '../workload.js';

export const laggingReplica: Scenario = {
  name: 'lagging-replica',
  description: 'kill -9 a backup, load past several checkpoints, restart it empty; it must catch up (state transfer, then the log) and reach the same state',
  requiresViewChange: false,
  setup: (options) => ({
    workload: kvWorkload(options.clients),
    protocol: protocolForInterval(options.checkpointInterval ?? defaultProtocolOptions.checkpointInterval),
  }),
  run: lagCycles,
};
