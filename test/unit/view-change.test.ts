/**
 * The pure rules of the view change (src/core/view-change.ts,
 * docs/VIEW-CHANGE.md V3-V5): decideNewView, checkViewChange and every
 * rejection reason, chooseViewChanges, and checkpointCertificateValid.
 * Evidence is built with the scenario harness's deterministic signatures
 * (test/scenario/fake-crypto.ts), n = 4 (quorum 3) unless stated.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { replicaId, type ReplicaId } from '../../src/core/ids.js';
import type { PreparedCertificate, ViewChangeMessage } from '../../src/core/messages.js';
import { seqNo, view } from '../../src/core/ordering.js';
import {
  checkpointCertificateValid,
  checkViewChange,
  chooseViewChanges,
  decideNewView,
  GENESIS_CHECKPOINT,
  preparedCertificateValid,
} from '../../src/core/view-change.js';
import {
  badSignature,
  batchDigest,
  checkpointCertificate,
  preparedCertificate,
  req,
  rulesFor,
  signAs,
  stateDigestOf,
  tampered,
  viewChange,
} from '../scenario/harness.js';

const options = { checkpointInterval: 4, logWindow: 8 };
const rules = rulesFor(4, options);
const A = [req(1, 1, 'A')];
const B = [req(2, 1, 'B')];
const C = [req(3, 1, 'C')];
const S4 = stateDigestOf(['s4']);
const S8 = stateDigestOf(['s8']);

/** A valid prepared certificate for `requests` at (v, s), n = 4: prepares by the first two backups of view v. */
function cert(v: number, s: number, requests = A): PreparedCertificate {
  const primary = v % 4;
  const backups = [0, 1, 2, 3].filter((r) => r !== primary).slice(0, 2);
  return preparedCertificate({ view: v, seq: s, requests, n: 4, prepares: backups });
}

const reason = (vc: ViewChangeMessage, r = rules): string | undefined => checkViewChange(vc, r)?.reason;
const slotsOf = (vcs: readonly ViewChangeMessage[]) =>
  decideNewView(vcs, rules).slots.map((s) => `s${s.seq}:${s.requests.length === 0 ? 'null' : s.requests.map((r) => `c${r.clientId}`).join('+')}`);

