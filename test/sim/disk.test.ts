/**
 * The simulator's disk (src/sim/disk.ts, docs/SIMULATOR.md "Disks"): group
 * commit, what a crash keeps of the unsynced tail (torn or not), recovery
 * through the real frames and record codec into the core's fold, atomic
 * rotation, and images that outlive a crash.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DurableState, type DurableRecord } from '../../src/core/durable.js';
import { replicaId } from '../../src/core/ids.js';
import type { CheckpointCertificate } from '../../src/core/messages.js';
import { seqNo, view } from '../../src/core/ordering.js';
import { defaultProtocolOptions } from '../../src/core/options.js';
import { CheckpointImage } from '../../src/checkpoint/image.js';
import { checkpointBy, prePrepareBy, SimKeys, simCrypto, wireLimits } from '../../src/sim/core-api.js';
import { SimDisk, type DiskHost } from '../../src/sim/disk.js';
import { Rng } from '../../src/sim/rng.js';
import { IN_MEMORY, type StorageSpec } from '../../src/sim/scenario.js';
import { encodeRecord } from '../../src/storage/record-codec.js';
import { signedRequest } from '../support/signed-requests.js';
import { encodeOperation } from '../../src/sim/service.js';

const keys = new SimKeys(1, 4);
const crypto = simCrypto(keys, replicaId(0));
const limits = wireLimits(defaultProtocolOptions, 4);

/** A host whose timers run only when the test says so. */
class Clock implements DiskHost {
  readonly timers: (() => void)[] = [];
  faults = false;
  now(): number {
    return 0;
  }
  after(_delay: number, action: () => void): void {
    this.timers.push(action);
  }
  inFaultPhase(): boolean {
    return this.faults;
  }
  /** Completes the oldest sync in flight. */
  fire(): void {
    const t = this.timers.shift();
    assert.ok(t !== undefined, 'no sync in flight');
    t();
  }
}

const spec = (over: Partial<StorageSpec> = {}): StorageSpec => ({ ...IN_MEMORY, durable: true, syncMin: 10, syncMax: 100, rotateEvery: 1, ...over });

function disk(over: Partial<StorageSpec> = {}): { d: SimDisk; clock: Clock; durable: number[] } {
  const clock = new Clock();
  const durable: number[] = [];
  const d = new SimDisk(clock, spec(over), Rng.derive(7, 'disk-test'), (t) => durable.push(t));
  return { d, clock, durable };
}

const pp = (s: number, op = s): DurableRecord => ({
  kind: 'pre-prepare',
  message: prePrepareBy(crypto, view(0), seqNo(s), [signedRequest(65536 + 1, op, encodeOperation('append', 1, new Uint8Array([op])))]),
});
const installed = (v: number): DurableRecord => ({ kind: 'view-installed', view: view(v) });
const stable = (s: number): DurableRecord => {
  const m = checkpointBy(crypto, seqNo(s), new Uint8Array(32).fill(s));
  const certificate: CheckpointCertificate = { seq: seqNo(s), stateDigest: m.stateDigest, signatures: [{ replica: replicaId(0), signature: m.signature }] };
  return { kind: 'stable', certificate };
};
const encoded = (state: DurableState): string[] => state.records().map((r) => Buffer.from(encodeRecord(r)).toString('hex'));
const fold = (records: readonly DurableRecord[]): DurableState => {
  const s = new DurableState();
  for (const r of records) s.apply(r);
  return s;
};

