/**
 * Byzantine behaviours, as a table: name -> implementation, the role it
 * needs (primary of the current view, backup, any), the protocol features
 * it lies about, and whether it may be selected today.
 *
 * A Byzantine replica runs an honest {@link ReplicaCore} underneath (so its
 * lies are about real, current sequence numbers and batches) and passes what
 * that core wants to send through its behaviours, which may drop, alter,
 * delay, duplicate or add messages, and act on their own at every Byzantine
 * tick. Behaviours never touch the network or other nodes except through
 * {@link ByzContext}, which sends as the replica itself (the channel
 * authenticates it) or, for impersonation, presents another identity (which
 * the receiving channel refuses).
 *
 * Adding a lie for a new protocol (view change, checkpoints, state
 * transfer): add a row with `needs: ['view-change']` etc.; it becomes
 * selectable once the feature is listed in PROTOCOL_FEATURES (gates.ts).
 */
import type { CoreCrypto } from '../core/crypto.js';
import type { ProtocolOptions } from '../core/options.js';
import { GENESIS_CHECKPOINT, primaryOf } from '../core/view-change.js';
import { bytesEqual, replicaId, type ClientId, type Digest, type ReplicaId } from '../core/ids.js';
import type {
  CheckpointCertificate,
  CheckpointManifest,
  NewViewMessage,
  PrePrepareMessage,
  ReplicaMessage,
  ReplyMessage,
  Request,
  Signature,
  StateSummaryMessage,
  ViewChangeMessage,
} from '../core/messages.js';
import { quorumSizes } from '../core/quorum.js';
import type { ReplicaStatus } from '../core/replica.js';
import { ORDINAL_MAX, requestNo, seqNo, view as toView, type SeqNo, type View } from '../core/ordering.js';
import { encodeMessage } from '../wire/codec.js';
import {
  AGREEMENT_TAGS,
  BATCH_COUNT_OFFSET,
  checkpointBy,
  commitBy,
  viewChangeBy,
  prepareBy,
  prePrepareBy,
  SEQ_LO_OFFSET,
  TAG_PRE_PREPARE,
  VIEW_LO_OFFSET,
  withBatch,
  withDigest,
} from './core-api.js';
import type { Micros } from './event-queue.js';
import { MS } from './event-queue.js';
import { PROTOCOL_FEATURES, type ProtocolFeature } from './gates.js';
import type { Rng } from './rng.js';
import { encodeOperation, KEYS } from './service.js';

/** A message a Byzantine replica is about to send to one replica. */
export interface Out {
  readonly to: ReplicaId;
  readonly message: ReplicaMessage;
  /** Extra delay before it goes on the wire. */
  readonly delay: Micros;
}

/** A reply a Byzantine replica is about to send to a client session. */
export interface Rep {
  readonly clientId: ClientId;
  readonly message: ReplyMessage;
}

/** An equivocating primary's split of one sequence number, shared with its accomplices. */
export interface Split {
  readonly view: View;
  readonly seq: SeqNo;
  readonly groups: readonly { readonly targets: readonly ReplicaId[]; readonly digest: Digest }[];
}

/** The Byzantine replicas of a run act together (the worst case). */
export class Coalition {
  readonly splits = new Map<number, Split>();
  /** Replicas a `hook-state-transfer` liar sent an unsolicited summary while they were behind it, and the checkpoint. */
  readonly hooked = new Map<ReplicaId, SeqNo>();
  private readonly listeners: ((split: Split) => void)[] = [];

  announce(split: Split): void {
    this.splits.set(split.seq, split);
    for (const listener of this.listeners) listener(split);
  }

  onSplit(listener: (split: Split) => void): void {
    this.listeners.push(listener);
  }
}

/** What a behaviour may see and do. */
export interface ByzContext {
  readonly self: ReplicaId;
  readonly n: number;
  readonly f: number;
  readonly rng: Rng;
  readonly coalition: Coalition;
  now(): Micros;
  /** The honest core underneath: current view, window. */
  status(): ReplicaStatus;
  isPrimary(): boolean;
  /** Its own signer (it cannot sign as another replica). */
  readonly crypto: CoreCrypto;
  readonly options: ProtocolOptions;
  batchDigest(requests: readonly Request[]): Digest;
  /** Sends as itself, bypassing its behaviours. */
  send(to: ReplicaId, message: ReplicaMessage, delay?: Micros): void;
  /** Sends raw bytes as itself to any endpoint (replica or client). */
  sendBytes(to: number, bytes: Uint8Array, delay?: Micros): void;
  /** Sends raw bytes presenting identity `claimed` (refused by the receiver's channel). */
  sendAs(claimed: number, to: number, bytes: Uint8Array): void;
  /** Sends a reply to the client endpoint owning `clientId`, if known. */
  reply(clientId: ClientId, message: ReplyMessage): void;
  /** Runs `action` after `delay`. */
  after(delay: Micros, action: () => void): void;
  /** Counts one Byzantine action of `behaviour`. */
  action(behaviour: string): void;
  /** Client requests it received (most recent last). */
  readonly recentRequests: readonly Request[];
  /** Replica frames it received or sent (most recent last). */
  readonly recentFrames: readonly Uint8Array[];
  /** Client endpoints and the session ids of correct clients. */
  readonly clientEndpoints: readonly number[];
  readonly clientSessions: readonly ClientId[];
  /** A request no client sent (valid encoding, plausible client id). */
  forgeRequest(): Request;
  /**
   * The latest request a client sent it directly whose signature does not
   * verify (a Byzantine client's, generator 6), if any: a client did send
   * it, and backups it reached directly accept it (A3), so a Byzantine
   * primary may propose it.
   */
  badlySignedRequest(): Request | undefined;
  /** Chunk `index` of its own kept image of checkpoint `seq`, if any. */
  imageChunk(seq: SeqNo, index: number): Uint8Array | undefined;
  /** The manifest of its own kept image of checkpoint `seq`, if any. */
  imageManifest(seq: SeqNo): CheckpointManifest | undefined;
}

export interface ReplicaBehaviour {
  onSend?(outs: Out[]): Out[];
  onReply?(reps: Rep[]): Rep[];
  onReceive?(from: ReplicaId, message: ReplicaMessage): void;
  onTick?(): void;
}

export type Role = 'primary' | 'backup' | 'any';

export interface ReplicaBehaviourSpec {
  readonly name: string;
  readonly role: Role;
  /** Protocol features whose messages it lies about. */
  readonly needs: readonly ProtocolFeature[];
  /** False: implemented, but the core cannot defend against it yet (see gates.ts). */
  readonly gate: boolean;
  /**
   * Only a mutant's bias selects it: drawing it at random too would change
   * what every seed means (scenario.ts, GENERATOR_VERSION).
   */
  readonly biasOnly?: boolean;
  /**
   * The scenario generator version that added it (3, 4, ...): drawn from that
   * version's own random stream, after and on top of the others (scenario.ts,
   * lateDraws), so adding it left what earlier draws contain unchanged.
   */
  readonly late?: number;
  readonly weight: number;
  readonly description: string;
  /**
   * Builds it for one replica. `variant` (from a name like `withhold:subset`)
   * pins a choice the behaviour otherwise draws at random; mutant biases use it.
   */
  readonly make: (ctx: ByzContext, variant?: string) => ReplicaBehaviour;
}

// --- helpers ------------------------------------------------------------------

const sameRequest = (a: Request, b: Request): boolean =>
  a.clientId === b.clientId && a.requestNo === b.requestNo && bytesEqual(a.operation, b.operation);

function randomDigest(ctx: ByzContext): Digest {
  return ctx.rng.bytes(32);
}