describe('decideNewView', () => {
  it('with no certificates: the checkpoint and no slots', () => {
    const d = decideNewView([viewChange({ newView: 1, replica: 0 }), viewChange({ newView: 1, replica: 1 })], rules);
    assert.equal(d.checkpoint.seq, 0);
    assert.deepEqual(d.slots, []);
  });

  it('the highest checkpoint wins; certificates at or below it are ignored', () => {
    const vcs = [
      viewChange({ newView: 1, replica: 0, prepared: [cert(0, 3), cert(0, 5, B)] }),
      viewChange({ newView: 1, replica: 1, checkpoint: checkpointCertificate(4, S4, [0, 1, 2]), prepared: [cert(0, 5, B), cert(0, 6, C)] }),
      viewChange({ newView: 1, replica: 2, checkpoint: checkpointCertificate(4, S4, [1, 2, 3]), prepared: [cert(0, 5, B)] }),
    ];
    const d = decideNewView(vcs, rules);
    assert.equal(d.checkpoint.seq, 4);
    assert.deepEqual(d.checkpoint.stateDigest, S4);
    assert.deepEqual(slotsOf(vcs), ['s5:c2', 's6:c3']);
  });

  it('for each sequence number the certificate of the highest view wins', () => {
    const vcs = [
      viewChange({ newView: 3, replica: 0, prepared: [cert(0, 1, A), cert(2, 2, C)] }),
      viewChange({ newView: 3, replica: 1, prepared: [cert(2, 1, B), cert(1, 2, A)] }),
      viewChange({ newView: 3, replica: 2, prepared: [cert(1, 1, C)] }),
    ];
    assert.deepEqual(slotsOf(vcs), ['s1:c2', 's2:c3']);
  });

  it('null requests (empty batch, digest of []) fill the gaps up to max-s, the highest prepared sequence number', () => {
    const vcs = [
      viewChange({ newView: 1, replica: 0, prepared: [cert(0, 2, A)] }),
      viewChange({ newView: 1, replica: 1, prepared: [cert(0, 5, B)] }),
      viewChange({ newView: 1, replica: 2 }),
    ];
    const d = decideNewView(vcs, rules);
    assert.deepEqual(slotsOf(vcs), ['s1:null', 's2:c1', 's3:null', 's4:null', 's5:c2']);
    for (const s of d.slots.filter((x) => x.requests.length === 0)) assert.deepEqual(s.digest, batchDigest([]));
    assert.deepEqual(d.slots[1]?.digest, batchDigest(A));
  });

  it('a null request that prepared in a later view is itself a certificate: it beats an older batch', () => {
    const vcs = [
      viewChange({ newView: 2, replica: 0, prepared: [cert(0, 1, A)] }),
      viewChange({ newView: 2, replica: 1, prepared: [cert(1, 1, [])] }),
    ];
    assert.deepEqual(slotsOf(vcs), ['s1:null']);
  });

  it('property: deterministic whatever the order of the VIEW-CHANGEs', () => {
    const certArb = fc.record({ view: fc.integer({ min: 0, max: 3 }), seq: fc.integer({ min: 1, max: 8 }), batch: fc.constantFrom(A, B, C) });
    const vcArb = fc.record({
      checkpoint: fc.constantFrom(0, 4),
      certs: fc.uniqueArray(certArb, { selector: (c) => c.seq, maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(vcArb, { minLength: 1, maxLength: 4 }), fc.nat(), (specs, seed) => {
        const vcs = specs.map((spec, i) =>
          viewChange({
            newView: 4,
            replica: i,
            checkpoint: spec.checkpoint === 0 ? GENESIS_CHECKPOINT : checkpointCertificate(4, S4, [0, 1, 2]),
            // One batch per (view, seq) across all VIEW-CHANGEs, as quorum intersection guarantees.
            prepared: [...spec.certs].sort((a, b) => a.seq - b.seq).map((c) => cert(c.view, c.seq, [A, B, C][(c.view + c.seq) % 3])),
          }),
        );
        const shuffled = [...vcs].sort((a, b) => ((a.replica * 7919 + seed) % 13) - ((b.replica * 7919 + seed) % 13));
        const one = decideNewView(vcs, rules);
        const other = decideNewView(shuffled, rules);
        assert.equal(one.checkpoint.seq, other.checkpoint.seq);
        assert.deepEqual(one.checkpoint.stateDigest, other.checkpoint.stateDigest);
        assert.deepEqual(one.slots, other.slots);
        // Slots are consecutive from the checkpoint to max-s.
        one.slots.forEach((s, i) => assert.equal(s.seq, one.checkpoint.seq + i + 1));
      }),
      { numRuns: 200 },
    );
  });
});

describe('checkViewChange', () => {
  it('accepts a well-formed VIEW-CHANGE (genesis checkpoint or a quorum certificate, increasing valid certificates)', () => {
    assert.equal(reason(viewChange({ newView: 1, replica: 2 })), undefined);
    assert.equal(reason(viewChange({ newView: 1, replica: 2, prepared: [cert(0, 1), cert(0, 3, B)] })), undefined);
    const withCheckpoint = viewChange({ newView: 2, replica: 3, checkpoint: checkpointCertificate(4, S4, [0, 1, 3]), prepared: [cert(1, 5), cert(0, 12, C)] });
    assert.equal(reason(withCheckpoint), undefined);
  });

  it('view-change-bad-replica: the claimed replica does not exist', () => {
    assert.equal(reason(viewChange({ newView: 1, replica: 4 })), 'view-change-bad-replica');
    assert.equal(reason(viewChange({ newView: 1, replica: -1, signer: 0 })), 'view-change-bad-replica');
  });

  it("view-change-bad-signature: a bad signature, another replica's, or a body changed after signing", () => {
    assert.equal(reason({ ...viewChange({ newView: 1, replica: 2 }), signature: badSignature() }), 'view-change-bad-signature');
    assert.equal(reason(viewChange({ newView: 1, replica: 2, signer: 3 })), 'view-change-bad-signature');
    const signed = viewChange({ newView: 1, replica: 2, prepared: [cert(0, 1)] });
    assert.equal(reason(tampered(signed, { prepared: [] })), 'view-change-bad-signature');
    assert.equal(reason(tampered(signed, { newView: view(2) })), 'view-change-bad-signature');
    assert.equal(reason({ ...signed, signature: new Uint8Array(3) }), 'view-change-bad-signature');
  });

  it('view-change-bad-checkpoint: too few signers, a bad signer, off-interval, or a non-genesis s0', () => {
    const bad = (checkpoint: ViewChangeMessage['checkpoint']): string | undefined => reason(viewChange({ newView: 1, replica: 2, checkpoint }));
    assert.equal(bad(checkpointCertificate(4, S4, [0, 1])), 'view-change-bad-checkpoint');
    assert.equal(bad(checkpointCertificate(4, S4, [0, 1, 1])), 'view-change-bad-checkpoint');
    assert.equal(bad(checkpointCertificate(6, S4, [0, 1, 2])), 'view-change-bad-checkpoint');
    assert.equal(bad({ ...checkpointCertificate(4, S4, [0, 1, 2]), stateDigest: S8 }), 'view-change-bad-checkpoint');
    assert.equal(bad({ seq: seqNo(0), stateDigest: S4, signatures: [] }), 'view-change-bad-checkpoint');
  });

  it('view-change-too-many-certificates: more than logWindow', () => {
    const many = Array.from({ length: 9 }, (_, i) => cert(0, i + 1));
    assert.equal(reason(viewChange({ newView: 1, replica: 2, prepared: many })), 'view-change-too-many-certificates');
  });

  it('view-change-bad-sequence: not strictly increasing, at or below the checkpoint, above checkpoint + logWindow', () => {
    const bad = (prepared: PreparedCertificate[], checkpoint = GENESIS_CHECKPOINT): string | undefined =>
      reason(viewChange({ newView: 1, replica: 2, checkpoint, prepared }));
    assert.equal(bad([cert(0, 2), cert(0, 1)]), 'view-change-bad-sequence');
    assert.equal(bad([cert(0, 2), cert(0, 2)]), 'view-change-bad-sequence');
    assert.equal(bad([cert(0, 9)]), 'view-change-bad-sequence');
    assert.equal(bad([cert(0, 4)], checkpointCertificate(4, S4, [0, 1, 2])), 'view-change-bad-sequence');
    assert.equal(bad([cert(0, 13)], checkpointCertificate(4, S4, [0, 1, 2])), 'view-change-bad-sequence');
  });

  it('view-change-certificate-from-future: a certificate of the new view or later', () => {
    assert.equal(reason(viewChange({ newView: 1, replica: 2, prepared: [cert(1, 1)] })), 'view-change-certificate-from-future');
    assert.equal(reason(viewChange({ newView: 1, replica: 2, prepared: [cert(0, 1), cert(5, 2)] })), 'view-change-certificate-from-future');
  });

  it('view-change-bad-certificate: every way a prepared certificate can be wrong', () => {
    const bad = (c: PreparedCertificate): string | undefined => reason(viewChange({ newView: 2, replica: 2, prepared: [c] }));
    const good = cert(1, 1);
    assert.equal(bad(good), undefined);
    // PREPARE signatures: forged, too few, a duplicate voter, the primary among them, an unknown replica.
    assert.equal(bad(preparedCertificate({ view: 1, seq: 1, requests: A, n: 4, prepares: [0, 2], forged: [2] })), 'view-change-bad-certificate');
    assert.equal(bad(preparedCertificate({ view: 1, seq: 1, requests: A, n: 4, prepares: [0] })), 'view-change-bad-certificate');
    assert.equal(bad(preparedCertificate({ view: 1, seq: 1, requests: A, n: 4, prepares: [0, 0] })), 'view-change-bad-certificate');
    assert.equal(bad(preparedCertificate({ view: 1, seq: 1, requests: A, n: 4, prepares: [1, 0] })), 'view-change-bad-certificate');
    assert.equal(bad(preparedCertificate({ view: 1, seq: 1, requests: A, n: 4, prepares: [0, 5] })), 'view-change-bad-certificate');
    // PREPAREs signed for another digest.
    const forB = cert(1, 1, B);
    assert.equal(bad({ prePrepare: good.prePrepare, prepares: forB.prepares }), 'view-change-bad-certificate');
    // PRE-PREPARE: not signed by primary(view), batch not matching the digest, too many requests.
    assert.equal(bad(preparedCertificate({ view: 1, seq: 1, requests: A, n: 4, prepares: [0, 2], primarySigner: 3 })), 'view-change-bad-certificate');
    assert.equal(bad({ ...good, prePrepare: { ...good.prePrepare, requests: B } }), 'view-change-bad-certificate');
    const big = Array.from({ length: 3 }, (_, i) => req(10 + i, 1));
    const tooMany = rulesFor(4, { ...options, batchRequestsMax: 2 });
    assert.equal(reason(viewChange({ newView: 2, replica: 2, prepared: [cert(1, 1, big)] }), tooMany), 'view-change-bad-certificate');
    // More PREPAREs than needed are fine.
    assert.equal(bad(preparedCertificate({ view: 1, seq: 1, requests: A, n: 4, prepares: [0, 2, 3] })), undefined);
  });

  it('preparedCertificateValid agrees (n = 7: quorum 5, so 4 backup PREPAREs)', () => {
    const r7 = rulesFor(7);
    assert.equal(preparedCertificateValid(preparedCertificate({ view: 0, seq: 1, requests: A, n: 7, prepares: [1, 2, 3, 4] }), r7), true);
    assert.equal(preparedCertificateValid(preparedCertificate({ view: 0, seq: 1, requests: A, n: 7, prepares: [1, 2, 3] }), r7), false);
  });
});

describe('chooseViewChanges', () => {
  const known = (entries: [number, number][]): Map<ReplicaId, ViewChangeMessage> =>
    new Map(entries.map(([r, v]) => [replicaId(r), viewChange({ newView: v, replica: r })]));
  const who = (vcs: ViewChangeMessage[] | undefined): number[] | undefined => vcs?.map((vc) => vc.replica);

  it("is undefined without this replica's own VIEW-CHANGE for the view", () => {
    assert.equal(chooseViewChanges(known([[2, 1], [3, 1], [4, 1]]), view(1), replicaId(1), 3), undefined);
    assert.equal(chooseViewChanges(known([[1, 2], [2, 1], [3, 1]]), view(1), replicaId(1), 3), undefined);
  });

  it('own first, then the lowest-numbered others for the same view, a quorum exactly', () => {
    const m = known([[6, 1], [1, 1], [5, 1], [2, 1], [4, 2], [3, 1], [0, 1]]);
    assert.deepEqual(who(chooseViewChanges(m, view(1), replicaId(1), 5)), [1, 0, 2, 3, 5]);
    assert.deepEqual(who(chooseViewChanges(m, view(1), replicaId(3), 3)), [3, 0, 1]);
  });

  it('is undefined below a quorum (other views do not count)', () => {
    const m = known([[1, 1], [2, 1], [3, 2]]);
    assert.equal(chooseViewChanges(m, view(1), replicaId(1), 3), undefined);
    assert.deepEqual(who(chooseViewChanges(known([[1, 1], [2, 1], [3, 1]]), view(1), replicaId(1), 3)), [1, 2, 3]);
  });
});

describe('checkpointCertificateValid', () => {
  it('genesis: s0 with an empty digest and no signatures, nothing else', () => {
    assert.equal(checkpointCertificateValid(GENESIS_CHECKPOINT, rules), true);
    assert.equal(checkpointCertificateValid({ seq: seqNo(0), stateDigest: S4, signatures: [] }, rules), false);
    assert.equal(
      checkpointCertificateValid({ ...GENESIS_CHECKPOINT, signatures: [{ replica: replicaId(0), signature: badSignature() }] }, rules),
      false,
    );
  });

  it('a quorum of distinct valid signers on (seq, digest)', () => {
    assert.equal(checkpointCertificateValid(checkpointCertificate(4, S4, [0, 1, 2]), rules), true);
    assert.equal(checkpointCertificateValid(checkpointCertificate(8, S8, [3, 1, 0, 2]), rules), true);
    assert.equal(checkpointCertificateValid(checkpointCertificate(4, S4, [0, 1]), rules), false, 'quorum - 1');
    assert.equal(checkpointCertificateValid(checkpointCertificate(6, S4, [0, 1, 2]), rules), false, 'off the interval');
    assert.equal(checkpointCertificateValid({ ...checkpointCertificate(4, S4, [0, 1, 2]), stateDigest: S8 }, rules), false, 'other digest');
    assert.equal(checkpointCertificateValid({ ...checkpointCertificate(4, S4, [0, 1, 2]), seq: seqNo(8) }, rules), false, 'other seq');
  });

  it('duplicates do not count (a duplicated signer makes the certificate malformed)', () => {
    assert.equal(checkpointCertificateValid(checkpointCertificate(4, S4, [0, 1, 1]), rules), false);
    assert.equal(checkpointCertificateValid(checkpointCertificate(4, S4, [2, 2, 2, 2]), rules), false);
    // Conservative: even with a quorum of distinct signers besides it, a duplicate is refused.
    assert.equal(checkpointCertificateValid(checkpointCertificate(4, S4, [0, 1, 2, 2]), rules), false);
  });

  it('an unknown signer or one bad signature invalidates the certificate', () => {
    const good = checkpointCertificate(4, S4, [0, 1, 2]);
    assert.equal(checkpointCertificateValid({ ...good, signatures: [...good.signatures, { replica: replicaId(9), signature: signAs(9, { kind: 'checkpoint', seq: seqNo(4), stateDigest: S4 }) }] }, rules), false);
    assert.equal(checkpointCertificateValid({ ...good, signatures: [...good.signatures, { replica: replicaId(3), signature: badSignature() }] }, rules), false);
  });
});
