/**
 * The baseline server as an OS process of its own (baseline-server.ts),
 * started by the benchmark's parent with `--baseline`:
 *
 *   node bench/baseline-main.js --config cluster.json --key replica-0.key.pem --service 'bench?replyBytes=N' [--log-level warn]
 *
 * `cluster.json` has one replica and f = 0. It writes its ready line once it
 * listens, answers `cpu`, `counts` and `digest` (protocol.ts), and closes
 * and exits 0 when stdin closes. Logs (pino JSON) go to stderr.
 */
import { parseArgs } from 'node:util';
import { resolveServiceModule } from '../cluster/service-module.js';
import { loadClusterConfig } from '../config.js';
import { createLogger, type LogLevel } from '../log.js';
import { loadIdentity } from '../net/identity.js';
import { BaselineServer } from './baseline-server.js';
import { serveCommands } from './child-serve.js';
import type { BaselineCommandName } from './protocol.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    key: { type: 'string' },
    service: { type: 'string' },
    'log-level': { type: 'string' },
  },
  strict: true,
});

function required(name: 'config' | 'key' | 'service'): string {
  const value = values[name];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const log = createLogger({ level: (values['log-level'] as LogLevel | undefined) ?? 'warn', name: 'bench-baseline' });
const server = await BaselineServer.start({
  config: await loadClusterConfig(required('config')),
  identity: await loadIdentity(required('key')),
  service: resolveServiceModule(required('service')),
  log,
});

serveCommands<BaselineCommandName>(
  {
    cpu: () => {
      const { user, system } = process.cpuUsage();
      return { cpu: { user, system } };
    },
    counts: () => server.counts(),
    digest: () => server.stateDigest(),
  },
  () => void server.close().then(() => process.exit(0)),
);
