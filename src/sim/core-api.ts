/**
 * The simulator's seam with the core's API: how replica cores are built,
 * the simulated cryptography, the decoder limits, and how Byzantine
 * behaviours build (signed) messages. Adapting the simulator to a new core is
 * mostly a change here (plus behaviours, mutants and effect handling).
 *
 * Simulated signatures: replica i has a secret derived from the seed; its
 * signature on a statement is a keyed hash of the real codec's canonical
 * statement bytes (SimKeys.signature). Only replica i's node holds a signer
 * for i, so a Byzantine replica can sign as itself and relay what others
 * signed, never sign as another: the unforgeability the core assumes of
 * Ed25519, at a fraction of its cost.
 *
 * Simulated client keys (docs/DESIGN.md, "Client authentication"): the key
 * of the client whose ids start at `base` is `base` as a u64 followed by 24
 * bytes derived from the seed, the only key that owns those ids (grinding a
 * second one is out of reach, as with real keys). Its signature on a request
 * is the same keyed hash over the real codec's request statement, with a
 * secret derived from the seed and the key. Only the client's own node gets
 * its signer (Simulation.clientSigner): a Byzantine replica can relay what a
 * client signed, never sign for it.
 */
import { createHash } from 'node:crypto';
import type { CoreCrypto } from '../core/crypto.js';
import { bytesEqual, SESSIONS_PER_CLIENT_KEY, type Digest, type ReplicaId } from '../core/ids.js';
import {
  SIGNATURE_BYTES,
  type CheckpointCertificate,
  type CheckpointMessage,
  type CommitMessage,
  type PrepareMessage,
  type PreparedCertificate,
  type PrePrepareMessage,
  CLIENT_KEY_BYTES,
  type Request,
  type RequestStatement,
  type Signature,
  type Statement,
  type ViewChangeMessage,
} from '../core/messages.js';
import type { ProtocolOptions } from '../core/options.js';
import type { SeqNo, View } from '../core/ordering.js';
import type { ReplicaCoreInit } from '../core/replica.js';
import { chunkDigest } from '../checkpoint/chunks.js';
import { manifestDigest } from '../checkpoint/manifest-digest.js';
import { encodeBatch, encodeRequestStatement, encodeStatement, wireLimitsFrom, type WireLimits } from '../wire/codec.js';
import type { RequestSigner } from '../core/client.js';

/** The runtime's batch digest: SHA-256 of the canonical batch encoding. */
export function batchDigest(requests: readonly Request[]): Digest {
  return createHash('sha256').update(encodeBatch(requests)).digest();
}

/** The replicas' signing secrets of one run. */
export class SimKeys {
  /** Four 32-bit secret words per replica, derived from the seed. */
  private readonly secrets: Uint32Array[] = [];

  /** Client keys by id base, derived once. */
  private readonly clientKeys = new Map<number, Uint8Array>();

  constructor(
    private readonly seed: number,
    n: number,
  ) {
    for (let i = 0; i < n; i++) {
      const h = createHash('sha256').update(`bafomet-sim/${seed}/${i}`).digest();
      this.secrets.push(new Uint32Array([h.readUInt32BE(0), h.readUInt32BE(4), h.readUInt32BE(8), h.readUInt32BE(12)]));
    }
  }

  get n(): number {
    return this.secrets.length;
  }

  /**
   * Replica `signer`'s signature on `statement` (undefined for no such
   * replica): {@link keyedHash} of the statement's canonical bytes with the
   * signer's secret.
   */
  signature(signer: number, statement: Statement): Signature | undefined {
    const secret = this.secrets[signer];
    return secret === undefined ? undefined : keyedHash(secret, encodeStatement(statement));
  }

  /** The key of the client whose session ids start at `base` (public: anyone may put it in a request). */
  clientKey(base: number): Uint8Array {
    let key = this.clientKeys.get(base);
    if (key === undefined) {
      key = new Uint8Array(CLIENT_KEY_BYTES);
      new DataView(key.buffer).setBigUint64(0, BigInt(base));
      key.set(createHash('sha256').update(`bafomet-sim/${this.seed}/client-key/${base}`).digest().subarray(0, CLIENT_KEY_BYTES - 8), 8);
      this.clientKeys.set(base, key);
    }
    return key;
  }

  /** The signer of the client whose session ids start at `base`: for that client's node only. */
  clientSigner(base: number): RequestSigner {
    const publicKey = this.clientKey(base);
    const secret = this.clientSecret(publicKey);
    return { publicKey, sign: (statement: RequestStatement) => keyedHash(secret, encodeRequestStatement(statement)) };
  }

  /** Whether `request` carries the key owning its id and that key's signature [A1]. */
  verifyRequest(request: Request): boolean {
    if (request.signature.length !== SIGNATURE_BYTES) return false;
    const base = request.clientId - (request.clientId % SESSIONS_PER_CLIENT_KEY);
    const key = this.clientKey(base);
    if (!bytesEqual(key, request.clientKey)) return false;
    return bytesEqual(keyedHash(this.clientSecret(key), encodeRequestStatement(request)), request.signature);
  }

