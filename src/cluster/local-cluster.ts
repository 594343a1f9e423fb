/**
 * A cluster of replica OS processes on 127.0.0.1, started by this process:
 * the demo, the integration tests and (later) the chaos runner use it. Each
 * replica runs `bafomet replica --control`, so this process can ask it for
 * status and state digests over its stdin/stdout, and it exits if we die.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { ClusterConfig } from '../config.js';
import type { ProtocolOptions } from '../core/options.js';
import type { LogLevel } from '../log.js';
import type { ExecutorKind } from '../runtime/replica.js';
import type { ControlAnswer, ControlCommand, CpuAnswer, DigestAnswer, MemoryAnswer, ReadyLine, StatusAnswer } from './control.js';
import { freePorts } from './free-ports.js';
import { initCluster } from './init.js';

export interface LocalClusterOptions {
  /** Replica processes; default 4 (f = 1). */
  readonly replicas?: number;
  /** Built-in service name (with parameters, `slots?bytes=N`) or module path; default `kv`. */
  readonly service?: string;
  /** Protocol options over the defaults, the same for every replica (`bafomet replica --protocol`). */
  readonly protocol?: Partial<ProtocolOptions>;
  /** Log level of the replica processes (their logs go to this process's stderr). */
  readonly logLevel?: LogLevel;
  /** Bound on each replica's start-up. */
  readonly startTimeoutMs?: number;
  /** Extra environment variables of some replicas' processes, by id (e.g. to make one replica's test service misbehave). */
  readonly env?: Readonly<Record<number, Readonly<Record<string, string>>>>;
  /**
   * Client keys to make and list in the config's `clients` (admission closed
   * to them); their files are `clientKeyFile(cluster.dir, i)`. Default none:
   * any key is admitted.
   */
  readonly clientKeys?: number;
  /**
   * Give every replica process a data directory (`bafomet replica
   * --data-dir`, which creates it): `data/replica-<id>` in the cluster
   * folder, the same one each time replica `id` is started, so a restarted
   * process recovers from what the killed one wrote. Removed with the folder
   * by {@link LocalCluster.stop}. Default false: no data directory, a
   * restarted replica starts empty.
   */
  readonly dataDirs?: boolean;
  /** Where every replica runs its service (`bafomet replica --executor`); default the replica's own (a worker). */
  readonly executor?: ExecutorKind;
  /** Node.js options of every replica process, before the script (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
}

/** How one replica start differs from the cluster's: a log level of its own, its log lines handed over. */
export interface ReplicaStartOptions {
  /** Log level of this process; default the cluster's. */
  readonly logLevel?: LogLevel;
  /**
   * Called with each log line of this process (pino JSON) and the
   * performance.now() of its arrival. The lines at or above the cluster's
   * log level still go to this process's stderr.
   */
  readonly onLogLine?: (line: string, at: number) => void;
}

const CLI_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
/** pino's numeric levels, to pass on only the lines the cluster's log level admits. */
const PINO_LEVELS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const CONTROL_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

class ReplicaProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: ControlAnswer) => void>();
  readonly exited: Promise<number | null>;
  readonly ready: Promise<ReadyLine>;

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let onReady: (line: ReadyLine) => void = () => {};
    this.ready = new Promise((resolve) => (onReady = resolve));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let parsed: ReadyLine | ControlAnswer;
      try {
        parsed = JSON.parse(line) as ReadyLine | ControlAnswer;
      } catch {
        return; // not a control line
      }
      if ('event' in parsed) onReady(parsed);
      else this.waiting.get(parsed.id)?.(parsed);
    });
  }

  async ask(cmd: ControlCommand['cmd']): Promise<ControlAnswer> {
    const id = this.nextId++;
    const answer = new Promise<ControlAnswer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica did not answer ${cmd}`)), CONTROL_TIMEOUT_MS);
      this.waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
    this.child.stdin!.write(JSON.stringify({ id, cmd }) + '\n');
    try {
      return await answer;
    } finally {
      this.waiting.delete(id);
    }
  }
}

export class LocalCluster {
  private readonly processes: (ReplicaProcess | undefined)[] = [];

  private constructor(
    readonly dir: string,
    readonly config: ClusterConfig,
    readonly configPath: string,
    private readonly options: LocalClusterOptions,
  ) {}

  /** Writes a fresh config and keys into a temporary folder and starts every replica. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const n = options.replicas ?? 4;
    const dir = await mkdtemp(join(tmpdir(), 'bafomet-cluster-'));
    const ports = await freePorts(n);
    const { config, configPath } = await initCluster({
      replicas: n,
      host: '127.0.0.1',
      basePort: 0,
      ports,
      out: dir,
      ...(options.clientKeys === undefined ? {} : { clientKeys: options.clientKeys }),
    });
    const cluster = new LocalCluster(dir, config, configPath, options);
    try {
      await Promise.all(config.replicas.map((r) => cluster.startReplica(r.id)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get f(): number {
    return this.config.f;
  }

  /** Replica `id`'s data directory ({@link LocalClusterOptions.dataDirs}); undefined if the replicas run without one. */
  dataDir(id: number): string | undefined {
    return this.options.dataDirs === true ? join(this.dir, 'data', `replica-${id}`) : undefined;
  }

  /** Starts (or restarts) replica `id` (from its data directory, if it has one) and waits until it listens. */
  async startReplica(id: number, start: ReplicaStartOptions = {}): Promise<void> {
    const args = [CLI_MAIN, 'replica', '--config', this.configPath, '--id', String(id), '--control'];
    const dataDir = this.dataDir(id);
    if (dataDir !== undefined) args.push('--data-dir', dataDir);
    args.push('--service', this.options.service ?? 'kv');
    if (this.options.executor !== undefined) args.push('--executor', this.options.executor);
    if (this.options.protocol !== undefined) args.push('--protocol', JSON.stringify(this.options.protocol));
    const logLevel = start.logLevel ?? this.options.logLevel;
    if (logLevel !== undefined) args.push('--log-level', logLevel);
    const { onLogLine } = start;
    const env = { ...process.env, ...this.options.env?.[id] };
    const child = spawn(process.execPath, [...(this.options.nodeArgs ?? []), ...args], { env, stdio: ['pipe', 'pipe', onLogLine === undefined ? 'inherit' : 'pipe'] });
    if (onLogLine !== undefined) this.tapLog(child, onLogLine);
    const replica = new ReplicaProcess(child);
    this.processes[id] = replica;
    const timeoutMs = this.options.startTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        replica.ready,
        replica.exited.then((code) => Promise.reject(new Error(`replica ${id} exited with ${code} during start`))),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`replica ${id} not ready after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Hands each stderr line of `child` to `onLogLine`, passing on to our stderr what the cluster's log level admits. */
  private tapLog(child: ChildProcess, onLogLine: (line: string, at: number) => void): void {
    // The level the process would log at on its own: the replica's default is BAFOMET_LOG, else warn.
    const inherited = process.env['BAFOMET_LOG'] as LogLevel | undefined;
    const threshold = PINO_LEVELS[this.options.logLevel ?? (inherited !== undefined && Object.hasOwn(PINO_LEVELS, inherited) ? inherited : 'warn')];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      onLogLine(line, performance.now());
      const level = /^\{"level":(\d+)/.exec(line)?.[1];
      // A line that is not pino's (a crash trace) always goes on.
      if (level === undefined || Number(level) >= threshold) process.stderr.write(line + '\n');
    });
  }

  /** The OS process id of replica `id` (for sampling its memory). */
  pid(id: number): number {
    const pid = this.process(id).child.pid;
    if (pid === undefined) throw new Error(`replica ${id} has no process id`);
    return pid;
  }

  async status(id: number): Promise<StatusAnswer['status']> {
    const answer = await this.process(id).ask('status');
    if (!('status' in answer)) throw new Error(`replica ${id} status: ${JSON.stringify(answer)}`);
    return answer.status;
  }

  /** The replica process's memory use (process.memoryUsage()). */
  async memory(id: number): Promise<MemoryAnswer['memory']> {
    const answer = await this.process(id).ask('memory');
    if (!('memory' in answer)) throw new Error(`replica ${id} memory: ${JSON.stringify(answer)}`);
    return answer.memory;
  }

  /** The replica process's CPU time since it started (process.cpuUsage(), microseconds). */
  async cpu(id: number): Promise<CpuAnswer['cpu']> {
    const answer = await this.process(id).ask('cpu');
    if (!('cpu' in answer)) throw new Error(`replica ${id} cpu: ${JSON.stringify(answer)}`);
    return answer.cpu;
  }

  async digest(id: number): Promise<DigestAnswer> {
    const answer = await this.process(id).ask('digest');
    if (!('digest' in answer)) throw new Error(`replica ${id} digest: ${JSON.stringify(answer)}`);
    return answer;
  }

  /** Ids of replicas whose process is running. */
  get running(): number[] {
    return this.processes.flatMap((p, id) => (p !== undefined && p.child.exitCode === null && p.child.signalCode === null ? [id] : []));
  }

  /** Kills replica `id` (default SIGKILL, as a crash) and waits for it to exit. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const replica = this.process(id);
    replica.child.kill(signal);
    await replica.exited;
    this.processes[id] = undefined;
  }

  /** Stops every replica (SIGTERM, then SIGKILL after a bound) and removes the folder. */
  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(async (replica) => {
        if (replica === undefined || replica.child.exitCode !== null || replica.child.signalCode !== null) return;
        replica.child.kill('SIGTERM');
        const timer = setTimeout(() => replica.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await replica.exited;
        clearTimeout(timer);
      }),
    );
    this.processes.length = 0;
    await rm(this.dir, { recursive: true, force: true });
  }

  private process(id: number): ReplicaProcess {
    const replica = this.processes[id];
    if (replica === undefined) throw new Error(`replica ${id} is not running`);
    return replica;
  }
}