/**
 * A different batch of plausible requests for the same slot: reordered,
 * shortened, or with a request from elsewhere (another pending or an already
 * ordered one). Undefined if no different batch can be made.
 */
export function alternativeBatch(ctx: ByzContext, requests: readonly Request[]): Request[] | undefined {
  const r = ctx.rng;
  const others = ctx.recentRequests.filter((x) => !requests.some((y) => sameRequest(x, y)));
  const variants: (() => Request[])[] = [];
  if (requests.length >= 2) {
    variants.push(() => [...requests].reverse());
    variants.push(() => requests.slice(0, -1));
    variants.push(() => requests.slice(1));
  }
  if (others.length > 0) {
    variants.push(() => [r.pick(others)]);
    if (requests.length >= 2) variants.push(() => [...requests.slice(0, -1), r.pick(others)]);
  }
  if (variants.length === 0) return undefined;
  const batch = r.pick(variants)();
  return batch.length > 0 ? batch : undefined;
}

/** Splits `targets` into two non-empty groups (balanced or lopsided). */
function split<T>(r: Rng, targets: readonly T[]): [T[], T[]] | undefined {
  if (targets.length < 2) return undefined;
  const shuffled = r.shuffled(targets);
  const cut = r.chance(0.5) ? Math.floor(shuffled.length / 2) : r.int(1, shuffled.length - 1);
  return [shuffled.slice(0, cut), shuffled.slice(cut)];
}

/** Outgoing PRE-PREPAREs grouped by message (one send effect = one group). */
function prePrepareGroups(outs: readonly Out[]): Map<PrePrepareMessage, Out[]> {
  const groups = new Map<PrePrepareMessage, Out[]>();
  for (const out of outs) {
    if (out.message.type !== 'pre-prepare') continue;
    let group = groups.get(out.message);
    if (group === undefined) {
      group = [];
      groups.set(out.message, group);
    }
    group.push(out);
  }
  return groups;
}

const isVote = (m: ReplicaMessage): boolean => m.type === 'prepare' || m.type === 'commit';

/** Every replica but itself. */
const others = (ctx: ByzContext): ReplicaId[] => [...Array(ctx.n).keys()].filter((i) => i !== ctx.self) as ReplicaId[];

// --- behaviours -----------------------------------------------------------------

const silent: ReplicaBehaviourSpec = {
  name: 'silent',
  role: 'any',
  needs: [],
  gate: true,
  weight: 3,
  description: 'says nothing: to anyone, to replicas only, to clients only, or to a fixed subset of peers',
  make(ctx, variant) {
    const modes = ['all', 'replicas', 'clients', 'subset'] as const;
    const mode = modes.find((m) => m === variant) ?? ctx.rng.pick(modes);
    const muted = new Set(ctx.rng.sample([...Array(ctx.n).keys()], ctx.rng.int(1, ctx.n - 1)));
    return {
      onSend(outs) {
        if (mode === 'clients') return outs;
        const kept = mode === 'subset' ? outs.filter((o) => !muted.has(o.to)) : [];
        for (let i = kept.length; i < outs.length; i++) ctx.action('silent');
        return kept;
      },
      onReply(reps) {
        if (mode === 'replicas' || mode === 'subset') return reps;
        for (let i = 0; i < reps.length; i++) ctx.action('silent');
        return [];
      },
    };
  },
};

const equivocate: ReplicaBehaviourSpec = {
  name: 'equivocate',
  role: 'primary',
  needs: [],
  gate: true,
  weight: 4,
  description:
    'primary: sends different (well-formed) batches for one sequence number to two groups of backups, and commits each group\'s digest to it',
  make(ctx) {
    const p = ctx.rng.pick([0.3, 0.7, 1]);
    return {
      onSend(outs) {
        if (!ctx.isPrimary()) return outs;
        const result = outs.filter((o) => o.message.type !== 'pre-prepare');
        for (const [m, group] of prePrepareGroups(outs)) {
          const alt = ctx.rng.chance(p) ? alternativeBatch(ctx, m.requests) : undefined;
          const groups = alt === undefined ? undefined : split(ctx.rng, group.map((o) => o.to));
          if (alt === undefined || groups === undefined) {
            result.push(...group);
            continue;
          }
          const other = withBatch(ctx.crypto, m, alt, ctx.batchDigest(alt));
          const [first, second] = groups;
          for (const to of first) result.push({ to, message: m, delay: 0 });
          for (const to of second) result.push({ to, message: other, delay: 0 });
          const sides = [
            { targets: first, digest: m.digest },
            { targets: second, digest: other.digest },
          ];
          ctx.coalition.announce({ view: m.view, seq: m.seq, groups: sides });
          for (const side of sides) {
            for (const to of side.targets) {
              ctx.send(to, commitBy(ctx.crypto, m.view, m.seq, side.digest), ctx.rng.int(0, 2 * MS));
            }
          }
          ctx.action('equivocate');
        }
        return result;
      },
    };
  },
};

const withhold: ReplicaBehaviourSpec = {
  name: 'withhold',
  role: 'primary',
  needs: [],
  gate: true,
  weight: 2,
  description: 'primary: withholds PRE-PREPAREs from everyone, from a fixed subset of backups, or intermittently',
  make(ctx, variant) {
    const modes = ['all', 'subset', 'intermittent'] as const;
    const mode = modes.find((m) => m === variant) ?? ctx.rng.pick(modes);
    const starved = new Set(ctx.rng.sample([...Array(ctx.n).keys()], ctx.rng.int(1, ctx.n - 1)));
    return {
      onSend(outs) {
        if (!ctx.isPrimary()) return outs;
        return outs.filter((o) => {
          if (o.message.type !== 'pre-prepare') return true;
          const drop = mode === 'all' || (mode === 'subset' ? starved.has(o.to) : ctx.rng.chance(0.5));
          if (drop) ctx.action('withhold');
          return !drop;
        });
      },
    };
  },
};

const delayProposals: ReplicaBehaviourSpec = {
  name: 'delay-proposals',
  role: 'primary',
  needs: [],
  gate: true,
  weight: 2,
  description: 'primary: holds each PRE-PREPARE back for 10-400 ms (per backup), so proposals arrive late and out of order',
  make(ctx) {
    return {
      onSend(outs) {
        if (!ctx.isPrimary()) return outs;
        return outs.map((o) => {
          if (o.message.type !== 'pre-prepare') return o;
          ctx.action('delay-proposals');
          return { ...o, delay: o.delay + ctx.rng.int(10, 400) * MS };
        });
      },
    };
  },
};

const forgeRequests: ReplicaBehaviourSpec = {
  name: 'forge-requests',
  role: 'primary',
  needs: ['client-authentication'],
  gate: true,
  weight: 2,
  description:
    'primary: adds a request no client sent to its batches (consistently, with a matching digest), or a badly signed one a Byzantine client sent it',
  make(ctx) {
    return {
      onSend(outs) {
        if (!ctx.isPrimary()) return outs;
        const result = outs.filter((o) => o.message.type !== 'pre-prepare');
        for (const [m, group] of prePrepareGroups(outs)) {
          // A Byzantine client's badly signed request, when it has one, half the time (no draw otherwise).
          const bad = ctx.badlySignedRequest();
          const added = bad !== undefined && ctx.rng.chance(0.5) ? bad : ctx.forgeRequest();
          const requests = [...m.requests, added];
          const forged = withBatch(ctx.crypto, m, requests, ctx.batchDigest(requests));
          for (const o of group) result.push({ ...o, message: forged });
          ctx.action('forge-requests');
        }
        return result;
      },
    };
  },
};

