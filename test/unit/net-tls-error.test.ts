/**
 * A TLS error ends its connection at once, on both ends, and the link is
 * redialled: a corrupted record must cost milliseconds, not the idle timeout.
 * Before, neither end closed its socket on a bad record MAC; the dialer kept
 * the dead socket until its idle timer fired (3 s), so every corrupted or
 * duplicated record blanked one direction of a link for 3 s, and two such
 * outages near the primary made a view change (the lossy-network chaos run).
 * The idle timeout here is 60 s, so only the error can close the link in time.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Middlebox, NO_FAULTS } from '../../src/chaos/middlebox.js';
import { freePorts } from '../../src/cluster/free-ports.js';
import { parseClusterConfig } from '../../src/config.js';
import { generateIdentity, publicKeyBase64 } from '../../src/net/identity.js';
import { ReplicaNetwork } from '../../src/net/replica-network.js';
import { waitFor } from '../support/wait-for.js';

const IDLE_TIMEOUT_MS = 60_000;
const closing: { close(): Promise<unknown> }[] = [];
after(async () => {
  for (const c of closing.reverse()) await c.close();
});

describe('a TLS error on a replica link', () => {
  it('closes the connection and redials within a second, far below the idle timeout', async () => {
    const identities = [generateIdentity(), generateIdentity()];
    const ports = await freePorts(2);
    const box = await Middlebox.start({ target: { host: '127.0.0.1', port: ports[1]! }, seed: 3, faults: NO_FAULTS });
    closing.push(box);
    const address = (id: number, port: number) => ({ id, host: '127.0.0.1', port, publicKey: publicKeyBase64(identities[id]!) });
    // Replica 0 dials replica 1 through the middlebox; replica 1 dials 0 directly.
    const configs = [
      parseClusterConfig({ f: 0, replicas: [address(0, ports[0]!), address(1, box.port)] }),
      parseClusterConfig({ f: 0, replicas: [address(0, ports[0]!), address(1, ports[1]!)] }),
    ];
    let received = 0;
    const networks = await Promise.all(
      configs.map((config, selfId) =>
        ReplicaNetwork.start({
          config,
          selfId,
          identity: identities[selfId]!,
          maxFrameBytes: 65_536,
          replicaFrameBytesMax: 65_536,
          sendQueueFramesMax: 10_000,
          handshakeTimeoutMs: 2000,
          clientConnectionsMax: 10,
          idleTimeoutMs: IDLE_TIMEOUT_MS,
          onReplicaFrame: () => {
            if (selfId === 1) received++;
          },
          onClientFrame: () => {},
        }),
      ),
    );
    for (const network of networks) closing.push(network);
    const link = () => networks[0]!.stats().peers.find((p) => p.id === 1)!;
    const traffic = setInterval(() => networks[0]!.sendToReplica(1, new Uint8Array(512).fill(1)), 2);
    try {
      await waitFor(() => received > 50, { timeoutMs: 10_000, what: 'frames over the first connection' });
      const connectsBefore = link().connects;
      box.setFaults({ ...NO_FAULTS, corruptByteProbability: 1e-3 });
      await waitFor(() => box.counts().corruptedBytes > 0, { timeoutMs: 10_000, what: 'a corrupted byte', pollMs: 1 });
      box.setFaults(NO_FAULTS);
      const faultAt = Date.now();
      await waitFor(() => link().connects > connectsBefore && link().connected, { timeoutMs: 5000, what: 'the link redialled' });
      const redialMs = Date.now() - faultAt;
      assert.ok(redialMs < 1000, `redialled after ${redialMs} ms`);
      const after = received;
      await waitFor(() => received > after + 50, { timeoutMs: 5000, what: 'frames over the new connection' });
      assert.equal(link().idleDisconnects, 0, 'the error closed it, not the idle timer');
    } finally {
      clearInterval(traffic);
    }
  });
});
