import assert from 'node:assert/strict';
import { stat, mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { after, describe, it } from 'node:test';
import { parseClusterConfig, type ClusterConfig } from '../../src/config.js';
import { SESSIONS_PER_CLIENT_KEY, type ReplicaId } from '../../src/core/ids.js';
import { ClientNetwork } from '../../src/net/client-network.js';
import type { ClientConnection } from '../../src/net/client-session.js';
import { encodeFrame, encodeFrames, FrameDecoder, FrameTooLargeError } from '../../src/net/framing.js';
import {
  clientIdBase,
  generateIdentity,
  loadIdentity,
  ownsClientId,
  publicKeyBase64,
  savePrivateKey,
  tlsCredentials,
  type NodeIdentity,
} from '../../src/net/identity.js';
import { ReplicaNetwork, type ReplicaNetworkOptions } from '../../src/net/replica-network.js';
import { waitUntil } from '../support/wait-for.js';
import { freePorts } from '../../src/cluster/free-ports.js';

const MAX_FRAME_BYTES = 1024 * 1024;
const text = (payload: Uint8Array): string => Buffer.from(payload).toString();
const bytes = (value: string): Uint8Array => Buffer.from(value);

interface Cluster {
  readonly config: ClusterConfig;
  readonly identities: NodeIdentity[];
}

async function makeCluster(): Promise<Cluster> {
  const identities = Array.from({ length: 4 }, () => generateIdentity());
  const ports = await freePorts(4);
  const replicas = identities.map((identity, id) => ({
    id,
    host: '127.0.0.1',
    port: ports[id]!,
    publicKey: publicKeyBase64(identity),
  }));
  return { config: parseClusterConfig({ f: 1, replicas }), identities };
}

/** A started replica network recording what it receives. */
interface TestReplica {
  readonly network: ReplicaNetwork;
  readonly replicaFrames: { from: ReplicaId; text: string }[];
  readonly clientFrames: { session: ClientConnection; text: string }[];
  readonly closedSessions: ClientConnection[];
}

const toClose: { close(): Promise<void> }[] = [];
after(() => Promise.all(toClose.map((network) => network.close())));

async function startReplica(
  cluster: Cluster,
  selfId: number,
  overrides: Partial<ReplicaNetworkOptions> = {},
): Promise<TestReplica> {
  const replicaFrames: TestReplica['replicaFrames'] = [];
  const clientFrames: TestReplica['clientFrames'] = [];
  const closedSessions: ClientConnection[] = [];
  const network = await ReplicaNetwork.start({
    config: cluster.config,
    selfId,
    identity: cluster.identities[selfId]!,
    maxFrameBytes: MAX_FRAME_BYTES,
    sendQueueFramesMax: 64,
    handshakeTimeoutMs: 2000,
    clientConnectionsMax: 100,
    replicaFrameBytesMax: MAX_FRAME_BYTES,
    onReplicaFrame: (from, payload) => replicaFrames.push({ from, text: text(payload) }),
    onClientFrame: (session, payload) => clientFrames.push({ session, text: text(payload) }),
    onClientClosed: (session) => closedSessions.push(session),
    ...overrides,
  });
  toClose.push(network);
  return { network, replicaFrames, clientFrames, closedSessions };
}

async function startClient(
  config: ClusterConfig,
  identity: NodeIdentity,
): Promise<{ network: ClientNetwork; frames: { from: ReplicaId; text: string }[] }> {
  const frames: { from: ReplicaId; text: string }[] = [];
  const network = await ClientNetwork.connect({
    config,
    identity,
    maxFrameBytes: MAX_FRAME_BYTES,
    sendQueueFramesMax: 64,
    handshakeTimeoutMs: 2000,
    onReplicaFrame: (from, payload) => frames.push({ from, text: text(payload) }),
  });
  toClose.push(network);
  return { network, frames };
}

/** A raw TLS connection to a replica, presenting `identity`'s certificate unless undefined. */
async function rawConnect(port: number, identity: NodeIdentity | undefined): Promise<TLSSocket> {
  const credentials = identity === undefined ? undefined : await tlsCredentials(identity);
  const socket = connect({
    host: '127.0.0.1',
    port,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    ...(credentials === undefined ? {} : { cert: credentials.certPem, key: credentials.keyPem }),
  });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  return socket;
}

describe('framing', () => {
  it('decodes frames split across chunks and many frames per chunk', () => {
    const payloads = ['a', '', 'hello world', 'x'.repeat(1000)].map(bytes);
    const stream = encodeFrames(payloads);
    for (const chunkSize of [1, 3, 4, 5, 7, stream.length]) {
      const decoder = new FrameDecoder(MAX_FRAME_BYTES);
      const out: string[] = [];
      for (let pos = 0; pos < stream.length; pos += chunkSize) {
        for (const payload of decoder.feed(stream.subarray(pos, pos + chunkSize))) out.push(text(payload));
      }
      assert.deepEqual(out, payloads.map(text), `chunk size ${chunkSize}`);
    }
  });

  it('reports an oversized length before its payload arrives, after the frames before it', () => {
    const decoder = new FrameDecoder(10);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(11);
    const out: string[] = [];
    assert.throws(() => {
      for (const payload of decoder.feed(Buffer.concat([encodeFrame(bytes('ok')), header]))) out.push(text(payload));
    }, FrameTooLargeError);
    assert.deepEqual(out, ['ok']);
    assert.deepEqual([...new FrameDecoder(10).feed(encodeFrame(bytes('0123456789')))].map(text), ['0123456789']);
  });
});

describe('identity', () => {
  it('derives client ids that stay below 2^53 and belong to one key', () => {
    const identity = generateIdentity();
    const base = clientIdBase(identity.publicKey);
    assert.equal(base % SESSIONS_PER_CLIENT_KEY, 0);
    assert.ok(Number.isSafeInteger(base + SESSIONS_PER_CLIENT_KEY - 1));
    assert.equal(clientIdBase(Buffer.from(identity.publicKey)), base);
    assert.ok(ownsClientId(base, base) && ownsClientId(base, base + SESSIONS_PER_CLIENT_KEY - 1));
    assert.ok(!ownsClientId(base, base + SESSIONS_PER_CLIENT_KEY) && !ownsClientId(base, base - 1));
    assert.ok(Number.isSafeInteger(clientIdBase(new Uint8Array(32).fill(0xff)) + SESSIONS_PER_CLIENT_KEY - 1));
  });

  it('saves a private key with mode 0600 and loads it back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bafomet-key-'));
    try {
      const identity = generateIdentity();
      const path = join(dir, 'replica.key');
      await savePrivateKey(path, identity);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.equal(publicKeyBase64(await loadIdentity(path)), publicKeyBase64(identity));
      await assert.rejects(savePrivateKey(path, generateIdentity()), /EEXIST/);
      assert.equal(tlsCredentials(identity), tlsCredentials(identity));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('replica network', () => {
  it('connects four replicas in both directions and serves a client', async () => {
    const cluster = await makeCluster();
    const replicas = await Promise.all([0, 1, 2, 3].map((id) => startReplica(cluster, id)));
    for (const [id, replica] of replicas.entries()) replica.network.broadcast(bytes(`hello from ${id}`));
    await waitUntil(() => replicas.every((replica) => replica.replicaFrames.length === 3), 'replica broadcasts');
    for (const [id, replica] of replicas.entries()) {
      const expected = [0, 1, 2, 3].filter((other) => other !== id).map((other) => `${other}:hello from ${other}`);
      assert.deepEqual(replica.replicaFrames.map((frame) => `${frame.from}:${frame.text}`).sort(), expected);
    }
    assert.ok(replicas[1]!.network.sendToReplica(2, bytes('direct')));
    await waitUntil(() => replicas[2]!.replicaFrames.some((f) => f.from === 1 && f.text === 'direct'), 'direct frame');
    assert.throws(() => replicas[0]!.network.sendToReplica(0, bytes('self')), RangeError);

    const clientIdentity = generateIdentity();
    const client = await startClient(cluster.config, clientIdentity);
    client.network.broadcast(bytes('request'));
    await waitUntil(() => replicas.every((replica) => replica.clientFrames.length === 1), 'client request at all replicas');
    for (const [id, replica] of replicas.entries()) {
      const { session, text: received } = replica.clientFrames[0]!;
      assert.equal(received, 'request');
      assert.equal(session.clientIdBase, clientIdBase(clientIdentity.publicKey));
      assert.ok(session.send(bytes(`reply from ${id}`)));
    }
    await waitUntil(() => client.frames.length === 4, 'replies from all replicas');
    assert.deepEqual(client.frames.map((frame) => `${frame.from}:${frame.text}`).sort(), [0, 1, 2, 3].map((id) => `${id}:reply from ${id}`));
    assert.equal(client.network.clientIdBase, clientIdBase(clientIdentity.publicKey));

    const stats = replicas[0]!.network.stats();
    assert.equal(stats.peers.length, 3);
    assert.ok(stats.peers.every((peer) => peer.connected && peer.inboundConnected && peer.framesReceived >= 1));
    assert.equal(stats.clientConnections, 1);

    await client.network.close();
    await waitUntil(() => replicas.every((replica) => replica.closedSessions.length === 1), 'client sessions closed');
    await Promise.all(replicas.map((replica) => replica.network.close()));
  });

  it('does not accept frames as replica j from a key that is not j', async () => {
    const cluster = await makeCluster();
    const honest = await Promise.all([0, 1, 2].map((id) => startReplica(cluster, id)));
    // The impostor runs "replica 3" with its own key, which the honest replicas do not know.
    const impostorIdentity = generateIdentity();
    const [impostorPort] = await freePorts(1);
    const impostorConfig = parseClusterConfig({
      f: 1,
      replicas: cluster.config.replicas.map((replica) =>
        replica.id === 3 ? { ...replica, port: impostorPort, publicKey: publicKeyBase64(impostorIdentity) } : replica,
      ),
    });
    const impostor = await startReplica({ config: impostorConfig, identities: [...cluster.identities.slice(0, 3), impostorIdentity] }, 3);
    impostor.network.broadcast(bytes('forged'));
    await waitUntil(() => honest.every((replica) => replica.clientFrames.some((f) => f.text === 'forged')), 'forged frames as client frames');
    for (const replica of honest) {
      assert.ok(!replica.replicaFrames.some((frame) => frame.from === 3));
      assert.equal(replica.clientFrames[0]!.session.clientIdBase, clientIdBase(impostorIdentity.publicKey));
    }
  });

  it('refuses to start with an identity that is not the configured key', async () => {
    const cluster = await makeCluster();
    await assert.rejects(
      startReplica({ config: cluster.config, identities: [generateIdentity()] }, 0),
      /is not this replica's identity key/,
    );
  });

  it('makes a client reject a replica whose key does not match the configuration', async () => {
    const cluster = await makeCluster();
    const replicas = await Promise.all([0, 1, 2, 3].map((id) => startReplica(cluster, id)));
    const wrongConfig = parseClusterConfig({
      f: 1,
      replicas: cluster.config.replicas.map((replica) =>
        replica.id === 0 ? { ...replica, publicKey: publicKeyBase64(generateIdentity()) } : replica,
      ),
    });
    const client = await startClient(wrongConfig, generateIdentity());
    client.network.broadcast(bytes('request'));
    await waitUntil(() => (client.network.stats().replicas[0]?.authFailures ?? 0) >= 1, 'auth failure');
    await waitUntil(() => replicas.slice(1).every((replica) => replica.clientFrames.length === 1), 'request at replicas 1..3');
    assert.equal(replicas[0]!.clientFrames.length, 0);
    assert.equal(client.network.stats().replicas[0]!.connected, false);
  });

  it('closes a connection that announces a frame above maxFrameBytes, and drops peers without a certificate', async () => {
    const cluster = await makeCluster();
    const replica = await startReplica(cluster, 0, { maxFrameBytes: 1000 });
    const socket = await rawConnect(cluster.config.replicas[0]!.port, generateIdentity());
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1001);
    socket.write(Buffer.concat([encodeFrame(bytes('fine')), header]));
    await closed;
    assert.deepEqual(replica.clientFrames.map((frame) => frame.text), ['fine']);
    await waitUntil(() => replica.closedSessions.length === 1, 'session closed');

    const anonymous = await rawConnect(cluster.config.replicas[0]!.port, undefined);
    await new Promise((resolve) => anonymous.once('close', resolve));
    assert.equal(replica.network.stats().rejectedConnections, 1);
  });

  it('logs a throwing frame handler and keeps the connection', async () => {
    const cluster = await makeCluster();
    const logged: string[] = [];
    const received: string[] = [];
    await startReplica(cluster, 0, {
      onClientFrame: (_session, payload) => {
        received.push(text(payload));
        if (received.length === 1) throw new Error('handler bug');
      },
      log: (level, msg) => logged.push(`${level}:${msg}`),
    });
    const client = await startClient(cluster.config, generateIdentity());
    client.network.send(0, bytes('first'));
    client.network.send(0, bytes('second'));
    await waitUntil(() => received.length === 2, 'both frames');
    assert.ok(logged.includes('error:frame handler threw'));
    assert.equal(client.network.stats().replicas[0]!.connects, 1);
  });

  it('refuses client connections above clientConnectionsMax', async () => {
    const cluster = await makeCluster();
    const replica = await startReplica(cluster, 0, { clientConnectionsMax: 1 });
    const first = await rawConnect(cluster.config.replicas[0]!.port, generateIdentity());
    await waitUntil(() => replica.network.stats().clientConnections === 1, 'first client accepted');
    const second = await rawConnect(cluster.config.replicas[0]!.port, generateIdentity());
    await waitUntil(() => replica.network.stats().rejectedConnections === 1, 'second client refused');
    assert.equal(replica.network.stats().clientConnections, 1);
    first.destroy();
    second.destroy();
  });

  it('drops a peer that does not complete the handshake in time', async () => {
    const cluster = await makeCluster();
    const replica = await startReplica(cluster, 0, { handshakeTimeoutMs: 200 });
    const socket = netConnect(cluster.config.replicas[0]!.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('close', resolve));
    await waitUntil(() => replica.network.stats().rejectedConnections === 1, 'rejection counted');
  });

  it('reconnects after a replica restarts on the same port', async () => {
    const cluster = await makeCluster();
    const first = await startReplica(cluster, 0);
    let second = await startReplica(cluster, 1);
    const linkTo1 = (): { connected: boolean; connects: number } => first.network.stats().peers.find((p) => p.id === 1)!;
    await waitUntil(() => linkTo1().connected, 'link 0 -> 1');
    await second.network.close();
    await waitUntil(() => !linkTo1().connected, 'link 0 -> 1 noticed the close');
    // Queued while disconnected, flushed on reconnect.
    assert.ok(first.network.sendToReplica(1, bytes('after restart')));
    second = await startReplica(cluster, 1);
    await waitUntil(() => second.replicaFrames.some((f) => f.from === 0 && f.text === 'after restart'), 'frame after restart');
    assert.equal(linkTo1().connects, 2);
    second.network.sendToReplica(0, bytes('back'));
    await waitUntil(() => first.replicaFrames.some((f) => f.from === 1 && f.text === 'back'), 'frame from restarted replica');
  });

  it('drops frames beyond the send queue bound instead of growing', async () => {
    const cluster = await makeCluster();
    // Only replica 0 runs, so its frames to replica 3 can only queue.
    const replica = await startReplica(cluster, 0, { sendQueueFramesMax: 8, maxFrameBytes: 100, replicaFrameBytesMax: 100 });
    const accepted = Array.from({ length: 20 }, (_, i) => replica.network.sendToReplica(3, bytes(`frame ${i}`)));
    assert.deepEqual(accepted, [...Array<boolean>(8).fill(true), ...Array<boolean>(12).fill(false)]);
    assert.equal(replica.network.sendToReplica(2, new Uint8Array(101)), false);
    const peers = replica.network.stats().peers;
    assert.deepEqual(
      peers.map((peer) => [peer.id, peer.framesQueued, peer.framesDropped]),
      [
        [1, 0, 0],
        [2, 0, 1],
        [3, 8, 12],
      ],
    );
  });

  it('disconnects a client that does not read its replies', async () => {
    const cluster = await makeCluster();
    const replica = await startReplica(cluster, 0, { sendQueueFramesMax: 4 });
    const socket = await rawConnect(cluster.config.replicas[0]!.port, generateIdentity());
    socket.write(encodeFrame(bytes('hi')));
    socket.pause();
    await waitUntil(() => replica.clientFrames.length === 1, 'client frame');
    const session = replica.clientFrames[0]!.session;
    const reply = new Uint8Array(256 * 1024);
    while (session.send(reply)) await new Promise((resolve) => setImmediate(resolve));
    await waitUntil(() => replica.closedSessions.includes(session), 'slow client disconnected');
    assert.equal(replica.network.stats().clientSlowDisconnects, 1);
    socket.destroy();
  });
});
