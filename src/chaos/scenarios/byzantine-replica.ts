/**
 * `byzantine-replica`: the last replica's process is killed and an attacker
 * process (src/chaos/attacker/) takes its place, with its key and its port,
 * for `durationSec` of client load: it forges client requests (FORWARDed,
 * inside PRE-PREPAREs, on client connections of its own), sends garbage,
 * oversized and cut-short frames, messages of kinds it may not send or in
 * other replicas' names, replays of the correct replicas' own traffic,
 * floods of votes, requests and connections, and lies to the load. The
 * other replicas must keep serving as if nothing happened:
 *
 * - every 5-second window of the load has acknowledgements, and every
 *   invocation in flight at the end completes (the attack still on);
 * - no forged request was executed: the keys forged puts write stay absent,
 *   and no load key holds the forged value; a genuine request the attacker
 *   signs with its own client key and FORWARDs the same way is executed
 *   (the control: it shows the forged ones were refused, not lost);
 * - each correct replica's RSS stays within {@link RSS_GROWTH_BOUND_MIB} of
 *   its baseline before the attack, and none of them dies;
 * - and the runner's checks: no acknowledged write lost, no wrong reply,
 *   equal state digests among the correct replicas.
 */
import { performance } from 'node:perf_hooks';
import { replicaKeyFile } from '../../cluster/init.js';
import type { LocalCluster } from '../../cluster/local-cluster.js';
import { defaultProtocolOptions, type ProtocolOptions } from '../../core/options.js';
import { Client } from '../../runtime/client.js';
import kvService from '../../services/kv.js';
import { AckWindows, waitUntilElapsed } from '../ack-windows.js';
import { RssWatch } from '../byzantine-memory.js';
import { CONTROL_KEY, FORGED_LOAD_KEYS, FORGED_MARKER_KEYS, FORGED_VALUE, FORGERY_KINDS } from '../attacker/forgery.js';
import { AttackerProcess } from '../attacker/process.js';
import { ATTACK_KINDS, type AttackKind } from '../attacker/report.js';
import type { ByzantineReport, ReplicaDefenceCounters, Scenario, ScenarioContext, ScenarioOutcome } from '../types.js';

/** Every window this long must have acknowledgements (as in lossy-network). */
export const BYZANTINE_WINDOW_MS = 5_000;
/** Attack under load unless `--duration` says otherwise. */
export const BYZANTINE_DEFAULT_DURATION_SEC = 60;
/** A correct replica's RSS may grow this much over its baseline, at most. */
export const RSS_GROWTH_BOUND_MIB = 200;
/** RSS sampling period. */
const RSS_SAMPLE_MS = 1_000;
/** Bound on the load's first acknowledgement, before the attack. */
const FIRST_ACK_TIMEOUT_MS = 15_000;
/** Bound on the attacker's start (keys, certificates, listening). */
const ATTACKER_START_TIMEOUT_MS = 15_000;
/** Bound on the attacker's report once told to stop; it is killed after. */
const ATTACKER_STOP_TIMEOUT_MS = 10_000;
/** Bound on the invocations in flight at the end completing, the attack still on. */
const DRAIN_TIMEOUT_MS = 15_000;
/** Progress on stderr every this many windows. */
const SAY_EVERY_WINDOWS = 6;
/** Attack kinds that need a view in which the attacker is the primary, which may not come. */
const KINDS_THAT_MAY_NOT_RUN: readonly AttackKind[] = ['prePreparesAsPrimary'];

const changedProtocol = (protocol: ProtocolOptions): Partial<ProtocolOptions> =>
  Object.fromEntries(Object.entries(protocol).filter(([name, value]) => defaultProtocolOptions[name as keyof ProtocolOptions] !== value));

/** What the end-of-attack reads of the forged requests' keys found. */
interface ForgeryReadBack {
  /** Marker keys present, and load keys holding the forged value: forged requests that executed. */
  readonly found: readonly string[];
  /** Keys whose read did not complete within the bound. */
  readonly unread: readonly string[];
  /** Whether the control key is present; null if its read did not complete. */
  readonly controlExecuted: boolean | null;
}

/** Reads the keys forged requests write, and the control key, through a fresh client (ordered gets, f + 1 matching replies). */
async function readForgedKeys(cluster: LocalCluster, protocol: Partial<ProtocolOptions>, timeoutMs: number): Promise<ForgeryReadBack> {
  const client = await Client.connect({ config: cluster.config, service: kvService, sessions: 4, ...(Object.keys(protocol).length > 0 ? { protocol } : {}) });
  try {
    const keys = [...FORGED_MARKER_KEYS, ...FORGED_LOAD_KEYS, CONTROL_KEY];
    const answers = await Promise.allSettled(keys.map((key) => client.invoke({ op: 'get', key }, { timeoutMs })));
    const found: string[] = [];
    const unread: string[] = [];
    let controlExecuted: boolean | null = null;
    answers.forEach((answer, i) => {
      const key = keys[i] as string;
      if (answer.status === 'rejected' || !answer.value.ok) return void unread.push(key);
      const value = answer.value.value ?? null;
      if (key === CONTROL_KEY) controlExecuted = value !== null;
      else if (FORGED_MARKER_KEYS.includes(key) ? value !== null : value?.startsWith(FORGED_VALUE) === true) found.push(key);
    });
    return { found, unread, controlExecuted };
  } finally {
    await client.close();
  }
}

