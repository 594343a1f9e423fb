/**
 * Delivery and execution (docs/PROTOCOL.md E1-E7): decided batches go to the
 * executor strictly in sequence order, at most executeBacklogMax ahead of
 * execution; exactly-once decisions are made at delivery (the client table,
 * which also refuses new sessions when full, answering them at once), and
 * replies when the executor returns. Pure, like the rest of the core.
 */
import { assert } from './assert.js';
import { refusedReply } from './client-table.js';
import type { CoreParts } from './core-parts.js';
import type { ReplyMessage, Request } from './messages.js';
import type { SeqNo } from './ordering.js';
import type { Slot } from './slot.js';

export class Execution {
  constructor(private readonly parts: CoreParts) {}

  /** Delivers every decided batch that may go now, in order [E1-E4]. */
  deliver(): void {
    const { ctx, log, clients, pending, transfer, viewChange } = this.parts;
    for (;;) {
      if (log.lastDelivered - log.lastExecuted >= ctx.options.executeBacklogMax) return;
      if (transfer.transferring) return; // the fetched checkpoint replaces what lies below it [S12]
      const s = ctx.decide.nextDeliverable(log); // [E1]
      if (s === undefined) return;
      const slot = log.get(s);
      const pp = slot?.prePrepare;
      // Committed here in this view, or proven by f + 1 replicas' LOG-ENTRIES [S15].
      const decided = slot?.committed === true && pp !== undefined ? pp : slot?.proven;
      assert(decided !== undefined, `slot ${s} delivered neither committed nor proven`);
      const fresh: Request[] = [];
      /** Arrival of the oldest of these requests that waited here: how long ordering took [T2]. */
      let oldest: number | undefined;
      for (const r of decided.requests) {
        const admission = clients.admit(r, ctx.decide); // [E2]
        if (admission === 'new') fresh.push(r);
        // Not executed, now or later: the session stays unknown to a full table [E3].
        else if (admission === 'refused') ctx.emit({ type: 'reply', clientId: r.clientId, message: refusedReply(r, ctx.view) });
        const arrived = pending.ordered(r); // [E3]
        ctx.auth.ordered(r); // its authenticity is needed no more (a later copy is stale, R2)
        if (arrived !== undefined && (oldest === undefined || arrived < oldest)) oldest = arrived;
      }
      log.delivered(s, decided, fresh);
      // [D7] The PRE-PREPARE record holds the requests of a batch committed here; a proven one carries its own.
      if (!(slot as Slot).deliveryJournaled) {
        ctx.persist(decided === pp ? { kind: 'delivered', seq: s, digest: pp.digest } : { kind: 'delivered', seq: s, digest: decided.digest, requests: decided.requests });
      }
      ctx.emit({ type: 'execute', seq: s, requests: fresh }); // [E4]
      ctx.emit({ type: 'delivered', seq: s, requests: fresh.length });
      viewChange.progressed(oldest === undefined ? undefined : ctx.now - oldest);
    }
  }

  /** Committed batch `s` learnt from f + 1 replicas' LOG-ENTRIES [S15]. */
  deliverProven(s: SeqNo, requests: readonly Request[]): void {
    const { ctx, log } = this.parts;
    // Below the stable checkpoint the slot is gone for good: that takes the checkpoint itself [S12].
    if (s <= log.stable.seq || s > log.high) return;
    const slot = log.slotFor(s);
    if (slot.delivered) return;
    slot.proven = { digest: ctx.crypto.batchDigest(requests), requests };
    this.deliver();
  }

  /** The executor ran batch `s`: record results, reply, checkpoint on the interval [E5-E7, C1]. */
  onExecuted(s: SeqNo, results: readonly Uint8Array[], failed: readonly number[]): void {
    const { ctx, log, clients, checkpoints, agreement } = this.parts;
    const requests = log.executed(s, results.length); // [E5]
    const failures = new Set(failed);
    assert(failed.every((i) => Number.isInteger(i) && i >= 0 && i < results.length), `batch ${s}: failed requests out of range`);
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i] as Request;
      const result = results[i] as Uint8Array;
      clients.executed(r.clientId, r.requestNo, result, failures.has(i)); // [E6]
      const reply: ReplyMessage = { type: 'reply', view: ctx.view, clientId: r.clientId, requestNo: r.requestNo, result };
      ctx.emit({ type: 'reply', clientId: r.clientId, message: failures.has(i) ? { ...reply, status: 'failed' } : reply });
    }
    if (s % ctx.options.checkpointInterval === 0) ctx.emit({ type: 'checkpoint', seq: s, clientTable: clients.entries() }); // [C1, S1]
    checkpoints.tryInstall();
    this.deliver(); // the backlog bound may have held deliveries back
    agreement.propose(); // [E7]
  }
}
