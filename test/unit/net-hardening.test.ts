/**
 * Connection hardening of a replica (docs/DESIGN.md, "Connections and
 * admission"), over real TLS sockets on loopback: each attack measured in
 * issue 11 (a stalled or dripping partial frame, half-open handshakes,
 * partial frames on many connections, one key or address holding many
 * connections, malformed frames, floods, unlisted keys) against a
 * ReplicaNetwork, and the counters that show it was stopped.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { after, describe, it } from 'node:test';
import { parseClusterConfig, type ClusterConfig } from '../../src/config.js';
import { ClientAdmission } from '../../src/net/client-admission.js';
import type { ClientConnection } from '../../src/net/client-session.js';
import { FrameBudget, FrameBudgetExceededError } from '../../src/net/frame-budget.js';
import { encodeFrame, encodeFrames, FrameDecoder, PARTIAL_FRAME_CAPACITY_MIN } from '../../src/net/framing.js';
import { generateIdentity, publicKeyBase64, tlsCredentials, type NodeIdentity } from '../../src/net/identity.js';
import { ConfigError } from '../../src/errors.js';
import { DEFAULT_CONNECTION_LIMITS, resolveConnectionLimits } from '../../src/net/limits.js';
import { frameDeadlineTicks, LIVENESS_TICKS_PER_IDLE } from '../../src/net/liveness.js';
import { TokenBucket } from '../../src/net/rate-limit.js';
import { ReplicaNetwork, type ReplicaNetworkOptions } from '../../src/net/replica-network.js';
import { waitUntil } from '../support/wait-for.js';
import { freePorts } from '../../src/cluster/free-ports.js';

const IDLE_MS = 400;
const MAX_FRAME_BYTES = 1024 * 1024;
const text = (payload: Uint8Array): string => Buffer.from(payload).toString();
const bytes = (value: string): Uint8Array => Buffer.from(value);

const toClose: { close(): Promise<void> }[] = [];
const sockets: Socket[] = [];
after(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(toClose.map((c) => c.close()));
});

interface TestReplica {
  readonly network: ReplicaNetwork;
  readonly port: number;
  readonly clientFrames: { session: ClientConnection; text: string }[];
  readonly identities: NodeIdentity[];
  readonly config: ClusterConfig;
}

/** Replica 0 of a two-replica cluster (f = 0); replica 1 runs only if `both`. */
async function startReplica(
  overrides: Partial<ReplicaNetworkOptions> = {},
  options: { clients?: string[]; both?: boolean; onReplicaFrame?: (network: ReplicaNetwork, from: number, text: string) => void } = {},
): Promise<TestReplica & { peer?: ReplicaNetwork }> {
  const identities = [generateIdentity(), generateIdentity()];
  const ports = await freePorts(2);
  const config = parseClusterConfig({
    f: 0,
    replicas: identities.map((identity, id) => ({ id, host: '127.0.0.1', port: ports[id], publicKey: publicKeyBase64(identity) })),
    ...(options.clients === undefined ? {} : { clients: options.clients }),
  });
  const clientFrames: TestReplica['clientFrames'] = [];
  const start = async (selfId: number): Promise<ReplicaNetwork> => {
    let network: ReplicaNetwork | undefined;
    network = await ReplicaNetwork.start({
      config,
      selfId,
      identity: identities[selfId]!,
      maxFrameBytes: MAX_FRAME_BYTES,
      replicaFrameBytesMax: MAX_FRAME_BYTES,
      sendQueueFramesMax: 64,
      handshakeTimeoutMs: 2000,
      clientConnectionsMax: 100,
      idleTimeoutMs: IDLE_MS,
      onReplicaFrame: (from, payload) => options.onReplicaFrame?.(network!, from, text(payload)),
      onClientFrame: (session, payload) => clientFrames.push({ session, text: text(payload) }),
      ...overrides,
    });
    toClose.push(network);
    return network;
  };
  const network = await start(0);
  const peer = options.both === true ? await start(1) : undefined;
  return { network, port: ports[0]!, clientFrames, identities, config, ...(peer === undefined ? {} : { peer }) };
}

/** A raw TLS connection presenting `identity`, after its handshake. */
async function rawClient(port: number, identity: NodeIdentity = generateIdentity()): Promise<TLSSocket> {
  const credentials = await tlsCredentials(identity);
  const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, cert: credentials.certPem, key: credentials.keyPem });
  socket.on('error', () => {});
  sockets.push(socket);
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  // Drop the replica's heartbeats; a paused socket would never see the connection close.
  socket.resume();
  return socket;
}

/** A TCP connection that never starts TLS, once connected. */
async function halfOpen(port: number): Promise<Socket> {
  const socket = tcpConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  sockets.push(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

const closed = (socket: Socket): Promise<void> => new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));

