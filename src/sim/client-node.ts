/**
 * Client nodes. A correct client drives the real {@link ClientCore} the way
 * the runtime's `Client` does (src/runtime/client.ts): invocations in, ticks
 * from its (skewed) clock, reply frames through the real codec, broadcasts
 * out. A Byzantine client speaks the wire protocol badly on purpose.
 */
import { assertNever } from '../core/assert.js';
import { ClientCore, type ClientEffect, type ClientEvent, type RequestSigner } from '../core/client.js';
import { clientId, replicaId, SESSIONS_PER_CLIENT_KEY, type ClientId } from '../core/ids.js';
import type { Request, RequestStatement } from '../core/messages.js';
import { ORDINAL_MAX, requestNo, seqNo, view } from '../core/ordering.js';
import { decodeMessage, encodeMessage } from '../wire/codec.js';
import { CheckFailure } from './checkers.js';
import type { Micros } from './event-queue.js';
import type { Host } from './host.js';
import type { Rng } from './rng.js';
import type { ByzantineClientSpec, ClientSpec } from './scenario.js';
import { encodeOperation } from './service.js';
import { checksum, Rec } from './trace.js';

interface Invocation {
  readonly invokedAt: Micros;
  readonly snapshot: number;
  request: Request | undefined;
  /** When its request first went on the wire (it may wait for a free session before). */
  sentAt: Micros | undefined;
  resolvedAt: Micros | undefined;
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

export class ClientNode {
  readonly endpoint: number;
  private readonly core: ClientCore;
  private readonly invocations: Invocation[] = [];
  private readonly byOperation = new Map<string, number>();
  private resolvedCount = 0;

  constructor(
    private readonly host: Host,
    readonly spec: ClientSpec,
  ) {
    this.endpoint = spec.endpoint;
    const { n, f } = host.scenario;
    const sessions: ClientId[] = [];
    for (let i = 0; i < spec.sessions; i++) sessions.push(clientId(spec.base + i));
    this.core = new ClientCore({
      n,
      f,
      sessions,
      firstRequestNo: spec.firstRequestNo,
      retransmitTicks: host.scenario.retransmitTicks,
      retransmitTicksMax: host.scenario.retransmitTicksMax,
      queueMax: spec.operations.length + 1,
      signer: host.clientSigner(spec.endpoint),
    });
  }

  get operations(): number {
    return this.spec.operations.length;
  }

  get resolved(): number {
    return this.resolvedCount;
  }

  /** Invokes operation `index` of the workload. */
  invoke(index: number): void {
    const op = this.spec.operations[index];
    if (op === undefined) return;
    const value = new Uint8Array(8);
    const view = new DataView(value.buffer);
    view.setUint32(0, this.endpoint);
    view.setUint32(4, index);
    const operation = encodeOperation(op.kind, op.key, value);
    this.invocations[index] = { invokedAt: this.host.now(), snapshot: this.host.checkers.invoked(), request: undefined, sentAt: undefined, resolvedAt: undefined };
    this.byOperation.set(latin1(operation), index);
    this.host.trace.rec(Rec.Invoke, this.host.now(), this.endpoint, index);
    this.step({ type: 'invoke', token: index, operation });
  }

  tick(): void {
    this.step({ type: 'tick' });
  }

  /** A frame from replica `from` (mirrors Client.onFrame). */
  onFrame(from: number, bytes: Uint8Array): void {
    const decoded = decodeMessage(bytes, this.host.limits);
    if (!decoded.ok || decoded.message.type !== 'reply') {
      this.host.malformed(this.endpoint, from, decoded.ok ? 'unexpected-type' : decoded.reason);
      return;
    }
    this.step({ type: 'reply', from: replicaId(from), message: decoded.message });
  }

