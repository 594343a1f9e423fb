/**
 * Valid inputs for the decoder fuzz targets, captured from the running
 * system rather than written by hand: the deterministic simulator (src/sim)
 * runs the real cores, codec and checkpoint images for a few seeds, and
 * every frame put on its network and every client-table image a correct
 * replica encodes for a checkpoint is kept. A field added to a message (or
 * to the client table) is therefore in the corpus as soon as the system
 * sends it, with no arbitrary to update.
 *
 * Seeds are taken in order from 1 until every message type and a non-empty
 * client table were seen (or SEEDS_MAX), so the corpus covers view changes
 * and state transfer whatever the scenario generator's version. A frame is
 * kept only if it decodes with its run's limits: Byzantine replicas and
 * clients of the simulator also send garbage, which is the mutator's job.
 *
 * The simulated clients send no read-only requests, so READ-REQUEST and
 * READ-REPLY frames are made here by hand ({@link handMade}), with the
 * default limits: every status, edge read ids, empty and filled byte fields.
 */
import type { ReplicaEffect } from '../../src/core/effects.js';
import type { Message, MessageType } from '../../src/core/messages.js';
import { defaultProtocolOptions } from '../../src/core/options.js';
import { ORDINAL_MAX } from '../../src/core/ordering.js';
import { ReplicaCore, type ReplicaCoreInit } from '../../src/core/replica.js';
import type { ReplicaEvent } from '../../src/core/events.js';
import { GENERATOR_VERSION, generateScenario, type Scenario } from '../../src/sim/scenario.js';
import { Simulation, type SimulationOptions } from '../../src/sim/simulation.js';
import { encodeClientTable } from '../../src/wire/client-table.js';
import { decodeMessage, encodeMessage, wireLimitsFrom, type WireLimits } from '../../src/wire/codec.js';

/** One valid input and the limits of the run that produced it (they differ per seed). */
export interface CorpusEntry {
  readonly bytes: Uint8Array;
  readonly limits: WireLimits;
}

export interface SimCorpus {
  /** Frames that decode, by message type. */
  readonly messages: ReadonlyMap<MessageType, readonly CorpusEntry[]>;
  /** Encoded client-table images of checkpoints (the first part of a checkpoint image). */
  readonly clientTables: readonly CorpusEntry[];
  /** Seeds run, and the generator version they mean something for. */
  readonly seeds: readonly number[];
  readonly generator: number;
}

/** Every message type the codec knows; the corpus is complete when it has each. */
export const MESSAGE_TYPES: readonly MessageType[] = [
  'request',
  'reply',
  'pre-prepare',
  'prepare',
  'commit',
  'checkpoint',
  'view-change',
  'new-view',
  'forward',
  'state-query',
  'state-summary',
  'chunk-request',
  'chunk',
  'log-request',
  'log-entries',
  'read-request',
  'read-reply',
];

/** Message types the simulator never sends, and frames of them made by hand. */
function handMade(): Map<MessageType, CorpusEntry[]> {
  const limits = wireLimitsFrom(defaultProtocolOptions, 4);
  const utf8 = new TextEncoder();
  const readIds = [1, 2, 2 ** 32 - 1, 2 ** 32, ORDINAL_MAX];
  const operations = [new Uint8Array(0), utf8.encode('{"op":"get","key":"k"}'), new Uint8Array(300).fill(0xa5)];
  const results = [new Uint8Array(0), utf8.encode('{"ok":true,"value":"v"}'), utf8.encode('read-only-queue-full: this replica holds its most read-only requests')];
  const messages: Message[] = [];
  for (const [i, readId] of readIds.entries()) {
    messages.push({ type: 'read-request', readId, operation: operations[i % operations.length] as Uint8Array });
    const result = results[i % results.length] as Uint8Array;
    messages.push({ type: 'read-reply', readId, result });
    for (const status of ['not-read-only', 'failed', 'rejected'] as const) messages.push({ type: 'read-reply', readId, status, result });
  }
  const out = new Map<MessageType, CorpusEntry[]>();
  for (const message of messages) {
    const list = out.get(message.type) ?? [];
    list.push({ bytes: encodeMessage(message), limits });
    out.set(message.type, list);
  }
  return out;
}

