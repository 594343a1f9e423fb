/**
 * Which client requests this replica knows to be authentic, so that no
 * request is verified twice by one replica (docs/PROTOCOL.md A1-A9,
 * docs/DESIGN.md "Client authentication").
 *
 * A request is known authentic when it came directly from its client over
 * the client's TLS connection (the runtime checked the key, [A3]) or when
 * this replica verified its signature ([A2]). The two differ for the
 * primary, which proposes only requests whose signature it verified itself
 * ([A5]): a Byzantine client could otherwise send a badly signed request to
 * the primary and one backup, and the other backups would refuse the
 * PRE-PREPARE and vote a correct primary out.
 *
 * A hit compares the whole request (key, signature and operation), never
 * just (clientId, requestNo): a Byzantine replica may pair a valid signature
 * with another operation. An entry goes when its request is ordered [E3]
 * (any later copy is stale, R2), so the cache holds about what is pending;
 * it is also bounded in count and operation bytes (the limits of pending
 * requests), the oldest entries going first.
 */
import { bytesEqual } from './ids.js';
import type { Request } from './messages.js';
import type { ProtocolOptions } from './options.js';

interface Known {
  readonly request: Request;
  /** This replica checked the signature (not only the channel). */
  readonly verified: boolean;
}

/** Forged requests remembered, so a replayed forgery costs no second verification (oldest go first). */
export const FORGED_REMEMBERED_MAX = 1024;

export class RequestAuthenticator {
  /** `clientId:requestNo` -> the request known authentic under it, oldest first. */
  private readonly known = new Map<string, Known>();
  /** `clientId:requestNo` -> a request under it whose signature failed, oldest first. */
  private readonly forged = new Map<string, Request>();
  private bytes = 0;
  /** Signatures checked, and requests that failed: counters for status. */
  verifiedCount = 0;
  forgedCount = 0;

  constructor(
    private readonly verifyRequest: (request: Request) => boolean,
    private readonly limits: Pick<ProtocolOptions, 'pendingRequestsMax' | 'pendingRequestBytesMax'>,
  ) {}

  /** `request` came directly from its client over TLS [A3]: authentic to a backup, unverified for a primary. */
  received(request: Request): void {
    if (this.lookup(request) === undefined) this.remember(request, false);
  }

  /** Whether `request` is authentic: known [A3] or verified now [A2]. */
  authentic(request: Request): boolean {
    return this.lookup(request) !== undefined || this.verify(request);
  }

  /** Whether `request`'s signature is valid, checked by this replica [A5]: what a primary asks before proposing. */
  signatureValid(request: Request): boolean {
    return this.lookup(request)?.verified === true || this.verify(request);
  }

  /** `request` was ordered: forget it (a VIEW-CHANGE that carries it again is proven by its certificate [A7]). */
  ordered(request: Pick<Request, 'clientId' | 'requestNo'>): void {
    const key = keyOf(request);
    const known = this.known.get(key);
    if (known === undefined) return;
    this.known.delete(key);
    this.bytes -= known.request.operation.length;
  }

  /** Requests known, at most pendingRequestsMax. */
  get size(): number {
    return this.known.size;
  }

  private verify(request: Request): boolean {
    const key = keyOf(request);
    const forged = this.forged.get(key);
    // The same forgery again (a replayed FORWARD or PRE-PREPARE): refused without another verification.
    if (forged !== undefined && sameRequest(forged, request)) {
      this.forgedCount++;
      return false;
    }
    this.verifiedCount++;
    if (!this.verifyRequest(request)) {
      this.forgedCount++;
      this.forged.delete(key);
      this.forged.set(key, request);
      if (this.forged.size > FORGED_REMEMBERED_MAX) this.forged.delete(this.forged.keys().next().value as string);
      return false;
    }
    this.remember(request, true);
    return true;
  }

  private lookup(request: Request): Known | undefined {
    const known = this.known.get(keyOf(request));
    return known !== undefined && sameRequest(known.request, request) ? known : undefined;
  }

  private remember(request: Request, verified: boolean): void {
    const key = keyOf(request);
    const replaced = this.known.get(key);
    if (replaced !== undefined) {
      // A second authentic request under the same number (a Byzantine client signed two): the newer one stays.
      this.known.delete(key);
      this.bytes -= replaced.request.operation.length;
    }
    this.known.set(key, { request, verified });
    this.bytes += request.operation.length;
    for (const [oldest, entry] of this.known) {
      if (this.known.size <= this.limits.pendingRequestsMax && this.bytes <= this.limits.pendingRequestBytesMax) break;
      this.known.delete(oldest);
      this.bytes -= entry.request.operation.length;
    }
  }
}

const keyOf = (r: Pick<Request, 'clientId' | 'requestNo'>): string => `${r.clientId}:${r.requestNo}`;

/** The same request, field by field; the cheap fields first. */
function sameRequest(a: Request, b: Request): boolean {
  return (
    a === b ||
    (a.clientId === b.clientId &&
      a.requestNo === b.requestNo &&
      bytesEqual(a.signature, b.signature) &&
      bytesEqual(a.clientKey, b.clientKey) &&
      bytesEqual(a.operation, b.operation))
  );
}