const badDigest: ReplicaBehaviourSpec = {
  name: 'bad-digest',
  role: 'primary',
  needs: [],
  gate: true,
  weight: 3,
  description:
    'primary: sends some backups a PRE-PREPARE whose digest does not match its batch (a different batch under the real digest, or a random digest)',
  make(ctx) {
    const p = ctx.rng.pick([0.3, 0.7, 1]);
    return {
      onSend(outs) {
        if (!ctx.isPrimary()) return outs;
        const result = outs.filter((o) => o.message.type !== 'pre-prepare');
        for (const [m, group] of prePrepareGroups(outs)) {
          const alt = alternativeBatch(ctx, m.requests);
          const liars = new Set(ctx.rng.sample(group.map((o) => o.to), ctx.rng.int(1, group.length)));
          for (const o of group) {
            if (!liars.has(o.to) || !ctx.rng.chance(p)) {
              result.push(o);
              continue;
            }
            const bad =
              alt !== undefined && ctx.rng.chance(0.8)
                ? withBatch(ctx.crypto, m, alt, m.digest)
                : withBatch(ctx.crypto, m, m.requests, randomDigest(ctx));
            result.push({ ...o, message: bad });
            ctx.action('bad-digest');
          }
        }
        return result;
      },
    };
  },
};

const wrongVotes: ReplicaBehaviourSpec = {
  name: 'wrong-votes',
  role: 'any',
  needs: [],
  gate: true,
  weight: 3,
  description: 'votes (PREPARE / COMMIT) for digests of no batch or of another batch, possibly different ones to different replicas',
  make(ctx) {
    const p = ctx.rng.pick([0.2, 0.6, 1]);
    return {
      onSend(outs) {
        return outs.map((o) => {
          const m = o.message;
          if ((m.type !== 'prepare' && m.type !== 'commit') || !ctx.rng.chance(p)) return o;
          ctx.action('wrong-votes');
          return { ...o, message: withDigest(ctx.crypto, m, randomDigest(ctx)) };
        });
      },
    };
  },
};

const impersonate: ReplicaBehaviourSpec = {
  name: 'impersonate',
  role: 'any',
  needs: [],
  gate: true,
  weight: 2,
  description:
    'sends frames claiming another replica\'s identity (a PRE-PREPARE "from the primary", votes, replies to clients); the channel must refuse them',
  make(ctx) {
    return {
      onTick() {
        if (!ctx.rng.chance(0.5)) return;
        const r = ctx.rng;
        const others = [...Array(ctx.n).keys()].filter((i) => i !== ctx.self) as ReplicaId[];
        const victim = r.pick(others);
        const st = ctx.status();
        const seq = seqNo(st.lastDelivered + r.int(1, 3));
        const kind = r.int(0, 3);
        if (kind === 3 && ctx.clientSessions.length > 0) {
          const clientId = r.pick(ctx.clientSessions);
          const reply: ReplyMessage = { type: 'reply', view: st.view, clientId, requestNo: requestNo(r.int(1, 2_000_000)), result: r.bytes(12) };
          ctx.sendAs(victim, r.pick(ctx.clientEndpoints), encodeMessage(reply));
        } else {
          let message: ReplicaMessage;
          // (signed by itself: it cannot sign as the victim, and the channel gives it away anyway)
          if (kind === 0) message = prePrepareBy(ctx.crypto, st.view, seq, [ctx.forgeRequest()]);
          else if (kind === 1) message = prepareBy(ctx.crypto, st.view, seq, randomDigest(ctx));
          else message = commitBy(ctx.crypto, st.view, seq, randomDigest(ctx));
          const targets = others.filter((i) => i !== victim);
          if (targets.length === 0) return;
          ctx.sendAs(victim, r.pick(targets), encodeMessage(message));
        }
        ctx.action('impersonate');
      },
    };
  },
};

const replay: ReplicaBehaviourSpec = {
  name: 'replay',
  role: 'any',
  needs: [],
  gate: true,
  weight: 3,
  description: 'replays old frames (received or its own) as itself, some with their view moved or their sequence number moved back',
  make(ctx) {
    return {
      onTick() {
        const r = ctx.rng;
        if (ctx.recentFrames.length === 0 || !r.chance(0.6)) return;
        const bytes = r.pick(ctx.recentFrames);
        const others = [...Array(ctx.n).keys()].filter((i) => i !== ctx.self) as ReplicaId[];
        const to = r.pick(others);
        // Byte 1 is the type tag; view and seq are the u64s after it for agreement messages.
        if (bytes.length >= SEQ_LO_OFFSET + 4 && AGREEMENT_TAGS.has(bytes[1] as number) && r.chance(0.5)) {
          const copy = bytes.slice();
          const view = new DataView(copy.buffer);
          if (r.chance(0.5)) {
            view.setUint32(VIEW_LO_OFFSET, view.getUint32(VIEW_LO_OFFSET) + r.int(1, 3)); // a future view
          } else {
            const seq = view.getUint32(SEQ_LO_OFFSET);
            view.setUint32(SEQ_LO_OFFSET, Math.max(0, seq - r.int(1, 5))); // an older sequence number
          }
          ctx.sendBytes(to, copy);
        } else {
          ctx.sendBytes(to, bytes);
        }
        ctx.action('replay');
      },
    };
  },
};

const garbage: ReplicaBehaviourSpec = {
  name: 'garbage',
  role: 'any',
  needs: [],
  gate: true,
  weight: 2,
  description: 'sends garbage: random bytes, truncated or bit-flipped frames, wrong versions, client message types, absurd lengths',
  make(ctx) {
    return {
      onTick() {
        const r = ctx.rng;
        if (!r.chance(0.5)) return;
        const endpoints = [...Array(ctx.n).keys()].filter((i) => i !== ctx.self);
        if (ctx.clientEndpoints.length > 0 && r.chance(0.2)) endpoints.push(r.pick(ctx.clientEndpoints));
        const to = r.pick(endpoints);
        const base = ctx.recentFrames.length > 0 ? r.pick(ctx.recentFrames) : r.bytes(40);
        let bytes: Uint8Array;
        switch (r.int(0, 6)) {
          case 0:
            bytes = r.bytes(r.int(0, 64));
            break;
          case 1:
            bytes = base.slice(0, r.int(0, Math.max(0, base.length - 1)));
            break;
          case 2: {
            bytes = base.slice();
            for (let i = r.int(1, 4); i > 0 && bytes.length > 0; i--) {
              const at = r.int(0, bytes.length - 1);
              bytes[at] = (bytes[at] as number) ^ (1 << r.int(0, 7));
            }
            break;
          }
          case 3:
            bytes = base.slice();
            if (bytes.length > 0) bytes[0] = r.int(2, 255); // unknown version
            break;
          case 4: {
            // a request on a replica channel (or to a client)
            bytes = encodeMessage({ type: 'request', request: ctx.forgeRequest() });
            break;
          }
          case 5: {
            // a pre-prepare announcing a huge batch
            bytes = base.slice();
            if (bytes[1] === TAG_PRE_PREPARE && bytes.length >= BATCH_COUNT_OFFSET + 4) {
              new DataView(bytes.buffer).setUint32(BATCH_COUNT_OFFSET, 0xffffffff);
            } else {
              bytes = new Uint8Array([1, TAG_PRE_PREPARE, ...r.bytes(60)]);
            }
            break;
          }
          default:
            bytes = new Uint8Array([...base, ...r.bytes(r.int(1, 8))]); // trailing bytes
        }
        ctx.sendBytes(to, bytes);
        ctx.action('garbage');
      },
    };
  },
};

