import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckpointManifest, Message } from '../../src/core/messages.js';
import type { SeqNo, View } from '../../src/core/ordering.js';
import { ConfigError } from '../../src/errors.js';
import { frameBytesMax, replicaFrameBytesMax, resolveProtocolOptions } from '../../src/runtime/protocol-options.js';
import { encodeMessage, stateTransferBytesMax, wireLimitsFrom } from '../../src/wire/codec.js';

describe('runtime protocol options', () => {
  it('refuses a chunk size whose CHUNK message cannot fit one frame', () => {
    assert.throws(() => resolveProtocolOptions({ chunkBytes: 0xffff_ffff }), (error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /protocol\.chunkBytes/);
      return true;
    });
    assert.equal(resolveProtocolOptions({ chunkBytes: 64 * 1024 * 1024 }).chunkBytes, 64 * 1024 * 1024);
  });

  it('bounds pending requests and cached replies in bytes, each at least one request or reply', () => {
    const options = resolveProtocolOptions({});
    assert.equal(options.pendingRequestBytesMax, 128 * 1024 * 1024);
    assert.equal(options.clientReplyCacheBytesMax, 256 * 1024 * 1024);
    for (const [partial, field] of [
      [{ pendingRequestBytesMax: options.requestBytesMax - 1 }, 'pendingRequestBytesMax'],
      [{ clientReplyCacheBytesMax: options.replyBytesMax - 1 }, 'clientReplyCacheBytesMax'],
      [{ clientReplyCacheBytesMax: 0 }, 'clientReplyCacheBytesMax'],
    ] as const) {
      assert.throws(() => resolveProtocolOptions(partial), (error) => error instanceof ConfigError && error.field === `protocol.${field}`);
    }
    assert.equal(resolveProtocolOptions({ pendingRequestBytesMax: options.requestBytesMax }).pendingRequestBytesMax, options.requestBytesMax);
    assert.equal(resolveProtocolOptions({ clientReplyCacheBytesMax: options.replyBytesMax }).clientReplyCacheBytesMax, options.replyBytesMax);
  });

  it('admits the largest state-transfer messages on replica links', () => {
    for (const replicas of [4, 7, 100]) {
      for (const partial of [{}, { chunkBytes: 256 * 1024 * 1024 }, { logEntriesMax: 4096 }, { chunkBytes: 1, checkpointBytesMax: 2 ** 40 }]) {
        const options = resolveProtocolOptions(partial);
        const limits = wireLimitsFrom(options, replicas);
        assert.ok(replicaFrameBytesMax(options, replicas) >= stateTransferBytesMax(limits), JSON.stringify({ replicas, partial }));
        assert.ok(replicaFrameBytesMax(options, replicas) >= frameBytesMax(options));
      }
    }
  });

  it('admits a summary of the largest manifest on replica links, though it is above the client frame limit', () => {
    const options = resolveProtocolOptions({ chunkBytes: 1024, checkpointBytesMax: 2 ** 30 });
    const limits = wireLimitsFrom(options, 4);
    const manifest: CheckpointManifest = {
      chunkBytes: 1024,
      clientTableBytes: 0,
      serviceStateBytes: 2 ** 30,
      chunkDigests: Array.from({ length: limits.manifestChunksMax }, () => new Uint8Array(32)),
    };
    const summary: Message = {
      type: 'state-summary',
      view: 0 as View,
      viewActive: true,
      checkpoint: { seq: 0 as SeqNo, stateDigest: new Uint8Array(0), signatures: [] },
      manifest,
      lastDelivered: 0 as SeqNo,
    };
    const bytes = encodeMessage(summary).length;
    assert.ok(bytes > frameBytesMax(options));
    assert.ok(bytes <= replicaFrameBytesMax(options, 4));
  });
});
