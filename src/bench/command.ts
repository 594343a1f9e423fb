/** `bafomet bench` (what `npm run bench` runs): the throughput/latency benchmark of run.ts. */
import { type Command, Option } from 'commander';
import { CliError, EXIT } from '../cli/fatal.js';
import { defaultProtocolOptions, type ProtocolOptions } from '../core/options.js';
import { parseProtocolOption } from '../cli/replica-command.js';
import type { LogLevel } from '../log.js';
import type { ExecutorKind } from '../runtime/replica.js';
import { BENCH_REPLY_BYTES_MAX } from '../services/bench.js';
import type { Progress } from './measure.js';
import { benchFailed, formatTable } from './report.js';
import { defaultClientProcesses, runBench } from './run.js';
import { integer, LOG_LEVELS, positive, seconds } from '../cli/option-parsers.js';

/**
 * Sessions one client process (one client key) may run: the replicas hold
 * at most clientSessionsPerKeyMax sessions and pendingRequestsPerKeyMax
 * requests of one key (the defaults, both 4096).
 */
const SESSIONS_PER_PROCESS_MAX = Math.min(defaultProtocolOptions.clientSessionsPerKeyMax, defaultProtocolOptions.pendingRequestsPerKeyMax);

interface BenchCommandOptions {
  replicas: number;
  clients: number;
  clientProcesses?: number;
  rate?: number;
  requestBytes: number;
  replyBytes: number;
  duration: number;
  warmup: number;
  durable: boolean;
  readOnly: boolean;
  baseline: boolean;
  json: boolean;
  protocol?: Partial<ProtocolOptions>;
  executor?: ExecutorKind;
  cpuProf?: string;
  logLevel?: LogLevel;
}

/** Adds the `bench` subcommand to `program`. Exit code 1 when the run shows something wrong (no request completed, a wrong reply, replica states differ). */
export function addBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('throughput and latency of the replicated bench service: replica processes on 127.0.0.1, client processes with closed-loop clients (docs/BENCHMARKS.md)')
    .option('--replicas <n>', 'replica processes (f is the most they tolerate)', integer(4, 64), 4)
    .option('--clients <n>', 'closed-loop clients (sessions) over all client processes; with --rate, the sessions the open loop may use at once', integer(1, 1_000_000), 50)
    .option('--client-processes <p>', `client processes, each one client key (default: one per ${100} clients)`, integer(1, 1024))
    .option('--rate <r>', 'open loop: requests per second over all client processes, each timed from when it was due (default: closed loop)', positive(10_000_000))
    .option('--request-bytes <b>', 'bytes of each request', integer(0, defaultProtocolOptions.requestBytesMax), 1024)
    .option('--reply-bytes <b>', 'bytes of each reply', integer(0, BENCH_REPLY_BYTES_MAX), 1024)
    .option('--duration <s>', 'seconds measured, after the warm-up', seconds(0.1, 86_400), 10)
    .option('--warmup <s>', 'seconds of load before measuring, left out of every figure', seconds(0, 3_600), 2)
    .option('--durable', "give each replica a data directory (journal and checkpoints, fsync'd) in a temporary folder", false)
    .option('--read-only', 'send reads (Client.invokeReadOnly: answered unordered by 2f + 1 matching replicas, ordered otherwise); the state does not change', false)
    .option('--baseline', 'also run the same load on one unreplicated server (same transport, codec, signature checks and executor; no consensus), reported as baseline', false)
    .option('--json', 'print the report as one JSON object on stdout (the table goes to stderr)', false)
    .addOption(new Option('--executor <where>', "where the replicas run the service: 'worker' (default) or 'inline' (bafomet replica --executor)").choices(['worker', 'inline']))
    .option('--cpu-prof <dir>', 'write a V8 CPU profile of every process it starts into <dir> (open in Chrome DevTools, or summarise with `npm run bench:profile`)')
    .option('--protocol <json>', 'protocol options of the replicas, a JSON object as for `bafomet replica --protocol`', parseProtocolOption)
    .addOption(new Option('--log-level <level>', 'log level of the replica, server and client processes').choices(LOG_LEVELS))
    .action(async (o: BenchCommandOptions) => {
      if (o.readOnly && o.requestBytes === 0) throw new CliError('--read-only needs --request-bytes of at least 1: its first byte marks a read for the bench service', EXIT.usage);
      const processes = o.clientProcesses ?? defaultClientProcesses(o.clients);
      if (processes > o.clients) throw new CliError(`--client-processes ${processes} is more than --clients ${o.clients}: each process runs at least one client`, EXIT.usage);
      if (Math.ceil(o.clients / processes) > SESSIONS_PER_PROCESS_MAX) {
        throw new CliError(`${Math.ceil(o.clients / processes)} clients per process is over ${SESSIONS_PER_PROCESS_MAX}, what replicas admit for one client key: raise --client-processes`, EXIT.usage);
      }
      const report = await runBench(
        {
          replicas: o.replicas,
          clients: o.clients,
          clientProcesses: processes,
          requestBytes: o.requestBytes,
          replyBytes: o.replyBytes,
          warmupSec: o.warmup,
          durationSec: o.duration,
          durable: o.durable,
          readOnly: o.readOnly,
          baseline: o.baseline,
          ...(o.rate === undefined ? {} : { rate: o.rate }),
          ...(o.protocol === undefined ? {} : { protocol: o.protocol }),
          ...(o.executor === undefined ? {} : { executor: o.executor }),
          ...(o.cpuProf === undefined ? {} : { cpuProfileDir: o.cpuProf }),
          ...(o.logLevel === undefined ? {} : { logLevel: o.logLevel }),
        },
        (line) => void process.stderr.write(line + '\n'),
        stderrProgress(),
      );
      const table = formatTable(report);
      if (o.json) {
        process.stderr.write(table);
        process.stdout.write(JSON.stringify(report) + '\n');
      } else {
        process.stdout.write(table);
      }
      if (benchFailed(report)) process.exitCode = EXIT.failure;
    });
}

/** The progress line on stderr: rewritten in place on a terminal, else at most one line a second. */
function stderrProgress(): Progress {
  const live = process.stderr.isTTY;
  let lastAt = 0;
  let shown = false;
  return {
    line(text) {
      if (live) {
        process.stderr.write(`\r${text}\x1b[K`);
        shown = true;
      } else if (Date.now() - lastAt >= 1000) {
        lastAt = Date.now();
        process.stderr.write(text + '\n');
      }
    },
    done() {
      if (live && shown) process.stderr.write('\n');
      shown = false;
      lastAt = 0;
    },
  };
}