const fakePrePrepare: ReplicaBehaviourSpec = {
  name: 'fake-pre-prepare',
  role: 'backup',
  needs: [],
  gate: true,
  weight: 3,
  description:
    'a backup that sends its own PRE-PREPAREs (forged requests or a reshuffle of real ones) for the next sequence numbers, racing the primary',
  make(ctx) {
    const fake = (seq: SeqNo, view: View): void => {
      const r = ctx.rng;
      let requests: Request[] | undefined;
      if (r.chance(0.5) && ctx.recentRequests.length > 0) {
        requests = alternativeBatch(ctx, ctx.recentRequests.slice(-3));
      }
      requests ??= [ctx.forgeRequest()];
      const message = prePrepareBy(ctx.crypto, view, seq, requests);
      const others = [...Array(ctx.n).keys()].filter((i) => i !== ctx.self) as ReplicaId[];
      const targets = r.chance(0.5) ? others : r.sample(others, r.int(1, others.length));
      for (const to of targets) ctx.send(to, message, r.int(0, 500));
      // and votes for it, as a colluding primary would
      for (const to of targets) ctx.send(to, prepareBy(ctx.crypto, view, seq, message.digest), r.int(0, 1000));
      for (const to of targets) ctx.send(to, commitBy(ctx.crypto, view, seq, message.digest), r.int(0, 1000));
      ctx.action('fake-pre-prepare');
    };
    let highest = 0;
    return {
      onReceive(from, message) {
        // Races the real primary's next proposals (once per sequence number; never echoing fakes).
        if (message.type !== 'pre-prepare' || from !== ctx.status().primary || message.seq <= highest) return;
        highest = message.seq;
        if (!ctx.rng.chance(0.7)) return;
        for (let k = 1, count = ctx.rng.int(1, 3); k <= count; k++) fake(seqNo(message.seq + k), message.view);
      },
      onTick() {
        if (!ctx.rng.chance(0.3)) return;
        const st = ctx.status();
        fake(seqNo(st.lastDelivered + ctx.rng.int(1, 2)), st.view);
      },
    };
  },
};

const lieToClients: ReplicaBehaviourSpec = {
  name: 'lie-to-clients',
  role: 'any',
  needs: [],
  gate: true,
  weight: 3,
  description: 'answers clients with wrong results, and sends unsolicited replies for sessions and request numbers it guesses',
  make(ctx) {
    return {
      onReply(reps) {
        return reps.map((rep) => {
          if (!ctx.rng.chance(0.7)) return rep;
          ctx.action('lie-to-clients');
          return { ...rep, message: { ...rep.message, result: ctx.rng.bytes(ctx.rng.chance(0.8) ? 12 : ctx.rng.int(0, 20)) } };
        });
      },
      onTick() {
        if (ctx.clientSessions.length === 0 || ctx.recentRequests.length === 0 || !ctx.rng.chance(0.5)) return;
        const r = ctx.rng.pick(ctx.recentRequests);
        const no = requestNo(Math.min(ORDINAL_MAX, r.requestNo + ctx.rng.int(0, 2)));
        ctx.reply(r.clientId, { type: 'reply', view: ctx.status().view, clientId: r.clientId, requestNo: no, result: ctx.rng.bytes(12) });
        ctx.action('lie-to-clients');
      },
    };
  },
};

const duplicateVotes: ReplicaBehaviourSpec = {
  name: 'duplicate-votes',
  role: 'any',
  needs: [],
  gate: true,
  weight: 2,
  description: 'sends every PREPARE and COMMIT several times (vote stuffing)',
  make(ctx) {
    return {
      onSend(outs) {
        const result: Out[] = [];
        for (const o of outs) {
          result.push(o);
          if (!isVote(o.message)) continue;
          for (let i = ctx.rng.int(1, 3); i > 0; i--) result.push({ ...o, delay: o.delay + ctx.rng.int(0, 5 * MS) });
          ctx.action('duplicate-votes');
        }
        return result;
      },
    };
  },
};

const collude: ReplicaBehaviourSpec = {
  name: 'collude',
  role: 'backup',
  needs: [],
  gate: true,
  weight: 2,
  description:
    'a backup that backs an equivocating Byzantine primary: PREPARE and COMMIT (repeated) for each side\'s digest to that side, and no honest vote on split slots',
  make(ctx) {
    ctx.coalition.onSplit((s) => {
      for (const side of s.groups) {
        for (const to of side.targets) {
          if (to === ctx.self) continue;
          for (let i = ctx.rng.int(1, 3); i > 0; i--) {
            ctx.send(to, prepareBy(ctx.crypto, s.view, s.seq, side.digest), ctx.rng.int(0, MS));
            ctx.send(to, commitBy(ctx.crypto, s.view, s.seq, side.digest), ctx.rng.int(0, MS));
          }
        }
      }
      ctx.action('collude');
    });
    return {
      onSend(outs) {
        return outs.filter((o) => {
          const m = o.message;
          return !((m.type === 'prepare' || m.type === 'commit') && ctx.coalition.splits.has(m.seq));
        });
      },
    };
  },
};

const lieCheckpoint: ReplicaBehaviourSpec = {
  name: 'lie-checkpoint',
  role: 'any',
  needs: ['checkpoints'],
  gate: true,
  weight: 2,
  description:
    'CHECKPOINTs with wrong state digests (different ones to different replicas), and unprompted ones for future or off-interval sequence numbers',
  make(ctx) {
    const p = ctx.rng.pick([0.3, 1]);
    return {
      onSend(outs) {
        return outs.map((o) => {
          const m = o.message;
          if (m.type !== 'checkpoint' || !ctx.rng.chance(p)) return o;
          ctx.action('lie-checkpoint');
          return { ...o, message: checkpointBy(ctx.crypto, m.seq, randomDigest(ctx)) };
        });
      },
      onTick() {
        const r = ctx.rng;
        if (!r.chance(0.1)) return;
        const interval = ctx.options.checkpointInterval;
        const base = Math.floor(ctx.status().lastDelivered / interval);
        const seq = seqNo(r.chance(0.8) ? (base + r.int(1, 3)) * interval : base * interval + r.int(1, Math.max(1, interval - 1)));
        if (seq === 0) return;
        const message = checkpointBy(ctx.crypto, seq, randomDigest(ctx));
        for (const to of others(ctx)) ctx.send(to, message, r.int(0, MS));
        ctx.action('lie-checkpoint');
      },
    };
  },
};

/**
 * A lie in place of its honest core's STATE-SUMMARY: its own (real, older)
 * image claimed for a later checkpoint only it signed, or a manifest that is
 * not the signed one.
 */
function lyingSummary(ctx: ByzContext, m: StateSummaryMessage, claimed: Map<SeqNo, SeqNo>): StateSummaryMessage {
  if (m.checkpoint.seq > 0 && ctx.rng.chance(0.5)) {
    const interval = ctx.options.checkpointInterval;
    const seq = seqNo((Math.floor(Math.max(m.lastDelivered, m.checkpoint.seq) / interval) + ctx.rng.int(1, 3)) * interval);
    claimed.set(seq, m.checkpoint.seq); // it serves that image's chunks as the claimed checkpoint's
    const own = checkpointBy(ctx.crypto, seq, m.checkpoint.stateDigest);
    const checkpoint = { seq, stateDigest: m.checkpoint.stateDigest, signatures: [{ replica: ctx.self, signature: own.signature }] };
    return { ...m, checkpoint, lastDelivered: seqNo(seq + ctx.rng.int(0, interval)) };
  }
  return { ...m, manifest: { ...m.manifest, chunkDigests: m.manifest.chunkDigests.map(() => randomDigest(ctx)) } };
}

