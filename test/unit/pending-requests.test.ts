/**
 * PendingRequests (src/core/pending-requests.ts), the timing side used by the
 * view change (docs/VIEW-CHANGE.md T1, T2, V7): oldestArrival,
 * takeDueForForward (each request forwarded once per view), and enterView
 * (a new view: every request is unproposed again, in arrival order, and may
 * be forwarded again, except the NEW-VIEW's own requests, which count as
 * proposed).
 * Fixed in f931220: the former unproposeAll / markProposed broke the arrival
 * order that oldestArrival and takeDueForForward rely on, and `forwarded`
 * survived the view; enterView replaced both (regression tests below).
 * BUG (pending-requests.ts enterView): when a session has a proposed request
 * and a newer waiting one, the newer one takes the older one's place in the
 * map (Map.set on an existing key keeps its position), so a request of
 * another session that arrived between them is no longer first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PendingRequests } from '../../src/core/pending-requests.js';
import { req, requestLabel } from '../scenario/harness.js';

/** Proposes whatever is waiting (the primary's signature check [A5] is tested below). */
const proposeAll = (): boolean => true;
const labels = (rs: readonly Parameters<typeof requestLabel>[0][]): string[] => rs.map(requestLabel);
/** Room for `requests` requests and, unless said, bytes that never bind; per client key as much as in all unless said. */
const room = (requests: number, bytes = 2 ** 30, perKey = { requests, bytes }) => ({
  pendingRequestsMax: requests,
  pendingRequestBytesMax: bytes,
  pendingRequestsPerKeyMax: perKey.requests,
  pendingRequestBytesPerKeyMax: perKey.bytes,
});
/** Session `session` of client key `key`: the ids a key owns are 65,536 in a row. */
const of = (key: number, session: number): number => key * 65_536 + session;

describe('PendingRequests.oldestArrival', () => {
  it('is undefined when empty, else the earliest arrival among waiting and proposed requests', () => {
    const p = new PendingRequests(room(10));
    assert.equal(p.oldestArrival(), undefined);
    p.add(req(1, 1), 3);
    p.add(req(2, 1), 5);
    assert.equal(p.oldestArrival(), 3);
    assert.deepEqual(labels(p.takeBatch(1, 1000, proposeAll)), ['c1#1']); // c1#1 proposed
    p.add(req(3, 1), 7);
    assert.equal(p.oldestArrival(), 3, 'a proposed request still counts');
    p.ordered(req(1, 1));
    assert.equal(p.oldestArrival(), 5);
    p.ordered(req(2, 1));
    p.ordered(req(3, 1));
    assert.equal(p.oldestArrival(), undefined);
  });

  it("a session's newer request replaces the waiting one but keeps its place and arrival time", () => {
    // The session moved on without this replica seeing c1#1 ordered: the wait counts from c1#1, or a
    // primary that leaves this backup out would never be suspected while clients progress (found by
    // the simulator's orphan-commits behaviour, seed 55 of generator 2).
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 1);
    p.add(req(2, 1), 2);
    assert.equal(p.add(req(1, 2), 9), 'replaced');
    assert.equal(p.oldestArrival(), 1);
    assert.equal(p.size, 2);
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c1#2', 'c2#1']);
  });

  it('after enterView, a request this replica had proposed is still the oldest', () => {
    // Regression (fixed in f931220): unproposeAll appended c1#1 after c2#1 and c3#1 and
    // oldestArrival, which reads the first entry of each map, returned 2.
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 1);
    p.takeBatch(1, 1000, proposeAll);
    p.add(req(2, 1), 2);
    p.add(req(3, 1), 3);
    p.enterView([]);
    assert.equal(p.oldestArrival(), 1);
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c1#1', 'c2#1', 'c3#1'], 'proposed again in arrival order');
  });

  it("after enterView with the NEW-VIEW's requests out of arrival order, the oldest is still found", () => {
    // Regression (fixed in f931220): markProposed(c2#1), markProposed(c1#1) left `proposed`
    // as [c2#1, c1#1] and oldestArrival returned 2.
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 1);
    p.add(req(2, 1), 2);
    p.add(req(3, 1), 3);
    p.enterView([req(2, 1), req(1, 1)]); // the NEW-VIEW has c2#1 at one seq, c1#1 at a later one
    assert.equal(p.oldestArrival(), 1);
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c3#1'], 'only c3#1 is left to propose');
  });

  it("BUG: after enterView, a session's newer request keeps its older request's place and hides the oldest one", () => {
    // c1#1 (tick 0) is proposed here; c2#1 arrives at tick 1, c1#2 at tick 2 (c1 got f + 1
    // replies for #1 from others). A new view: enterView sorts the entries by arrival
    // (c1#1, c2#1, c1#2), sets c1 -> c1#1, c2 -> c2#1, then c1 -> c1#2, the higher number;
    // Map.set on the existing key c1 keeps c1's first position, so `unproposed` is
    // [c1#2 (2), c2#1 (1)].
    // Expected: oldestArrival 1 (c2#1); c2#1 forwarded at tick 6 (age 5); proposed first.
    // Observed: oldestArrival 2 (T2 suspects late); at tick 6 takeDueForForward stops at c1#2
    // (not due) and returns [] (T1 late); takeBatch proposes c1#2 first.
    // Fix (pending-requests.ts enterView, `target.set(clientId, entry)`): delete the key
    // before setting it, so the entry lands at its own arrival position.
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 0);
    p.takeBatch(1, 1000, proposeAll);
    p.add(req(2, 1), 1);
    assert.equal(p.add(req(1, 2), 2), 'added', 'c1#2 waits while c1#1 is proposed');
    p.enterView([]);
    assert.equal(p.size, 2, 'c1#1 gave way to c1#2');
    assert.deepEqual(
      { oldest: p.oldestArrival(), dueAt6: labels(p.takeDueForForward(6, 5, 10, proposeAll)) },
      { oldest: 1, dueAt6: ['c2#1'] },
    );
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c2#1', 'c1#2']);
  });
});