/** The length prefix of a frame of `length` bytes. */
function header(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return prefix;
}

describe('partial frames', () => {
  it('grows a partial frame buffer as bytes arrive, never reserving the announced size', () => {
    const decoder = new FrameDecoder(MAX_FRAME_BYTES);
    assert.deepEqual([...decoder.feed(Buffer.concat([header(MAX_FRAME_BYTES), Buffer.from([7])]))], []);
    assert.equal(decoder.bufferedBytes, PARTIAL_FRAME_CAPACITY_MIN);
    assert.equal(decoder.partial?.length, MAX_FRAME_BYTES);
    const rest = Buffer.alloc(MAX_FRAME_BYTES - 1, 1);
    let received = 1;
    for (let pos = 0; pos < rest.length; pos += 100_000) {
      const piece = rest.subarray(pos, pos + 100_000);
      const out = [...decoder.feed(piece)];
      received += piece.length;
      if (received < MAX_FRAME_BYTES) {
        assert.ok(decoder.bufferedBytes <= Math.max(2 * received, PARTIAL_FRAME_CAPACITY_MIN), `${decoder.bufferedBytes} for ${received}`);
      } else {
        assert.equal(out.length, 1);
        assert.equal(out[0]!.length, MAX_FRAME_BYTES);
        assert.equal(out[0]![0], 7);
      }
    }
    assert.equal(decoder.partial, undefined);
    assert.equal(decoder.bufferedBytes, 0);
  });

  it('reserves partial frames from a shared budget, refuses past it, and gets it back', () => {
    const budget = new FrameBudget(3 * PARTIAL_FRAME_CAPACITY_MIN);
    const decoders = [0, 1, 2, 3].map(() => new FrameDecoder(MAX_FRAME_BYTES, budget));
    for (const decoder of decoders.slice(0, 3)) [...decoder.feed(Buffer.concat([header(1000_000), Buffer.from([1])]))];
    assert.equal(budget.reservedBytes, 3 * PARTIAL_FRAME_CAPACITY_MIN);
    assert.throws(() => [...decoders[3]!.feed(Buffer.concat([header(1000_000), Buffer.from([1])]))], FrameBudgetExceededError);
    // A frame inside one chunk needs no buffer, so it passes even now.
    assert.deepEqual([...new FrameDecoder(MAX_FRAME_BYTES, budget).feed(encodeFrame(bytes('whole')))].map(text), ['whole']);
    for (const decoder of decoders) decoder.dispose();
    assert.equal(budget.reservedBytes, 0);
    const fresh = new FrameDecoder(MAX_FRAME_BYTES, budget);
    assert.deepEqual([...fresh.feed(encodeFrame(bytes('whole')))].map(text), ['whole']);
    assert.deepEqual(
      [...fresh.feed(encodeFrame(bytes('split')).subarray(0, 6)), ...fresh.feed(encodeFrame(bytes('split')).subarray(6))].map(text),
      ['split'],
    );
    assert.equal(budget.reservedBytes, 0, 'a completed frame returns its buffer to the budget');
  });

  it('gives a frame the idle timeout plus its length at 1 MiB/s', () => {
    assert.equal(frameDeadlineTicks(undefined, 500), LIVENESS_TICKS_PER_IDLE);
    assert.equal(frameDeadlineTicks(0, 500), LIVENESS_TICKS_PER_IDLE);
    // 1 MiB at 1 MiB/s is 1 s: two ticks of 500 ms.
    assert.equal(frameDeadlineTicks(1024 * 1024, 500), LIVENESS_TICKS_PER_IDLE + 2);
  });

  it('closes a connection whose frame stalls mid-way although bytes keep trickling in', async () => {
    const replica = await startReplica();
    const socket = await rawClient(replica.port);
    const startedAt = Date.now();
    socket.write(Buffer.concat([header(MAX_FRAME_BYTES), Buffer.from([1])]));
    // One byte every 20 ms keeps the idle timer happy (the attack heartbeats defeated) but never finishes the frame.
    const drip = setInterval(() => socket.write(Buffer.from([1])), 20);
    try {
      await waitUntil(() => socket.closed, 'the dripping connection closed', 10_000);
    } finally {
      clearInterval(drip);
    }
    const deadlineMs = frameDeadlineTicks(MAX_FRAME_BYTES, IDLE_MS / LIVENESS_TICKS_PER_IDLE) * (IDLE_MS / LIVENESS_TICKS_PER_IDLE);
    assert.ok(Date.now() - startedAt >= deadlineMs - IDLE_MS / LIVENESS_TICKS_PER_IDLE, `closed after ${Date.now() - startedAt} ms`);
    const stats = replica.network.stats();
    assert.deepEqual([stats.frameDeadlineCloses, stats.clientIdleDisconnects, stats.partialFrameBytes], [1, 0, 0]);
  });

  it('closes the connection whose partial frame would take the shared budget past its bound', async () => {
    const budgetBytes = 100 * 1024;
    const replica = await startReplica({ clientPartialFrameBytesMax: budgetBytes });
    const clients = await Promise.all([0, 1, 2, 3].map(() => rawClient(replica.port)));
    // Each holds 40 KiB of an announced 1 MiB frame: buffers of 40 to 80 KiB each, so at most two fit.
    for (const client of clients) client.write(Buffer.concat([header(MAX_FRAME_BYTES), Buffer.alloc(40 * 1024, 1)]));
    await waitUntil(() => replica.network.stats().partialFrameBudgetCloses >= 2, 'budget closes');
    assert.ok(replica.network.stats().partialFrameBytes <= budgetBytes);
    await waitUntil(() => clients.filter((c) => c.closed).length >= 2, 'the refused connections closed');
    // A correct client still gets its frames through; the holders' buffers go back once they are gone.
    const fresh = await rawClient(replica.port);
    fresh.write(encodeFrame(bytes('small')));
    await waitUntil(() => replica.clientFrames.some((f) => f.text === 'small'), 'a small frame');
    for (const client of clients) client.destroy();
    await waitUntil(() => replica.network.stats().partialFrameBytes === 0, 'the budget back');
  });
});