const lieStateTransfer: ReplicaBehaviourSpec = {
  name: 'lie-state-transfer',
  role: 'any',
  needs: ['state-transfer'],
  gate: true,
  late: 3,
  weight: 3,
  description:
    'serves corrupted chunks, STATE-SUMMARYs with a checkpoint only it signed or a manifest that is not the signed one, and LOG-ENTRIES naming batches nobody delivered',
  make(ctx) {
    const p = ctx.rng.pick([0.3, 1]);
    /** Checkpoints it claimed -> the real one whose image it passes off as theirs. */
    const claimed = new Map<SeqNo, SeqNo>();
    return {
      onReceive(from, m) {
        if (m.type !== 'chunk-request') return;
        const real = claimed.get(m.seq);
        const bytes = real === undefined ? undefined : ctx.imageChunk(real, m.index);
        if (bytes === undefined) return;
        ctx.send(from, { type: 'chunk', seq: m.seq, index: m.index, bytes });
        ctx.action('lie-state-transfer');
      },
      onSend(outs) {
        return outs.map((o) => {
          const m = o.message;
          if (!ctx.rng.chance(p)) return o;
          switch (m.type) {
            case 'chunk': {
              const bytes = m.bytes.slice();
              const at = ctx.rng.int(0, Math.max(0, bytes.length - 1));
              if (bytes.length > 0) bytes[at] = (bytes[at] as number) ^ 0xff;
              ctx.action('lie-state-transfer');
              return { ...o, message: { ...m, bytes: bytes.length > 0 ? bytes : ctx.rng.bytes(8) } };
            }
            case 'state-summary':
              ctx.action('lie-state-transfer');
              return { ...o, message: lyingSummary(ctx, m, claimed) };
            case 'log-entries': {
              ctx.action('lie-state-transfer');
              const batches = m.batches.map((b) => ({ seq: b.seq, requests: alternativeBatch(ctx, b.requests) ?? [ctx.forgeRequest()] }));
              return { ...o, message: { type: 'log-entries', batches } };
            }
            default:
              return o;
          }
        });
      },
      onTick() {
        const r = ctx.rng;
        if (!r.chance(0.05)) return;
        // Unprompted: LOG-ENTRIES for the next sequence numbers, with batches of its own making.
        const from = ctx.status().lastDelivered;
        const batches = Array.from({ length: r.int(1, 3) }, (_, i) => ({ seq: seqNo(from + 1 + i), requests: [ctx.forgeRequest()] }));
        for (const to of others(ctx)) ctx.send(to, { type: 'log-entries', batches }, r.int(0, MS));
        ctx.action('lie-state-transfer');
      },
    };
  },
};

/** A lie told in (or instead of) its honest core's VIEW-CHANGE. */
function lyingViewChange(ctx: ByzContext, vc: ViewChangeMessage, hideOnly: boolean): ViewChangeMessage {
  const r = ctx.rng;
  switch (hideOnly ? 0 : r.int(0, 4)) {
    case 0: // hides its prepared certificates (a valid VIEW-CHANGE: the protocol must not need them)
      return viewChangeBy(ctx.crypto, vc.replica, vc.newView, vc.checkpoint, []);
    case 1: {
      // a certificate whose batch was swapped (digest no longer matches)
      const [first, ...rest] = vc.prepared;
      if (first === undefined) return viewChangeBy(ctx.crypto, vc.replica, vc.newView, vc.checkpoint, []);
      const alt = alternativeBatch(ctx, first.prePrepare.requests) ?? [ctx.forgeRequest()];
      const tampered = { ...first, prePrepare: { ...first.prePrepare, requests: alt } };
      return viewChangeBy(ctx.crypto, vc.replica, vc.newView, vc.checkpoint, [tampered, ...rest]);
    }
    case 2: {
      // a checkpoint certificate only it signed, for a state nobody has
      const seq = seqNo((Math.floor(ctx.status().lastDelivered / ctx.options.checkpointInterval) + 1) * ctx.options.checkpointInterval);
      const stateDigest = randomDigest(ctx);
      const own = checkpointBy(ctx.crypto, seq, stateDigest);
      return viewChangeBy(ctx.crypto, vc.replica, vc.newView, { seq, stateDigest, signatures: [{ replica: ctx.self, signature: own.signature }] }, vc.prepared);
    }
    case 3: // names another replica as its author
      return viewChangeBy(ctx.crypto, r.pick(others(ctx)), vc.newView, vc.checkpoint, vc.prepared);
    default: // a certificate with its PREPARE signatures cut to one
      return viewChangeBy(
        ctx.crypto,
        vc.replica,
        vc.newView,
        vc.checkpoint,
        vc.prepared.map((c) => ({ ...c, prepares: c.prepares.slice(0, 1) })),
      );
  }
}

const lieViewChange: ReplicaBehaviourSpec = {
  name: 'lie-view-change',
  role: 'any',
  needs: ['view-change'],
  gate: true,
  weight: 3,
  description:
    'VIEW-CHANGEs that hide its prepared certificates, carry tampered certificates or a checkpoint only it signed, or name another replica; and votes for views nobody else wants',
  make(ctx, variant) {
    const hideOnly = variant === 'hide';
    return {
      onSend(outs) {
        const lies = new Map<ViewChangeMessage, ViewChangeMessage>();
        return outs.map((o) => {
          const m = o.message;
          if (m.type !== 'view-change') return o;
          let lie = lies.get(m);
          if (lie === undefined) {
            lie = lyingViewChange(ctx, m, hideOnly);
            lies.set(m, lie);
            ctx.action('lie-view-change');
          }
          return { ...o, message: ctx.rng.chance(0.3) ? lyingViewChange(ctx, m, hideOnly) : lie }; // sometimes a different lie per replica
        });
      },
      onTick() {
        const r = ctx.rng;
        if (!r.chance(0.03)) return;
        const newView = toView(ctx.status().view + r.int(1, 3));
        const message = viewChangeBy(ctx.crypto, ctx.self, newView, GENESIS_CHECKPOINT, []);
        for (const to of others(ctx)) ctx.send(to, message, r.int(0, MS));
        ctx.action('lie-view-change');
      },
    };
  },
};

const badNewView: ReplicaBehaviourSpec = {
  name: 'bad-new-view',
  role: 'primary',
  needs: ['view-change'],
  gate: true,
  weight: 3,
  description:
    "as a new view's primary: NEW-VIEWs that drop or replace a re-proposed batch or carry too few VIEW-CHANGEs, different ones to different backups",
  make(ctx) {
    const lie = (m: NewViewMessage): NewViewMessage => {
      const r = ctx.rng;
      const pps = m.prePrepares;
      switch (r.int(0, 2)) {
        case 0:
          if (pps.length > 0) return { ...m, prePrepares: pps.slice(0, -1) };
          return { ...m, viewChanges: m.viewChanges.slice(1) };
        case 1: {
          if (pps.length === 0) return { ...m, viewChanges: m.viewChanges.slice(1) };
          const i = r.int(0, pps.length - 1);
          const pp = pps[i] as PrePrepareMessage;
          const alt = pp.requests.length > 0 && r.chance(0.5) ? [] : (alternativeBatch(ctx, pp.requests) ?? []);
          const swapped = prePrepareBy(ctx.crypto, pp.view, pp.seq, alt);
          return { ...m, prePrepares: pps.map((x, j) => (j === i ? swapped : x)) };
        }
        default:
          return { ...m, viewChanges: m.viewChanges.slice(1) };
      }
    };
    return {
      onSend(outs) {
        const lies = new Map<NewViewMessage, NewViewMessage>();
        return outs.map((o) => {
          const m = o.message;
          if (m.type !== 'new-view' || !ctx.rng.chance(0.7)) return o;
          let l = lies.get(m);
          if (l === undefined) {
            l = lie(m);
            lies.set(m, l);
            ctx.action('bad-new-view');
          }
          return { ...o, message: l };
        });
      },
    };
  },
};

