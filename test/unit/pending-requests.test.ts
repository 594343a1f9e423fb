/**
 * PendingRequests (src/core/pending-requests.ts), the timing side used by the
 * view change (docs/VIEW-CHANGE.md T1, T2, V7): oldestArrival,
 * takeDueForForward (each request forwarded once), unproposeAll and
 * markProposed.
 * BUG: after unproposeAll / markProposed the maps are no longer in arrival
 * order, but oldestArrival and takeDueForForward assume they are: the oldest
 * request is missed (T2 suspects the primary late) and a due request waits
 * behind a younger one before it is forwarded (T1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PendingRequests } from '../../src/core/pending-requests.js';
import { req, requestLabel } from '../scenario/harness.js';

const labels = (rs: readonly Parameters<typeof requestLabel>[0][]): string[] => rs.map(requestLabel);

describe('PendingRequests.oldestArrival', () => {
  it('is undefined when empty, else the earliest arrival among waiting and proposed requests', () => {
    const p = new PendingRequests(10);
    assert.equal(p.oldestArrival(), undefined);
    p.add(req(1, 1), 3);
    p.add(req(2, 1), 5);
    assert.equal(p.oldestArrival(), 3);
    assert.deepEqual(labels(p.takeBatch(1, 1000)), ['c1#1']); // c1#1 proposed
    p.add(req(3, 1), 7);
    assert.equal(p.oldestArrival(), 3, 'a proposed request still counts');
    p.ordered(req(1, 1));
    assert.equal(p.oldestArrival(), 5);
    p.ordered(req(2, 1));
    p.ordered(req(3, 1));
    assert.equal(p.oldestArrival(), undefined);
  });

  it("a session's newer request replaces the waiting one and arrives anew", () => {
    const p = new PendingRequests(10);
    p.add(req(1, 1), 1);
    p.add(req(2, 1), 2);
    assert.equal(p.add(req(1, 2), 9), 'replaced');
    assert.equal(p.oldestArrival(), 2);
    assert.equal(p.size, 2);
  });

  it('BUG: after unproposeAll the oldest request is missed', () => {
    // c1#1 (tick 1) is proposed by this replica as primary; c2#1 (tick 2) and c3#1 (tick 3) wait.
    // A new view: unproposeAll appends c1#1 after c2#1 and c3#1 in the `unproposed` map, and
    // oldestArrival reads only the first entry of each map. Expected 1, observed 2.
    // Fix: keep both maps in arrival order (merge by `arrived` in unproposeAll, insert by
    // `arrived` in markProposed), or track the minimum separately.
    const p = new PendingRequests(10);
    p.add(req(1, 1), 1);
    p.takeBatch(1, 1000);
    p.add(req(2, 1), 2);
    p.add(req(3, 1), 3);
    p.unproposeAll();
    assert.equal(p.oldestArrival(), 1);
  });

  it('BUG: after markProposed out of arrival order the oldest request is missed', () => {
    // A backup holds c1#1 (tick 1), c2#1 (tick 2), c3#1 (tick 3); a NEW-VIEW proposes c2#1 at
    // one sequence number and c1#1 at a later one: markProposed(c2#1), markProposed(c1#1).
    // `proposed` is now [c2#1, c1#1]. Expected 1, observed 2.
    const p = new PendingRequests(10);
    p.add(req(1, 1), 1);
    p.add(req(2, 1), 2);
    p.add(req(3, 1), 3);
    p.markProposed(req(2, 1));
    p.markProposed(req(1, 1));
    assert.equal(p.oldestArrival(), 1);
  });
});

describe('PendingRequests.takeDueForForward', () => {
  it('returns each request once it is `age` old, and only once', () => {
    const p = new PendingRequests(10);
    p.add(req(1, 1), 0);
    p.add(req(2, 1), 3);
    assert.deepEqual(p.takeDueForForward(4, 5, 10), []);
    assert.deepEqual(labels(p.takeDueForForward(5, 5, 10)), ['c1#1']);
    assert.deepEqual(p.takeDueForForward(6, 5, 10), [], 'c1#1 is not forwarded again');
    assert.deepEqual(labels(p.takeDueForForward(8, 5, 10)), ['c2#1']);
    assert.deepEqual(p.takeDueForForward(100, 5, 10), []);
    assert.equal(p.size, 2, 'forwarding does not remove anything');
  });

  it('respects countMax, and the rest comes on the next call', () => {
    const p = new PendingRequests(10);
    for (let c = 1; c <= 5; c++) p.add(req(c, 1), 0);
    assert.deepEqual(labels(p.takeDueForForward(10, 5, 2)), ['c1#1', 'c2#1']);
    assert.deepEqual(labels(p.takeDueForForward(10, 5, 2)), ['c3#1', 'c4#1']);
    assert.deepEqual(labels(p.takeDueForForward(10, 5, 2)), ['c5#1']);
  });

  it('forwards only requests this replica has not proposed; a replacing request is forwarded anew', () => {
    const p = new PendingRequests(10);
    p.add(req(1, 1), 0);
    p.add(req(2, 1), 0);
    p.markProposed(req(1, 1));
    assert.deepEqual(labels(p.takeDueForForward(10, 5, 10)), ['c2#1']);
    p.add(req(2, 2), 10);
    assert.deepEqual(labels(p.takeDueForForward(15, 5, 10)), ['c2#2']);
  });

  it('BUG: after unproposeAll a due request waits behind a younger one', () => {
    // c1#1 (tick 1) proposed, c2#1 (tick 4) waiting; unproposeAll puts c1#1 after c2#1. At tick 6
    // with age 5 c1#1 is due, c2#1 is not: the scan stops at c2#1. Expected [c1#1], observed [].
    const p = new PendingRequests(10);
    p.add(req(1, 1), 1);
    p.takeBatch(1, 1000);
    p.add(req(2, 1), 4);
    p.unproposeAll();
    assert.deepEqual(labels(p.takeDueForForward(6, 5, 10)), ['c1#1']);
  });
});

describe('PendingRequests.unproposeAll and markProposed', () => {
  it('unproposeAll: a new view forgets this replica\'s proposals; they are proposed again', () => {
    const p = new PendingRequests(10);
    p.add(req(1, 1), 0);
    p.add(req(2, 1), 0);
    assert.deepEqual(labels(p.takeBatch(10, 1000)), ['c1#1', 'c2#1']);
    assert.equal(p.hasUnproposed, false);
    p.unproposeAll();
    assert.equal(p.hasUnproposed, true);
    assert.equal(p.size, 2);
    assert.deepEqual([...labels(p.takeBatch(10, 1000))].sort(), ['c1#1', 'c2#1']);
    assert.equal(p.add(req(1, 1), 5), 'duplicate', 'still known as proposed');
  });

  it("unproposeAll keeps a session's waiting newer request and drops its proposed older one", () => {
    const p = new PendingRequests(10);
    p.add(req(1, 1), 0);
    p.takeBatch(1, 1000);
    p.add(req(1, 2), 1); // the client moved on: #1 was answered by f + 1 replicas
    assert.equal(p.size, 2);
    p.unproposeAll();
    assert.equal(p.size, 1);
    assert.deepEqual(labels(p.takeBatch(10, 1000)), ['c1#2']);
  });

  it('markProposed: the exact request is taken out of the proposable ones, other numbers are not', () => {
    const p = new PendingRequests(10);
    p.add(req(1, 2), 0);
    p.add(req(2, 1), 0);
    p.add(req(3, 1), 0);
    p.markProposed(req(1, 1)); // an older number of c1: no effect
    p.markProposed(req(2, 1));
    p.markProposed(req(9, 1)); // unknown session: no effect
    assert.equal(p.size, 3);
    assert.deepEqual(labels(p.takeBatch(10, 1000)), ['c1#2', 'c3#1']);
    assert.equal(p.add(req(2, 1), 1), 'duplicate');
    p.unproposeAll();
    assert.deepEqual([...labels(p.takeBatch(10, 1000))].sort(), ['c1#2', 'c2#1', 'c3#1']);
  });

  it('ordered() drops a session once a request numbered at least as high is ordered, proposed or not', () => {
    const p = new PendingRequests(10);
    p.add(req(1, 1), 0);
    p.add(req(2, 3), 0);
    p.markProposed(req(1, 1));
    p.ordered(req(1, 1));
    p.ordered(req(2, 2)); // lower than the waiting #3: kept
    assert.equal(p.size, 1);
    p.ordered(req(2, 5));
    assert.equal(p.size, 0);
  });
});
