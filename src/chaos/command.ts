/** `bafomet chaos` (what `npm run chaos` runs): one chaos scenario against a local cluster of replica processes. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { LogLevel } from '../log.js';
import { allScenarios, scenarioNames } from './registry.js';
import { LOSSY_DEFAULT_DURATION_SEC } from './scenarios/lossy-network.js';
import { RESTART_ALL_RECOVERY_LIMIT_MS } from './scenarios/restart-all.js';
import { formatReport, runChaos } from './runner.js';
import { defaultChaosOptions, type ChaosOptions } from './types.js';
import { integer, LOG_LEVELS, positive } from '../cli/option-parsers.js';

function nonNegative(max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || value > max) throw new InvalidArgumentError(`expected a number in [0, ${max}]`);
    return value;
  };
}

interface ChaosCommandOptions {
  scenario: string;
  cycles: number;
  duration?: number;
  clients: number;
  replicas: number;
  retransmitMs: number;
  retransmitMaxMs: number;
  recoveryTimeout: number;
  recoveryLimit?: number;
  verifyTimeout: number;
  downRequests: number;
  downTimeout: number;
  catchUpTimeout: number;
  checkpointInterval?: number;
  stateMib: number;
  seed?: number;
  faultsPerSec: number;
  logLevel: LogLevel;
  json: boolean;
}

const MIB = 1024 * 1024;

/** Adds the `chaos` subcommand to `program`. Exit code 1 when the scenario does not pass. */
export function addChaosCommand(program: Command): void {
  const d = defaultChaosOptions;
  const list = allScenarios()
    .map((s) => `  ${s.name}: ${s.description}`)
    .join('\n');
  program
    .command('chaos')
    .description('run a fault scenario against a local cluster of replica processes under client load, then check it')
    .addHelpText('after', `\nScenarios:\n${list}`)
    .addOption(new Option('--scenario <name>', 'scenario to run').choices(scenarioNames()).default('kill-primary'))
    .option('--cycles <n>', 'how many times the fault is injected', integer(1, 1000), d.cycles)
    .option(
      '--duration <seconds>',
      `steady load per cycle: 40% before the fault, 60% after recovery (default ${d.durationSec}); lossy-network: load under faults (default ${LOSSY_DEFAULT_DURATION_SEC})`,
      positive(86_400),
    )
    .option('--clients <n>', 'client sessions, each in a closed loop', integer(1, 5000), d.clients)
    .option('--replicas <n>', 'replica processes', integer(4, 64), d.replicas)
    .option('--retransmit-ms <ms>', "the load client's first retransmission delay", integer(10, 60_000), d.retransmitMs)
    .option('--retransmit-max-ms <ms>', "the load client's retransmission backoff ceiling", integer(10, 600_000), d.retransmitMsMax)
    .option('--recovery-timeout <ms>', 'give up waiting for recovery after a fault after this long', integer(1, 600_000), d.recoveryTimeoutMs)
    .option('--recovery-limit <ms>', `recoveryMs must be below this to pass (default ${d.recoveryLimitMs}; restart-all: ${RESTART_ALL_RECOVERY_LIMIT_MS}, four processes start at once)`, integer(1, 600_000))
    .option('--verify-timeout <ms>', 'bound on reading every acknowledged key back at the end', integer(1, 600_000), d.verifyTimeoutMs)
    .option('--down-requests <n>', 'lagging-replica, large-state: requests acknowledged while the replica is down', integer(1, 1_000_000_000), d.downRequests)
    .option('--down-timeout <ms>', 'bound on the load reaching --down-requests', integer(1, 86_400_000), d.downTimeoutMs)
    .option('--catch-up-timeout <ms>', 'bound on the restarted replica catching up', integer(1, 3_600_000), d.catchUpTimeoutMs)
    .option('--checkpoint-interval <batches>', 'checkpoint interval of the replicas (default: 64; large-state: 2048); the log window is at least twice it', integer(1, 1_000_000))
    .option('--state-mib <MiB>', 'large-state: size of the slots service state', integer(1, 2047), d.stateBytes / MIB)
    .option('--seed <n>', 'lossy-network: seed of the middleboxes (default: random, reported)', integer(0, Number.MAX_SAFE_INTEGER))
    .option('--faults-per-sec <x>', 'lossy-network: faults per second over all links, about', nonNegative(10_000), d.faultsPerSec)
    .addOption(new Option('--log-level <level>', 'log level of the replica processes').choices(LOG_LEVELS).default(d.logLevel))
    .option('--json', 'print the report as one JSON object on the last line of stdout', false)
    .action(async (o: ChaosCommandOptions) => {
      const options: Partial<ChaosOptions> & { scenario: string } = {
        scenario: o.scenario,
        cycles: o.cycles,
        durationSec: o.duration,
        clients: o.clients,
        replicas: o.replicas,
        retransmitMs: o.retransmitMs,
        retransmitMsMax: Math.max(o.retransmitMs, o.retransmitMaxMs),
        recoveryTimeoutMs: o.recoveryTimeout,
        recoveryLimitMs: o.recoveryLimit,
        verifyTimeoutMs: o.verifyTimeout,
        downRequests: o.downRequests,
        downTimeoutMs: o.downTimeout,
        catchUpTimeoutMs: o.catchUpTimeout,
        checkpointInterval: o.checkpointInterval,
        stateBytes: o.stateMib * MIB,
        seed: o.seed,
        faultsPerSec: o.faultsPerSec,
        logLevel: o.logLevel,
      };
      try {
        const report = await runChaos(options);
        process.stdout.write(formatReport(report, o.json));
        if (!report.passed) process.exitCode = 1;
      } catch (error) {
        // The cluster or the load could not start: still end with one JSON line when asked to.
        const message = error instanceof Error ? error.message : String(error);
        if (o.json) process.stdout.write(JSON.stringify({ scenario: o.scenario, passed: false, failures: [message], error: message }) + '\n');
        throw error;
      }
    });
}