/** How often `orphan-commits` repeats its early VIEW-CHANGE (a lost one would spoil the attack). */
const EARLY_RESEND = 50 * MS;

/**
 * A primary that gets its batches committed at one correct backup only, then
 * tries to have the next view forget them (the `weak-view-change-quorum`
 * mutant's bias). Harmless against a view installed on a real quorum of
 * VIEW-CHANGEs: any quorum holds a certificate of every committed batch.
 */
const orphanCommits: ReplicaBehaviourSpec = {
  name: 'orphan-commits',
  role: 'primary',
  needs: ['view-change'],
  gate: true,
  biasOnly: true,
  weight: 2,
  description:
    "primary: lets one backup alone commit its batches (no PRE-PREPARE to the next primary, COMMITs to one backup), " +
    'sends the next primary an early VIEW-CHANGE without certificates, hides its own, and votes for what later primaries propose',
  make(ctx) {
    // As primary (of a view v = self mod n) the next primary is self + 1; the backup that gets its COMMITs is neither.
    const favoured = ((ctx.self + ctx.rng.int(2, Math.max(2, ctx.n - 1))) % ctx.n) as ReplicaId;
    const nextPrimary = ((ctx.self + 1) % ctx.n) as ReplicaId;
    let earlyFor = 0;
    let earlyAt = 0;
    /**
     * Slots of later primaries it voted on ("view:seq" -> digest; bounded). It votes itself because its
     * honest core refuses a NEW-VIEW without a quorum, and the new view needs its vote to commit.
     */
    const voted = new Map<string, Digest>();
    const vote = (v: View, s: SeqNo, digest: Digest, to: readonly ReplicaId[]): void => {
      const prepare = prepareBy(ctx.crypto, v, s, digest);
      const commit = commitBy(ctx.crypto, v, s, digest);
      for (const r of to) {
        ctx.send(r, prepare);
        ctx.send(r, commit);
      }
    };
    const backPrePrepare = (from: ReplicaId, m: PrePrepareMessage): void => {
      if (from !== primaryOf(m.view, ctx.n)) return;
      const key = `${m.view}:${m.seq}`;
      const known = voted.get(key);
      if (known !== undefined) {
        // A retransmitted proposal: the primary may have lost our votes.
        if (bytesEqual(known, m.digest)) vote(m.view, m.seq, known, [from]);
        return;
      }
      voted.set(key, m.digest);
      if (voted.size > 256) voted.delete(voted.keys().next().value as string);
      vote(m.view, m.seq, m.digest, others(ctx));
      ctx.action('orphan-commits');
    };
    return {
      onSend(outs) {
        const primary = ctx.isPrimary();
        const kept: Out[] = [];
        for (const o of outs) {
          const m = o.message;
          if (primary && m.type === 'pre-prepare' && o.to === nextPrimary) continue;
          if (primary && m.type === 'commit' && o.to !== favoured) continue;
          if (m.type === 'view-change' && m.prepared.length > 0) {
            kept.push({ ...o, message: viewChangeBy(ctx.crypto, m.replica, m.newView, m.checkpoint, []) });
            continue;
          }
          kept.push(o);
        }
        if (kept.length < outs.length) ctx.action('orphan-commits');
        return kept;
      },
      onReceive(from, m) {
        if (m.type === 'pre-prepare') backPrePrepare(from, m);
        else if (m.type === 'new-view' && from === primaryOf(m.view, ctx.n)) for (const pp of m.prePrepares) backPrePrepare(from, pp);
        else if (m.type === 'prepare' || m.type === 'commit') {
          // A peer retransmitting its vote may have missed ours (it was still in the old view).
          const digest = voted.get(`${m.view}:${m.seq}`);
          if (digest !== undefined && bytesEqual(digest, m.digest)) vote(m.view, m.seq, digest, [from]);
        }
      },
      onTick() {
        // The next primary holds this vote before anyone else's, so a NEW-VIEW on few VIEW-CHANGEs picks it.
        // Sent again now and then in case it was lost (the receiver keeps the first it gets).
        const v = ctx.status().view + 1;
        const now = ctx.now();
        if (v === earlyFor && now - earlyAt < EARLY_RESEND) return;
        earlyFor = v;
        earlyAt = now;
        const to = primaryOf(toView(v), ctx.n);
        if (to === ctx.self) return;
        ctx.send(to, viewChangeBy(ctx.crypto, ctx.self, toView(v), GENESIS_CHECKPOINT, []));
        ctx.action('orphan-commits');
      },
    };
  },
};

const forwardForged: ReplicaBehaviourSpec = {
  name: 'forward-forged',
  role: 'backup',
  needs: ['client-authentication'],
  gate: true,
  weight: 2,
  description: 'forwards requests no client sent to the primary, as if they had timed out here',
  make(ctx) {
    return {
      onTick() {
        if (!ctx.rng.chance(0.2) || ctx.isPrimary()) return;
        ctx.send(ctx.status().primary, { type: 'forward', request: ctx.forgeRequest() });
        ctx.action('forward-forged');
      },
    };
  },
};

// --- generator 4: lies that withhold, and floods ------------------------------------

const hexOf = (d: Uint8Array): string => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('hex');

/**
 * The CHECKPOINT votes a replica sees (its own and verified received ones),
 * gathered into genuine certificates: a quorum of distinct signatures on one
 * (seq, state digest). Also remembers the highest checkpoint each replica
 * signed, i.e. how far it has shown it got.
 */
class CheckpointLedger {
  private readonly votes = new Map<SeqNo, Map<string, { readonly digest: Digest; readonly signatures: Map<ReplicaId, Signature> }>>();
  readonly reached = new Map<ReplicaId, SeqNo>();

  constructor(private readonly quorum: number) {}

  /** Records `replica`'s vote; the certificate if this vote completed one. */
  add(replica: ReplicaId, seq: SeqNo, digest: Digest, signature: Signature): CheckpointCertificate | undefined {
    if ((this.reached.get(replica) ?? 0) < seq) this.reached.set(replica, seq);
    let bySeq = this.votes.get(seq);
    if (bySeq === undefined) {
      bySeq = new Map();
      this.votes.set(seq, bySeq);
    }
    const key = hexOf(digest);
    let entry = bySeq.get(key);
    if (entry === undefined) {
      entry = { digest, signatures: new Map() };
      bySeq.set(key, entry);
    }
    if (entry.signatures.has(replica)) return undefined;
    entry.signatures.set(replica, signature);
    if (entry.signatures.size !== this.quorum) return undefined;
    for (const s of this.votes.keys()) if (s < seq) this.votes.delete(s);
    const signatures = [...entry.signatures].sort((a, b) => a[0] - b[0]).map(([r, sig]) => ({ replica: r, signature: sig }));
    return { seq, stateDigest: entry.digest, signatures };
  }

  /** Whether `replica` has not shown (by its CHECKPOINT) that it got to `seq`. */
  behind(replica: ReplicaId, seq: SeqNo): boolean {
    return (this.reached.get(replica) ?? 0) < seq;
  }
}

/** How often `hook-state-transfer` repeats its summary to a replica that has not shown it reached the checkpoint. */
const HOOK_RESEND: Micros = 20 * MS;

/**
 * Finding the core's unsolicited-summary hook: a genuine STATE-SUMMARY — a
 * real quorum-signed checkpoint certificate and the matching manifest of its
 * own image, its real view and progress — sent to replicas that never asked,
 * while they may be slightly behind that checkpoint. A replica that takes it
 * as its transfer target has the liar as its only source; the liar serves
 * no chunk (to anyone). It sends its own CHECKPOINT only to replicas that
 * have sent theirs (so a hooked one does not see the checkpoint become
 * stable from votes and ask the others), and in `starve` mode, once it hooked a
 * replica, withholds its CHECKPOINTs above that checkpoint and its
 * VIEW-CHANGEs (and, as a new primary, the NEW-VIEW that would carry one)
 * from everyone, so that no later checkpoint becomes stable at a correct
 * replica and no view change shows the hooked one a later stable checkpoint.
 */