  private clientSecret(key: Uint8Array): Uint32Array {
    const h = createHash('sha256').update(`bafomet-sim/${this.seed}/client-secret/`).update(key).digest();
    return new Uint32Array([h.readUInt32BE(0), h.readUInt32BE(4), h.readUInt32BE(8), h.readUInt32BE(12)]);
  }
}

/**
 * A keyed 128-bit hash of `bytes`, four murmur3-style lanes seeded with the
 * secret, laid out four times to SIGNATURE_BYTES. Not cryptography: the
 * simulation never lets a node compute another's, which is all
 * unforgeability means here, and it costs far less than SHA-512.
 */
function keyedHash(secret: Uint32Array, bytes: Uint8Array): Signature {
  const out = new Uint8Array(SIGNATURE_BYTES);
  const view = new DataView(out.buffer);
  for (let lane = 0; lane < 4; lane++) {
    let h = (secret[lane] as number) ^ bytes.length;
    for (let i = 0; i < bytes.length; i++) {
      let k = Math.imul((bytes[i] as number) ^ (lane << 8), 0xcc9e2d51);
      k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
      h ^= k;
      h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    for (let copy = 0; copy < SIGNATURE_BYTES / 16; copy++) view.setUint32(copy * 16 + lane * 4, h >>> 0);
  }
  return out;
}

/** The core crypto of replica `self`: signs as `self` only, verifies anyone. */
export function simCrypto(keys: SimKeys, self: ReplicaId): CoreCrypto {
  return {
    batchDigest,
    manifestDigest,
    chunkDigest,
    sign: (statement) => keys.signature(self, statement) as Signature,
    verify(signer, statement, signature) {
      if (signature.length !== SIGNATURE_BYTES) return false;
      const expected = keys.signature(signer, statement);
      return expected !== undefined && bytesEqual(expected, signature);
    },
    verifyRequest: (request) => keys.verifyRequest(request),
  };
}

/** What a replica core of the simulation is built with. */
export function coreInit(id: ReplicaId, n: number, f: number, options: ProtocolOptions, crypto: CoreCrypto, recovering: boolean): ReplicaCoreInit {
  return { id, n, f, options, crypto, recovering };
}

/** The decoder limits of a cluster of `n` replicas. */
export function wireLimits(options: ProtocolOptions, n: number): WireLimits {
  return wireLimitsFrom(options, n);
}

// --- messages as a replica builds them with its own signer (Byzantine behaviours) ---

export function prePrepareBy(
  crypto: CoreCrypto,
  view: View,
  seq: SeqNo,
  requests: readonly Request[],
  digest: Digest = batchDigest(requests),
): PrePrepareMessage {
  return { type: 'pre-prepare', view, seq, digest, requests, signature: crypto.sign({ kind: 'pre-prepare', view, seq, digest }) };
}

export function prepareBy(crypto: CoreCrypto, view: View, seq: SeqNo, digest: Digest): PrepareMessage {
  return { type: 'prepare', view, seq, digest, signature: crypto.sign({ kind: 'prepare', view, seq, digest }) };
}

export function commitBy(_crypto: CoreCrypto, view: View, seq: SeqNo, digest: Digest): CommitMessage {
  return { type: 'commit', view, seq, digest };
}

export function checkpointBy(crypto: CoreCrypto, seq: SeqNo, stateDigest: Digest): CheckpointMessage {
  return { type: 'checkpoint', seq, stateDigest, signature: crypto.sign({ kind: 'checkpoint', seq, stateDigest }) };
}

export function viewChangeBy(
  crypto: CoreCrypto,
  replica: ReplicaId,
  newView: View,
  checkpoint: CheckpointCertificate,
  prepared: readonly PreparedCertificate[],
): ViewChangeMessage {
  const body = { type: 'view-change', newView, replica, checkpoint, prepared } as const;
  return { ...body, signature: crypto.sign({ kind: 'view-change', message: body }) };
}

/** `m` with another batch and/or digest, signed again (a lying primary's variant of its own proposal). */
export function withBatch(crypto: CoreCrypto, m: PrePrepareMessage, requests: readonly Request[], digest: Digest): PrePrepareMessage {
  return prePrepareBy(crypto, m.view, m.seq, requests, digest);
}

/** `m` with another digest, signed again. */
export function withDigest<M extends PrepareMessage | CommitMessage>(crypto: CoreCrypto, m: M, digest: Digest): M {
  return (m.type === 'prepare' ? prepareBy(crypto, m.view, m.seq, digest) : commitBy(crypto, m.view, m.seq, digest)) as M;
}

// --- wire layout facts the replaying / garbling behaviours use (docs/WIRE.md) ---------

export const TAG_PRE_PREPARE = 3;
export const TAG_VIEW_CHANGE = 7;
export const TAG_NEW_VIEW = 8;
/** PRE-PREPARE, PREPARE, COMMIT: view u64 at 2, seq u64 at 10. */
export const AGREEMENT_TAGS: ReadonlySet<number> = new Set([3, 4, 5]);
/** Byte offsets of the low 32 bits of view and sequence number in an agreement message. */
export const VIEW_LO_OFFSET = 6;
export const SEQ_LO_OFFSET = 14;
/** Byte offset of the batch count in a PRE-PREPARE (after digest and signature). */
export const BATCH_COUNT_OFFSET = 122;