describe('the simulated disk', () => {
  it('group commit: one sync in flight; what is appended meanwhile waits for the next, which follows at once', () => {
    const { d, clock, durable } = disk();
    d.append(installed(1));
    d.append(pp(1));
    d.kick();
    d.append(pp(2));
    d.kick(); // a sync is in flight: this one waits
    assert.equal(clock.timers.length, 1);
    assert.deepEqual([d.lastTicket, d.durableTicket], [3, 0]);
    clock.fire();
    assert.deepEqual(durable, [2]);
    assert.equal(clock.timers.length, 1, 'the next group starts as the first completes');
    clock.fire();
    assert.deepEqual(durable, [2, 3]);
    assert.equal(clock.timers.length, 0);
  });

  it('a crash keeps what was synced and, with tailKeepP 0, none of the rest', () => {
    const { d, clock } = disk({ tailKeepP: 0 });
    const synced = [installed(1), pp(1)];
    for (const r of synced) d.append(r);
    d.kick();
    clock.fire();
    d.append(pp(2));
    d.kick();
    const outcome = d.crash();
    assert.equal(outcome.keptTailBytes, 0);
    assert.ok(outcome.lostTailBytes > 0);
    clock.fire(); // the sync that was in flight never completes
    const recovery = d.recover(limits);
    assert.equal(recovery.records, 2);
    assert.deepEqual(encoded(recovery.state), encoded(fold(synced)));
    assert.equal(d.durableTicket, d.lastTicket, 'what survived is durable: nothing waits for lost tickets');
  });

  it('a crash may keep a torn prefix of the unsynced tail: recovery cuts it and keeps the whole frames before it', () => {
    let torn = 0;
    for (let i = 0; i < 40; i++) {
      const clock = new Clock();
      const d = new SimDisk(clock, spec({ tailKeepP: 1, tornP: 1 }), Rng.derive(i, 'disk-test'), () => {});
      d.append(installed(1));
      d.kick();
      clock.fire();
      const tail = [pp(1), pp(2), pp(3)];
      for (const r of tail) d.append(r);
      d.kick();
      const outcome = d.crash();
      assert.ok(outcome.keptTailBytes > 0);
      const recovery = d.recover(limits);
      assert.ok(recovery.records >= 1 && recovery.records <= 4);
      assert.deepEqual(encoded(recovery.state), encoded(fold([installed(1), ...tail.slice(0, recovery.records - 1)])));
      if (outcome.torn) {
        torn++;
        assert.ok(recovery.truncatedBytes > 0, 'a torn tail is cut off');
      } else {
        assert.equal(recovery.truncatedBytes, 0);
      }
    }
    assert.ok(torn > 20, `torn in ${torn} of 40 crashes`);
  });

  it('rotation replaces the journal with the fold of everything before it, atomically', () => {
    const { d, clock } = disk({ tailKeepP: 1, tornP: 0 });
    const before = [installed(1), pp(1), pp(2), stable(2), pp(3)];
    for (const r of before) d.append(r);
    d.kick();
    clock.fire();
    const full = d.bytes;
    d.rotate();
    d.append(pp(4));
    d.kick();
    // A crash before the rotation's sync: the old journal, whole (the new file is discarded, and with it what followed the rotation).
    const early = d.crash();
    assert.equal(early.keptTailBytes, 0);
    clock.fire(); // the sync in flight never completes
    assert.equal(d.durableTicket, before.length, 'nor the rotation');
    const recovered = d.recover(limits);
    assert.equal(recovered.records, before.length);
    assert.equal(d.bytes, full);
    // Again, this time synced: the new journal holds the fold's records, then what followed.
    d.rotate();
    d.append(pp(4));
    d.kick();
    clock.fire();
    assert.ok(d.bytes < full, 'slots at or below the stable checkpoint are gone');
    d.crash();
    const after = d.recover(limits);
    assert.deepEqual(encoded(after.state), encoded(fold([...before, pp(4)])));
    assert.equal(after.state.stable.seq, 2);
    assert.deepEqual(
      after.state.slots().map(([s]) => s),
      [3, 4],
    );
  });

  it('keeps checkpoint images through a crash, and drops one only once a later stable checkpoint is synced', () => {
    const { d, clock } = disk();
    const image = (n: number): CheckpointImage => CheckpointImage.build(new Uint8Array(0), new Uint8Array([n]), [new Uint8Array(32)], 64);
    d.keepImage(seqNo(2), image(2));
    d.keepImage(seqNo(4), image(4));
    d.append(stable(4));
    d.kick();
    assert.ok(d.image(seqNo(2)) !== undefined, 'the stable record is not synced yet');
    clock.fire();
    assert.equal(d.image(seqNo(2)), undefined);
    d.crash();
    const recovery = d.recover(limits);
    assert.equal(recovery.state.stable.seq, 4);
    assert.ok(d.image(seqNo(4)) !== undefined);
    d.wipe();
    assert.equal(d.image(seqNo(4)), undefined, 'a lost disk loses its images too');
    assert.equal(d.recover(limits).records, 0);
  });

  it('holds records the real codec writes: every kind the core persists decodes back to the same record', () => {
    const { d, clock } = disk();
    const records = [installed(2), pp(1), stable(2), pp(3)];
    for (const r of records) d.append(r);
    d.kick();
    clock.fire();
    d.crash();
    assert.deepEqual(encoded(d.recover(limits).state), encoded(fold(records)));
  });
});
