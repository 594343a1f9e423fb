/**
 * The chaos runner's handle on the attacker process (main.ts): spawns it
 * with a replica's key file, waits (bounded) for its ready line, and stops
 * it, waiting (bounded) for its report; a process that does not answer in
 * time is killed. Every wait is bounded, so a stuck attacker fails a run, it
 * never hangs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ProtocolOptions } from '../../core/options.js';
import type { LogLevel } from '../../log.js';
import { parseAttackerLine, type AttackerReport } from './report.js';

const ATTACKER_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export interface AttackerProcessOptions {
  readonly configPath: string;
  /** The key file of the replica it replaces. */
  readonly keyPath: string;
  readonly id: number;
  readonly seed: number;
  /** The cluster's protocol options over the defaults (frame limits, window). */
  readonly protocol: Partial<ProtocolOptions>;
  readonly logLevel: LogLevel;
  /** Bound on its start (keys, certificates, listening). */
  readonly startTimeoutMs: number;
}

export class AttackerProcess {
  private report: AttackerReport | undefined;
  private readonly reported: Promise<AttackerReport | undefined>;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess, ready: (pid: number) => void) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.reported = new Promise((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (text) => {
        const line = parseAttackerLine(text);
        if (line?.event === 'ready') ready(line.pid);
        else if (line?.event === 'report') resolve((this.report = line));
      });
      void this.exited.then(() => resolve(this.report));
    });
  }

  /** Spawns the attacker and waits until it listens on the replica's port and attacks. */
  static async start(options: AttackerProcessOptions): Promise<AttackerProcess> {
    const args = [ATTACKER_MAIN, '--config', options.configPath, '--key', options.keyPath, '--id', String(options.id), '--seed', String(options.seed)];
    if (Object.keys(options.protocol).length > 0) args.push('--protocol', JSON.stringify(options.protocol));
    args.push('--log-level', options.logLevel);
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let onReady: (pid: number) => void = () => {};
    const ready = new Promise<number>((resolve) => (onReady = resolve));
    const attacker = new AttackerProcess(child, onReady);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        attacker.exited.then(() => Promise.reject(new Error(`the attacker exited with ${child.exitCode ?? child.signalCode} during start`))),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`the attacker was not ready after ${options.startTimeoutMs} ms`)), options.startTimeoutMs))),
      ]);
    } catch (error) {
      await attacker.kill();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return attacker;
  }

  /** Its OS process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Tells it to stop and waits, at most `timeoutMs`, for its report; undefined if none came (it is killed then). */
  async stop(timeoutMs: number): Promise<AttackerReport | undefined> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin?.write('stop\n');
    let timer: NodeJS.Timeout | undefined;
    const report = await Promise.race([this.reported, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)))]);
    clearTimeout(timer);
    if (report === undefined) await this.kill();
    else await this.exited;
    return report;
  }

  /** SIGKILL, and wait for the exit. Idempotent. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
