/**
 * A lossy network costs latency, never a view change (issue: lossy-network
 * had 18 view changes in 180 s with every replica up and correct).
 *
 * What a real connection death looks like to the core (measured with
 * src/chaos/middlebox.ts between two ReplicaNetworks, idle timeout 3 s):
 * a stall blackholes one direction X -> Y until the idle timeout closes it,
 * about 3 s, i.e. 300 ticks; a corrupted or duplicated TLS record did the
 * same before the network layer closed a socket on a TLS error (the dialer
 * got the peer's alert at once but kept the socket until its idle timer,
 * ~3 s later). So the unit of loss modelled here is "every message X sends
 * to Y is lost for 300 ticks" (`blockWhere`, which also eats R7's resends).
 *
 * The run: n = 4, default protocol options (tick = 10 ms, T2 = 100 ticks,
 * R7 = 30 ticks, checkpoints every 64 batches), 16 closed-loop client
 * sessions that send each request to every replica and retransmit after 30
 * ticks (60 at most), one tick per hop. That orders about 1.3 batches a
 * tick, close to the 2 a tick of the real cluster: the others' stable
 * checkpoint moves every ~50 ticks, before a backup's first stalled R7 round
 * asks for the log (S13), so the log can no longer give it the batches it
 * missed and only a checkpoint transfer can.
 *
 * (Safety is checked by the harness on every execution: no two replicas
 * execute different batches at one sequence number. Histories are not
 * compared whole: a backup that caught up by a checkpoint transfer executed
 * fewer batches.)
 *
 * Findings these tests pin (docs/VIEW-CHANGE.md R7, docs/STATE-TRANSFER.md
 * S13-S15):
 * - One link down for 300 ticks never causes a view change (passes today):
 *   the other three replicas are a quorum.
 * - But the backup cut off from the primary's PRE-PREPAREs takes no part in
 *   ordering for the whole outage: nobody but the primary ever sends a
 *   PRE-PREPARE (R7 resends only the primary's own, and only to undelivered
 *   slots), and S13's LOG-ENTRIES start above the others' stable checkpoint,
 *   so it lives on checkpoint transfers (FAILS today).
 * - Hence any second outage that overlaps it, on a link among the three
 *   others, leaves no three replicas that can complete a slot, and T2 fires
 *   (FAILS today). A backup that holds the primary's signed PRE-PREPARE could
 *   give it to the one that lacks it (the signature, not the channel, proves
 *   it), and that backup would PREPARE and restore the quorum.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, req, type Envelope } from './harness.js';

const SESSIONS = 16;
const HOP = 1;
/** A stall (or a TLS failure before the network closed on it) lasts the idle timeout: 3 s. */
const OUTAGE = 300;
const RETRANSMIT = 30;
const RETRANSMIT_MAX = 60;

interface Link {
  readonly from: number;
  readonly to: number;
}

interface Outage {
  readonly link: Link;
  readonly at: number;
  readonly ticks: number;
}

interface Run {
  readonly c: Cluster;
  /** `r<i>->v<w>@<tick>` for every view change a replica started. */
  readonly started: string[];
  /** Per tick, from `watchFrom`: how far `watched` was behind the most advanced replica. */
  readonly lag: number[];
  readonly acknowledged: number;
}

/** Closed-loop load for `total` ticks with the given one-way outages; tracks how far replica `watched` lags. */
function run(outages: readonly Outage[], total: number, watched = 1, watchFrom = 0): Run {
  const c = new Cluster({ n: 4 });
  const on = (e: Envelope, l: Link): boolean => e.kind === 'message' && e.from === l.from && e.to === l.to;
  const active = (): Link[] => outages.filter((o) => c.now >= o.at && c.now < o.at + o.ticks).map((o) => o.link);
  const next = new Map<number, number>();
  const open = new Map<number, { label: string; request: ReturnType<typeof req>; lastSent: number; backoff: number; from: Set<number> }>();
  const send = (session: number): void => {
    const no = (next.get(session) ?? 0) + 1;
    next.set(session, no);
    const request = req(session, no);
    open.set(session, { label: `c${session}#${no}`, request, lastSent: c.now, backoff: RETRANSMIT, from: new Set() });
    c.submit(request);
  };
  for (let s = 1; s <= SESSIONS; s++) send(s);
  let seen = 0;
  let acknowledged = 0;
  const lag: number[] = [];
  for (let t = 0; t < total; t++) {
    c.tick(1);
    const down = active();
    if (down.length > 0) c.drop((e) => down.some((l) => on(e, l)));
    c.deliverWhere((e) => c.ageOf(e) >= HOP);
    for (; seen < c.replies.length; seen++) {
      const reply = c.replies[seen]!;
      const session = Number(reply.request.slice(1, reply.request.indexOf('#')));
      const o = open.get(session);
      if (o === undefined || o.label !== reply.request) continue;
      o.from.add(reply.from);
      if (o.from.size >= 2) {
        open.delete(session);
        acknowledged++;
      }
    }
    for (let s = 1; s <= SESSIONS; s++) {
      const o = open.get(s);
      if (o === undefined) send(s);
      else if (c.now - o.lastSent >= o.backoff) {
        o.lastSent = c.now;
        o.backoff = Math.min(RETRANSMIT_MAX, 2 * o.backoff);
        c.submit(o.request);
      }
    }
    if (c.now >= watchFrom) {
      const ahead = Math.max(...c.replicas.map((r) => c.status(r).lastDelivered));
      lag.push(ahead - c.status(watched).lastDelivered);
    }
  }
  const started = c.viewEvents.filter((e) => e.kind === 'started').map((e) => `r${e.replica}->v${e.view}@${e.tick}`);
  return { c, started, lag, acknowledged };
}