/** The counters of a replica that did not answer its status. */
const UNANSWERED: Omit<ReplicaDefenceCounters, 'id'> = {
  malformedFrames: null,
  rejectedMessages: null,
  forgedRequestsRejected: null,
  viewChanges: null,
  earlyMessages: null,
  earlyMessageBytes: null,
  pendingRequests: null,
  slots: null,
};

/** The defence counters of each correct replica, from its status; null where a replica did not answer. */
async function defenceCounters(cluster: LocalCluster, ids: readonly number[]): Promise<ReplicaDefenceCounters[]> {
  return Promise.all(
    ids.map(async (id) => {
      try {
        const status = await cluster.status(id);
        // Fields the control channel's type does not list yet: the runtime adds its counters to the status.
        const extra = status as unknown as Record<string, unknown>;
        const counter = (name: string): number | null => (typeof extra[name] === 'number' ? (extra[name] as number) : null);
        return {
          id,
          malformedFrames: status.malformedFrames,
          rejectedMessages: status.rejectedMessages,
          forgedRequestsRejected: counter('forgedRequestsRejected'),
          viewChanges: status.viewChanges,
          earlyMessages: counter('earlyMessages'),
          earlyMessageBytes: counter('earlyMessageBytes'),
          pendingRequests: status.pendingRequests,
          slots: status.slots,
        };
      } catch {
        return { id, ...UNANSWERED };
      }
    }),
  );
}