describe('handshakes and connection caps', () => {
  it('caps handshakes in progress per address and in total, closing the excess at once', async () => {
    const perAddress = await startReplica({ handshakesPerAddressMax: 2, handshakesMax: 10 });
    const held = [await halfOpen(perAddress.port), await halfOpen(perAddress.port)];
    await waitUntil(() => perAddress.network.stats().handshakesInProgress === 2, 'two handshakes pending');
    const excess = await halfOpen(perAddress.port);
    await closed(excess);
    assert.equal(perAddress.network.stats().connectionRejections['handshakes-per-address'], 1);
    for (const socket of held) socket.destroy();
    await waitUntil(() => perAddress.network.stats().handshakesInProgress === 0, 'handshakes released on close');

    const total = await startReplica({ handshakesPerAddressMax: 10, handshakesMax: 1 });
    const pending = await halfOpen(total.port);
    await waitUntil(() => total.network.stats().handshakesInProgress === 1, 'one handshake pending');
    await closed(await halfOpen(total.port));
    assert.equal(total.network.stats().connectionRejections['handshakes-max'], 1);
    // A completed handshake no longer counts: a client gets in once the half-open one is gone.
    pending.destroy();
    await waitUntil(() => total.network.stats().handshakesInProgress === 0, 'released');
    await rawClient(total.port);
    await waitUntil(() => total.network.stats().clientConnections === 1, 'a client connected');
    assert.equal(total.network.stats().handshakesInProgress, 0);
  });

  it('times out a silent handshake within inboundHandshakeTimeoutMs and counts it', async () => {
    const replica = await startReplica({ inboundHandshakeTimeoutMs: 150 });
    await closed(await halfOpen(replica.port));
    await waitUntil(() => replica.network.stats().connectionRejections['handshake-timeout'] === 1, 'counted as a timeout');
    await waitUntil(() => replica.network.stats().handshakesInProgress === 0, 'the handshake released');
  });

  it('defaults the inbound handshake bound to 2 s, never above handshakeTimeoutMs, and validates the limits', () => {
    assert.equal(DEFAULT_CONNECTION_LIMITS.inboundHandshakeTimeoutMs, 2000);
    assert.equal(resolveConnectionLimits({}).clientConnectionsPerKeyMax, DEFAULT_CONNECTION_LIMITS.clientConnectionsPerKeyMax);
    assert.throws(
      () => resolveConnectionLimits({ handshakesMax: 0 }),
      (error: unknown) => error instanceof ConfigError && error.field === 'handshakesMax',
    );
  });

  it('caps connections per address before the handshake', async () => {
    const replica = await startReplica({ connectionsPerAddressMax: 2 });
    await rawClient(replica.port);
    await rawClient(replica.port);
    await closed(await halfOpen(replica.port));
    assert.equal(replica.network.stats().connectionRejections['connections-per-address'], 1);
    assert.equal(replica.network.stats().clientConnections, 2);
  });

  it('caps connections per key after the handshake; other keys still get in', async () => {
    const replica = await startReplica({ clientConnectionsPerKeyMax: 2 });
    const key = generateIdentity();
    await rawClient(replica.port, key);
    await rawClient(replica.port, key);
    await waitUntil(() => replica.network.stats().clientConnections === 2, 'two connections of one key');
    await closed(await rawClient(replica.port, key));
    const stats = replica.network.stats();
    assert.deepEqual([stats.connectionRejections['connections-per-key'], stats.clientKeys], [1, 1]);
    await rawClient(replica.port);
    await waitUntil(() => replica.network.stats().clientKeys === 2, 'another key admitted');
  });
});