/** Distinct inputs kept per type and seed: enough variety, bounded memory and run time. */
const KEPT_PER_TYPE_AND_SEED = 24;
/** Client-table images kept per seed. */
const TABLES_PER_SEED = 8;
/** Seeds tried at most while looking for the missing types. */
const SEEDS_MAX = 60;
/** Frames larger than this are skipped: a mutant of a 1 MiB chunk costs a 1 MiB copy per case. */
const FRAME_BYTES_MAX = 64 * 1024;

/** A simulation that reports every frame a node puts on the network. */
class CapturingSimulation extends Simulation {
  constructor(
    scenario: Scenario,
    options: SimulationOptions,
    private readonly onFrame: (bytes: Uint8Array) => void,
  ) {
    super(scenario, options);
  }

  override send(from: number, to: number, bytes: Uint8Array, claimed = from, delay = 0): void {
    // A delayed send comes back here with delay 0: count it once, then.
    if (delay === 0) this.onFrame(bytes);
    super.send(from, to, bytes, claimed, delay);
  }
}

/** A correct replica core that reports its effects (the simulator's CoreFactory seam). */
class CapturingCore extends ReplicaCore {
  constructor(
    init: ReplicaCoreInit,
    private readonly onEffects: (effects: readonly ReplicaEffect[]) => void,
  ) {
    super(init);
  }

  override step(event: ReplicaEvent): ReplicaEffect[] {
    const effects = super.step(event);
    this.onEffects(effects);
    return effects;
  }
}

let cached: SimCorpus | undefined;

/** The corpus (captured once per process). */
export function simCorpus(): SimCorpus {
  cached ??= capture();
  return cached;
}

function capture(): SimCorpus {
  const messages = handMade();
  const clientTables: CorpusEntry[] = [];
  const seeds: number[] = [];
  const complete = (): boolean => MESSAGE_TYPES.every((t) => (messages.get(t)?.length ?? 0) > 0) && clientTables.some((t) => t.bytes.length > 5);
  for (let seed = 1; seed <= SEEDS_MAX && !complete(); seed++) {
    seeds.push(seed);
    const scenario = generateScenario(seed);
    const seen = new Set<string>();
    const perType = new Map<MessageType, number>();
    let tables = 0;
    let limits: WireLimits | undefined;
    const sim = new CapturingSimulation(
      scenario,
      {
        factory: (init) =>
          new CapturingCore(init, (effects) => {
            for (const effect of effects) {
              if (effect.type !== 'checkpoint' || tables >= TABLES_PER_SEED || limits === undefined) continue;
              const bytes = encodeClientTable(effect.clientTable);
              const key = `t${Buffer.from(bytes).toString('base64')}`;
              if (seen.has(key)) continue;
              seen.add(key);
              tables++;
              clientTables.push({ bytes, limits });
            }
          }),
      },
      (bytes) => {
        if (limits === undefined || bytes.length > FRAME_BYTES_MAX) return;
        const decoded = decodeMessage(bytes, limits);
        if (!decoded.ok) return;
        const type = decoded.message.type;
        const count = perType.get(type) ?? 0;
        if (count >= KEPT_PER_TYPE_AND_SEED) return;
        const key = Buffer.from(bytes).toString('base64');
        if (seen.has(key)) return;
        seen.add(key);
        perType.set(type, count + 1);
        const list = messages.get(type) ?? [];
        // A copy: the sender may reuse its buffer.
        list.push({ bytes: new Uint8Array(bytes), limits });
        messages.set(type, list);
      },
    );
    limits = sim.limits;
    sim.run();
  }
  return { messages, clientTables, seeds, generator: GENERATOR_VERSION };
}

/** Every captured message frame, of all types. */
export function allMessages(corpus: SimCorpus): CorpusEntry[] {
  return MESSAGE_TYPES.flatMap((t) => [...(corpus.messages.get(t) ?? [])]);
}

/** `type: count` for each message type, and the client tables: what the corpus covers. */
export function coverage(corpus: SimCorpus): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of MESSAGE_TYPES) out[t] = corpus.messages.get(t)?.length ?? 0;
  out['client-table'] = corpus.clientTables.length;
  return out;
}