const hookStateTransfer: ReplicaBehaviourSpec = {
  name: 'hook-state-transfer',
  role: 'any',
  needs: ['checkpoints', 'state-transfer'],
  gate: true,
  late: 4,
  weight: 2,
  description:
    'unsolicited genuine STATE-SUMMARYs (a quorum-signed certificate, its own matching manifest) to replicas that have not shown they ' +
    'reached that checkpoint; never serves a chunk; its CHECKPOINT only to replicas that sent theirs; `starve`: once it hooked one, ' +
    'no CHECKPOINT above that and no VIEW-CHANGE or NEW-VIEW',
  make(ctx, variant) {
    const modes = ['starve', 'only'] as const;
    const mode = modes.find((m) => m === variant) ?? (ctx.rng.chance(0.7) ? 'starve' : 'only');
    const ledger = new CheckpointLedger(quorumSizes(ctx.n, ctx.f).quorum);
    const hooked = ctx.coalition.hooked;
    /** The latest certificate it completed, and the one it can offer (its own image's manifest matches). */
    let latest: CheckpointCertificate | undefined;
    let offer: { readonly checkpoint: CheckpointCertificate; readonly manifest: CheckpointManifest } | undefined;
    const sentAt = new Map<ReplicaId, Micros>();
    const lowestHooked = (): number => {
      let low = Number.POSITIVE_INFINITY;
      for (const seq of hooked.values()) low = Math.min(low, seq);
      return low;
    };
    const starving = (): boolean => mode === 'starve' && hooked.size > 0;
    const certified = (cert: CheckpointCertificate | undefined): void => {
      if (cert !== undefined && (latest === undefined || cert.seq > latest.seq)) latest = cert;
    };
    const hook = (force: boolean): void => {
      if (latest !== undefined && (offer === undefined || offer.checkpoint.seq < latest.seq)) {
        const manifest = ctx.imageManifest(latest.seq);
        if (manifest !== undefined && bytesEqual(ctx.crypto.manifestDigest(manifest), latest.stateDigest)) offer = { checkpoint: latest, manifest };
      }
      if (offer === undefined) return;
      const seq = offer.checkpoint.seq;
      const st = ctx.status();
      const summary: StateSummaryMessage = {
        type: 'state-summary',
        view: st.view,
        viewActive: st.viewActive,
        checkpoint: offer.checkpoint,
        manifest: offer.manifest,
        lastDelivered: st.lastDelivered,
      };
      const now = ctx.now();
      for (const to of others(ctx)) {
        if (!ledger.behind(to, seq)) continue;
        if (!force && now - (sentAt.get(to) ?? Number.NEGATIVE_INFINITY) < HOOK_RESEND) continue;
        sentAt.set(to, now);
        ctx.send(to, summary);
        if (!hooked.has(to)) hooked.set(to, seq);
        ctx.action('hook-state-transfer');
      }
    };
    return {
      onReceive(from, m) {
        if (m.type !== 'checkpoint') return;
        if (!ctx.crypto.verify(from, { kind: 'checkpoint', seq: m.seq, stateDigest: m.stateDigest }, m.signature)) return;
        const was = hooked.get(from);
        if (was !== undefined && m.seq >= was) hooked.delete(from); // it got past the checkpoint after all
        const cert = ledger.add(from, m.seq, m.stateDigest, m.signature);
        certified(cert);
        if (cert !== undefined) hook(true);
      },
      onSend(outs) {
        const kept: Out[] = [];
        let completed = false;
        for (const o of outs) {
          const m = o.message;
          if (m.type === 'checkpoint') {
            const cert = ledger.add(ctx.self, m.seq, m.stateDigest, m.signature);
            certified(cert);
            completed ||= cert !== undefined;
            if (ledger.behind(o.to, m.seq) || (starving() && m.seq > lowestHooked())) {
              ctx.action('hook-state-transfer');
              continue;
            }
          } else if (m.type === 'chunk' || ((m.type === 'view-change' || m.type === 'new-view') && starving())) {
            ctx.action('hook-state-transfer');
            continue;
          }
          kept.push(o);
        }
        if (completed) hook(true);
        return kept;
      },
      onTick() {
        hook(false);
      },
    };
  },
};

const withholdCheckpoints: ReplicaBehaviourSpec = {
  name: 'withhold-checkpoints',
  role: 'any',
  needs: ['checkpoints', 'view-change'],
  gate: true,
  late: 4,
  weight: 1.5,
  description:
    'withholds its CHECKPOINTs, its VIEW-CHANGEs, or both (variants `checkpoints`, `view-changes`, `both`), from everyone or a fixed ' +
    'subset of replicas, from the start or from a random moment in the first 2 s on',
  make(ctx, variant) {
    const kinds = ['checkpoints', 'view-changes', 'both'] as const;
    const kind = kinds.find((k) => k === variant) ?? ctx.rng.pick(kinds);
    const from: Micros = ctx.rng.chance(0.5) ? 0 : ctx.rng.int(0, 2000) * MS;
    const subset = ctx.rng.chance(0.5) ? undefined : new Set(ctx.rng.sample(others(ctx), ctx.rng.int(1, ctx.n - 1)));
    return {
      onSend(outs) {
        if (ctx.now() < from) return outs;
        return outs.filter((o) => {
          const t = o.message.type;
          const hit = (t === 'checkpoint' && kind !== 'view-changes') || (t === 'view-change' && kind !== 'checkpoints');
          if (!hit || (subset !== undefined && !subset.has(o.to))) return true;
          ctx.action('withhold-checkpoints');
          return false;
        });
      },
    };
  },
};

/**
 * PRE-PREPAREs of one `flood-early` wave: this many log windows' worth (at
 * least 24), at most the 4,096 messages the core parks. An attacker sends
 * 4,096 of the largest batches; fewer keep a seed's memory and time modest
 * and still exceed any bound of a batch per slot of the window.
 */
const FLOOD_WINDOWS = [1.5, 3] as const;
const FLOOD_MIN = 24;
const FLOOD_MAX = 4096;
/** Waves per replica and view (one per VIEW-CHANGE of it received: it still waits), and per run. */
const FLOOD_WAVES_PER_VIEW = 3;
const FLOOD_WAVES_MAX = 8;

