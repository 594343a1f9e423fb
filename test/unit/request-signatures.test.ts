/**
 * Client request signatures with libsodium (src/runtime/request-signatures.ts):
 * standard Ed25519, so node:crypto agrees with every verdict; a request is
 * authentic only with the key that owns its client id and that key's
 * signature on exactly its statement [A1].
 */
import assert from 'node:assert/strict';
import { verify, createPublicKey, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { clientId } from '../../src/core/ids.js';
import type { Request } from '../../src/core/messages.js';
import { requestNo } from '../../src/core/ordering.js';
import { clientIdBase, generateIdentity } from '../../src/net/identity.js';
import { requestSigner, requestVerifier } from '../../src/runtime/request-signatures.js';
import { encodeRequestStatement } from '../../src/wire/codec.js';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const nodeKey = (raw: Uint8Array) => createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });

describe('client request signatures', () => {
  const alice = generateIdentity();
  const mallory = generateIdentity();
  const signer = requestSigner(alice);
  const check = requestVerifier();
  const statement = { clientId: clientId(clientIdBase(alice.publicKey) + 3), requestNo: requestNo(7), operation: new TextEncoder().encode('put k v') };
  const request: Request = { ...statement, clientKey: alice.publicKey, signature: signer.sign(statement) };

  it('signs what node:crypto verifies, and verifies what node:crypto signs', () => {
    assert.ok(verify(null, encodeRequestStatement(statement), nodeKey(alice.publicKey), request.signature));
    assert.equal(check(request), true);
    const byNode = sign(null, encodeRequestStatement(statement), alice.privateKey);
    assert.equal(check({ ...request, signature: new Uint8Array(byNode) }), true);
  });

  it('refuses an altered operation, number or id, another key, and a bad signature, without throwing', () => {
    assert.equal(check({ ...request, operation: new TextEncoder().encode('put k w') }), false);
    assert.equal(check({ ...request, requestNo: requestNo(8) }), false);
    assert.equal(check({ ...request, clientId: clientId(statement.clientId + 1) }), false, 'another session of the same key');
    // Re-attributed: mallory's valid signature under alice's id (mallory's key does not own it).
    const forged = requestSigner(mallory);
    assert.equal(check({ ...request, clientKey: mallory.publicKey, signature: forged.sign(statement) }), false);
    const flipped = new Uint8Array(request.signature);
    flipped[10] = (flipped[10] as number) ^ 1;
    assert.equal(check({ ...request, signature: flipped }), false);
    assert.equal(check({ ...request, signature: new Uint8Array(64).fill(0xff) }), false);
    assert.equal(check({ ...request, clientKey: new Uint8Array(32).fill(0xff), signature: request.signature }), false);
    assert.equal(check({ ...request, signature: new Uint8Array(63) }), false);
  });
});