describe('PendingRequests.takeDueForForward', () => {
  it('returns each request once it is `age` old, and only once', () => {
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 0);
    p.add(req(2, 1), 3);
    assert.deepEqual(p.takeDueForForward(4, 5, 10, proposeAll), []);
    assert.deepEqual(labels(p.takeDueForForward(5, 5, 10, proposeAll)), ['c1#1']);
    assert.deepEqual(p.takeDueForForward(6, 5, 10, proposeAll), [], 'c1#1 is not forwarded again');
    assert.deepEqual(labels(p.takeDueForForward(8, 5, 10, proposeAll)), ['c2#1']);
    assert.deepEqual(p.takeDueForForward(100, 5, 10, proposeAll), []);
    assert.equal(p.size, 2, 'forwarding does not remove anything');
  });

  it('respects countMax, and the rest comes on the next call', () => {
    const p = new PendingRequests(room(10));
    for (let c = 1; c <= 5; c++) p.add(req(c, 1), 0);
    assert.deepEqual(labels(p.takeDueForForward(10, 5, 2, proposeAll)), ['c1#1', 'c2#1']);
    assert.deepEqual(labels(p.takeDueForForward(10, 5, 2, proposeAll)), ['c3#1', 'c4#1']);
    assert.deepEqual(labels(p.takeDueForForward(10, 5, 2, proposeAll)), ['c5#1']);
  });

  it('forwards only requests this replica has not proposed; a replacing request is forwarded anew', () => {
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 0);
    p.add(req(2, 1), 0);
    p.enterView([req(1, 1)]); // a NEW-VIEW proposes c1#1
    assert.deepEqual(labels(p.takeDueForForward(10, 5, 10, proposeAll)), ['c2#1']);
    p.add(req(2, 2), 10);
    assert.deepEqual(labels(p.takeDueForForward(15, 5, 10, proposeAll)), ['c2#2']);
  });

  it('after enterView a due request does not wait behind a younger one', () => {
    // Regression (fixed in f931220): unproposeAll put c1#1 (tick 1) after c2#1 (tick 4); at
    // tick 6 with age 5 the scan stopped at c2#1 and returned [].
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 1);
    p.takeBatch(1, 1000, proposeAll);
    p.add(req(2, 1), 4);
    p.enterView([]);
    assert.deepEqual(labels(p.takeDueForForward(6, 5, 10, proposeAll)), ['c1#1']);
    assert.deepEqual(labels(p.takeDueForForward(9, 5, 10, proposeAll)), ['c2#1']);
  });

  it('a new view forwards again what was forwarded in the old one (to its new primary), once', () => {
    // Regression (fixed in f931220): `forwarded` survived the view, so the primary of the next
    // view never heard of a request only some backups held (view-change-censorship.test.ts).
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 0);
    p.add(req(2, 1), 1);
    assert.deepEqual(labels(p.takeDueForForward(6, 5, 10, proposeAll)), ['c1#1', 'c2#1']);
    assert.deepEqual(p.takeDueForForward(7, 5, 10, proposeAll), []);
    p.enterView([]);
    assert.deepEqual(labels(p.takeDueForForward(7, 5, 10, proposeAll)), ['c1#1', 'c2#1'], 'forwardable again, arrival times kept');
    assert.deepEqual(p.takeDueForForward(8, 5, 10, proposeAll), [], 'and once per view');
    p.enterView([req(2, 1)]);
    assert.deepEqual(labels(p.takeDueForForward(8, 5, 10, proposeAll)), ['c1#1'], "the NEW-VIEW's request is proposed: not forwarded");
  });
});

