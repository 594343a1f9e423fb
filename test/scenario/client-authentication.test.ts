/**
 * Per-request client authentication (docs/PROTOCOL.md A1-A9, docs/DESIGN.md
 * "Client authentication"). Before it, a request was authenticated only on
 * its client's own connection, so any Byzantine replica could get a request
 * no client sent executed: a backup FORWARDed a forged request for c7 with
 * request number 2^53 - 1 to a correct primary, every correct replica
 * executed it, and c7's real requests were never answered again (its session
 * had used up its numbers). Now every request carries its client's key and
 * signature; the primary verifies what it proposes and forwards it receives,
 * backups verify what they did not receive directly, and a message carrying a
 * forged request is refused as `forged-request`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ORDINAL_MAX } from '../../src/core/ordering.js';
import type { Request } from '../../src/core/messages.js';
import { forgedRequest, signedRequest, testClientKey } from '../support/signed-requests.js';
import { Cluster, forward, prePrepare, req } from './harness.js';

const ALL = [0, 1, 2, 3];

/** Nothing executed anywhere, and `reason` rejections of the given type at `at`. */
function refusedEverywhere(c: Cluster, at: readonly number[], messageType: string): void {
  for (const i of ALL) assert.deepEqual(c.executedRequests(i), [], `r${i} executes nothing`);
  for (const i of at) {
    assert.ok(
      c.rejectionsAt(i).some((r) => r.messageType === messageType && r.reason === 'forged-request'),
      `r${i} rejects the ${messageType} as forged-request`,
    );
  }
}

describe('client authentication: forged requests from Byzantine replicas', () => {
  it('a Byzantine backup forwards a forged c7#(2^53 - 1): the primary refuses it and c7 is answered afterwards', () => {
    const c = new Cluster({ n: 4 });
    c.inject(1, 0, forward(forgedRequest(7, ORDINAL_MAX, 'burn c7')));
    c.run(5);
    refusedEverywhere(c, [0], 'forward');
    assert.equal(c.status(0).forgedRequestsRejected, 1);

    c.submit(req(7, 1, 'real'));
    c.run(5);
    for (const i of ALL) assert.deepEqual(c.executedRequests(i), ['c7#1']);
    assert.equal(c.repliesTo('c7#1').length, 4, 'every replica answers c7#1');
  });

  it('a Byzantine primary proposes a forged request: every backup rejects the PRE-PREPARE', () => {
    const c = new Cluster({ n: 4 });
    c.inject(0, [1, 2, 3], prePrepare(0, 1, [forgedRequest(7, 5, 'evil')]));
    c.deliverAll();
    refusedEverywhere(c, [1, 2, 3], 'pre-prepare');
    assert.equal(c.sentBy(1, 'prepare').length, 0, 'no backup prepares it');
  });

  it('a real signature moved to another session, or kept over an altered operation, is refused', () => {
    const genuine = signedRequest(7, 3, 'pay 1');
    const moved: Request = { ...genuine, clientId: signedRequest(8, 3, '').clientId }; // c8 has the same key base
    const altered: Request = { ...genuine, operation: new TextEncoder().encode('pay 1000') };
    for (const forged of [moved, altered]) {
      const c = new Cluster({ n: 4 });
      c.inject(1, 0, forward(forged));
      c.inject(0, [1, 2, 3], prePrepare(0, 1, [forged]));
      c.deliverAll();
      refusedEverywhere(c, [0], 'forward');
      refusedEverywhere(c, [1, 2, 3], 'pre-prepare');
    }
  });

  it('a key that does not own the client id is refused, even with its own valid signature', () => {
    const c = new Cluster({ n: 4 });
    const foreign = signedRequest(7, 1, 'x', testClientKey(70_000)); // owns ids 65,536..131,071
    c.inject(1, 0, forward(foreign));
    c.inject(0, [1, 2, 3], prePrepare(0, 1, [foreign]));
    c.deliverAll();
    refusedEverywhere(c, [0], 'forward');
    refusedEverywhere(c, [1, 2, 3], 'pre-prepare');
  });

  it('an altered operation is refused even by a backup that received the genuine request directly', () => {
    const c = new Cluster({ n: 4 });
    const genuine = req(7, 1, 'a');
    c.submit(genuine, [1, 2, 3]);
    c.deliverAll();
    c.inject(0, [1, 2, 3], prePrepare(0, 1, [{ ...genuine, operation: new TextEncoder().encode('b') }]));
    c.deliverAll();
    for (const i of [1, 2, 3]) assert.ok(c.rejectionsAt(i).some((r) => r.reason === 'forged-request'), `r${i} compares the whole request`);
  });
});

describe('client authentication: who verifies', () => {
  it('the primary verifies each request once; backups that received it directly verify nothing', () => {
    const c = new Cluster({ n: 4 });
    c.submit(req(1, 1));
    c.submit(req(2, 1));
    c.run(5);
    for (const i of ALL) assert.deepEqual(c.executedRequests(i).sort(), ['c1#1', 'c2#1']);
    assert.equal(c.status(0).requestSignaturesVerified, 2);
    for (const i of [1, 2, 3]) assert.equal(c.status(i).requestSignaturesVerified, 0, `r${i}`);
  });

  it('a backup that did not receive a request verifies it once from the PRE-PREPARE', () => {
    const c = new Cluster({ n: 4 });
    c.submit(req(1, 1), [0, 1, 2]);
    c.run(5);
    assert.deepEqual(c.executedRequests(3), ['c1#1']);
    assert.equal(c.status(3).requestSignaturesVerified, 1);
    assert.equal(c.status(1).requestSignaturesVerified, 0);
  });

  it('a badly signed request sent directly to the primary and one backup: never proposed, and no view change', () => {
    const c = new Cluster({ n: 4 });
    c.submit(forgedRequest(7, 1, 'bad'), [0, 1]);
    c.run(400); // well past the request and view-change timeouts (T1, T2)
    refusedEverywhere(c, [0], 'request');
    for (const i of ALL) assert.equal(c.status(i).view, 0, `r${i} stays in view 0: the backup dropped it when it would forward it [A9]`);
    assert.equal(c.status(1).pendingRequests, 0);
    assert.equal(c.sentBy(1, 'forward').length, 0, 'the backup never blames the primary for it');
    // The primary checks it on arrival [A5] and drops it there: refused and counted once, holding no place.
    assert.equal(c.status(0).forgedRequestsRejected, 1);
    assert.equal(c.rejectionsAt(0).filter((r) => r.reason === 'forged-request').length, 1);
    assert.equal(c.status(0).pendingRequests, 0);
  });
});