  /**
   * Requests that did not complete within `bound` of max(first sent,
   * faultEnd): the liveness bound. (Invocations still queued behind a busy
   * session are not counted against it: the request ahead of them is.)
   */
  late(faultEnd: Micros, bound: Micros, now: Micros): string[] {
    const late: string[] = [];
    for (const inv of this.invocations) {
      if (inv?.request === undefined || inv.sentAt === undefined) continue;
      const deadline = Math.max(inv.sentAt, faultEnd) + bound;
      const done = inv.resolvedAt;
      if ((done === undefined && now >= deadline) || (done !== undefined && done > deadline)) {
        late.push(`${this.host.clientName(inv.request.clientId)}#${inv.request.requestNo}`);
      }
    }
    return late;
  }

  /** Operations invoked and not resolved. */
  get outstanding(): number {
    let count = 0;
    for (const inv of this.invocations) if (inv !== undefined && inv.resolvedAt === undefined) count++;
    return count;
  }

  private step(event: ClientEvent): void {
    for (const effect of this.core.step(event)) this.apply(effect);
  }

  private apply(effect: ClientEffect): void {
    const host = this.host;
    switch (effect.type) {
      case 'broadcast': {
        const bytes = encodeMessage(effect.message);
        if (!effect.retransmission) {
          const request = effect.message.request;
          host.checkers.registerSent(request);
          const index = this.byOperation.get(latin1(request.operation));
          const inv = index === undefined ? undefined : this.invocations[index];
          if (inv !== undefined) {
            inv.request = request;
            inv.sentAt = host.now();
          }
        }
        for (let r = 0; r < host.scenario.n; r++) host.send(this.endpoint, r, bytes);
        break;
      }
      case 'resolve': {
        const inv = this.invocations[effect.token];
        if (inv?.request === undefined) throw new Error(`resolve of unknown token ${effect.token}`);
        inv.resolvedAt = host.now();
        host.trace.rec(Rec.Resolve, host.now(), this.endpoint, effect.token, checksum(effect.result));
        if (host.trace.verbose) {
          host.trace.line(
            host.now(),
            `${host.clientName(inv.request.clientId)}#${inv.request.requestNo} accepts ${Buffer.from(effect.result).toString('hex')} (${effect.replicas} replicas)`,
          );
        }
        host.checkers.accepted(inv.request, effect.result, inv.snapshot);
        if (++this.resolvedCount === this.operations) host.clientDone();
        else host.progress();
        break;
      }
      case 'refused': {
        // A full client table refused the session (or every session of this client is retired): an
        // answer, not a hang. The checkers hold the cluster to it: the request never executes.
        const inv = this.invocations[effect.token];
        if (inv === undefined) throw new Error(`refusal of unknown token ${effect.token}`);
        inv.resolvedAt = host.now();
        if (inv.request !== undefined && effect.replicas > 0) host.checkers.refused(inv.request);
        if (host.trace.verbose) host.trace.line(host.now(), `${host.clientName(this.spec.base)} refused (token ${effect.token}, ${effect.replicas} replicas)`);
        if (++this.resolvedCount === this.operations) host.clientDone();
        else host.progress();
        break;
      }
      case 'failed': {
        // The service threw on it (a poison operation): an answer like a result, checked the same way.
        const inv = this.invocations[effect.token];
        if (inv?.request === undefined) throw new Error(`failure of unknown token ${effect.token}`);
        inv.resolvedAt = host.now();
        if (host.trace.verbose) {
          host.trace.line(host.now(), `${host.clientName(inv.request.clientId)}#${inv.request.requestNo} failed: ${Buffer.from(effect.message).toString()}`);
        }
        host.checkers.accepted(inv.request, effect.message, inv.snapshot);
        if (++this.resolvedCount === this.operations) host.clientDone();
        else host.progress();
        break;
      }
      case 'overloaded':
        throw new CheckFailure('liveness', `client queue overloaded (token ${effect.token})`);
      case 'invalid':
        throw new CheckFailure('validity', `a correct client's request was rejected unordered: ${Buffer.from(effect.reason).toString()}`);
      case 'cancelled':
        throw new Error('the simulated clients never cancel');
      case 'broadcast-read':
      case 'read-resolve':
      case 'read-fallback':
        throw new Error('the simulated clients send no read-only requests');
      case 'rejected':
        if (host.trace.verbose) host.trace.line(host.now(), `${host.clientName(this.spec.base)} ignores a reply from r${effect.from}: ${effect.reason}`);
        break;
      default:
        assertNever(effect, 'client effect');
    }
  }
}

/** A client that misbehaves (docs/SIMULATOR.md, "Byzantine clients"). */
export class ByzantineClientNode {
  readonly endpoint: number;
  private readonly rng: Rng;
  private readonly sessions: ClientId[];
  private readonly nextNo: number[];
  private readonly old: Uint8Array[] = [];
  /** `session-flood`: sessions opened so far, and a sample of their requests (encoded) to retransmit late. */
  private opened = 0;
  private readonly floodSample: { readonly session: number; readonly bytes: Uint8Array }[] = [];
  private readonly signer: RequestSigner;
  /** `session-flood` over several keys: the signer of each (index 0 is `signer`). */
  private readonly floodSigners: RequestSigner[];

