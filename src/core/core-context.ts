/**
 * What every module of the replica core shares: who it is, the group's
 * sizes and options, the injected crypto and decision points, the requests
 * known to be authentic, the logical clock, the view it is in, and the list of effects the current step emits.
 * One instance per replica core; the modules read it and only the view-change
 * machine moves the view.
 */
import type { CoreCrypto } from './crypto.js';
import type { DecisionPoints } from './decision-points.js';
import type { DurableRecord } from './durable.js';
import type { ReplicaEffect } from './effects.js';
import type { ClientId, ReplicaId } from './ids.js';
import type { ReplicaMessage, Request } from './messages.js';
import type { ProtocolOptions } from './options.js';
import { view as toView, type View } from './ordering.js';
import type { QuorumSizes } from './quorum.js';
import type { Rejection } from './rejection.js';
import type { RejoinGate } from './rejoin.js';
import { RequestAuthenticator } from './request-auth.js';
import { primaryOf, type ViewChangeRules } from './view-change.js';

export class CoreContext {
  readonly options: ProtocolOptions;
  readonly sizes: QuorumSizes;
  readonly crypto: CoreCrypto;
  /** Client requests known to be authentic [A2-A3]. */
  readonly auth: RequestAuthenticator;
  /** Ticks seen so far: the core's only clock. */
  now = 0;
  /** The view this replica is in or is changing to. */
  view: View = toView(0);
  /** False from voting for `view` until its NEW-VIEW is installed. */
  viewActive = true;
  /** While recovery restores what the journal holds: nothing it does is journaled again [D11-D14]. */
  replaying = false;
  /** Set for a replica that lost its data: it sends nothing binding until the gate opens [D15]. */
  rejoin: RejoinGate | undefined;
  private effects: ReplicaEffect[] = [];

  constructor(
    readonly id: ReplicaId,
    readonly rules: ViewChangeRules,
    readonly decide: DecisionPoints,
  ) {
    this.options = rules.options;
    this.sizes = rules.sizes;
    this.crypto = rules.crypto;
    this.auth = new RequestAuthenticator((request) => rules.crypto.verifyRequest(request), rules.options);
  }

  /**
   * Whether every request of a PRE-PREPARE's batch is its client's [A2, A6]:
   * stops at the first that is not (the PRE-PREPARE is refused).
   */
  relayedAuthentic(requests: readonly Request[]): boolean {
    for (const request of requests) if (!this.decide.relayedRequestAuthentic(request, this.auth)) return false;
    return true;
  }

  primaryOf(v: View): ReplicaId {
    return primaryOf(v, this.sizes.n);
  }

  /** Primary of an installed view. */
  get isPrimary(): boolean {
    return this.viewActive && this.primaryOf(this.view) === this.id;
  }

  /** Appends `record` to the journal; every later send waits until it is synced [D10]. */
  persist(record: DurableRecord): void {
    if (!this.replaying && this.decide.persists(record)) this.effects.push({ type: 'persist', record });
  }

  send(to: ReplicaId | 'others', message: ReplicaMessage): void {
    if (this.rejoin?.mutes(message) === true) return; // [D15] as if lost on the way
    this.effects.push({ type: 'send', to, message });
  }

  emit(effect: ReplicaEffect): void {
    this.effects.push(effect);
  }

  reject(from: { replica: ReplicaId } | { client: ClientId }, messageType: string, rejection: Rejection): void {
    this.effects.push({ type: 'rejected', from, messageType, rejection });
  }

  /** The effects emitted since the last call, in order. */
  takeEffects(): ReplicaEffect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }
}
