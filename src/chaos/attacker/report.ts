/**
 * What the attacker process (main.ts) tells the chaos runner: the kinds of
 * attack it runs, their counts, and the JSON lines it writes on stdout (a
 * ready line, then one report when it stops). Shared by both sides so that
 * the line format has one definition.
 */
import type { ForgeryKind } from './forgery.js';

/** Every kind of attack the attacker counts (docs/CHAOS.md, "byzantine-replica"). */
export const ATTACK_KINDS = [
  /** FORWARD messages carrying a forged request, to every correct replica (only the primary acts on them). */
  'forwardedForgeries',
  /** PRE-PREPAREs with forged requests, signed by the attacker, in a view where it is the primary. */
  'prePreparesAsPrimary',
  /** The same in a view where it is not the primary: a kind it may not send there. */
  'prePreparesNotPrimary',
  /** REQUESTs for another client's id on a client connection of the attacker's own. */
  'clientChannelForgeries',
  /** Frames of random bytes, correctly framed, on its replica links. */
  'garbageFrames',
  /** Connections that send random bytes from the first byte (no framing at all). */
  'garbageStreams',
  /** Frames whose length prefix is above the receiver's limit. */
  'oversizedFrames',
  /** Frames that stop mid-way, the connection then closed. */
  'truncatedFrames',
  /** Frames that stop mid-way, the connection left open and silent. */
  'stalledFrames',
  /** Well-formed messages of a kind the channel does not admit (REQUEST or REPLY from a replica, PREPARE from a client). */
  'wrongKindMessages',
  /** Messages naming another replica inside: a VIEW-CHANGE for another replica id, a certificate of others' signatures. */
  'claimedIdentities',
  /** Captured frames of the correct replicas sent back on the attacker's replica links. */
  'replaysOnLinks',
  /** Captured frames sent back on new connections. */
  'replaysOnNewConnections',
  /** PREPARE, COMMIT and CHECKPOINT messages for sequence numbers far ahead, sent in bursts. */
  'floodMessages',
  /** STATE-QUERY, CHUNK-REQUEST and LOG-REQUEST messages in bursts: work and replies asked of the victims. */
  'requestFloodMessages',
  /** Connections opened and held idle (TLS with throw-away client keys, or bare TCP without a handshake). */
  'floodConnections',
  /** Replies with a made-up result to the load's requests that reach the attacker. */
  'lyingReplies',
] as const;

export type AttackKind = (typeof ATTACK_KINDS)[number];
export type AttackCounts = Record<AttackKind, number>;

/** All counts at zero. */
export function zeroCounts(): AttackCounts {
  return Object.fromEntries(ATTACK_KINDS.map((kind) => [kind, 0])) as AttackCounts;
}

/** The first line the attacker writes, once it listens on the replica's port and dials the others. */
export interface AttackerReadyLine {
  readonly event: 'ready';
  readonly pid: number;
}

/** The last line the attacker writes, when told to stop. */
export interface AttackerReport {
  readonly event: 'report';
  /** The seed of its choices. */
  readonly seed: number;
  /** ms from its start of the attacks to the stop. */
  readonly attackMs: number;
  /** Attack actions, by kind: messages, frames or connections, as each kind says. */
  readonly counts: AttackCounts;
  /** Forged requests made (each may have been sent to several replicas), by kind of forgery. */
  readonly forgedRequests: Readonly<Record<ForgeryKind, number>>;
  /** Forged requests numbered 2^53 - 1 (the highest request number). */
  readonly forgedAtRequestNoMax: number;
  /** Client sessions of the load it learned (client id and key) from the requests it saw. */
  readonly victimSessionsSeen: number;
  /** Genuine requests signed by the attacker's own client key and FORWARDed like the forged ones: the check's control. */
  readonly controlRequests: number;
  /** The highest view it saw, and how many views it was the primary of. */
  readonly viewMax: number;
  readonly viewsAsPrimary: number;
  /** Frames of the correct replicas it captured (for replays), at most its bound at a time. */
  readonly framesCaptured: number;
  /** Frames its own links dropped (send queue full): the flood outran the link. */
  readonly framesDroppedLocally: number;
  /** Connections it could not open (the target refused, or its bound of open connections was reached). */
  readonly connectionsFailed: number;
}

export type AttackerLine = AttackerReadyLine | AttackerReport;

/** The line, or undefined if it is not one of the attacker's (a stray line is not an error). */
export function parseAttackerLine(line: string): AttackerLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as { event?: unknown };
    return parsed.event === 'ready' || parsed.event === 'report' ? (parsed as AttackerLine) : undefined;
  } catch {
    return undefined;
  }
}
