/** `bafomet replica`: runs one replica of a cluster in this process. */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { dirname } from 'node:path';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { replicaKeyFile } from '../cluster/init.js';
import type { ControlAnswer, ControlCommand, ReadyLine } from '../cluster/control.js';
import { resolveServiceModule } from '../cluster/service-module.js';
import { defaultProtocolOptions, type ProtocolOptions } from '../core/options.js';
import { ConfigError } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { Replica, type ExecutorKind } from '../runtime/replica.js';
import { CliError, EXIT, exitWith, explainStop, inReplicaContext, report, setCrashLogger, unreadableFile, type StopReason } from './fatal.js';

export interface ReplicaCommandOptions {
  readonly config: string;
  readonly id: number;
  readonly key?: string;
  readonly service: string;
  /** Where the service runs (`ReplicaOptions.executor`). */
  readonly executor?: ExecutorKind;
  readonly control: boolean;
  readonly logLevel?: LogLevel;
  /** Protocol options over the defaults; every replica of a cluster must be given the same. */
  readonly protocol?: Partial<ProtocolOptions>;
  /** This replica's data directory (docs/DURABILITY.md); unset: in memory only. */
  readonly dataDir?: string;
  /** It lost its data: rejoin without voting until safe (D15). */
  readonly rejoin?: boolean;
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

/** How long a replica that stopped by itself may take to finish closing before the process exits anyway. */
const FATAL_CLOSE_MS = 5000;

/**
 * Runs one replica until a signal (SIGINT, SIGTERM; with `control`, stdin
 * closing) closes it and the process exits 0, or until it stops by itself
 * (a fatal error: the service failed, a checkpoint could not be installed,
 * an internal error): then the process exits non-zero with one line on
 * stderr and in the log (src/cli/fatal.ts has the codes). Errors before the
 * replica runs are thrown, explained for the operator where they can be.
 */
export async function runReplicaCommand(options: ReplicaCommandOptions): Promise<void> {
  // A signal while starting: close as soon as there is something to close.
  let signalled = false;
  let onSignal = (): void => void (signalled = true);
  process.once('SIGTERM', () => onSignal());
  process.once('SIGINT', () => onSignal());

  const configPath = options.config;
  await readable(configPath, 'cluster config', 'pass the cluster.json that `bafomet init` wrote with --config');
  const config = await loadConfig(configPath);
  const address = config.replicas[options.id];
  if (address === undefined) {
    throw new ConfigError('--id', `no replica ${options.id} in ${configPath}: its replicas are 0..${config.replicas.length - 1}`);
  }
  const keyPath = options.key ?? replicaKeyFile(dirname(configPath), options.id);
  await readable(keyPath, `private key of replica ${options.id}`, options.key === undefined ? 'pass it with --key <file> (`bafomet init` writes replica-<id>.key.pem beside cluster.json)' : 'check --key');

  const logger = createLogger(options.logLevel === undefined ? {} : { level: options.logLevel });
  setCrashLogger(logger);
  let replica: Replica;
  try {
    replica = await Replica.start({
      config,
      id: options.id,
      identity: keyPath,
      service: resolveServiceModule(options.service),
      ...(options.executor === undefined ? {} : { executor: options.executor }),
      logger,
      ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      rejoin: options.rejoin === true,
    });
  } catch (error) {
    throw inReplicaContext(error, { id: options.id, host: address.host, port: address.port, configPath, keyPath });
  }

  let ending = false;
  const stop = (): void => {
    if (ending) return;
    ending = true;
    replica.close().then(() => process.exit(EXIT.ok), exitWith);
  };
  const fatal = (reason: StopReason): void => {
    if (ending) return;
    ending = true;
    const explained = explainStop(options.id, reason);
    logger.error('replica exits', { exitCode: explained.exitCode, reason: explained.message });
    report(explained, reason.error);
    process.exitCode = explained.exitCode;
    // Settled by `stopped`, after the runtime released everything; a replica that failed
    // while starting to close is bounded anyway.
    const bound = new Promise<void>((resolve) => setTimeout(resolve, FATAL_CLOSE_MS).unref());
    void Promise.race([replica.stopped, bound]).then(() => process.exit(explained.exitCode));
  };
  void replica.stopped.then((stopped) => stopped !== undefined && fatal(stopped));
  // Nothing left to run but no signal came: the replica stopped without saying why.
  process.on('beforeExit', () => fatal({ reason: 'it stopped without reporting why (see the log above)' }));
  onSignal = stop;
  if (signalled) return stop();

  const ready: ReadyLine = { event: 'ready', replica: options.id, port: address.port, pid: process.pid };
  process.stdout.write(JSON.stringify(ready) + '\n');
  if (options.control) serveControl(replica, stop);
}

async function readable(path: string, what: string, fix: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    throw unreadableFile(error, path, what, fix);
  }
}

/** The cluster config, its errors naming the file. */
async function loadConfig(path: string): Promise<ClusterConfig> {
  try {
    return await loadClusterConfig(path);
  } catch (error) {
    throw error instanceof ConfigError && error.field !== path ? new CliError(`${path}: ${error.message}`, EXIT.usage, { cause: error }) : error;
  }
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
    case 'cpu': {
      const { user, system } = process.cpuUsage();
      return { id: command.id, cpu: { user, system } };
    }
    default:
      return { id: command.id, error: 'unknown-command' };
  }
}
