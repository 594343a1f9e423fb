/**
 * Adversarial review of client authentication (docs/PROTOCOL.md A1-A9).
 *
 * Finding 1: "authentic" is not one predicate across correct replicas. A
 * backup takes a request it received directly from its client as authentic
 * without checking its signature [A3, A6], but A7 (VIEW-CHANGE certificates)
 * and A8 (LOG-ENTRIES) check the signature of every request they do not
 * find in the cache, and the cache forgets a request once it is ordered. A
 * Byzantine client (valid key, garbage signature) plus a Byzantine primary
 * get a badly signed request committed and executed; from then on every
 * correct replica refuses every other correct replica's VIEW-CHANGE
 * (forged-request) while that slot is above the stable checkpoint, so no
 * view can be installed once the Byzantine primary goes silent.
 *
 * Fixed: requests in certificates and LOG-ENTRIES are proven by that evidence,
 * not by their client signatures (A7, A8); a replayed forged FORWARD costs no
 * second verification (A4). Still open (todo below): the global pending bound
 * admits first come, first served, so keys that keep a primary's pending full
 * starve an honest client (docs/DESIGN.md, "Client quotas").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forgedRequest } from '../support/signed-requests.js';
import { replicaId } from '../../src/core/ids.js';
import type { PrePrepareMessage, PrepareMessage, PreparedCertificate } from '../../src/core/messages.js';
import { Cluster, commit, fastTimers, forward, newView, prePrepare, req, viewChange } from './harness.js';

const BACKUPS = [1, 2, 3];

describe('auth review: direct receipt vs signature (A3/A6 vs A7/A8)', () => {
  it('a badly signed request committed by a Byzantine primary stalls every later view change', () => {
    const c = new Cluster({ n: 4, options: fastTimers, byzantine: [0] });
    // Byzantine client c7: its own TLS key (so the runtime passes it, A3), a garbage signature.
    const bad = forgedRequest(7, 1, 'bad');
    c.submit(bad, BACKUPS);
    c.deliverAll();
    // Byzantine primary r0 proposes it; every backup received it directly, so A6 accepts.
    c.inject(0, BACKUPS, prePrepare(0, 1, [bad]));
    c.deliverAll();
    for (const i of BACKUPS) assert.deepEqual(c.executedRequests(i), ['c7#1'], `r${i} executed the badly signed request`);

    // r0 goes silent. An honest client's request must still be ordered after a view change.
    c.crash(0);
    c.submit(req(1, 1, 'honest'), BACKUPS);
    c.run(600);

    const vcRejections = BACKUPS.flatMap((i) =>
      c.rejectionsAt(i).filter((r) => r.messageType === 'view-change' && r.reason === 'forged-request'),
    );
    for (const i of BACKUPS) {
      assert.deepEqual(
        c.executedRequests(i),
        ['c7#1', 'c1#1'],
        `r${i} orders c1#1 after the view change (view ${c.status(i).view}, active ${c.status(i).viewActive}; ` +
          `${vcRejections.length} VIEW-CHANGEs from correct replicas refused as forged-request)`,
      );
    }
  });

  it('a backup that missed the PRE-PREPARE can never take the batch from LOG-ENTRIES (A8 refuses correct replicas)', () => {
    const c = new Cluster({ n: 4, options: fastTimers, byzantine: [0] });
    c.crash(0); // r0's core is silent; the test speaks for the Byzantine primary
    const bad = forgedRequest(7, 1, 'bad');
    const honest = req(1, 1, 'honest');
    // The Byzantine client sends its badly signed request to r1 and r2 only; r0 proposes it to them only.
    c.submit(bad, [1, 2]);
    c.submit(honest, BACKUPS);
    c.deliverAll();
    c.inject(0, [1, 2], prePrepare(0, 1, [bad]));
    c.inject(0, BACKUPS, prePrepare(0, 2, [honest]));
    c.inject(0, BACKUPS, commit(0, 1, [bad]));
    c.inject(0, BACKUPS, commit(0, 2, [honest]));
    c.deliverAll();
    for (const i of [1, 2]) assert.deepEqual(c.executedRequests(i), ['c7#1', 'c1#1'], `r${i}`);
    c.run(300);
    const a8 = c.rejectionsAt(3).filter((r) => r.messageType === 'log-entries' && r.reason === 'forged-request');
    assert.deepEqual(
      c.executedRequests(3),
      ['c7#1', 'c1#1'],
      `r3 catches up by LOG-ENTRIES (it refused ${a8.length} LOG-ENTRIES from correct replicas as forged-request)`,
    );
  });
});

describe('auth review: work a Byzantine replica can trigger', () => {
  /**
   * The certificates a Byzantine r1 legitimately holds for every slot it took part in: the primary's
   * PRE-PREPARE and the PREPAREs r2 and r3 broadcast.
   */
  function capturedCertificates(c: Cluster): PreparedCertificate[] {
    const pps = c.sentBy(0, 'pre-prepare').filter((s) => s.to === 1).map((s) => s.message as PrePrepareMessage);
    return pps.map((pp) => ({
      prePrepare: pp,
      prepares: [2, 3].map((r) => {
        const p = c.sentBy(r, 'prepare').find((s) => (s.message as PrepareMessage).seq === pp.seq)!.message as PrepareMessage;
        return { replica: replicaId(r), signature: p.signature };
      }),
    }));
  }

  it('one NEW-VIEW replayed k times costs a correct replica k full re-verifications (no memory of a refused NEW-VIEW)', () => {
    // The authenticity cache holds pendingRequestsMax requests: 4 here, 6 in the certificates (cf. 100,000 vs 128 x 1,024).
    const c = new Cluster({ n: 4, options: { pendingRequestsMax: 4 }, byzantine: [1] });
    for (let client = 1; client <= 6; client++) {
      c.submit(req(client, 1));
      c.deliverAll();
    }
    for (const i of [0, 2, 3]) assert.equal(c.executedRequests(i).length, 6);
    const certs = capturedCertificates(c);
    assert.equal(certs.length, 6);
    // r1 is primary of view 1: a NEW-VIEW carrying only its own (valid) VIEW-CHANGE. It is refused, but after the full check.
    const vc = viewChange({ newView: 1, replica: 1, prepared: certs });
    const before = c.status(2).requestSignaturesVerified;
    const k = 20;
    for (let i = 0; i < k; i++) c.injectRaw(1, 2, newView(1, [vc], []));
    c.deliverAll();
    const cost = c.status(2).requestSignaturesVerified - before;
    assert.ok(cost <= 6, `r2 verified ${cost} client signatures for ${k} copies of one refused NEW-VIEW`);
  });

  it('VIEW-CHANGEs for ever higher views from one Byzantine replica each cost a full check', () => {
    const c = new Cluster({ n: 4, options: { pendingRequestsMax: 4 }, byzantine: [1] });
    for (let client = 1; client <= 6; client++) {
      c.submit(req(client, 1));
      c.deliverAll();
    }
    const certs = capturedCertificates(c);
    const before = c.status(2).requestSignaturesVerified;
    const k = 20;
    for (let v = 1; v <= k; v++) c.injectRaw(1, 2, viewChange({ newView: v, replica: 1, prepared: certs }));
    c.deliverAll();
    const cost = c.status(2).requestSignaturesVerified - before;
    assert.equal(c.status(2).view, 0, 'r2 stays in view 0 (one replica cannot move it)');
    assert.ok(cost <= 6, `r2 verified ${cost} client signatures for ${k} VIEW-CHANGEs of one replica`);
  });
});

