/**
 * The history a replica-core fuzz case starts from: a scenario Cluster
 * (test/scenario/harness.ts) driven through a script that makes every
 * replica-to-replica message type appear, up to a stage the case draws:
 *
 * 0. the normal case: `warmup` requests ordered and executed, checkpoints;
 * 1. then state transfer: a replica cut off while three checkpoints go by
 *    catches up (STATE-QUERY, STATE-SUMMARY, CHUNK-REQUEST, CHUNK,
 *    LOG-REQUEST, LOG-ENTRIES);
 * 2. then a view change: the primary is cut off with a request pending, so
 *    backups FORWARD it and move to view 1 (VIEW-CHANGE, NEW-VIEW); the
 *    primary comes back afterwards.
 *
 * Every message the cores send is kept (`relayable`), CHUNKs included: it is
 * what the Byzantine replica may relay, tweaked or not. Its signatures were
 * made in this very history, as a real Byzantine replica's relays are: a
 * message captured in another run would carry correct replicas' signatures
 * on statements they never made here, which no real adversary can produce.
 */
import type { ReplicaMessage } from '../../src/core/messages.js';
import type { ProtocolOptions } from '../../src/core/options.js';
import { Cluster, fastTimers, involving, req, where } from '../scenario/harness.js';

/**
 * Small limits, so that the edges of the window, a full batch, a full chunk
 * and a full log-entries are within reach of a few mutations.
 * clientSessionsMax is far above what one case can open, so no correct
 * client is refused for a full table (a known gap, not what this fuzzes).
 */
export const FUZZ_CLUSTER_OPTIONS = {
  ...fastTimers,
  checkpointInterval: 4,
  logWindow: 8,
  pipelineMax: 4,
  batchRequestsMax: 8,
  requestBytesMax: 64,
  batchBytesMax: 256,
  chunkBytes: 16,
  logEntriesMax: 4,
  clientSessionsMax: 4096,
} as const satisfies Partial<ProtocolOptions>;

export const FUZZ_CLUSTER_N = 4;
export const SCRIPT_STAGE_MAX = 2;

/** Client ids the script starts from, apart from the small ids the fuzz's own requests mostly use. */
const SCRIPT_CLIENT_BASE = 100;

export interface ScriptedCluster {
  readonly cluster: Cluster;
  /** Messages the cores sent so far, CHUNKs included (it grows as the case goes on). */
  relayable(index: number): ReplicaMessage | undefined;
  readonly relayableCount: number;
}

/** A cluster whose replica `byzantine` is exempt from the agreement check, after the script up to `stage`. */
export function scriptedCluster(byzantine: number, stage: number, warmup: number): ScriptedCluster {
  const c = new Cluster({ n: FUZZ_CLUSTER_N, options: FUZZ_CLUSTER_OPTIONS, byzantine: [byzantine] });
  // CHUNKs answer `send-chunk` effects and are not in `c.sent`: a rewrite that changes nothing sees them.
  const chunks: ReplicaMessage[] = [];
  c.rewrite(where({ type: 'chunk' }), (m) => {
    chunks.push(m);
    return m;
  });
  let client = SCRIPT_CLIENT_BASE;
  for (let i = 0; i < warmup; i++) {
    c.submit(req(client++, 1));
    c.deliverAll();
  }
  if (stage >= 1) {
    const lagging = 3;
    const others = [0, 1, 2];
    const heal = c.blackhole(involving(lagging));
    for (let i = 0; i < 3 * FUZZ_CLUSTER_OPTIONS.checkpointInterval + 2; i++) {
      c.submit(req(client++, 1), others);
      c.deliverAll();
    }
    heal();
    c.submit(req(client++, 1));
    const target = c.status(0).lastExecuted;
    c.runUntil((cl) => cl.status(lagging).lastExecuted >= target, 400);
  }
  if (stage >= 2) {
    const primary = c.primaryOf(c.status(1).view);
    const unblock = c.blockWhere(involving(primary));
    const backups = c.replicas.filter((r) => r !== primary);
    c.submit(req(client++, 1), backups);
    const label = `c${client - 1}#1`;
    c.runUntil((cl) => backups.every((r) => cl.executedRequests(r).includes(label)), 1000);
    unblock();
    c.run(2);
  }
  return {
    cluster: c,
    relayable: (index) => (index < c.sent.length ? c.sent[index]?.message : chunks[index - c.sent.length]),
    get relayableCount() {
      return c.sent.length + chunks.length;
    },
  };
}

/** The message types the whole script makes the cores send, with counts. */
export function scriptCoverage(): Record<string, number> {
  const s = scriptedCluster(FUZZ_CLUSTER_N - 1, SCRIPT_STAGE_MAX, 2);
  const types: Record<string, number> = {};
  for (let i = 0; i < s.relayableCount; i++) {
    const type = (s.relayable(i) as ReplicaMessage).type;
    types[type] = (types[type] ?? 0) + 1;
  }
  return types;
}