/**
 * Known limits, not yet fixed (a backup can get a missed PRE-PREPARE only
 * from the primary, and S13's log starts above the others' stable
 * checkpoint): since TLS errors close their sockets at once, only a stall
 * (a blackhole until the idle timeout) lasts this long in the real network.
 * The fix proposed: LOG-ENTRIES also carry the current view's PRE-PREPAREs of
 * undelivered slots, asked for at once when f + 1 COMMITs arrive for a slot
 * without one; and f + 1 LOG-ENTRIES that all start above the next slot put
 * the replica behind at once (docs/CHAOS.md, "lossy-network").
 */
const TODO = 'a backup cut off from the primary for 3 s falls out of ordering; see the comment above';

const AT = 200;
const TOTAL = 900;
const names = ['P', 'B1', 'B2', 'B3'];
const linkName = (l: Link): string => `${names[l.from]}->${names[l.to]}`;

describe('one link down for the idle timeout under load', () => {
  const single: Link[] = [
    { from: 0, to: 1 }, // primary -> backup: PRE-PREPAREs and COMMITs
    { from: 1, to: 0 }, // backup -> primary
    { from: 1, to: 2 }, // backup -> backup
  ];
  for (const link of single) {
    it(`${linkName(link)} down for ${OUTAGE} ticks: no view change`, () => {
      const r = run([{ link, at: AT, ticks: OUTAGE }], TOTAL);
      assert.deepEqual(r.started, [], 'view changes started');
    });
  }

  it(`P->B1 down for ${OUTAGE} ticks: B1 keeps ordering (within pipelineMax of the others 2 R7 rounds after the loss, and after)`, { todo: TODO }, () => {
    const repairBy = AT + 2 * 30; // R7's promise: a loss is repaired within two rounds
    const r = run([{ link: { from: 0, to: 1 }, at: AT, ticks: OUTAGE }], TOTAL, 1, repairBy);
    const behind = r.lag.filter((l) => l > 4).length;
    const worst = Math.max(...r.lag);
    // Today B1 is out for about the whole outage: its PRE-PREPAREs come only from the primary,
    // and S13's log starts above the others' stable checkpoint, so it catches up by checkpoint transfers.
    assert.ok(behind <= 10, `B1 was more than pipelineMax behind for ${behind} of ${r.lag.length} ticks after tick ${repairBy} (worst ${worst} batches)`);
    assert.deepEqual(r.started, [], 'view changes started');
  });
});

describe('two overlapping outages of one link each, every replica correct', () => {
  // Each pair leaves the primary able to reach a quorum if the backup that lacks its PRE-PREPAREs
  // could get them from another backup. (Two outages that leave the primary hearing from one backup
  // only, e.g. B1->P and B2->P, are indistinguishable from a faulty primary: not asserted here.)
  const pairs: [Link, Link][] = [
    [{ from: 0, to: 1 }, { from: 2, to: 3 }], // P->B1 and B2->B3
    [{ from: 0, to: 1 }, { from: 2, to: 0 }], // P->B1 and B2->P
  ];
  for (const [a, b] of pairs) {
    for (const gap of [0, 50, 150]) {
      it(`${linkName(a)} down, ${linkName(b)} down ${gap} ticks later, each for ${OUTAGE} ticks: no view change`, { todo: TODO }, () => {
        const r = run(
          [
            { link: a, at: AT, ticks: OUTAGE },
            { link: b, at: AT + gap, ticks: OUTAGE },
          ],
          TOTAL,
        );
        assert.deepEqual(r.started, [], 'view changes started');
      });
    }
  }
});
