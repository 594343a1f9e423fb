/**
 * One Byzantine chunk source must not throttle a state transfer
 * (docs/STATE-TRANSFER.md S9, S11; src/core/chunk-fetch.ts). Found by a
 * review of the first version of S11's back-off.
 *
 * n = 4. r3 is cut off while s1..s16 execute; r0, r1, r2 all hold checkpoint
 * 16 as stable and name it, so all three are its sources. r1 is Byzantine
 * but its core is honest: it only chooses WHEN its CHUNK answers reach r3.
 * The attack on that version: let requests time out (each timeout doubled a
 * timeout shared by all sources), answer one late (a late answer lifted the
 * stall mark), repeat up to 16 times the base timeout, then answer every
 * chunk one tick before it: never stalled again, r1's slow requests
 * gathered every in-flight slot (new chunks went round robin and the slots
 * were shared), and a catch-up that took 55 ticks with r1 honest and 137
 * with r1 silent took 1,953.
 *
 * Expected: a slow source holds only its share of the slots, its timeout is
 * its own, and only answers in time restore it, so whatever delay r1
 * chooses — just under the base timeout, or just under the largest one —
 * the transfer costs no more than with r1 silent (within a few timeouts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, type Envelope, fastTimers, involving, req } from './harness.js';

const options = { ...fastTimers, checkpointInterval: 4, logWindow: 8, batchRequestsMax: 1, pipelineMax: 4, chunkBytes: 8 };
const B = 1;
const VICTIM = 3;
const T = options.viewChangeResendTicks;

const chunkFromB = (e: Envelope): boolean => e.kind === 'message' && e.from === B && e.to === VICTIM && e.message.type === 'chunk';

function setUp(): Cluster {
  const c = new Cluster({ n: 4, options, byzantine: [B] });
  const heal = c.blackhole(involving(VICTIM));
  for (let client = 1; client <= 16; client++) {
    c.submit(req(client, 1, `${'x'.repeat(48)}${client}`), [0, 1, 2]);
    c.deliverAll();
  }
  heal();
  assert.deepEqual(
    c.replicas.map((r) => c.status(r).stableCheckpoint),
    [16, 16, 16, 0],
    'premise: r0..r2 hold checkpoint 16 as stable; r3 was cut off',
  );
  // Traffic after the heal: the evidence that makes r3 behind (S4 b).
  for (let client = 17; client <= 20; client++) c.submit(req(client, 1, `${'x'.repeat(48)}${client}`));
  return c;
}

/** Ticks until r3 executed all 20 requests, r1 answering chunks `delay` ticks late ('silent': never). */
function catchUp(delay: number | 'silent', max: number): number {
  const c = setUp();
  if (delay === 'silent') c.blockWhere(chunkFromB);
  const deliver = (e: Envelope): boolean => delay === 'silent' || !chunkFromB(e) || c.ageOf(e) >= delay;
  let ticks = 0;
  while (ticks < max && c.serviceLog(VICTIM).length < 20) {
    c.run(1, { deliver });
    ticks++;
  }
  assert.equal(c.serviceLog(VICTIM).length, 20, `r1 ${delay === 'silent' ? 'silent' : `${delay} ticks late`}: r3 caught up within ${max} ticks`);
  return ticks;
}

describe('one slow chunk source', () => {
  it('costs a state transfer no more than a source that never answers', () => {
    const honest = catchUp(0, 20_000);
    const silent = catchUp('silent', 20_000);
    for (const delay of [T - 1, 2 * T - 1, 16 * T - 1]) {
      const slow = catchUp(delay, 20_000);
      assert.ok(
        slow <= silent + 4 * T,
        `r1 answering ${delay} ticks late: ${slow} ticks to catch up, against ${silent} with r1 silent and ${honest} with r1 honest`,
      );
    }
  });
});