  constructor(
    private readonly host: Host,
    readonly spec: ByzantineClientSpec,
    private readonly victims: readonly ClientId[],
  ) {
    this.endpoint = spec.endpoint;
    this.rng = host.rng(`byzantine-client-${spec.endpoint}`);
    this.sessions = [clientId(spec.base), clientId(spec.base + 1)];
    this.nextNo = [1, this.rng.int(1, 1000)];
    this.signer = host.clientSigner(spec.endpoint);
    this.floodSigners = Array.from({ length: spec.flood?.keys ?? 1 }, (_, k) => (k === 0 ? this.signer : host.clientSigner(spec.endpoint, k)));
  }

  /** A request signed with its own key (a Byzantine client holds its keys, no one else's). */
  private signed(statement: RequestStatement, signer = this.signer): Request {
    return { ...statement, clientKey: signer.publicKey, signature: signer.sign(statement) };
  }

  onFrame(_from: number, _bytes: Uint8Array): void {
    // replies are of no interest to it
  }

  act(): void {
    const r = this.rng;
    const behaviour = r.pick(this.spec.behaviours);
    const n = this.host.scenario.n;
    const replicas = [...Array(n).keys()];
    const own = (operation: Uint8Array, no?: number): Request => {
      const s = r.int(0, this.sessions.length - 1);
      const number = no ?? (this.nextNo[s] = (this.nextNo[s] as number) + r.int(1, 3));
      return this.signed({ clientId: this.sessions[s] as ClientId, requestNo: requestNo(number), operation });
    };
    const validOp = (): Uint8Array => encodeOperation(r.chance(0.8) ? 'append' : 'read', r.int(0, 7), r.bytes(r.int(0, 12)));
    const send = (to: number, request: Request, register = true): void => {
      if (register) this.host.checkers.registerSent(request);
      const bytes = encodeMessage({ type: 'request', request });
      this.old.push(bytes);
      if (this.old.length > 32) this.old.shift();
      this.host.send(this.endpoint, to, bytes);
    };
    switch (behaviour) {
      case 'conflicting-requests': {
        const a = own(validOp());
        const b: Request = { ...a, operation: validOp() };
        const group = new Set(r.sample(replicas, r.int(1, n - 1)));
        for (const to of replicas) send(to, group.has(to) ? a : b);
        break;
      }
      case 'malformed-requests': {
        const to = r.pick(replicas);
        switch (r.int(0, 5)) {
          case 0:
            this.host.send(this.endpoint, to, r.bytes(r.int(0, 48)));
            break;
          case 1: {
            // an operation the service cannot decode: executed with an empty reply
            const request = own(new Uint8Array([9, 200, ...r.bytes(3)]));
            for (const t of replicas) send(t, request);
            break;
          }
          case 2: // larger than requestBytesMax: the decoder refuses it
            send(to, own(r.bytes(this.host.scenario.options.requestBytesMax + r.int(1, 64))), false);
            break;
          case 3: // a replica message on a client channel
            this.host.send(this.endpoint, to, encodeMessage({ type: 'commit', view: view(0), seq: seqNo(1), digest: r.bytes(32) }));
            break;
          case 4: {
            // the largest request number: its session is used up
            const request = own(validOp(), ORDINAL_MAX);
            for (const t of replicas) send(t, request);
            break;
          }
          default: {
            const bytes = encodeMessage({ type: 'request', request: own(validOp()) });
            this.host.send(this.endpoint, to, bytes.subarray(0, r.int(0, bytes.length - 1)));
          }
        }
        break;
      }
      case 'foreign-client-id': {
        if (this.victims.length === 0) return;
        const request = this.signed({ clientId: r.pick(this.victims), requestNo: requestNo(r.int(1, 2_000_000)), operation: validOp() });
        const bytes = encodeMessage({ type: 'request', request });
        for (const to of replicas) this.host.send(this.endpoint, to, bytes);
        break;
      }
      case 'replay-requests': {
        if (this.old.length === 0) return;
        const bytes = r.pick(this.old);
        for (const to of r.sample(replicas, r.int(1, n))) this.host.send(this.endpoint, to, bytes);
        break;
      }
      case 'session-flood':
        if (!this.flood(replicas, validOp)) return;
        break;
      case 'bad-signatures': {
        // Its own key and session, a garbage signature: what the channel lets through (A3) but the signature does not.
        const request: Request = { ...own(validOp()), signature: r.bytes(64) };
        const targets = r.chance(0.6) ? replicas : r.sample(replicas, r.int(1, n - 1));
        for (const to of targets) send(to, request);
        break;
      }
      default:
        throw new Error(`unknown client behaviour ${behaviour}`);
    }
    this.host.byzantineAction(behaviour, this.endpoint);
  }