describe('admission', () => {
  it('admits only the listed client keys when the config lists them; replicas are not clients', async () => {
    const admitted = generateIdentity();
    const replica = await startReplica({}, { clients: [publicKeyBase64(admitted)], both: true });
    const listed = await rawClient(replica.port, admitted);
    listed.write(encodeFrame(bytes('listed')));
    await waitUntil(() => replica.clientFrames.some((f) => f.text === 'listed'), 'a frame from the listed key');
    const stranger = await rawClient(replica.port);
    stranger.write(encodeFrame(bytes('stranger')));
    await closed(stranger);
    const stats = replica.network.stats();
    assert.equal(stats.connectionRejections['not-admitted'], 1);
    assert.ok(!replica.clientFrames.some((f) => f.text === 'stranger'));
    await waitUntil(() => replica.network.stats().peers[0]!.inboundConnected, 'replica 1 connected as a replica');
  });
});

describe('malformed frames and floods', () => {
  it('closes a client connection the runtime rejects, delivering nothing behind the rejected frame', async () => {
    const received: string[] = [];
    const replica = await startReplica({
      onClientFrame: (session, payload) => {
        received.push(text(payload));
        if (text(payload) === 'bad') session.reject('unexpected-type');
      },
    });
    const socket = await rawClient(replica.port);
    socket.write(encodeFrames(['good', 'bad', 'after'].map(bytes)));
    await closed(socket);
    assert.deepEqual(received, ['good', 'bad']);
    assert.equal(replica.network.stats().clientRejects, 1);
  });

  it('closes a replica connection the runtime rejects; the replica redials', async () => {
    const replica = await startReplica({}, { both: true, onReplicaFrame: (network, from, t) => t === 'bad' && network.rejectReplica(from, 'malformed') });
    const peer = replica.peer!;
    await waitUntil(() => replica.network.stats().peers[0]!.inboundConnected, 'replica 1 connected');
    assert.ok(peer.sendToReplica(0, bytes('bad')));
    await waitUntil(() => replica.network.stats().replicaRejects === 1, 'rejected');
    await waitUntil(() => peer.stats().peers[0]!.connects === 2 && replica.network.stats().peers[0]!.inboundConnected, 'redialled');
  });

  it('throttles a client that floods: it is read at its rate, nothing is lost, nothing queues', async () => {
    const rate = 2000;
    const replica = await startReplica({ clientFramesPerSecondMax: rate, idleTimeoutMs: 3000 });
    const socket = await rawClient(replica.port);
    const frames = 5 * rate;
    const startedAt = Date.now();
    socket.write(encodeFrames(Array.from({ length: frames }, () => bytes('x'))));
    await waitUntil(() => replica.network.stats().clientThrottles >= 1, 'throttled');
    await waitUntil(() => replica.clientFrames.length === frames, 'every frame, at the rate', 15_000);
    const elapsedMs = Date.now() - startedAt;
    // Unthrottled they all arrive within milliseconds; at the rate, after one second of burst, the last
    // read (up to a 16 KiB TLS record, about 3,300 of these frames) comes before its pause: over 1 s.
    assert.ok(elapsedMs >= 1000, `all ${frames} frames after ${elapsedMs} ms`);
    assert.equal(socket.closed, false, 'a throttled client is not disconnected');
  });

  it('charges a key for all its connections together', () => {
    const admission = new ClientAdmission(undefined, { clientConnectionsPerKeyMax: 4, clientFramesPerSecondMax: 100, clientBytesPerSecondMax: 1e9 });
    const [a, b] = [new EventEmitter(), new EventEmitter()] as unknown as Socket[];
    const first = admission.admit('k', a!);
    const second = admission.admit('k', b!);
    assert.ok(typeof first !== 'string' && typeof second !== 'string');
    assert.equal(first.throttle(100, 0), 0, "the connection's and the key's burst");
    assert.ok(second.throttle(1, 0) > 0, 'the key is spent though this connection is not');
    (a as unknown as EventEmitter).emit('close');
    (b as unknown as EventEmitter).emit('close');
    assert.equal(admission.keys, 0, 'a key without connections is forgotten');
  });

  it('refills a token bucket continuously up to one second of its rate', () => {
    const bucket = new TokenBucket(1000, 0);
    assert.equal(bucket.take(1000, 0), 0);
    assert.equal(bucket.take(500, 0), 500, '500 tokens short at 1000/s: 500 ms');
    assert.equal(bucket.take(0, 1000), 0);
    assert.equal(bucket.take(600, 10_000), 0, 'never more than one second banked');
    assert.equal(bucket.take(600, 10_000), 200);
  });
});
