/**
 * Link liveness (src/net/liveness.ts, docs/DESIGN.md "Link liveness") over
 * real TLS sockets on loopback: heartbeats keep an idle link up, and a
 * connection that stops delivering (a middlebox that blackholes without
 * closing, or a corrupted TLS record) is closed within the idle timeout and
 * replaced by one that carries frames again, on replica links and client
 * connections alike.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { after, describe, it } from 'node:test';
import { Middlebox, NO_FAULTS, type MiddleboxFaults } from '../../src/chaos/middlebox.js';
import { parseClusterConfig, type ClusterConfig, type ReplicaAddress } from '../../src/config.js';
import type { ReplicaId } from '../../src/core/ids.js';
import { ClientNetwork } from '../../src/net/client-network.js';
import type { ClientConnection } from '../../src/net/client-session.js';
import { encodeFrame, FrameDecoder, HEARTBEAT_FRAME } from '../../src/net/framing.js';
import { generateIdentity, publicKeyBase64, tlsCredentials, type NodeIdentity } from '../../src/net/identity.js';
import { LIVENESS_TICKS_PER_IDLE } from '../../src/net/liveness.js';
import { IDLE_TIMEOUT_MS_MIN } from '../../src/net/limits.js';
import type { NetLogLevel } from '../../src/net/log.js';
import { ReplicaNetwork } from '../../src/net/replica-network.js';
import { SendQueue } from '../../src/net/send-queue.js';
import { waitUntil } from '../support/wait-for.js';
import { freePorts } from '../../src/cluster/free-ports.js';

/** Short enough for a quick test, long enough for a loaded 2-core box to keep its ticks. */
const IDLE_MS = 400;
const TICK_MS = IDLE_MS / LIVENESS_TICKS_PER_IDLE;
const MAX_FRAME_BYTES = 64 * 1024;
const text = (payload: Uint8Array): string => Buffer.from(payload).toString();
const bytes = (value: string): Uint8Array => Buffer.from(value);

const toClose: { close(): Promise<void> }[] = [];
after(async () => {
  for (const c of toClose.reverse()) await c.close();
});

