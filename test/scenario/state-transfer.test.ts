/**
 * State transfer (docs/STATE-TRANSFER.md). n = 4, a checkpoint every 4
 * batches, a window of 8, one request per batch and 16-byte chunks, so a
 * checkpoint image is several chunks. r3 is cut off while r0..r2 execute 14
 * batches (stable checkpoints 4, 8, 12); when it hears of s15 from f + 1
 * replicas, far above its window (S4 b), it asks for their state, fetches the
 * image of checkpoint 12 chunk by chunk from all three, installs it, catches
 * up on s13.. from f + 1 matching LOG-ENTRIES (S15) and goes on executing
 * with the others. Liars are caught: a bad chunk (per chunk, S10), a
 * certificate without a quorum or a manifest that is not the signed one
 * (S7), a lone replica's log entries (S15).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkMessage, LogEntriesMessage, StateSummaryMessage } from '../../src/core/messages.js';
import { seqNo } from '../../src/core/ordering.js';
import { checkpointCertificate, Cluster, fastTimers, involving, req, stateDigestOf, where } from './harness.js';

const options = { ...fastTimers, checkpointInterval: 4, logWindow: 8, batchRequestsMax: 1, pipelineMax: 4, chunkBytes: 16 };

/** r3 partitioned while c1..c14 execute at r0..r2; back in the network afterwards. */
function laggingR3(): Cluster {
  const c = new Cluster({ n: 4, options });
  const heal = c.blackhole(involving(3));
  for (let client = 1; client <= 14; client++) {
    c.submit(req(client, 1), [0, 1, 2]);
    c.deliverAll();
  }
  heal();
  assert.deepEqual(
    c.replicas.map((r) => [c.status(r).lastExecuted, c.status(r).stableCheckpoint]),
    [[14, 12], [14, 12], [14, 12], [0, 0]],
  );
  return c;
}

const caughtUp = (c: Cluster): boolean => c.status(3).lastExecuted === c.status(0).lastExecuted && c.status(0).lastExecuted >= 15;

