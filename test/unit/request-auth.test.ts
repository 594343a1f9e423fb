/**
 * RequestAuthenticator (src/core/request-auth.ts): what a replica knows to be
 * its clients' requests [A2, A3, A5]. It must never take a request for another
 * one with the same (client, number), and it must not grow with the requests
 * a replica has ordered: before entries went on ordering, a replica under a
 * steady load kept 100,000 requests here (the heap of a soak's replica grew
 * by 60 MiB over 79,000 requests).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestAuthenticator } from '../../src/core/request-auth.js';
import type { Request } from '../../src/core/messages.js';
import { req } from '../scenario/harness.js';

const limits = { pendingRequestsMax: 1000, pendingRequestBytesMax: 2 ** 30 };

/** An authenticator whose signature check accepts what `valid` says, counting its calls. */
function authenticator(valid: (r: Request) => boolean = () => true): { auth: RequestAuthenticator; checks: () => number } {
  let checks = 0;
  const auth = new RequestAuthenticator((r) => {
    checks++;
    return valid(r);
  }, limits);
  return { auth, checks: () => checks };
}

describe('RequestAuthenticator', () => {
  it('takes a directly received request as authentic for a backup without a check, but a primary checks it once', () => {
    const { auth, checks } = authenticator();
    const r = req(1, 1);
    auth.received(r);
    assert.equal(auth.authentic(r), true);
    assert.equal(checks(), 0);
    assert.equal(auth.signatureValid(r), true);
    assert.equal(auth.signatureValid(r), true);
    assert.equal(checks(), 1, 'verified once, then known');
  });

  it('never takes an altered request for the known one', () => {
    const { auth } = authenticator((r) => new TextDecoder().decode(r.operation) === 'op1.1');
    const r = req(1, 1);
    auth.received(r);
    const altered: Request = { ...r, operation: new TextEncoder().encode('evil') };
    assert.equal(auth.authentic(altered), false);
    assert.equal(auth.forgedCount, 1);
  });

  it('forgets a request once it is ordered, so it holds about what is pending', () => {
    const { auth, checks } = authenticator();
    for (let no = 1; no <= 500; no++) {
      const r = req(7, no);
      auth.received(r);
      assert.equal(auth.signatureValid(r), true);
      auth.ordered(r);
    }
    assert.equal(auth.size, 0);
    assert.equal(checks(), 500);
    // A copy that comes back after ordering (in a VIEW-CHANGE) is verified again.
    assert.equal(auth.authentic(req(7, 500)), true);
    assert.equal(checks(), 501);
  });

  it('stays within pendingRequestsMax when requests are never ordered', () => {
    const auth = new RequestAuthenticator(() => true, { pendingRequestsMax: 10, pendingRequestBytesMax: 2 ** 30 });
    for (let no = 1; no <= 50; no++) auth.received(req(no, 1));
    assert.equal(auth.size, 10);
  });
});
