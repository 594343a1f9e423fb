/**
 * The client table (src/core/client-table.ts, docs/DESIGN.md "Exactly-once"):
 * a full table refuses new sessions and never forgets one; cached reply
 * bodies are bounded in bytes by dropping the least recently executed ones,
 * the same way on every replica and across a checkpoint's encode, decode and
 * restore.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClientTable, refusedReply, type ClientTableLimits } from '../../src/core/client-table.js';
import type { ClientTableEntry } from '../../src/core/effects.js';
import { clientId } from '../../src/core/ids.js';
import { requestNo, view } from '../../src/core/ordering.js';
import { decodeClientTable, encodeClientTable } from '../../src/wire/client-table.js';
import { req } from '../scenario/harness.js';

const refuse = { sessionsFull: () => 'refuse' as const, keyQuotaApplies: () => true };
const evict = { sessionsFull: () => 'evict-least-recent' as const, keyQuotaApplies: () => true };
/** Table limits; the per-key one never binds unless said. */
const limits = (clientSessionsMax: number, clientReplyCacheBytesMax = 2 ** 30, clientSessionsPerKeyMax = 2 ** 32): ClientTableLimits => ({
  clientSessionsMax,
  clientSessionsPerKeyMax,
  clientReplyCacheBytesMax,
});
const bytes = (length: number, fill = 1): Uint8Array => new Uint8Array(length).fill(fill);

/** Admits and executes `request` with `result`, as delivery and execution would. */
function run(table: ClientTable, client: number, no: number, result: Uint8Array): void {
  assert.equal(table.admit(req(client, no), refuse), 'new');
  table.executed(clientId(client), requestNo(no), result, false);
}

const summary = (entries: readonly ClientTableEntry[]): string[] =>
  entries.map((e) => `c${e.clientId}#${e.requestNo}${e.replyDropped === true ? ' dropped' : `:${e.result.length}`}`);

describe('ClientTable admission when full (clientSessionsMax)', () => {
  it('refuses a new session once the table knows clientSessionsMax, and creates nothing for it', () => {
    const table = new ClientTable(limits(2));
    assert.equal(table.admit(req(1, 1), refuse), 'new');
    assert.equal(table.admit(req(2, 1), refuse), 'new');
    assert.equal(table.admit(req(3, 1), refuse), 'refused');
    assert.equal(table.size, 2);
    assert.equal(table.isNew(req(3, 1)), true, 'still unknown: its retransmission is ordered and refused again');
    assert.equal(table.admit(req(3, 1), refuse), 'refused');
    assert.equal(table.admit(req(3, 2), refuse), 'refused');
  });

  it('never forgets a session: known sessions go on, their old requests stay old', () => {
    const table = new ClientTable(limits(2));
    run(table, 1, 1, bytes(1));
    run(table, 2, 1, bytes(1));
    for (let c = 3; c < 100; c++) assert.equal(table.admit(req(c, 1), refuse), 'refused');
    assert.equal(table.admit(req(1, 1), refuse), 'old', 'a late retransmission of c1#1 is not executed again');
    assert.equal(table.isNew(req(1, 1)), false);
    assert.deepEqual(table.cachedReply(clientId(1), requestNo(1), view(0))?.result, bytes(1));
    assert.equal(table.admit(req(1, 2), refuse), 'new');
    assert.equal(table.admit(req(2, 5), refuse), 'new');
  });

  it('a rule that evicts (the evict-sessions mutant) forgets the least recently ordered session', () => {
    const table = new ClientTable(limits(2));
    run(table, 1, 1, bytes(1));
    run(table, 2, 1, bytes(1));
    assert.equal(table.admit(req(3, 1), evict), 'new');
    table.executed(clientId(3), requestNo(1), bytes(1), false);
    assert.equal(table.size, 2);
    assert.deepEqual(summary(table.entries()), ['c2#1:1', 'c3#1:1'], 'the executed part forgets c1 too, in execution order');
    assert.equal(table.admit(req(1, 1), evict), 'new', 'which is the bug: c1#1 would run again');
  });

  it('refuses a new session of a key that has clientSessionsPerKeyMax sessions, while other keys still get in', () => {
    const table = new ClientTable(limits(100, 2 ** 30, 2));
    const key = (k: number, session: number): number => k * 65_536 + session;
    assert.equal(table.admit(req(key(1, 0), 1), refuse), 'new');
    assert.equal(table.admit(req(key(1, 1), 1), refuse), 'new');
    assert.equal(table.admit(req(key(1, 2), 1), refuse), 'refused', 'a third session of key 1');
    assert.equal(table.admit(req(key(1, 0), 2), refuse), 'new', 'its known sessions go on');
    assert.equal(table.admit(req(key(2, 0), 1), refuse), 'new', 'key 2 is not affected');
    // A checkpoint's table restores the count: key 1 stays full after a state transfer.
    for (const [id, no] of [[key(1, 0), 2], [key(1, 1), 1], [key(2, 0), 1]] as const) table.executed(clientId(id), requestNo(no), bytes(1), false);
    const restored = new ClientTable(limits(100, 2 ** 30, 2));
    restored.restore(table.entries());
    assert.equal(restored.admit(req(key(1, 3), 1), refuse), 'refused');
    assert.equal(restored.admit(req(key(2, 1), 1), refuse), 'new');
  });

  it('the reply for a refused request is marked refused and carries no result', () => {
    assert.deepEqual(refusedReply(req(3, 7), view(2)), {
      type: 'reply',
      view: view(2),
      clientId: clientId(3),
      requestNo: requestNo(7),
      status: 'refused',
      result: new Uint8Array(0),
    });
  });
});

