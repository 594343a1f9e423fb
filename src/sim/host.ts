/** What nodes may ask of the simulation that runs them. */
import type { RequestSigner } from '../core/client.js';
import type { ReplicaId } from '../core/ids.js';
import type { Request } from '../core/messages.js';
import type { Rejection } from '../core/rejection.js';
import type { WireLimits } from '../wire/codec.js';
import type { Checkers } from './checkers.js';
import type { Micros } from './event-queue.js';
import type { Rng } from './rng.js';
import type { Scenario } from './scenario.js';
import type { Trace } from './trace.js';

export interface Host {
  readonly scenario: Scenario;
  readonly limits: WireLimits;
  readonly trace: Trace;
  readonly checkers: Checkers;
  /** A mutant's runtime rule: a request the service threw on stops the replica, as before rollback existed. */
  readonly serviceFailureStops: boolean;
  now(): Micros;
  /** Whether the fault phase is on (disks are slow now and then only in it). */
  inFaultPhase(): boolean;
  /** A random stream for `purpose` (derived from the seed). */
  rng(purpose: string): Rng;
  /** Puts a frame on the wire from `from` (the real sender) presenting identity `claimed`. */
  send(from: number, to: number, bytes: Uint8Array, claimed?: number, delay?: Micros): void;
  /** Runs `action` after `delay` (dropped if the simulation has stopped). */
  after(delay: Micros, action: () => void): void;
  /** Executed-event scheduling for replica executors. */
  scheduleExecuted(time: Micros, replica: number, incarnation: number, seq: number, requests: readonly Request[]): void;
  /** Replica `replica` adopted a stable checkpoint above what it delivered: it needs state transfer. */
  lagging(replica: number, delivered: number, stable: number): void;
  /** A replica installed a checkpoint fetched by state transfer. */
  checkpointInstalled(): void;
  /** A replica started a view change to, or installed, `view`. */
  viewEvent(replica: number, what: 'started' | 'installed', view: number): void;
  /** `c2.1` for session 1 of client 2. */
  clientName(clientId: number): string;
  /** The client id base owned by client endpoint `endpoint`. */
  clientBase(endpoint: number): number;
  /**
   * The signer of client endpoint `endpoint`'s key, or of its `keyIndex`-th
   * next key (a session flood's, generator 6): for that client's node only [A1].
   */
  clientSigner(endpoint: number, keyIndex?: number): RequestSigner;
  /** The public key owning the session ids from `base` (simulated, src/sim/core-api.ts). */
  clientKey(base: number): Uint8Array;
  /** Whether `request` carries its client's valid (simulated) signature [A1]. */
  verifyRequest(request: Request): boolean;
  /** A Byzantine replica built a request no client sent (counted as `forgedRequests`). */
  forgedRequest(): void;
  /** Client endpoints (correct and Byzantine). */
  readonly clientEndpoints: readonly number[];
  /** Whether replica `r` is correct for the liveness precondition (never Byzantine, never crashed). */
  isCorrect(r: number): boolean;
  /** A frame that did not decode or was not acceptable on its channel. */
  malformed(at: number, from: number, reason: string): void;
  /** A core refused input (`rejected` effect). */
  rejected(at: ReplicaId, from: string, messageType: string, rejection: Rejection, fromReplica: number | undefined): void;
  /** Counts one Byzantine action of `behaviour`. */
  byzantineAction(behaviour: string, by: number): void;
  /** A client resolved its last operation. */
  clientDone(): void;
  /** A correct client resolved an operation (the liveness phase extends while progress continues). */
  progress(): void;
}
