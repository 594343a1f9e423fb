/**
 * A bench client process, started by the benchmark's parent (run.ts) once
 * per `--client-processes`:
 *
 *   node bench/client-main.js --config cluster.json --sessions 100 --request-bytes 1024 --reply-bytes 1024 [--rate 5000] [--read-only] [--log-level warn]
 *
 * It connects one ordinary {@link Client} (a fresh key, every request
 * signed, replies accepted from f + 1 replicas) with `--sessions` sessions,
 * writes its ready line, and runs the load (client-load.ts) as the parent's
 * commands say (protocol.ts). When stdin closes it stops the load, closes
 * the client and exits 0. Logs (pino JSON) go to stderr.
 */
import { parseArgs } from 'node:util';
import { loadClusterConfig } from '../config.js';
import { createLogger, type LogLevel } from '../log.js';
import { Client } from '../runtime/client.js';
import { benchService } from '../services/bench.js';
import { serveCommands } from './child-serve.js';
import { BenchLoad } from './client-load.js';
import type { ClientCommandName, ClientWindow } from './protocol.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    sessions: { type: 'string' },
    'request-bytes': { type: 'string' },
    'reply-bytes': { type: 'string' },
    rate: { type: 'string' },
    'read-only': { type: 'boolean', default: false },
    'log-level': { type: 'string' },
  },
  strict: true,
});

/** A required non-negative integer option (the parent checked the ranges; this guards against a caller that did not). */
function count(name: 'sessions' | 'request-bytes' | 'reply-bytes'): number {
  const value = Number(values[name]);
  if (values[name] === undefined || !Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer`);
  return value;
}

if (values.config === undefined) throw new Error('--config is required');
const sessions = count('sessions');
const requestBytes = count('request-bytes');
const replyBytes = count('reply-bytes');
const reads = values['read-only'] === true;
const rate = values.rate === undefined ? undefined : Number(values.rate);
if (rate !== undefined && !(rate > 0)) throw new Error('--rate must be positive');

const logger = createLogger({ level: (values['log-level'] as LogLevel | undefined) ?? 'warn', name: 'bench-client' });
// The bench service's codecs are raw bytes both ways; its reply size only matters to the replicas.
const client = await Client.connect({ config: await loadClusterConfig(values.config), service: benchService(replyBytes), sessions, logger });
const load = new BenchLoad({
  sessions,
  requestBytes,
  replyBytes,
  reads,
  invoke: reads ? (operation) => client.invokeReadOnly(operation) : (operation) => client.invoke(operation),
  ...(rate === undefined ? {} : { ratePerSec: rate }),
});

serveCommands<ClientCommandName>(
  {
    start: () => (load.start(), {}),
    measure: () => (load.measure(), {}),
    progress: () => ({ completed: load.completed }),
    report: (): ClientWindow => load.report(),
  },
  () => {
    const stopped = load.stop(); // the loops end once close() rejects what they wait for
    void client
      .close()
      .then(() => stopped)
      .then(() => process.exit(0));
  },
);
