/**
 * What the attacker learns by being a replica: the frames the correct
 * replicas send it (kept, bounded, for replays), the highest view and
 * sequence number they speak of (to aim floods ahead of them and to know
 * when it is the primary), and the load's client sessions, from the genuine
 * requests inside PRE-PREPAREs and from the load's own REQUESTs to it (the
 * ids and keys it impersonates, and real signatures to transplant).
 */
import type { Message, Request } from '../../core/messages.js';
import { decodeMessage, type WireLimits } from '../../wire/codec.js';
import type { VictimSession } from './forgery.js';

/** Captured frames kept for replays, and their bytes: the oldest go first. */
export const CAPTURED_FRAMES_MAX = 512;
export const CAPTURED_BYTES_MAX = 8 * 1024 * 1024;
/** Load sessions remembered; the oldest go first. */
export const VICTIM_SESSIONS_MAX = 64;

export class ObservedTraffic {
  private readonly frames: Uint8Array[] = [];
  private frameBytes = 0;
  private capturedCount = 0;
  private readonly victims = new Map<number, VictimSession>();
  private viewSeen = 0;
  private seqSeen = 0;

  /** @param ownClientId the attacker's own client id: its control requests are not a victim's. */
  constructor(
    private readonly limits: WireLimits,
    private readonly ownClientId: number,
  ) {}

  /** The highest view any correct replica spoke of. */
  get view(): number {
    return this.viewSeen;
  }

  /** The highest sequence number any correct replica spoke of. */
  get seq(): number {
    return this.seqSeen;
  }

  /** Frames captured so far (not only those still kept). */
  get captured(): number {
    return this.capturedCount;
  }

  /** The load sessions seen, most recent last. */
  victimSessions(): VictimSession[] {
    return [...this.victims.values()];
  }

  /** Captured frames still kept. */
  capturedFrames(): readonly Uint8Array[] {
    return this.frames;
  }

  /** A frame a correct replica sent on its link to the attacker. */
  onReplicaFrame(payload: Uint8Array): void {
    // A copy: the payload may be a view into a larger socket chunk, which keeping it would pin.
    const copy = new Uint8Array(payload);
    this.frames.push(copy);
    this.frameBytes += copy.length;
    this.capturedCount++;
    while (this.frames.length > CAPTURED_FRAMES_MAX || (this.frames.length > 1 && this.frameBytes > CAPTURED_BYTES_MAX)) {
      this.frameBytes -= (this.frames.shift() as Uint8Array).length;
    }
    const decoded = decodeMessage(copy, this.limits);
    if (decoded.ok) this.learn(decoded.message);
  }

  /** A frame a client sent on its connection to the attacker. */
  onClientFrame(payload: Uint8Array): Request | undefined {
    const decoded = decodeMessage(payload, this.limits);
    if (!decoded.ok || decoded.message.type !== 'request') return undefined;
    this.learnRequest(decoded.message.request);
    return decoded.message.request;
  }

  private learn(message: Message): void {
    switch (message.type) {
      case 'pre-prepare':
        this.note(message.view, message.seq);
        for (const request of message.requests) this.learnRequest(request);
        return;
      case 'prepare':
      case 'commit':
        return this.note(message.view, message.seq);
      case 'checkpoint':
        return this.note(0, message.seq);
      case 'view-change':
        return this.note(message.newView, message.checkpoint.seq);
      case 'new-view':
        this.note(message.view, 0);
        for (const p of message.prePrepares) this.note(p.view, p.seq);
        return;
      case 'forward':
        return this.learnRequest(message.request);
      default:
        return;
    }
  }

  private note(view: number, seq: number): void {
    this.viewSeen = Math.max(this.viewSeen, view);
    this.seqSeen = Math.max(this.seqSeen, seq);
  }

  private learnRequest(request: Request): void {
    if (request.clientId === this.ownClientId) return;
    const previous = this.victims.get(request.clientId);
    this.victims.delete(request.clientId);
    this.victims.set(request.clientId, {
      clientId: request.clientId,
      clientKey: new Uint8Array(request.clientKey),
      requestNo: Math.max(previous?.requestNo ?? 0, request.requestNo),
      signature: new Uint8Array(request.signature),
    });
    if (this.victims.size > VICTIM_SESSIONS_MAX) this.victims.delete(this.victims.keys().next().value as number);
  }
}
