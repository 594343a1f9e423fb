/**
 * The attacker as an OS process of its own, started by the `byzantine-replica`
 * chaos scenario (process.ts) in place of a replica:
 *
 *   node attacker/main.js --config cluster.json --key replica-3.key.pem --id 3 --seed 7 [--protocol JSON] [--log-level info]
 *
 * It writes one JSON line on stdout once it listens and attacks
 * (`{"event":"ready"}`), and on `stop` (a line on stdin) or SIGTERM it stops,
 * writes its report (report.ts) as one JSON line and exits 0. It exits as soon
 * as stdin closes too, so it never outlives the runner. Logs (pino JSON) go to
 * stderr; they hold ids and counts, never keys or bytes.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parseProtocolOption } from '../../cli/replica-command.js';
import { loadClusterConfig } from '../../config.js';
import { createLogger, type LogLevel } from '../../log.js';
import { loadIdentity } from '../../net/identity.js';
import { resolveProtocolOptions } from '../../runtime/protocol-options.js';
import { Attacker } from './attacker.js';
import type { AttackerLine } from './report.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    key: { type: 'string' },
    id: { type: 'string' },
    seed: { type: 'string' },
    protocol: { type: 'string' },
    'log-level': { type: 'string' },
  },
  strict: true,
});

function required(name: 'config' | 'key' | 'id' | 'seed'): string {
  const value = values[name];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const write = (line: AttackerLine): void => void process.stdout.write(JSON.stringify(line) + '\n');

const log = createLogger({ level: (values['log-level'] as LogLevel | undefined) ?? 'warn', name: 'attacker' });
const id = Number(required('id'));
const seed = Number(required('seed'));
if (!Number.isSafeInteger(id) || id < 0 || !Number.isSafeInteger(seed) || seed < 0) throw new Error('--id and --seed must be non-negative integers');

const attacker = await Attacker.start({
  config: await loadClusterConfig(required('config')),
  selfId: id,
  identity: await loadIdentity(required('key')),
  protocol: resolveProtocolOptions(values.protocol === undefined ? {} : parseProtocolOption(values.protocol)),
  seed,
  log,
});
write({ event: 'ready', pid: process.pid });

let stopping: Promise<void> | undefined;
const stop = (): Promise<void> =>
  (stopping ??= attacker.stop().then((report) => {
    write(report);
    process.exit(0);
  }));
process.once('SIGTERM', () => void stop());
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  if (line.trim() === 'stop') void stop();
});
// The runner is gone: nothing would read the report.
commands.once('close', () => process.exit(0));