interface LogLine {
  readonly level: NetLogLevel;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * Two replicas (f = 0). Replica 0 dials replica 1 through a middlebox (its
 * config names the middlebox's port for replica 1), replica 1 dials replica
 * 0 directly; a client, if asked for, reaches replica 1 through a second
 * middlebox.
 */
async function twoReplicas(): Promise<{
  replicas: ReplicaNetwork[];
  frames: { from: ReplicaId; text: string }[][];
  clientFrames: { session: ClientConnection; text: string }[];
  link: Middlebox;
  clientBox: Middlebox;
  clientConfig: ClusterConfig;
  /** Where each replica really listens. */
  real: ClusterConfig;
  identities: NodeIdentity[];
  logs: LogLine[][];
}> {
  const identities = [generateIdentity(), generateIdentity()];
  const [port0, port1] = await freePorts(2);
  const address = (id: number, port: number): ReplicaAddress => ({ id, host: '127.0.0.1', port, publicKey: publicKeyBase64(identities[id]!) });
  const link = await Middlebox.start({ target: { host: '127.0.0.1', port: port1! }, seed: 1 });
  const clientBox = await Middlebox.start({ target: { host: '127.0.0.1', port: port1! }, seed: 2 });
  toClose.push(link, clientBox);
  const real = parseClusterConfig({ f: 0, replicas: [address(0, port0!), address(1, port1!)] });
  const viaBox = parseClusterConfig({ f: 0, replicas: [address(0, port0!), address(1, link.port)] });
  const clientConfig = parseClusterConfig({ f: 0, replicas: [address(0, port0!), address(1, clientBox.port)] });
  const frames: { from: ReplicaId; text: string }[][] = [[], []];
  const clientFrames: { session: ClientConnection; text: string }[] = [];
  const logs: LogLine[][] = [[], []];
  const replicas = await Promise.all(
    [viaBox, real].map(async (config, selfId) => {
      const network = await ReplicaNetwork.start({
        config,
        selfId,
        identity: identities[selfId]!,
        maxFrameBytes: MAX_FRAME_BYTES,
        replicaFrameBytesMax: MAX_FRAME_BYTES,
        sendQueueFramesMax: 64,
        handshakeTimeoutMs: 2000,
        clientConnectionsMax: 10,
        idleTimeoutMs: IDLE_MS,
        onReplicaFrame: (from, payload) => frames[selfId]!.push({ from, text: text(payload) }),
        onClientFrame: (session, payload) => clientFrames.push({ session, text: text(payload) }),
        log: (level, msg, fields = {}) => logs[selfId]!.push({ level, msg, fields }),
      });
      toClose.push(network);
      return network;
    }),
  );
  return { replicas, frames, clientFrames, link, clientBox, clientConfig, real, identities, logs };
}

const peerStats = (network: ReplicaNetwork, id: number) => network.stats().peers.find((p) => p.id === id)!;

/** Sets `faults` on `box` until it has injected one of them, then forwards faithfully again. */
async function injectOnce(box: Middlebox, faults: Partial<MiddleboxFaults>, injected: () => boolean, what: string): Promise<void> {
  box.setFaults({ ...NO_FAULTS, ...faults });
  await waitUntil(injected, what);
  box.setFaults(NO_FAULTS);
}

describe('link liveness', () => {
  it('keeps an idle link up on heartbeats alone, even across a stall of our own event loop', async () => {
    const { replicas, frames, link } = await twoReplicas();
    await waitUntil(() => peerStats(replicas[0]!, 1).connected && peerStats(replicas[1]!, 0).inboundConnected, 'link 0 -> 1');
    // A deliberate observation window (not a wait for settling): four idle timeouts with no frame sent either way.
    const forwardedBefore = link.counts().bytesForwarded;
    await new Promise((resolve) => setTimeout(resolve, 4 * IDLE_MS));
    assert.ok(link.counts().bytesForwarded > forwardedBefore, 'heartbeats crossed the middlebox');
    // Block this process (both replicas) for twice the idle timeout: the watch must count that as one empty tick, not as silence.
    const until = Date.now() + 2 * IDLE_MS;
    while (Date.now() < until);
    await new Promise((resolve) => setTimeout(resolve, 3 * TICK_MS));
    for (const [self, peer] of [
      [0, 1],
      [1, 0],
    ] as const) {
      const stats = peerStats(replicas[self]!, peer);
      assert.equal(stats.connects, 1, `replica ${self} dialled once`);
      assert.equal(stats.idleDisconnects, 0, `replica ${self} closed nothing as idle`);
    }
    assert.equal(link.counts().connections, 1);
    assert.equal(frames[0]!.length + frames[1]!.length, 0, 'heartbeats never reach the frame handler');
  });

  it('closes a replica link that a middlebox blackholes within the idle timeout, and redials', async () => {
    const { replicas, frames, link, logs } = await twoReplicas();
    await waitUntil(() => peerStats(replicas[0]!, 1).connected && peerStats(replicas[1]!, 0).inboundConnected, 'link 0 -> 1');
    assert.ok(replicas[0]!.sendToReplica(1, bytes('before')));
    await waitUntil(() => frames[1]!.some((f) => f.text === 'before'), 'a frame before the stall');

    const stalledAt = Date.now();
    await injectOnce(link, { stallChunkProbability: 1 }, () => link.counts().stalls === 1, 'the stall');
    // The dialer hears no heartbeats and closes its end (a blackhole passes no FIN, so it learns nothing else).
    await waitUntil(() => peerStats(replicas[0]!, 1).idleDisconnects === 1, 'the dialer closing its idle link');
    const detectedMs = Date.now() - stalledAt;
    // Detection takes at least the idle timeout and at most one tick more (plus scheduling slack on a busy box).
    assert.ok(detectedMs >= IDLE_MS - TICK_MS && detectedMs < 4 * IDLE_MS, `detected after ${detectedMs} ms`);

    await waitUntil(() => peerStats(replicas[0]!, 1).connects === 2 && peerStats(replicas[1]!, 0).inboundConnected, 'the redialled link');
    assert.ok(replicas[0]!.sendToReplica(1, bytes('after')));
    await waitUntil(() => frames[1]!.some((f) => f.text === 'after'), 'a frame on the new connection');
    assert.equal(link.counts().connections, 2);

    const disconnected = logs[0]!.find((l) => l.msg === 'disconnected');
    assert.deepEqual([disconnected?.level, disconnected?.fields['peer'], disconnected?.fields['reason']], ['info', 1, 'idle']);
    // The acceptor's end goes too: as idle, or replaced by the redialled connection if that came first.
    await waitUntil(() => logs[1]!.some((l) => l.msg === 'replica disconnected'), "the acceptor's end closed");
    const inbound = logs[1]!.find((l) => l.msg === 'replica disconnected')!;
    assert.equal(inbound.level, 'info');
    assert.equal(inbound.fields['peer'], 0);
    assert.match(String(inbound.fields['reason']), /^(idle|replaced by a newer connection)$/);
  });

  it('closes an incoming replica connection on which nothing arrives', async () => {
    const { replicas, real, identities } = await twoReplicas();
    // Replica 0 goes away (else it would redial and replace the silent connection below).
    await replicas[0]!.close();
    await waitUntil(() => !peerStats(replicas[1]!, 0).inboundConnected, "replica 0's connection gone");
    // Replica 0's key on a raw connection that never sends a byte, not even a heartbeat.
    const credentials = await tlsCredentials(identities[0]!);
    const socket = connect({ host: '127.0.0.1', port: real.replicas[1]!.port, rejectUnauthorized: false, cert: credentials.certPem, key: credentials.keyPem });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    // Read (and drop) the replica's heartbeats: a paused socket would never see the end of the stream.
    socket.resume();
    const silentAt = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    assert.ok(Date.now() - silentAt >= IDLE_MS - TICK_MS, 'not before the idle timeout');
    await waitUntil(() => peerStats(replicas[1]!, 0).idleDisconnects >= 1, 'counted as idle');
  });

  it('replaces a replica link whose TLS stream a corrupted byte broke', async () => {
    const { replicas, frames, link, logs } = await twoReplicas();
    await waitUntil(() => peerStats(replicas[0]!, 1).connected, 'link 0 -> 1');
    await injectOnce(link, { corruptByteProbability: 1 }, () => link.counts().corruptedBytes > 0, 'a corrupted byte');
    await waitUntil(() => peerStats(replicas[0]!, 1).connects === 2 && peerStats(replicas[1]!, 0).inboundConnected, 'the redialled link');
    assert.ok(replicas[0]!.sendToReplica(1, bytes('after')));
    await waitUntil(() => frames[1]!.some((f) => f.text === 'after'), 'a frame on the new connection');
    const reasons = [...logs[0]!, ...logs[1]!].filter((l) => /disconnected/.test(l.msg)).map((l) => String(l.fields['reason']));
    assert.ok(reasons.length > 0 && reasons.every((r) => r !== 'idle'), `TLS noticed the corruption itself: ${reasons.join('; ')}`);
  });

  it('reconnects a client whose connection a middlebox blackholes, and the replica drops its idle session', async () => {
    const { replicas, clientFrames, clientBox, clientConfig } = await twoReplicas();
    const replies: { from: ReplicaId; text: string }[] = [];
    const client = await ClientNetwork.connect({
      config: clientConfig,
      identity: generateIdentity(),
      maxFrameBytes: MAX_FRAME_BYTES,
      sendQueueFramesMax: 64,
      idleTimeoutMs: IDLE_MS,
      onReplicaFrame: (from, payload) => replies.push({ from, text: text(payload) }),
    });
    toClose.push(client);
    assert.ok(client.send(1, bytes('request 1')));
    await waitUntil(() => clientFrames.some((f) => f.text === 'request 1'), 'the first request');

    await injectOnce(clientBox, { stallChunkProbability: 1 }, () => clientBox.counts().stalls === 1, 'the stall');
    await waitUntil(() => client.stats().replicas[1]!.idleDisconnects === 1, 'the client closing its idle connection');
    await waitUntil(() => replicas[1]!.stats().clientIdleDisconnects === 1, 'the replica closing the idle session');
    await waitUntil(() => client.stats().replicas[1]!.connects === 2, 'the client reconnected');
    assert.ok(client.send(1, bytes('request 2')));
    await waitUntil(() => clientFrames.some((f) => f.text === 'request 2'), 'a request on the new connection');
    const session = clientFrames.find((f) => f.text === 'request 2')!.session;
    assert.ok(session.send(bytes('reply 2')));
    await waitUntil(() => replies.some((r) => r.from === 1 && r.text === 'reply 2'), 'the reply on the new connection');
  });

  it('consumes heartbeats in the framing layer, accepts them on send-only links, and refuses to send an empty payload', async () => {
    const decoder = new FrameDecoder(0);
    assert.deepEqual([...decoder.feed(Buffer.concat([HEARTBEAT_FRAME, HEARTBEAT_FRAME]))].map((p) => p.length), [0, 0]);
    assert.throws(() => [...decoder.feed(encodeFrame(bytes('x')))], /exceeds the limit of 0/);
    assert.throws(() => new SendQueue(4, 100, { sent: 0, dropped: 0 }).push(new Uint8Array(0)), RangeError);

    // A raw client interleaving heartbeats with frames: only the frames reach the handler.
    const { clientFrames, real } = await twoReplicas();
    const port = real.replicas[1]!.port;
    const credentials = await tlsCredentials(generateIdentity());
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, cert: credentials.certPem, key: credentials.keyPem });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.write(Buffer.concat([HEARTBEAT_FRAME, encodeFrame(bytes('one')), HEARTBEAT_FRAME, HEARTBEAT_FRAME, encodeFrame(bytes('two'))]));
    await waitUntil(() => clientFrames.length === 2, 'both frames');
    assert.deepEqual(
      clientFrames.map((f) => f.text),
      ['one', 'two'],
    );
    assert.equal(socket.destroyed, false, 'heartbeats are no protocol violation');
    socket.destroy();
  });

  it('refuses an idle timeout below its minimum', async () => {
    await assert.rejects(
      ClientNetwork.connect({
        config: parseClusterConfig({ f: 0, replicas: [{ id: 0, host: '127.0.0.1', port: 1, publicKey: publicKeyBase64(generateIdentity()) }] }),
        identity: generateIdentity(),
        maxFrameBytes: 100,
        sendQueueFramesMax: 1,
        idleTimeoutMs: IDLE_TIMEOUT_MS_MIN - 1,
        onReplicaFrame: () => {},
      }),
      /idleTimeoutMs/,
    );
  });
});