describe('state transfer', () => {
  it('a replica cut off past two checkpoints fetches the stable one in chunks from several replicas, then the log, and rejoins', () => {
    const c = laggingR3();
    c.submit(req(15, 1));
    c.runUntil(caughtUp, 40);

    assert.ok(c.traceMatching(/^r3 ignores pre-prepare from r0: above-window$/).length > 0, 'r3 heard of s15 far above its window');
    const summaries = c.traceMatching(/^r[012] -> r3 state-summary v0 C=s12 st:[0-9a-f]{8} chunks=\d+ delivered=s1[45]$/);
    assert.deepEqual(new Set(summaries.map((line) => line.slice(0, 2))), new Set(['r0', 'r1', 'r2']), 'each replica answers with checkpoint 12 and its manifest');
    const chunks = Number(/chunks=(\d+)/.exec(summaries[0] as string)?.[1]);
    assert.ok(chunks >= 6, `a multi-chunk image (${chunks} chunks)`);
    const servers = new Set(c.traceMatching(/^r3 -> r\d chunk-request s12 /).map((line) => line.slice(6, 8)));
    assert.deepEqual([...servers].sort(), ['r0', 'r1', 'r2'], 'chunks are fetched from every source');
    assert.equal(c.traceMatching(/^r\d -> r3 chunk s12 /).length, chunks, 'each chunk fetched once');
    assert.deepEqual(c.traceMatching(/^r3 installs checkpoint/), ['r3 installs checkpoint s12 (12 entries)']);
    assert.ok(c.traceMatching(/^r\d -> r3 log-entries \[s13\[c13#1\],s14\[c14#1\]/).length >= 2, 'the log after it from f + 1 replicas');

    assert.deepEqual(c.serviceLog(3), c.serviceLog(0), 'same service state');
    assert.deepEqual(c.status(3).stableCheckpoint, 12);
    assert.deepEqual(c.rejectionsAt(3).filter((r) => r.action === 'reject-peer'), []);

    // It takes part in ordering again: a new request executes everywhere, with r3's votes counting.
    c.crash(2);
    c.submit(req(16, 1));
    c.runUntil((c) => [0, 1, 3].every((r) => c.serviceLog(r).length === 16), 40);
    assert.deepEqual(c.serviceLog(3), c.serviceLog(0));
    assert.equal(c.repliesTo('c16#1').length, 3);
  });

  it('exactly-once survives the transfer: the client table comes with the checkpoint', () => {
    const c = laggingR3();
    c.submit(req(15, 1));
    c.runUntil(caughtUp, 40);
    // c5#1 was executed at s5, before checkpoint 12: r3 answers its retransmission from the table, not by executing it again.
    c.submit(req(5, 1), [3]);
    c.deliverAll();
    assert.deepEqual(c.traceMatching(/^r3 -> c5 reply c5#1/), ['r3 -> c5 reply c5#1 "op5.1:5"']);
    assert.equal(c.serviceLog(3).filter((op) => op === 'op5.1').length, 1);
  });

  it('a replica serving a bad chunk is caught on that chunk and dropped; the chunk comes from another', () => {
    const c = laggingR3();
    c.rewrite(where({ type: 'chunk', from: 1 }), (m) => {
      const chunk = m as ChunkMessage;
      return { ...chunk, bytes: new Uint8Array(chunk.bytes.length).fill(0x41) };
    });
    c.submit(req(15, 1));
    c.runUntil(caughtUp, 60);
    assert.deepEqual(c.traceMatching(/^r3 rejects chunk from r1: chunk-digest-mismatch$/).length, 1, 'caught once, then never asked again');
    assert.deepEqual(c.serviceLog(3), c.serviceLog(0));
  });

  it('a summary whose certificate lacks a quorum, or whose manifest is not the signed one, is refused', () => {
    // One liar at a time (f = 1): the target needs f + 1 summaries naming it [S7], the liar's is not one.
    const lies: { liar: number; lie: (summary: StateSummaryMessage) => StateSummaryMessage; reason: string }[] = [
      {
        liar: 1,
        lie: (summary) => ({ ...summary, checkpoint: checkpointCertificate(16, stateDigestOf(['forged']), [1]) }),
        reason: 'bad-checkpoint-certificate',
      },
      {
        liar: 2,
        lie: (summary) => ({ ...summary, manifest: { ...summary.manifest, chunkDigests: summary.manifest.chunkDigests.map(() => stateDigestOf(['x'])) } }),
        reason: 'manifest-digest-mismatch',
      },
    ];
    for (const { liar, lie, reason } of lies) {
      const c = laggingR3();
      let lied = 0;
      c.rewrite(where({ type: 'state-summary', from: liar }), (m) => {
        lied++;
        return lie(m as StateSummaryMessage);
      });
      c.submit(req(15, 1));
      c.runUntil(caughtUp, 60);
      assert.ok(lied > 0);
      assert.ok(c.traceMatching(`r3 rejects state-summary from r${liar}: ${reason}`).length > 0);
      assert.deepEqual(c.traceMatching(new RegExp(`^r3 -> r${liar} chunk-request`)), [], `r${liar}, whose summary was refused, is no source`);
      assert.deepEqual(c.serviceLog(3), c.serviceLog(0));
    }
  });

  it("one replica's log entries are not enough: a lone lie is never delivered", () => {
    const c = new Cluster({ n: 4, options, byzantine: [1] });
    // r3 misses the PRE-PREPARE of s1 for good; r0..r2 execute it.
    c.blockWhere(where({ type: 'pre-prepare', to: 3 }));
    c.submit(req(1, 1));
    c.deliverAll();
    assert.equal(c.status(0).lastExecuted, 1);
    const forged: LogEntriesMessage = { type: 'log-entries', batches: [{ seq: seqNo(1), requests: [req(9, 9, 'forged')] }] };
    c.inject(1, 3, forged);
    c.deliverAll();
    assert.equal(c.status(3).lastExecuted, 0, 'one voice proves nothing');
    // Stalled with s1 pending, r3 asks for the log (S13); r0 and r2 name the real batch: f + 1.
    c.rewrite(where({ type: 'log-entries', from: 1 }), () => forged);
    c.runUntil((c) => c.status(3).lastExecuted === 1, 30);
    assert.deepEqual(c.serviceLog(3), ['op1.1']);
    assert.ok(c.traceMatching(/^r3 -> r\d log-request after s0$/).length > 0);
  });
});