describe('PendingRequests.enterView', () => {
  it("a new view forgets this replica's proposals; they are proposed again", () => {
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 0);
    p.add(req(2, 1), 0);
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c1#1', 'c2#1']);
    assert.equal(p.hasUnproposed, false);
    p.enterView([]);
    assert.equal(p.hasUnproposed, true);
    assert.equal(p.size, 2);
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c1#1', 'c2#1']);
    assert.equal(p.add(req(1, 1), 5), 'duplicate', 'still known as proposed');
  });

  it("keeps a session's waiting newer request and drops its proposed older one", () => {
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 0);
    p.takeBatch(1, 1000, proposeAll);
    p.add(req(1, 2), 1); // the client moved on: #1 was answered by f + 1 replicas
    assert.equal(p.size, 2);
    p.enterView([]);
    assert.equal(p.size, 1);
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c1#2']);
  });

  it("the NEW-VIEW's exact requests count as proposed; other numbers and unknown sessions do not", () => {
    const p = new PendingRequests(room(10));
    p.add(req(1, 2), 0);
    p.add(req(2, 1), 1);
    p.add(req(3, 1), 2);
    p.enterView([req(1, 1), req(2, 1), req(9, 1)]); // c1#1: an older number of c1; c9: unknown here
    assert.equal(p.size, 3);
    assert.equal(p.oldestArrival(), 0);
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c1#2', 'c3#1']);
    assert.equal(p.add(req(2, 1), 3), 'duplicate');
    assert.equal(p.add(req(9, 1), 3), 'added', 'nothing was recorded for an unknown session');
    p.enterView([]);
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c1#2', 'c2#1', 'c3#1', 'c9#1'], 'all unproposed again, in arrival order');
  });

  it("a session's request in the NEW-VIEW and its newer waiting one are both kept", () => {
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 0);
    p.takeBatch(1, 1000, proposeAll);
    p.add(req(1, 2), 1);
    p.enterView([req(1, 1)]);
    assert.equal(p.size, 2);
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c1#2']);
    p.ordered(req(1, 1));
    assert.equal(p.size, 1, 'c1#2 still waits');
  });

  it('ordered() drops a session once a request numbered at least as high is ordered, proposed or not', () => {
    const p = new PendingRequests(room(10));
    p.add(req(1, 1), 0);
    p.add(req(2, 3), 0);
    p.enterView([req(1, 1)]);
    p.ordered(req(1, 1));
    p.ordered(req(2, 2)); // lower than the waiting #3: kept
    assert.equal(p.size, 1);
    p.ordered(req(2, 5));
    assert.equal(p.size, 0);
  });
});