const floodEarly: ReplicaBehaviourSpec = {
  name: 'flood-early',
  role: 'backup',
  needs: ['view-change'],
  gate: true,
  late: 4,
  weight: 2,
  description:
    'to a replica waiting for the NEW-VIEW of a view it is not the primary of: PRE-PREPAREs of that view with full batches, ' +
    'signed by itself, and PREPAREs and COMMITs for them',
  make(ctx) {
    const size = Math.min(FLOOD_MAX, Math.max(FLOOD_MIN, Math.ceil(ctx.rng.pick(FLOOD_WINDOWS) * ctx.options.logWindow)));
    const waves = new Map<string, number>();
    let floods = 0;
    let batch: Request[] | undefined;
    /** One batch as large as the limits allow, made once (only its digest and slot change). */
    const fullBatch = (): Request[] => {
      if (batch !== undefined) return batch;
      const { batchRequestsMax, batchBytesMax, requestBytesMax } = ctx.options;
      const value = ctx.rng.bytes(Math.max(0, requestBytesMax - 2));
      batch = [];
      for (let bytes = 0; batch.length < batchRequestsMax && bytes + 2 < batchBytesMax; ) {
        const length = Math.min(requestBytesMax, batchBytesMax - bytes);
        const operation = encodeOperation('append', ctx.rng.int(0, KEYS - 1), value.subarray(0, length - 2));
        batch.push({ ...ctx.forgeRequest(), operation });
        bytes += length;
      }
      return batch;
    };
    const flood = (to: ReplicaId, v: View): void => {
      const key = `${to}:${v}`;
      const done = waves.get(key) ?? 0;
      if (to === ctx.self || floods >= FLOOD_WAVES_MAX || done >= FLOOD_WAVES_PER_VIEW || primaryOf(v, ctx.n) === ctx.self) return;
      waves.set(key, done + 1);
      floods++;
      const requests = fullBatch();
      const base = ctx.status().stableCheckpoint;
      for (let i = 0; i < size; i++) {
        const seq = seqNo(base + 1 + (i % ctx.options.logWindow));
        const digest = randomDigest(ctx);
        ctx.send(to, prePrepareBy(ctx.crypto, v, seq, requests, digest));
        if (i % 4 === 0) {
          ctx.send(to, prepareBy(ctx.crypto, v, seq, digest));
          ctx.send(to, commitBy(ctx.crypto, v, seq, digest));
        }
      }
      ctx.action('flood-early');
    };
    return {
      onReceive(from, m) {
        // Its VIEW-CHANGE (first or resent) says it is changing into that view and awaits its NEW-VIEW.
        if (m.type === 'view-change' && m.replica === from) flood(from, m.newView);
      },
    };
  },
};

/** Every replica behaviour; selection honours role, needs and gate. */
/**
 * Messages whose sequence numbers, views or indexes sit at the edge of what
 * the wire carries (2^53 - 1 and just below it, 2^32 - 1), signed by itself
 * where they must be: the class of bug the fuzzer found (a LOG-REQUEST after
 * 2^53 - 1 made every correct replica's core overflow an ordinal and throw),
 * now met in ordinary seeds — drawn late (generator 6).
 */
const extremeOrdinals: ReplicaBehaviourSpec = {
  name: 'extreme-ordinals',
  role: 'any',
  needs: [],
  gate: true,
  late: 6,
  weight: 3,
  description: 'LOG-REQUESTs, STATE-QUERYs, chunk requests, votes, CHECKPOINTs and VIEW-CHANGEs at sequence numbers and views of 2^53 - 1 (and one below)',
  make(ctx) {
    return {
      onTick() {
        const r = ctx.rng;
        if (!r.chance(0.1)) return;
        const others = [...Array(ctx.n).keys()].filter((i) => i !== ctx.self);
        const to = replicaId(r.pick(others));
        const edge = ORDINAL_MAX - r.int(0, 1);
        const s = seqNo(edge);
        const v = toView(edge);
        const st = ctx.status();
        let message: ReplicaMessage;
        switch (r.int(0, 6)) {
          case 0:
            message = { type: 'log-request', after: s };
            break;
          case 1:
            message = { type: 'state-query', lastExecuted: s };
            break;
          case 2:
            message = { type: 'chunk-request', seq: s, index: r.pick([0, 0xffff_ffff]) };
            break;
          case 3:
            message = prepareBy(ctx.crypto, st.view, s, randomDigest(ctx));
            break;
          case 4:
            message = commitBy(ctx.crypto, r.chance(0.5) ? st.view : v, s, randomDigest(ctx));
            break;
          case 5:
            message = checkpointBy(ctx.crypto, s, randomDigest(ctx));
            break;
          default:
            message = viewChangeBy(ctx.crypto, ctx.self, v, GENESIS_CHECKPOINT, []);
        }
        ctx.send(to, message);
        ctx.action('extreme-ordinals');
      },
    };
  },
};

export const REPLICA_BEHAVIOURS: readonly ReplicaBehaviourSpec[] = [
  silent,
  equivocate,
  withhold,
  delayProposals,
  forgeRequests,
  badDigest,
  wrongVotes,
  impersonate,
  replay,
  garbage,
  fakePrePrepare,
  lieToClients,
  duplicateVotes,
  collude,
  lieCheckpoint,
  lieStateTransfer,
  lieViewChange,
  badNewView,
  forwardForged,
  orphanCommits,
  hookStateTransfer,
  withholdCheckpoints,
  floodEarly,
  extremeOrdinals,
];

/** The behaviour named `name` or `name:variant`, and the variant. */
export function behaviourSpec(name: string): { readonly spec: ReplicaBehaviourSpec; readonly variant: string | undefined } {
  const [base, variant] = name.split(':', 2) as [string, string | undefined];
  const spec = REPLICA_BEHAVIOURS.find((b) => b.name === base);
  if (spec === undefined) throw new RangeError(`unknown Byzantine behaviour ${name}`);
  return { spec, variant };
}

/**
 * Behaviours a replica starting in `role` (view 0) may be given today, with
 * their selection weights. With a view change, roles change: behaviours of
 * the other role stay selectable at half weight (they act once it has it).
 */
export function selectableBehaviours(
  specs: readonly ReplicaBehaviourSpec[],
  role: 'primary' | 'backup',
): { readonly spec: ReplicaBehaviourSpec; readonly weight: number }[] {
  const rolesChange = PROTOCOL_FEATURES.has('view-change');
  return specs
    .filter((b) => b.gate && b.biasOnly !== true && b.late === undefined && b.needs.every((feature) => PROTOCOL_FEATURES.has(feature)))
    .filter((b) => b.role === 'any' || b.role === role || rolesChange)
    .map((b) => ({ spec: b, weight: b.role === 'any' || b.role === role ? b.weight : b.weight / 2 }));
}

/**
 * Behaviours generator `generator` drew late (see {@link ReplicaBehaviourSpec.late}), whatever the role;
 * each with chance weight / 10.
 */
export function lateBehaviours(specs: readonly ReplicaBehaviourSpec[], generator: number): ReplicaBehaviourSpec[] {
  return specs.filter(
    (b) => b.gate && b.biasOnly !== true && b.late === generator && b.needs.every((feature) => PROTOCOL_FEATURES.has(feature)),
  );
}

// --- Byzantine clients ------------------------------------------------------------

export interface ClientBehaviourSpec {
  readonly name: string;
  readonly description: string;
}

/**
 * Implemented in client-node.ts (ByzantineClientNode). Drawn in the main
 * stream: a new client behaviour goes in {@link LATE_CLIENT_BEHAVIOURS}.
 */
export const CLIENT_BEHAVIOURS: readonly ClientBehaviourSpec[] = [
  { name: 'conflicting-requests', description: 'one request number, different operations to different replicas' },
  {
    name: 'malformed-requests',
    description: 'garbage frames, undecodable operations, oversized operations, replica message types, absurd request numbers',
  },
  { name: 'foreign-client-id', description: 'requests under a session id it does not own (another client\'s)' },
  { name: 'replay-requests', description: 'resends its old requests' },
];

/**
 * Client behaviours added by later generators, each the only behaviour of a
 * Byzantine client of its own drawn late (scenario.ts, lateDraws).
 */
export const LATE_CLIENT_BEHAVIOURS: readonly ClientBehaviourSpec[] = [
  {
    name: 'bad-signatures',
    description:
      'requests of its own sessions under its own key with a garbage signature, to every replica or a few (generator 6): ' +
      'backups that get one directly take it on the channel (A3), the others check the signature',
  },
  {
    name: 'session-flood',
    description:
      'opens new sessions of its key (of the 65,536 a key owns) at a steady rate, one request each, and retransmits ' +
      'old requests of sessions it opened long enough ago for the client table to have evicted them',
  },
];