async function run(context: ScenarioContext): Promise<ScenarioOutcome> {
  const { cluster, load, options, say } = context;
  const attackerId = cluster.config.replicas.length - 1;
  if (!(await load.waitForAcks(1, FIRST_ACK_TIMEOUT_MS))) throw new Error(`the load got no reply within ${FIRST_ACK_TIMEOUT_MS} ms, before the attack`);
  await cluster.kill(attackerId);
  const correct = cluster.running;
  const seed = options.seed ?? 0;
  const protocol = changedProtocol(context.protocol);
  const attacker = await AttackerProcess.start({
    configPath: cluster.configPath,
    keyPath: replicaKeyFile(cluster.dir, attackerId),
    id: attackerId,
    seed,
    protocol,
    logLevel: options.logLevel,
    startTimeoutMs: ATTACKER_START_TIMEOUT_MS,
  });
  try {
    say(`replica ${attackerId} replaced by an attacker process (pid ${attacker.pid}, seed ${seed}); attacking replicas ${correct.join(', ')} for ${options.durationSec} s`);
    const rss = await RssWatch.start(cluster, correct, RSS_SAMPLE_MS);
    const start = performance.now();
    const windows = new AckWindows(start, BYZANTINE_WINDOW_MS);
    const unsubscribe = load.subscribe((ack) => windows.record(ack.at, ack.sentAt));
    const progress = setInterval(() => {
      const { acksPerWindow, longestStallMs } = windows.summary(performance.now());
      say(`${acksPerWindow.length} windows: last ${acksPerWindow.slice(-SAY_EVERY_WINDOWS).join(', ')} acks; longest stall ${longestStallMs} ms`);
    }, BYZANTINE_WINDOW_MS * SAY_EVERY_WINDOWS);
    let incomplete: number;
    let drainMs: number;
    try {
      await waitUntilElapsed(start, options.durationSec * 1000);
      const attackEnd = performance.now();
      windows.end(attackEnd);
      // The attack goes on: an invocation it delayed must still complete.
      incomplete = await load.drain(DRAIN_TIMEOUT_MS);
      drainMs = Math.round(performance.now() - attackEnd);
    } finally {
      clearInterval(progress);
      unsubscribe();
    }
    const report = await attacker.stop(ATTACKER_STOP_TIMEOUT_MS);
    const memory = await rss.stop();
    const forged = await readForgedKeys(cluster, protocol, options.verifyTimeoutMs);
    const counters = await defenceCounters(cluster, correct);
    const summary = windows.summary(performance.now());

    const failures: string[] = [];
    if (summary.acksPerWindow.length === 0) failures.push(`no full ${BYZANTINE_WINDOW_MS} ms window of load (duration ${options.durationSec} s)`);
    const empty = summary.acksPerWindow.flatMap((acks, i) => (acks === 0 ? [i] : []));
    if (empty.length > 0) {
      failures.push(
        `${empty.length} of ${summary.acksPerWindow.length} windows of ${BYZANTINE_WINDOW_MS} ms without an acknowledgement ` +
          `(windows ${empty.join(', ')}; longest stall ${summary.longestStallMs} ms at ${summary.longestStallAtMs} ms)`,
      );
    }
    if (incomplete > 0) failures.push(`${incomplete} invocations in flight at the end not acknowledged within ${DRAIN_TIMEOUT_MS} ms`);
    if (forged.found.length > 0) failures.push(`forged requests were executed: ${forged.found.join(', ')} written`);
    if (forged.unread.length > 0) failures.push(`${forged.unread.length} keys of forged requests not read back within ${options.verifyTimeoutMs} ms: cannot tell whether forgeries executed`);
    if (forged.controlExecuted === false) failures.push(`the attacker's genuine control request was not executed: an absent forged key proves nothing then`);
    for (const r of memory.perReplica) {
      if (r.growthMB > RSS_GROWTH_BOUND_MIB) failures.push(`replica ${r.id}: RSS grew ${r.growthMB} MiB over its baseline of ${r.baselineMB} MiB (bound ${RSS_GROWTH_BOUND_MIB} MiB)`);
    }
    const dead = correct.filter((id) => !cluster.running.includes(id));
    if (dead.length > 0) failures.push(`correct replicas died under attack: ${dead.join(', ')}`);
    if (report === undefined) failures.push(`the attacker gave no report within ${ATTACKER_STOP_TIMEOUT_MS} ms`);
    else {
      const idle = ATTACK_KINDS.filter((kind) => report.counts[kind] === 0 && !KINDS_THAT_MAY_NOT_RUN.includes(kind));
      if (idle.length > 0) failures.push(`attacks that never ran: ${idle.join(', ')}`);
    }
    const forgedAttempted = report === undefined ? null : FORGERY_KINDS.reduce((sum, kind) => sum + report.forgedRequests[kind], 0);
    say(
      `attack over: ${forgedAttempted ?? '?'} forged requests, ${summary.acksPerWindow.length} windows, min ${summary.acksPerWindowMin} / median ${summary.acksPerWindowMedian} acks; ` +
        `forged keys found ${forged.found.length}, control executed ${forged.controlExecuted}; RSS growth max ${Math.max(0, ...memory.perReplica.map((r) => r.growthMB))} MiB`,
    );
    const byzantine: ByzantineReport = {
      seed,
      attacker: attackerId,
      attackMs: Math.round(options.durationSec * 1000),
      ...summary,
      invocationsIncomplete: incomplete,
      drainMs,
      forgedRequestsAttempted: forgedAttempted,
      attacks: report ?? null,
      forgedKeysFound: forged.found,
      forgedKeysUnread: forged.unread.length,
      controlExecuted: forged.controlExecuted,
      rssGrowthBoundMB: RSS_GROWTH_BOUND_MIB,
      rss: memory,
      defences: counters,
    };
    return { faults: [], failures, byzantine };
  } finally {
    await attacker.kill();
  }
}

/** The `byzantine-replica` scenario (file comment). */
export const byzantineReplica: Scenario = {
  name: 'byzantine-replica',
  description:
    'an attacker process replaces a replica (its key and port) and forges, garbles, replays and floods; ' +
    'the others must keep serving, execute no forged request and stay within a memory bound',
  requiresViewChange: false,
  defaultDurationSec: BYZANTINE_DEFAULT_DURATION_SEC,
  run,
};

/** The byzantine-replica figures of a human summary. */
export function byzantineLines(b: ByzantineReport): string[] {
  const counts = b.attacks === null ? 'no report from the attacker' : ATTACK_KINDS.map((kind) => `${kind} ${b.attacks?.counts[kind]}`).join(', ');
  return [
    `attacker             replica ${b.attacker}, seed ${b.seed}, ${Math.round(b.attackMs / 1000)} s; ${b.forgedRequestsAttempted ?? '?'} forged requests`,
    `attacks              ${counts}`,
    `forged executed      ${b.forgedKeysFound.length === 0 ? 'none found' : b.forgedKeysFound.join(', ')}` +
      `${b.forgedKeysUnread > 0 ? ` (${b.forgedKeysUnread} keys unread)` : ''}; ` +
      `control ${b.controlExecuted === null ? 'unread' : b.controlExecuted ? 'executed' : 'NOT executed'}`,
    `acks per ${b.windowMs / 1000} s        min ${b.acksPerWindowMin ?? '-'}, median ${b.acksPerWindowMedian ?? '-'} over ${b.acksPerWindow.length} windows; longest stall ${b.longestStallMs} ms`,
    `RSS (MiB)            ${b.rss.perReplica.map((r) => `replica ${r.id} ${r.baselineMB} -> max ${r.maxMB} (+${r.growthMB})`).join(', ')}; bound +${b.rssGrowthBoundMB}`,
  ];
}