describe('PendingRequests bytes bound (pendingRequestBytesMax)', () => {
  // req(c, n)'s operation is `op<c>.<n>`: 5 bytes for c, n < 10.
  it('refuses a request that would take the operation bytes held past the bound, as full', () => {
    const p = new PendingRequests(room(10, 12));
    assert.equal(p.add(req(1, 1), 0), 'added');
    assert.equal(p.add(req(2, 1), 0), 'added');
    assert.equal(p.bytes, 10);
    assert.equal(p.add(req(3, 1), 0), 'full', '15 bytes > 12');
    assert.equal(p.add(req(3, 1, 'xy'), 0), 'added', 'a small one still fits: 12 bytes');
    assert.equal(p.size, 3);
    assert.equal(p.add(req(4, 1, ''), 0), 'added', 'an empty operation takes no bytes');
  });

  it('a replacement is bounded too: the waiting request stays when the newer one does not fit', () => {
    const p = new PendingRequests(room(10, 8));
    p.add(req(1, 1), 0);
    assert.equal(p.add(req(1, 2, 'longer op'), 1), 'full');
    assert.deepEqual(labels(p.takeBatch(10, 1000, proposeAll)), ['c1#1']);
    assert.equal(p.bytes, 5);
    assert.equal(p.add(req(1, 3, 'ab'), 1), 'added', 'c1#1 is proposed: #3 waits beside it');
    assert.equal(p.bytes, 7);
    assert.equal(p.add(req(1, 4, 'abc'), 1), 'replaced');
    assert.equal(p.bytes, 8);
  });

  it('counts bytes back down as requests are ordered and as a new view merges a session\'s two requests', () => {
    const p = new PendingRequests(room(10, 100));
    p.add(req(1, 1), 0);
    p.add(req(2, 1), 0);
    p.takeBatch(1, 1000, proposeAll); // c1#1 proposed
    p.add(req(1, 2, 'ab'), 1); // waits beside it
    assert.equal(p.bytes, 12);
    p.enterView([]); // both c1 requests unproposed: the higher one stays
    assert.equal(p.size, 2);
    assert.equal(p.bytes, 7);
    p.ordered(req(2, 1));
    assert.equal(p.bytes, 2);
    p.ordered(req(1, 2));
    assert.equal(p.bytes, 0);
    assert.equal(p.size, 0);
  });

  it('property: bytes is always the sum of the operations held, and never exceeds the bound', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('add' as const), client: fc.integer({ min: 1, max: 4 }), no: fc.integer({ min: 1, max: 6 }), size: fc.nat(9) }),
            fc.record({ op: fc.constant('take' as const), count: fc.integer({ min: 1, max: 3 }) }),
            fc.record({ op: fc.constant('ordered' as const), client: fc.integer({ min: 1, max: 4 }), no: fc.integer({ min: 1, max: 6 }) }),
            fc.record({ op: fc.constant('view' as const), client: fc.integer({ min: 1, max: 4 }), no: fc.integer({ min: 1, max: 6 }) }),
          ),
          { maxLength: 60 },
        ),
        (steps) => {
          const p = new PendingRequests(room(3, 20));
          for (const step of steps) {
            if (step.op === 'add') p.add(req(step.client, step.no, 'x'.repeat(step.size)), 0);
            else if (step.op === 'take') p.takeBatch(step.count, 1000, proposeAll);
            else if (step.op === 'ordered') p.ordered(req(step.client, step.no));
            else p.enterView([req(step.client, step.no)]);
            assert.ok(p.bytes <= 20 && p.bytes >= 0, `bytes ${p.bytes}`);
            if (p.size === 0) assert.equal(p.bytes, 0);
          }
          // Everything held, unproposed again and taken: its operations sum to bytes.
          p.enterView([]);
          const all = p.takeBatch(100, 2 ** 30, proposeAll);
          assert.equal(p.bytes, all.reduce((sum, r) => sum + r.operation.length, 0));
          for (let client = 1; client <= 4; client++) p.ordered(req(client, 6));
          assert.equal(p.size, 0);
          assert.equal(p.bytes, 0);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('PendingRequests: requests the replica refuses to propose or forward [A5, A9]', () => {
  it('drops them from takeBatch and takeDueForForward, bytes and all, and keeps the others in order', () => {
    const forged = (r: Parameters<typeof requestLabel>[0]): boolean => r.clientId !== 2;
    const p = new PendingRequests(room(10));
    p.add(req(1, 1, 'aa'), 0);
    p.add(req(2, 1, 'bbb'), 0);
    p.add(req(3, 1, 'c'), 0);
    assert.deepEqual(labels(p.takeBatch(10, 1000, forged)), ['c1#1', 'c3#1']);
    assert.equal(p.size, 2);
    assert.equal(p.bytes, 3);
    const q = new PendingRequests(room(10));
    q.add(req(2, 1, 'bbb'), 0);
    q.add(req(1, 1, 'aa'), 1);
    assert.deepEqual(labels(q.takeDueForForward(9, 5, 10, forged)), ['c1#1']);
    assert.equal(q.size, 1);
    assert.equal(q.bytes, 2);
    assert.equal(q.oldestArrival(), 1, 'the dropped request no longer counts as waiting (T2)');
  });

  it('an all-refused batch comes back empty with nothing left to propose', () => {
    const p = new PendingRequests(room(10));
    p.add(req(2, 1), 0);
    assert.deepEqual(p.takeBatch(10, 1000, () => false), []);
    assert.equal(p.hasUnproposed, false);
    assert.equal(p.size, 0);
  });
});

describe('PendingRequests: client quotas and fair share [R5, P4]', () => {
  it('refuses a request over its key\'s count or bytes quota, while other keys still get in', () => {
    const p = new PendingRequests(room(100, 2 ** 30, { requests: 3, bytes: 10 }));
    for (let s = 0; s < 3; s++) assert.equal(p.add(req(of(1, s), 1, 'a'), 0), 'added');
    assert.equal(p.add(req(of(1, 3), 1, 'a'), 0), 'key-full', 'a fourth request of key 1');
    assert.equal(p.add(req(of(2, 0), 1, 'b'), 0), 'added', 'key 2 is not affected');
    assert.equal(p.add(req(of(2, 1), 1, 'bbbbbbbbbb'), 0), 'key-full', '1 + 10 bytes over key 2\'s 10');
    // A replacement that grows its key past the byte quota is refused too; the waiting one stays.
    assert.equal(p.add(req(of(2, 0), 2, 'bbbbbbbbbbb'), 0), 'key-full');
    assert.equal(p.size, 4);
    // Once key 1's requests are ordered, it has room again.
    p.ordered(req(of(1, 0), 1));
    assert.equal(p.add(req(of(1, 3), 1, 'a'), 0), 'added');
    assert.equal(p.keys, 2);
  });

  it('the whole-replica bound still applies over the per-key ones', () => {
    const p = new PendingRequests(room(2, 2 ** 30, { requests: 5, bytes: 2 ** 30 }));
    assert.equal(p.add(req(of(1, 0), 1), 0), 'added');
    assert.equal(p.add(req(of(2, 0), 1), 0), 'added');
    assert.equal(p.add(req(of(3, 0), 1), 0), 'full');
  });

  it('proposes one request per key in turn: a key with 1,000 waiting sessions takes one place per turn', () => {
    const p = new PendingRequests(room(10_000));
    for (let s = 0; s < 1000; s++) p.add(req(of(1, s), 1), 0); // the flood arrives first
    p.add(req(of(2, 0), 1), 1);
    p.add(req(of(3, 0), 1), 2);
    p.add(req(of(2, 1), 1), 3);
    const batch = p.takeBatch(5, 2 ** 30, proposeAll).map((r) => [Math.floor(r.clientId / 65_536), r.clientId % 65_536]);
    assert.deepEqual(batch, [[1, 0], [2, 0], [3, 0], [1, 1], [2, 1]]);
    const next = p.takeBatch(3, 2 ** 30, proposeAll).map((r) => [Math.floor(r.clientId / 65_536), r.clientId % 65_536]);
    assert.deepEqual(next, [[1, 2], [1, 3], [1, 4]], 'only key 1 is left');
  });

  it('keeps counts and bytes consistent under random adds, batches, orders and view changes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('add' as const), key: fc.nat(3), session: fc.nat(3), no: fc.integer({ min: 1, max: 4 }), size: fc.nat(6) }),
            fc.record({ op: fc.constant('batch' as const), count: fc.integer({ min: 1, max: 4 }) }),
            fc.record({ op: fc.constant('ordered' as const), key: fc.nat(3), session: fc.nat(3), no: fc.integer({ min: 1, max: 4 }) }),
            fc.record({ op: fc.constant('view' as const) }),
          ),
          { maxLength: 60 },
        ),
        (ops) => {
          const p = new PendingRequests(room(12, 40, { requests: 5, bytes: 15 }));
          const held = new Map<number, { request: ReturnType<typeof req>; proposed: boolean }[]>();
          for (const [i, o] of ops.entries()) {
            if (o.op === 'add') p.add(req(of(o.key, o.session), o.no, 'x'.repeat(o.size)), i);
            else if (o.op === 'batch') p.takeBatch(o.count, 2 ** 30, proposeAll);
            else if (o.op === 'ordered') p.ordered(req(of(o.key, o.session), o.no));
            else p.enterView([]);
            assert.ok(p.size <= 12 && p.bytes <= 40);
          }
          // Ordering everything empties it, and every counter returns to zero.
          for (let k = 0; k <= 3; k++) for (let s = 0; s <= 3; s++) p.ordered(req(of(k, s), 4));
          assert.equal(p.size, 0);
          assert.equal(p.bytes, 0);
          assert.equal(p.keys, 0);
          assert.equal(p.hasUnproposed, false);
          void held;
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });
});
