/**
 * `bafomet demo` (what `npm start` runs): a local cluster of replica
 * processes, a closed-loop client load on the key-value service with a live
 * progress line, a summary, and a clean stop.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { LocalCluster } from '../cluster/local-cluster.js';
import { runKvLoad } from '../cluster/kv-load.js';
import { Client } from '../runtime/client.js';
import kvService, { type KvReply, type KvRequest } from '../services/kv.js';

export interface DemoOptions {
  readonly duration: number;
  readonly clients: number;
  readonly replicas: number;
  /** Each replica keeps a data directory (journal and checkpoints, fsync'd: docs/DURABILITY.md). */
  readonly durable: boolean;
  readonly json: boolean;
}

export interface DemoSummary {
  readonly replicas: number;
  readonly f: number;
  readonly durable: boolean;
  readonly clients: number;
  readonly durationSec: number;
  /** Requests completed with f + 1 matching replies. */
  readonly requests: number;
  readonly wrongReplies: number;
  readonly opsPerSec: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  readonly view: number;
  /** Whether every replica reported the same state digest at the end. */
  readonly statesEqual: boolean;
}

const PROGRESS_MS = 250;
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const say = (line: string): void => void process.stderr.write(line + '\n');
  say(`starting ${options.replicas} replica processes on 127.0.0.1${options.durable ? ', each with a data directory' : ', in memory'} ...`);
  const cluster = await LocalCluster.start({ replicas: options.replicas, dataDirs: options.durable });
  let client: Client<KvRequest, KvReply> | undefined;
  try {
    say(`cluster up (n=${options.replicas}, f=${cluster.f}); running ${options.clients} clients for ${options.duration} s`);
    client = await Client.connect({ config: cluster.config, service: kvService, sessions: options.clients });
    const deadline = Date.now() + options.duration * 1000;
    const started = Date.now();
    let completed = 0;
    const live = process.stderr.isTTY;
    let lastLine = 0;
    const progress = setInterval(() => {
      const seconds = (Date.now() - started) / 1000;
      const line = `  ${completed} requests  ${Math.round(completed / Math.max(seconds, 0.001))} ops/s  view ${client?.view ?? 0}  ${seconds.toFixed(1)}/${options.duration} s`;
      if (live) process.stderr.write(`\r${line}\x1b[K`);
      else if (Date.now() - lastLine >= 1000) {
        lastLine = Date.now();
        say(line);
      }
    }, PROGRESS_MS);
    const load = await runKvLoad(client, options.clients, () => Date.now() >= deadline, (c) => (completed = c));
    clearInterval(progress);
    if (live) process.stderr.write('\n');
    const statesEqual = await settledStatesEqual(cluster);
    return {
      replicas: options.replicas,
      durable: options.durable,
      f: cluster.f,
      clients: options.clients,
      durationSec: round(load.elapsedMs / 1000),
      requests: load.completed,
      wrongReplies: load.wrong,
      opsPerSec: round(load.completed / (load.elapsedMs / 1000), 1),
      latencyMs: { p50: round(load.latency.percentile(50), 3), p99: round(load.latency.percentile(99), 3) },
      view: client.view,
      statesEqual,
    };
  } finally {
    await client?.close();
    await cluster.stop();
  }
}

/**
 * Waits (bounded) until every replica has executed the same last batch, then
 * compares their state digests.
 */
async function settledStatesEqual(cluster: LocalCluster, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const digests = await Promise.all(cluster.running.map((id) => cluster.digest(id)));
    const seqs = new Set(digests.map((d) => d.seq));
    if (seqs.size === 1) return new Set(digests.map((d) => d.digest)).size === 1;
    if (Date.now() > deadline) return false;
    await delay(50); // poll interval of a bounded wait for a condition
  }
}

export function printSummary(summary: DemoSummary, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  process.stdout.write(
    [
      `replicas ${summary.replicas} (f=${summary.f}), ${summary.clients} clients, ${summary.durationSec} s`,
      `requests completed   ${summary.requests} (${summary.wrongReplies} wrong replies)`,
      `throughput           ${summary.opsPerSec} ops/s`,
      `latency p50 / p99    ${summary.latencyMs.p50} / ${summary.latencyMs.p99} ms`,
      `final view           ${summary.view}`,
      `replica states equal ${summary.statesEqual}`,
    ].join('\n') + '\n',
  );
}
