/**
 * `kill-primary`: kill -9 the current primary under steady load. The backups
 * must notice (request timeouts), change the view and go on; recovery is the
 * first acknowledged request whose accepted reply comes from a view above
 * the one the primary was killed in, i.e. a request committed and executed
 * in the new view.
 */
import { killCycles } from '../kill-cycles.js';
import type { Scenario } from '../types.js';

export const killPrimary: Scenario = {
  name: 'kill-primary',
  description: 'kill -9 the current primary under load; the backups must change the view and lose no acknowledged write',
  requiresViewChange: true,
  run: (context) => killCycles(context, { victim: 'primary', recoveredBy: (ack, fault) => ack.view > fault.view }),
};
