/**
 * `kill-backup`: kill -9 one backup under steady load. With at most f
 * replicas down the primary keeps ordering, so no view change is needed;
 * recovery is the first acknowledged request that was sent after the kill
 * (requests committed before it do not count).
 */
import { killCycles } from '../kill-cycles.js';
import type { Scenario } from '../types.js';

export const killBackup: Scenario = {
  name: 'kill-backup',
  description: 'kill -9 a backup under load; the others keep ordering and lose no acknowledged write',
  requiresViewChange: false,
  run: (context) => killCycles(context, { victim: 'backup', recoveredBy: (ack, fault) => ack.sentAt > fault.at }),
};
