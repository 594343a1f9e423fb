/** The chaos middlebox (src/chaos/middlebox.ts): a loopback TCP proxy injecting seeded faults, over real sockets. */
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Middlebox, NO_FAULTS, sumCounts, type MiddleboxFaults } from '../../src/chaos/middlebox.js';
import { waitUntil } from '../support/wait-for.js';

/** A TCP server that records, per accepted connection, the bytes it received and whether it closed; it can echo. */
interface Sink {
  readonly server: Server;
  readonly port: number;
  readonly connections: { received: Buffer[]; closed: boolean; socket: Socket }[];
}

const toClose: { close(): unknown }[] = [];
// Newest first: a sink's server closes only once the relays into it are gone.
after(async () => {
  for (const c of toClose.reverse()) await c.close();
});

async function startSink(echo = false): Promise<Sink> {
  const connections: Sink['connections'] = [];
  const server = createServer((socket) => {
    const record = { received: [] as Buffer[], closed: false, socket };
    connections.push(record);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      record.received.push(chunk);
      if (echo) socket.write(chunk);
    });
    socket.on('close', () => (record.closed = true));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  toClose.push({
    close: () => {
      for (const { socket } of connections) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  });
  return { server, port: (server.address() as AddressInfo).port, connections };
}

async function startBox(port: number, faults: Partial<MiddleboxFaults> = {}, extra: { connectionsMax?: number; stallHoldMs?: number } = {}): Promise<Middlebox> {
  const box = await Middlebox.start({ target: { host: '127.0.0.1', port }, seed: 7, faults: { ...NO_FAULTS, ...faults }, ...extra });
  toClose.push(box);
  return box;
}

/** A client connection through the middlebox, recording what comes back. */
async function dial(port: number): Promise<{ socket: Socket; received: Buffer[]; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  let closed = false;
  socket.on('error', () => {});
  socket.on('data', (chunk) => received.push(chunk));
  socket.on('close', () => (closed = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  toClose.push({ close: () => socket.destroy() });
  return { socket, received, closed: () => closed };
}

const total = (chunks: readonly Buffer[]): number => chunks.reduce((n, c) => n + c.length, 0);
const pattern = (length: number): Buffer => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff));

describe('middlebox', () => {
  it('forwards both ways unchanged without faults', async () => {
    const sink = await startSink(true);
    const box = await startBox(sink.port);
    const client = await dial(box.port);
    const sent = pattern(256 * 1024);
    client.socket.write(sent);
    await waitUntil(() => total(client.received) === sent.length, 'the echo');
    assert.ok(Buffer.concat(client.received).equals(sent));
    const counts = box.counts();
    assert.equal(counts.connections, 1);
    assert.equal(counts.bytesForwarded, 2 * sent.length);
    assert.deepEqual([counts.corruptedBytes, counts.duplicatedChunks, counts.cuts, counts.stalls], [0, 0, 0, 0]);
  });

  it('corrupts bytes at about the rate asked, and counts exactly the bytes it changed', async () => {
    const sink = await startSink();
    const box = await startBox(sink.port, { corruptByteProbability: 0.001 });
    const client = await dial(box.port);
    const sent = pattern(1024 * 1024);
    client.socket.write(sent);
    await waitUntil(() => total(sink.connections[0]?.received ?? []) === sent.length, 'every byte at the target');
    const received = Buffer.concat(sink.connections[0]!.received);
    let changed = 0;
    for (let i = 0; i < sent.length; i++) if (received[i] !== sent[i]) changed++;
    assert.equal(changed, box.counts().corruptedBytes);
    // Expected 1049; a binomial's standard deviation is about 32.
    assert.ok(changed > 850 && changed < 1250, `corrupted ${changed} of ${sent.length} bytes`);
  });

  it('writes a chunk twice when it duplicates', async () => {
    const sink = await startSink();
    const box = await startBox(sink.port, { duplicateChunkProbability: 1 });
    const client = await dial(box.port);
    client.socket.write('once');
    await waitUntil(() => total(sink.connections[0]?.received ?? []) === 8, 'the chunk twice');
    assert.equal(Buffer.concat(sink.connections[0]!.received).toString(), 'onceonce');
    assert.equal(box.counts().duplicatedChunks, 1);
  });

  it('cuts a connection: both sides are closed and the chunk is dropped', async () => {
    const sink = await startSink();
    const box = await startBox(sink.port, { cutChunkProbability: 1 });
    const client = await dial(box.port);
    client.socket.write('doomed');
    await waitUntil(() => client.closed() && sink.connections[0]?.closed === true, 'both sides closed');
    assert.equal(total(sink.connections[0]!.received), 0);
    assert.equal(box.counts().cuts, 1);
    await waitUntil(() => box.openConnections === 0, 'the relay forgotten');
  });

  it('stalls a connection: nothing passes, nothing closes, until the hold bound', async () => {
    const sink = await startSink();
    const box = await startBox(sink.port, { stallChunkProbability: 1 }, { stallHoldMs: 1000 });
    const stalled = await dial(box.port);
    await waitUntil(() => sink.connections.length === 1, 'the upstream connection');
    stalled.socket.write('lost');
    await waitUntil(() => box.counts().stalls === 1, 'the stall');
    box.setFaults(NO_FAULTS);
    stalled.socket.write('still lost');
    // A second connection proves the box forwards; the stalled one's bytes, written first, would have arrived by then.
    const healthy = await dial(box.port);
    healthy.socket.write('fine');
    await waitUntil(() => total(sink.connections[1]?.received ?? []) === 4, 'the healthy connection');
    assert.equal(total(sink.connections[0]!.received), 0);
    assert.equal(stalled.closed(), false);
    assert.equal(sink.connections[0]!.closed, false);
    // The peer closing is not passed on through a blackhole either.
    sink.connections[0]!.socket.destroy();
    await waitUntil(() => stalled.closed(), 'the hold bound closing the dialer side', 3000);
    assert.equal(box.counts().stalls, 1);
  });

  it('refuses connections beyond connectionsMax, and sums counts', async () => {
    const sink = await startSink();
    const box = await startBox(sink.port, {}, { connectionsMax: 1 });
    await dial(box.port);
    const second = await dial(box.port);
    await waitUntil(() => second.closed(), 'the second connection refused');
    const counts = box.counts();
    assert.deepEqual([counts.connections, counts.refusedConnections], [1, 1]);
    assert.deepEqual(sumCounts([counts, counts]).refusedConnections, 2);
  });

  it('rejects probabilities outside [0, 1]', async () => {
    const sink = await startSink();
    await assert.rejects(startBox(sink.port, { cutChunkProbability: 1.5 }), RangeError);
    const box = await startBox(sink.port);
    assert.throws(() => box.setFaults({ ...NO_FAULTS, corruptByteProbability: -1 }), RangeError);
    assert.throws(() => box.setFaults({ ...NO_FAULTS, stallChunkProbability: Number.NaN }), RangeError);
  });
});
