/** `bafomet replica`: runs one replica of a cluster in this process. */
import { createInterface } from 'node:readline';
import { dirname } from 'node:path';
import { loadClusterConfig } from '../config.js';
import { replicaKeyFile } from '../cluster/init.js';
import type { ControlAnswer, ControlCommand, ReadyLine } from '../cluster/control.js';
import { resolveServiceModule } from '../cluster/service-module.js';
import { defaultProtocolOptions, type ProtocolOptions } from '../core/options.js';
import { ConfigError } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { Replica } from '../runtime/replica.js';

export interface ReplicaCommandOptions {
  readonly config: string;
  readonly id: number;
  readonly key?: string;
  readonly service: string;
  readonly control: boolean;
  readonly logLevel?: LogLevel;
  /** Protocol options over the defaults; every replica of a cluster must be given the same. */
  readonly protocol?: Partial<ProtocolOptions>;
}

/**
 * `--protocol '{"checkpointInterval":1024,"logWindow":2048}'`: a JSON object
 * of protocol option names and integers. Names are checked here; values, and
 * how they fit together, by the replica (a ConfigError naming the field).
 */
export function parseProtocolOption(text: string): Partial<ProtocolOptions> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError('--protocol', 'is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('--protocol', 'is not a JSON object');
  for (const [name, value] of Object.entries(parsed)) {
    if (!Object.hasOwn(defaultProtocolOptions, name)) throw new ConfigError('--protocol', `unknown option ${name}`);
    if (typeof value !== 'number') throw new ConfigError(`--protocol ${name}`, 'is not a number');
  }
  return parsed as Partial<ProtocolOptions>;
}

export async function runReplicaCommand(options: ReplicaCommandOptions): Promise<void> {
  const config = await loadClusterConfig(options.config);
  const address = config.replicas[options.id];
  if (address === undefined) throw new ConfigError('--id', `no replica ${options.id} in ${options.config}`);
  const logger = createLogger(options.logLevel === undefined ? {} : { level: options.logLevel });
  const replica = await Replica.start({
    config,
    id: options.id,
    identity: options.key ?? replicaKeyFile(dirname(options.config), options.id),
    service: resolveServiceModule(options.service),
    logger,
    ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
  });
  const stop = (): void => {
    void replica.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const ready: ReadyLine = { event: 'ready', replica: options.id, port: address.port, pid: process.pid };
  process.stdout.write(JSON.stringify(ready) + '\n');
  if (options.control) serveControl(replica, stop);
}

function serveControl(replica: Replica, stop: () => void): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    void answer(replica, line).then((reply) => process.stdout.write(JSON.stringify(reply) + '\n'));
  });
  lines.on('close', stop);
}

async function answer(replica: Replica, line: string): Promise<ControlAnswer> {
  let command: ControlCommand;
  try {
    command = JSON.parse(line) as ControlCommand;
  } catch {
    return { id: -1, error: 'bad-json' };
  }
  switch (command.cmd) {
    case 'status':
      return { id: command.id, status: { ...replica.status(), ...replica.counts() } };
    case 'digest': {
      const { digest, seq } = await replica.stateDigest();
      return { id: command.id, digest, seq };
    }
    case 'memory': {
      const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
      return { id: command.id, memory: { rss, heapTotal, heapUsed, external, arrayBuffers } };
    }
    default:
      return { id: command.id, error: 'unknown-command' };
  }
}
