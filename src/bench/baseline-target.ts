/**
 * The unreplicated {@link BenchTarget}: one baseline server process
 * (baseline-main.ts) on a config of one replica, f = 0, written into a
 * temporary folder by `initCluster` like a local cluster's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../cluster/free-ports.js';
import { initCluster, replicaKeyFile } from '../cluster/init.js';
import type { LogLevel } from '../log.js';
import { ChildChannel } from './child-channel.js';
import type { BaselineCommandName, BaselineCounts } from './protocol.js';
import type { BenchTarget, TargetSample } from './target.js';

const BASELINE_MAIN = fileURLToPath(new URL('./baseline-main.js', import.meta.url));
/** Bound on the server's start (its worker loads the service) and on its exit. */
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export interface BaselineTargetOptions {
  readonly replyBytes: number;
  readonly logLevel?: LogLevel;
  /** Node.js options of the server process (`--cpu-prof`). */
  readonly nodeArgs: readonly string[];
}

export class BaselineTarget implements BenchTarget {
  readonly kind = 'baseline';
  readonly processes = 1;

  private constructor(
    private readonly dir: string,
    readonly configPath: string,
    private readonly server: ChildChannel<BaselineCommandName>,
  ) {}

  static async start(options: BaselineTargetOptions): Promise<BaselineTarget> {
    const dir = await mkdtemp(join(tmpdir(), 'bafomet-baseline-'));
    try {
      const { configPath } = await initCluster({ replicas: 1, f: 0, host: '127.0.0.1', basePort: 0, ports: await freePorts(1), out: dir });
      const args = ['--config', configPath, '--key', replicaKeyFile(dir, 0), '--service', `bench?replyBytes=${options.replyBytes}`];
      if (options.logLevel !== undefined) args.push('--log-level', options.logLevel);
      const server = await ChildChannel.spawn<BaselineCommandName>('baseline server', BASELINE_MAIN, args, START_TIMEOUT_MS, options.nodeArgs);
      return new BaselineTarget(dir, configPath, server);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  async sample(): Promise<TargetSample> {
    const [{ cpu }, counts] = await Promise.all([
      this.server.ask<{ cpu: { user: number; system: number } }>('cpu'),
      this.server.ask<BaselineCounts>('counts'),
    ]);
    return { cpuMicros: [cpu.user + cpu.system], batches: counts.batchesDelivered, requests: counts.requestsExecuted, view: 0 };
  }

  /** One process: its state is equal to itself once it answers (the digest waits for every batch handed over). */
  async settledStatesEqual(): Promise<boolean> {
    await this.server.ask('digest');
    return true;
  }

  async stop(): Promise<void> {
    await this.server.stop(STOP_TIMEOUT_MS);
    await rm(this.dir, { recursive: true, force: true });
  }
}
