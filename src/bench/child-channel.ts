/**
 * The parent's handle on one bench child process (a client process or the
 * baseline server): spawns it, waits (bounded) for its ready line, asks it
 * commands (each answer bounded) and stops it (stdin closed, then SIGKILL
 * after a bound). Every wait is bounded, so a stuck child fails a run, it
 * never hangs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { BenchAnswer, BenchReadyLine } from './protocol.js';

/** Bound on one command's answer. */
const ANSWER_TIMEOUT_MS = 15_000;

export class ChildChannel<Name extends string> {
  private nextId = 1;
  /** Commands asked and not yet answered: their answer, or the error that ends the wait. */
  private readonly waiting = new Map<number, { resolve(answer: BenchAnswer): void; reject(error: Error): void }>();
  private readonly exited: Promise<number | null>;

  private constructor(
    /** What the child is, for error messages: `client process 2`, `baseline server`. */
    readonly name: string,
    private readonly child: ChildProcess,
    onReady: (line: BenchReadyLine) => void,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        for (const { reject } of this.waiting.values()) reject(new Error(`${name} exited with ${code ?? signal} before answering`));
        resolve(code ?? (signal === null ? null : -1));
      }),
    );
    // A write to a child that has just died fails with EPIPE: its exit, not the write, is what a caller hears about.
    child.stdin!.on('error', () => {});
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: BenchReadyLine | BenchAnswer;
      try {
        line = JSON.parse(text) as BenchReadyLine | BenchAnswer;
      } catch {
        return; // not a channel line
      }
      if ('event' in line && line.event === 'ready') onReady(line as BenchReadyLine);
      else if ('id' in line && typeof line.id === 'number') this.waiting.get(line.id)?.resolve(line);
    });
  }

  /** Spawns `node <nodeArgs> <entry> <args>` and waits, at most `startTimeoutMs`, for its ready line. */
  static async spawn<Name extends string>(
    name: string,
    entry: string,
    args: readonly string[],
    startTimeoutMs: number,
    nodeArgs: readonly string[] = [],
  ): Promise<ChildChannel<Name>> {
    const child = spawn(process.execPath, [...nodeArgs, entry, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let onReady: (line: BenchReadyLine) => void = () => {};
    const ready = new Promise<BenchReadyLine>((resolve) => (onReady = resolve));
    const channel = new ChildChannel<Name>(name, child, onReady);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        channel.exited.then((code) => Promise.reject(new Error(`${name} exited with ${code} during start`))),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${name} not ready after ${startTimeoutMs} ms`)), startTimeoutMs))),
      ]);
    } catch (error) {
      await channel.kill();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return channel;
  }

  /** Asks `cmd` and resolves with the answer's fields; rejects on an error answer, an exit, or no answer in time. */
  async ask<Answer>(cmd: Name, timeoutMs = ANSWER_TIMEOUT_MS): Promise<Answer> {
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.name} exited before ${cmd} was asked`);
    const answer = new Promise<BenchAnswer>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} did not answer ${cmd} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(id, { resolve, reject });
    });
    this.child.stdin!.write(JSON.stringify({ id, cmd }) + '\n');
    try {
      const result = await answer;
      if ('error' in result && typeof result.error === 'string') throw new Error(`${this.name} failed ${cmd}: ${result.error}`);
      return result as Answer;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  /** Closes its stdin (it exits by itself then) and waits, at most `timeoutMs`, for the exit; kills it after that. Its exit code. */
  async stop(timeoutMs: number): Promise<number | null> {
    this.child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([this.exited, new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)))]);
    clearTimeout(timer);
    if (code !== 'late') return code;
    await this.kill();
    return null;
  }

  /** SIGKILL, and wait for the exit. Idempotent. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
