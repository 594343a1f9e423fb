/**
 * End-of-run checks: every acknowledged write is in the replicated state
 * (read back through a fresh client, so through ordering and f + 1 matching
 * replies), and the surviving replicas executed the same batches into the
 * same state.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { LocalCluster } from '../cluster/local-cluster.js';
import type { ProtocolOptions } from '../core/options.js';
import { Client } from '../runtime/client.js';
import { writeNumberOf, type KeyLedger, type LedgerEntry } from './load.js';
import { kvWorkload, type ChaosWorkload } from './workload.js';

export interface ReadBackResult {
  /** Keys read back. */
  readonly keysChecked: number;
  /** Acknowledged puts missing from the state (see {@link lostWrites}). */
  readonly lostWrites: number;
  /** Keys holding something never written to them (or whose read failed). */
  readonly corruptKeys: number;
  /** Acknowledged puts whose key could not be read within the bound. */
  readonly unverifiedWrites: number;
  readonly unverifiedKeys: number;
}

/**
 * How many acknowledged puts of a key are missing, given the value `found`
 * in the final state. The session's puts to a key carry increasing write
 * numbers and only one (the `pending` one, in flight when the load stopped)
 * may be unacknowledged, so: a value of an acknowledged put loses the
 * acknowledged puts after it; the pending put's value loses nothing; an absent
 * key or a value never written to it loses every acknowledged put.
 */
export function lostWrites(session: number, entry: KeyLedger, found: string | null): { lost: number; corrupt: boolean } {
  if (found === null) return { lost: entry.acked.length, corrupt: false };
  const w = writeNumberOf(session, found);
  if (w !== undefined && w === entry.pending) return { lost: 0, corrupt: false };
  if (w !== undefined && entry.acked.includes(w)) return { lost: entry.acked.filter((a) => a > w).length, corrupt: false };
  return { lost: entry.acked.length, corrupt: true };
}

/** What {@link readKeys} could read, besides what its judge made of each value. */
export interface KeysRead {
  readonly keysChecked: number;
  /** Acknowledged puts whose key could not be read within the bound. */
  readonly unverifiedWrites: number;
  readonly unverifiedKeys: number;
}

/**
 * Reads every key of `ledger` with ordered `get`s through a fresh client of
 * `sessions` sessions, and hands each value read (`error: …` for a failed
 * read) to `judge`. Bounded by `timeoutMs`: keys not read by then are
 * unverified (the cluster could not order requests any more).
 */
export async function readKeys(
  cluster: LocalCluster,
  ledger: ReadonlyMap<string, LedgerEntry>,
  options: {
    readonly sessions: number;
    readonly timeoutMs: number;
    readonly workload: ChaosWorkload;
    readonly protocol?: Partial<ProtocolOptions>;
  },
  judge: (key: string, read: LedgerEntry, value: string | null) => void,
): Promise<KeysRead> {
  const { workload } = options;
  const keys = [...ledger.keys()];
  const client = await Client.connect({
    config: cluster.config,
    service: workload.codecs,
    sessions: options.sessions,
    ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
  });
  let next = 0;
  let keysChecked = 0;
  const unverified = new Set(keys);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeoutMs)));
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const read = ledger.get(key)!;
      let value: string | null;
      try {
        const reply = await client.invoke(workload.get(read.session, read.index));
        value = reply.ok ? (reply.value ?? null) : `error: ${reply.error}`;
      } catch {
        return; // closed at the deadline
      }
      unverified.delete(key);
      keysChecked++;
      judge(key, read, value);
    }
  };
  try {
    await Promise.race([Promise.all(Array.from({ length: options.sessions }, worker)), deadline]);
  } finally {
    clearTimeout(timer);
    await client.close();
  }
  let unverifiedWrites = 0;
  for (const key of unverified) unverifiedWrites += ledger.get(key)!.entry.acked.length;
  return { keysChecked, unverifiedWrites, unverifiedKeys: unverified.size };
}

/**
 * Reads every key of `ledger` back ({@link readKeys}) and counts lost
 * writes against it.
 */
export async function readBack(
  cluster: LocalCluster,
  ledger: ReadonlyMap<string, LedgerEntry>,
  options: {
    readonly sessions: number;
    readonly timeoutMs: number;
    /** The load's workload (it names the get of a key); default the kv store's. */
    readonly workload?: ChaosWorkload;
    readonly protocol?: Partial<ProtocolOptions>;
  },
): Promise<ReadBackResult> {
  // Only its get requests are used, and they do not depend on the session count.
  const workload = options.workload ?? kvWorkload(options.sessions);
  let lost = 0;
  let corruptKeys = 0;
  const read = await readKeys(cluster, ledger, { ...options, workload }, (_key, { session, entry }, value) => {
    const verdict = lostWrites(session, entry, value);
    lost += verdict.lost;
    if (verdict.corrupt) corruptKeys++;
  });
  return { ...read, lostWrites: lost, corruptKeys };
}

export interface SettleResult {
  /** Whether every running replica reported the same last delivered batch within the bound. */
  readonly settled: boolean;
  /** Whether their state digests after that batch were equal. */
  readonly digestsEqual: boolean;
  readonly seq: number;
}

/**
 * Waits (bounded, polling) until every running replica's state digest is for
 * the same last batch, then compares the digests.
 */
export async function settle(cluster: LocalCluster, timeoutMs: number): Promise<SettleResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answers = await Promise.all(cluster.running.map((id) => cluster.digest(id)));
    if (answers.length === 0) return { settled: false, digestsEqual: false, seq: 0 };
    const seqs = new Set(answers.map((a) => a.seq));
    if (seqs.size === 1) {
      return { settled: true, digestsEqual: new Set(answers.map((a) => a.digest)).size === 1, seq: answers[0]?.seq ?? 0 };
    }
    if (Date.now() > deadline) return { settled: false, digestsEqual: false, seq: Math.max(...answers.map((a) => a.seq)) };
    await delay(50); // poll interval of a bounded wait for a condition
  }
}