describe('auth review: FORWARD floods', () => {
  it('the same forged FORWARD repeated k times costs the primary k verifications (nothing remembers a failure, nothing limits a peer)', () => {
    const c = new Cluster({ n: 4, byzantine: [1] });
    const forged = forgedRequest(7, 1, 'x');
    const k = 50;
    for (let i = 0; i < k; i++) c.inject(1, 0, forward(forged));
    c.deliverAll();
    assert.ok(c.status(0).requestSignaturesVerified <= 1, `r0 verified ${c.status(0).requestSignaturesVerified} signatures for ${k} copies`);
  });
});

describe('auth review: global pending bound is first come, first served', () => {
  it('keys that keep the primary\'s pending full starve an honest client and get a correct primary voted out', { todo: 'key-fair admission when pending is full (evict from the heaviest key)' }, () => {
    // Scaled down: 4 requests held in all, 1 per key (defaults: 100,000 and 4,096, i.e. 25 keys).
    const c = new Cluster({ n: 4, options: { ...fastTimers, pendingRequestsMax: 4, pendingRequestsPerKeyMax: 1 }, byzantine: [] });
    const KEY = 0x10000;
    const attackers = [1, 2, 3, 4].map((k) => k * KEY); // one session of each of 4 attacker keys
    let no = 0;
    const flood = (): void => {
      no++;
      for (const a of attackers) c.submit(req(a, no), [0]); // to the primary only
    };
    // A correct primary whose executor is the bottleneck: the pipeline is full, one batch executes per tick.
    c.holdExecution(0);
    for (let i = 0; i < 6; i++) {
      flood();
      c.deliverAll();
    }
    const honest = req(7, 1, 'honest');
    c.submit(honest); // to every replica, as a client does
    c.deliverAll();
    let ticks = 0;
    for (; ticks < 200 && c.status(1).view === 0; ticks++) {
      c.tick(1);
      c.releaseExecutions(0, 1);
      c.deliverAll();
      flood(); // the attacker's requests get in first as slots free up...
      c.submit(honest, [0]); // ...then the honest client's retransmission
      c.deliverAll();
    }
    const delivered = c.status(0).lastDelivered;
    assert.ok(delivered > 20, `the primary kept ordering (${delivered} batches)`);
    assert.deepEqual(
      { view: c.status(1).view, honestExecutedAt0: c.executedRequests(0).includes('c7#1') },
      { view: 0, honestExecutedAt0: true },
      `after ${ticks} ticks: the honest request was refused as pending-requests-full ` +
        `${c.rejectionsAt(0).filter((r) => r.reason === 'pending-requests-full' && r.from === 'c7').length} times`,
    );
  });
});
