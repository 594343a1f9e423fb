/**
 * MessageLog (src/core/message-log.ts): the window above the stable
 * checkpoint, delivery and execution points, and garbage collection. Unit
 * tests of its invariants, and a property: whatever sequence of operations
 * the replica drives it with, no slot is kept at or below the stable
 * checkpoint, execution never passes delivery, and both only move forward.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantViolation } from '../../src/core/assert.js';
import { MessageLog } from '../../src/core/message-log.js';
import { seqNo, type SeqNo } from '../../src/core/ordering.js';
import { checkpointCertificate, req, stateDigestOf } from '../scenario/harness.js';

const batch = (...requests: ReturnType<typeof req>[]) => ({ digest: new Uint8Array([requests.length]), requests });
const cert = (s: number) => checkpointCertificate(s, stateDigestOf([`s${s}`]), [0, 1, 2]);

function deliverNext(log: MessageLog): SeqNo {
  const s = seqNo(log.lastDelivered + 1);
  log.slotFor(s);
  log.delivered(s, batch(req(1, s)), [req(1, s)]);
  return s;
}

describe('MessageLog', () => {
  it('starts at the genesis checkpoint with a window of logWindow above it', () => {
    const log = new MessageLog(8);
    assert.equal(log.stable.seq, 0);
    assert.equal(log.high, 8);
    assert.equal(log.lastDelivered, 0);
    assert.equal(log.lastExecuted, 0);
    assert.equal(log.size, 0);
  });

  it('executes strictly in order, the requests delivered with each batch', () => {
    const log = new MessageLog(8);
    deliverNext(log);
    deliverNext(log);
    assert.equal(log.executingCount, 2);
    assert.throws(() => log.executed(seqNo(2), 1), InvariantViolation, 'batch 2 before batch 1');
    assert.deepEqual(log.executed(seqNo(1), 1), [req(1, 1)]);
    assert.throws(() => log.executed(seqNo(2), 3), InvariantViolation, 'results must match the batch');
    assert.equal(log.lastExecuted, 1);
  });

  it('never delivers backwards or twice', () => {
    const log = new MessageLog(8);
    deliverNext(log);
    assert.throws(() => log.delivered(seqNo(1), batch(), []), InvariantViolation);
  });

  it('a stable checkpoint moves the window and drops every slot at or below it; an older one changes nothing', () => {
    const log = new MessageLog(8);
    for (let i = 0; i < 6; i++) deliverNext(log);
    log.slotFor(seqNo(7));
    assert.equal(log.advanceStable(cert(4)), true);
    assert.equal(log.high, 12);
    assert.equal(log.get(seqNo(4)), undefined);
    assert.ok(log.get(seqNo(5)) !== undefined);
    assert.equal(log.size, 3);
    assert.equal(log.advanceStable(cert(2)), false);
    assert.equal(log.stable.seq, 4);
  });

  it('answers LOG-REQUESTs with delivered batches above the stable checkpoint, at most max', () => {
    const log = new MessageLog(16);
    for (let i = 0; i < 6; i++) deliverNext(log);
    log.advanceStable(cert(2));
    assert.deepEqual(log.deliveredAfter(seqNo(0), 10).map((b) => b.seq), [3, 4, 5, 6]);
    assert.deepEqual(log.deliveredAfter(seqNo(4), 1).map((b) => b.seq), [5]);
    assert.deepEqual(log.deliveredAfter(seqNo(6), 10), []);
  });

  it('restarts after an installed checkpoint only with nothing executing', () => {
    const log = new MessageLog(8);
    deliverNext(log);
    assert.throws(() => log.restartAfter(seqNo(8)), InvariantViolation);
    log.executed(seqNo(1), 1);
    log.advanceStable(cert(8));
    log.restartAfter(seqNo(8));
    assert.equal(log.lastDelivered, 8);
    assert.equal(log.lastExecuted, 8);
    assert.equal(log.size, 0);
  });

  it('property: slots only above the stable checkpoint; lastExecuted <= lastDelivered; both monotone', () => {
    const op = fc.oneof(
      fc.constant({ kind: 'deliver' as const }),
      fc.constant({ kind: 'execute' as const }),
      fc.record({ kind: fc.constant('touch' as const), offset: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('stable' as const), steps: fc.integer({ min: 1, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const log = new MessageLog(8);
        let delivered = 0;
        let executed = 0;
        for (const o of ops) {
          if (o.kind === 'deliver' && log.lastDelivered < log.high) deliverNext(log);
          if (o.kind === 'execute' && log.executingCount > 0) log.executed(seqNo(log.lastExecuted + 1), 1);
          if (o.kind === 'touch' && log.stable.seq + o.offset > log.lastDelivered) log.slotFor(seqNo(log.stable.seq + o.offset));
          if (o.kind === 'stable') {
            const s = Math.floor(log.lastExecuted / 2) * 2; // checkpoints every 2, at most what executed
            if (s > 0) log.advanceStable(cert(s));
          }
          assert.ok(log.lastExecuted <= log.lastDelivered);
          assert.ok(log.lastDelivered >= delivered && log.lastExecuted >= executed);
          delivered = log.lastDelivered;
          executed = log.lastExecuted;
          for (let s = 0; s <= log.stable.seq; s++) assert.equal(log.get(seqNo(s)), undefined, `slot ${s} kept at or below stable ${log.stable.seq}`);
          assert.ok(log.size <= 8, 'at most logWindow slots');
        }
      }),
    );
  });
});