describe('ClientTable reply bytes (clientReplyCacheBytesMax)', () => {
  it('drops the least recently executed bodies past the bound; sessions and request numbers stay', () => {
    const table = new ClientTable(limits(10, 10));
    run(table, 1, 1, bytes(4));
    run(table, 2, 1, bytes(4));
    assert.equal(table.replyBytes, 8);
    run(table, 3, 1, bytes(4));
    assert.equal(table.replyBytes, 8);
    assert.deepEqual(summary(table.entries()), ['c1#1 dropped', 'c2#1:4', 'c3#1:4'], 'in execution order');
    assert.equal(table.cachedReply(clientId(1), requestNo(1), view(0)), undefined, 'no cached reply, never an empty one');
    assert.equal(table.admit(req(1, 1), refuse), 'old', 'and still not executed again');
    assert.ok(table.cachedReply(clientId(2), requestNo(1), view(0)) !== undefined);
    assert.equal(table.size, 3);
    // c1 runs again: its new body is kept, the least recently executed one (c2) goes.
    run(table, 1, 2, bytes(3));
    assert.deepEqual(summary(table.entries()), ['c2#1 dropped', 'c3#1:4', 'c1#2:3']);
    assert.equal(table.replyBytes, 7);
    // A session's next result replaces its own body before the bound is checked: 3 + 7 fit.
    run(table, 3, 2, bytes(7));
    assert.deepEqual(summary(table.entries()), ['c2#1 dropped', 'c1#2:3', 'c3#2:7']);
    assert.equal(table.replyBytes, 10);
  });

  it('drops as many bodies as it takes, and a body larger than the bound is not kept', () => {
    const table = new ClientTable(limits(10, 10));
    for (let c = 1; c <= 5; c++) run(table, c, 1, bytes(2));
    run(table, 6, 1, bytes(9));
    assert.deepEqual(summary(table.entries()), ['c1#1 dropped', 'c2#1 dropped', 'c3#1 dropped', 'c4#1 dropped', 'c5#1 dropped', 'c6#1:9']);
    run(table, 7, 1, bytes(11));
    assert.equal(table.replyBytes, 0);
    assert.equal(table.cachedReply(clientId(7), requestNo(1), view(0)), undefined);
  });

  it('property: the same executions give the same table; its image restores it exactly, and it goes on the same way', () => {
    const step = fc.record({ client: fc.integer({ min: 1, max: 6 }), size: fc.nat(12) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.array(step, { maxLength: 20 }), fc.integer({ min: 12, max: 40 }), (before, after, cacheMax) => {
        const lim = limits(6, cacheMax);
        const wire = { clientSessionsMax: 6, replyBytesMax: 12, clientReplyCacheBytesMax: cacheMax };
        const a = new ClientTable(lim);
        const b = new ClientTable(lim);
        const numbers = new Map<number, number>();
        const feed = (tables: ClientTable[], steps: typeof before): void => {
          for (const { client, size } of steps) {
            const no = (numbers.get(client) ?? 0) + 1;
            numbers.set(client, no);
            for (const t of tables) run(t, client, no, bytes(size, no));
          }
        };
        feed([a, b], before);
        assert.deepEqual(a.entries(), b.entries());
        assert.ok(a.replyBytes <= cacheMax);
        // A checkpoint: encoded, decoded and restored on a third replica.
        const image = encodeClientTable(a.entries());
        const decoded = decodeClientTable(image, wire);
        assert.ok(decoded !== undefined);
        const c = new ClientTable(lim);
        c.restore(decoded);
        assert.deepEqual(c.entries(), a.entries());
        assert.equal(c.replyBytes, a.replyBytes);
        assert.equal(c.size, a.size);
        feed([a, c], after);
        assert.deepEqual(encodeClientTable(c.entries()), encodeClientTable(a.entries()), 'the same digests after more executions');
      }),
      { numRuns: 300 },
    );
  });
});

describe('client table: failed requests', () => {
  it("keeps a failed request's description, answers its retransmission as failed, and carries the flag through a checkpoint image", () => {
    const table = new ClientTable(limits(8));
    assert.equal(table.admit(req(1, 1), refuse), 'new');
    table.executed(clientId(1), requestNo(1), new TextEncoder().encode('Error: boom'), true);
    const cached = table.cachedReply(clientId(1), requestNo(1), view(3));
    assert.equal(cached?.status, 'failed');
    assert.equal(new TextDecoder().decode(cached?.result), 'Error: boom');
    const image = encodeClientTable(table.entries());
    const decoded = decodeClientTable(image, { clientSessionsMax: 8, replyBytesMax: 1024, clientReplyCacheBytesMax: 1 << 20 });
    assert.deepEqual(decoded, table.entries());
    const restored = new ClientTable(limits(8));
    restored.restore(decoded ?? []);
    assert.equal(restored.cachedReply(clientId(1), requestNo(1), view(3))?.status, 'failed');
    // A later request that succeeds clears the flag.
    assert.equal(restored.admit(req(1, 2), refuse), 'new');
    restored.executed(clientId(1), requestNo(2), bytes(2), false);
    assert.equal(restored.cachedReply(clientId(1), requestNo(2), view(3))?.status, undefined);
  });

  it('refuses an image with an unknown flag bit', () => {
    const table = new ClientTable(limits(8));
    assert.equal(table.admit(req(1, 1), refuse), 'new');
    table.executed(clientId(1), requestNo(1), bytes(1), true);
    const image = encodeClientTable(table.entries());
    image[1 + 4 + 16] = 4; // flags of the first entry
    assert.equal(decodeClientTable(image, { clientSessionsMax: 8, replyBytesMax: 1024, clientReplyCacheBytesMax: 1 << 20 }), undefined);
  });
});
