#!/usr/bin/env node
/** The `bafomet` command line: a thin layer over the library. */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { addBenchCommand } from '../bench/command.js';
import { addChaosCommand } from '../chaos/command.js';
import { addSoakCommand } from '../chaos/soak-command.js';
import type { ProtocolOptions } from '../core/options.js';
import { initCluster } from '../cluster/init.js';
import type { LogLevel } from '../log.js';
import type { ExecutorKind } from '../runtime/replica.js';
import { printSummary, runDemo } from './demo.js';
import { CliError, EXIT, EXIT_CODES_HELP, exitWith, installCrashHandlers } from './fatal.js';
import { writeKeyFile } from './keygen.js';
import { runClientCommand, type ClientCommandOptions } from './client-command.js';
import { parseProtocolOption, runReplicaCommand } from './replica-command.js';
import { hostList, integer, LOG_LEVELS, type HostPort } from './option-parsers.js';

installCrashHandlers();

/** The installed package's version: this file runs as dist/src/cli/main.js, three folders below package.json. */
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('bafomet')
  .description('Byzantine-fault-tolerant state machine replication')
  .version(version, '-V, --version', 'print the version')
  .addHelpText('after', EXIT_CODES_HELP)
  // Commander has printed its one line (unknown command or option, bad value) or the help; subcommands inherit this.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage));

program
  .command('init')
  .description('write a cluster config and one key file per replica')
  .option('--replicas <n>', 'number of replicas (n >= 3f + 1)', integer(1, 1000), 4)
  .option('--f <f>', 'faults tolerated (default: the most n allows)', integer(0))
  .option('--host <host>', 'host every replica listens on', '127.0.0.1')
  .option('--base-port <port>', 'replica i listens on base-port + i', integer(1, 65535), 10000)
  .option('--hosts <list>', "each replica's host:port, comma-separated, replica 0 first (e.g. a:7000,b:7000,c:7000,d:7000): one replica per entry, instead of --host and --base-port", hostList)
  .option('--client-keys <n>', 'also write n client key files (client-<i>.key.pem) and admit only those clients', integer(0, 100_000), 0)
  .requiredOption('--out <dir>', 'folder for cluster.json and the key files; init never overwrites them')
  .addHelpText('after', EXIT_CODES_HELP)
  .action(async (o: { replicas: number; f?: number; host: string; basePort: number; hosts?: HostPort[]; clientKeys: number; out: string }, command: Command) => {
    if (o.hosts !== undefined && command.getOptionValueSource('replicas') === 'cli' && o.replicas !== o.hosts.length) {
      throw new CliError(`--replicas ${o.replicas} but --hosts names ${o.hosts.length}: give one of them`, EXIT.usage);
    }
    const { configPath } = await initCluster({
      replicas: o.hosts?.length ?? o.replicas,
      host: o.host,
      basePort: o.basePort,
      out: o.out,
      clientKeys: o.clientKeys,
      ...(o.hosts === undefined ? {} : { hosts: o.hosts.map((h) => h.host), ports: o.hosts.map((h) => h.port) }),
      ...(o.f === undefined ? {} : { f: o.f }),
    });
    const clients = o.clientKeys === 0 ? '' : ` and ${o.clientKeys} client key files`;
    process.stdout.write(`wrote ${configPath}, ${o.hosts?.length ?? o.replicas} replica key files${clients}\n`);
  });

program
  .command('keygen')
  .description('write a new Ed25519 key file (mode 0600) and print its public key in base64 (for the config\'s clients)')
  .requiredOption('--out <file>', 'the key file to create; keygen never overwrites one')
  .addHelpText('after', EXIT_CODES_HELP)
  .action(async (o: { out: string }) => {
    process.stdout.write(`${await writeKeyFile(o.out)}\n`);
  });

program
  .command('replica')
  .description('run one replica')
  .requiredOption('--config <file>', 'cluster config (bafomet init)')
  .requiredOption('--id <id>', 'this replica id', integer(0))
  .option('--key <file>', 'private key file (default: replica-<id>.key.pem beside the config)')
  .option('--service <name|module>', "built-in service (kv, counter, 'slots?bytes=N', 'bench?replyBytes=N') or a module exporting a Service", 'kv')
  .option('--protocol <json>', 'protocol options over the defaults, e.g. \'{"checkpointInterval":1024,"logWindow":2048}\'; the same on every replica', parseProtocolOption)
  .addOption(new Option('--executor <where>', "where the service runs: 'worker' (a thread of its own) or 'inline' (on the protocol thread: less latency, for cheap services only)").choices(['worker', 'inline']))
  .option('--data-dir <dir>', "this replica's own directory for its journal and checkpoints: it survives a power cut and restarts from it (without it, the replica is in memory only)")
  .option('--rejoin', 'this replica lost its data (a new disk or machine): catch up without voting until that is safe (docs/DURABILITY.md D15)', false)
  .option('--control', 'answer status/digest commands on stdin (for local tooling); exit when stdin closes', false)
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS))
  .addHelpText('after', EXIT_CODES_HELP)
  .action(
    async (o: { config: string; id: number; key?: string; service: string; executor?: ExecutorKind; protocol?: Partial<ProtocolOptions>; dataDir?: string; rejoin: boolean; control: boolean; logLevel?: LogLevel }) => {
      await runReplicaCommand(o);
    },
  );

program
  .command('demo')
  .description('start a local cluster of replica processes, run clients against it, print a summary')
  .option('--duration <seconds>', 'how long the clients run', integer(1, 86_400), 10)
  .option('--clients <n>', 'concurrent client sessions', integer(1, 65_536), 50)
  .option('--replicas <n>', 'replica processes', integer(4, 64), 4)
  .option('--durable', "give each replica a data directory (journal and checkpoints, fsync'd) in the demo's temporary folder", false)
  .option('--json', 'print the summary as one JSON object on the last line of stdout', false)
  .action(async (o: { duration: number; clients: number; replicas: number; durable: boolean; json: boolean }) => {
    const summary = await runDemo(o);
    printSummary(summary, o.json);
    if (summary.wrongReplies > 0 || !summary.statesEqual) process.exitCode = 1;
  });

addChaosCommand(program);
addSoakCommand(program);
addBenchCommand(program);

program
  .command('client')
  .description('send requests to a running cluster, JSON in and out: from the arguments, else one per line from stdin (a prompt on a terminal); one JSON line per reply')
  .argument('[requests...]', `requests as JSON, e.g. '{"op":"put","key":"a","value":"1"}' '{"op":"get","key":"a"}' for kv`)
  .requiredOption('--config <file>', 'cluster config (bafomet init)')
  .option('--service <name|module>', "the service's codecs: built-in (kv, counter) or a module exporting a Service, as the replicas run it", 'kv')
  .option('--key <file>', 'client key file (bafomet keygen; needed when the config lists admitted clients); default a fresh key')
  .option('--read-only', 'send each request with invokeReadOnly (answered without ordering by a quorum, ordered otherwise)', false)
  .option('--timeout <ms>', 'deadline of each request', integer(1, 3_600_000), 10_000)
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS))
  .addHelpText('after', '\nExit codes:\n  0  every request answered\n  1  a request failed or was not JSON (its line says why)\n  2  a bad option, or a config or key file missing or invalid\n  3  the service module could not be loaded\n')
  .action(async (requests: string[], o: ClientCommandOptions) => {
    const failed = await runClientCommand(o, requests);
    process.exit(failed > 0 ? EXIT.failure : EXIT.ok);
  });

program.parseAsync().catch(exitWith);