  /**
   * One action of `session-flood`: opens the next `burst` sessions of its keys
   * (after the two the other behaviours use), one request each to every
   * replica; or, now and then and once it has opened every session, sends a
   * request of a session opened at least `lateAfter` sessions ago again, to
   * every replica: a late retransmission, after the client table (that
   * large) has evicted its session.
   */
  private flood(replicas: readonly number[], validOp: () => Uint8Array): boolean {
    const spec = this.spec.flood;
    if (spec === undefined) return false;
    const r = this.rng;
    const evicted = this.floodSample.filter((x) => this.opened - x.session >= spec.lateAfter);
    if (evicted.length > 0 && (this.opened >= spec.sessions || r.chance(0.3))) {
      const late = r.pick(evicted);
      for (const to of replicas) this.host.send(this.endpoint, to, late.bytes);
      return true;
    }
    if (this.opened >= spec.sessions) return false;
    for (let i = 0; i < spec.burst && this.opened < spec.sessions; i++) {
      const session = this.opened++;
      // Round-robin over its keys: key k's sessions are from base + k * 65,536 (+ 2, past the other behaviours').
      const key = session % spec.keys;
      const id = clientId(this.spec.base + key * SESSIONS_PER_CLIENT_KEY + 2 + Math.floor(session / spec.keys));
      const request = this.signed({ clientId: id, requestNo: requestNo(r.int(1, 1_000_000)), operation: validOp() }, this.floodSigners[key]);
      this.host.checkers.registerSent(request);
      const bytes = encodeMessage({ type: 'request', request });
      for (const to of replicas) this.host.send(this.endpoint, to, bytes);
      if (this.floodSample.length < 64) this.floodSample.push({ session, bytes });
      else if (r.chance(0.25)) this.floodSample[r.int(0, 63)] = { session, bytes };
    }
    return true;
  }
}
