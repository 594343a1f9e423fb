import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientId } from '../../src/core/ids.js';
import type { Request } from '../../src/core/messages.js';
import { defaultProtocolOptions } from '../../src/core/options.js';
import type { RequestNo, SeqNo, View } from '../../src/core/ordering.js';
import { StoreCorruptError } from '../../src/errors.js';
import { FRAME_HEADER_BYTES, frame, groupEnd, parseFrames, segmentStart } from '../../src/storage/frames.js';
import { Journal, type OpenedJournal } from '../../src/storage/journal.js';
import { encodeRecord } from '../../src/storage/record-codec.js';
import type { JournalRecord } from '../../src/storage/records.js';
import { wireLimitsFrom } from '../../src/wire/codec.js';

const limits = wireLimitsFrom(defaultProtocolOptions, 4);

let root = '';
let dirs = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bafomet-journal-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory name under the test root (not created). */
function freshDir(): string {
  return join(root, `d${++dirs}`);
}

/** Opens `dir`, failing the test on a fatal journal error unless `onFatal` is given. */
function openJournal(dir: string, onFatal: (error: Error) => void = (error) => assert.fail(error)): Promise<OpenedJournal> {
  return Journal.open(dir, { limits, onFatal });
}

/** The records of the journal in `dir`, opened and closed again. */
async function readBack(dir: string): Promise<JournalRecord[]> {
  const { journal, records: found } = await openJournal(dir);
  await journal.close();
  return found;
}

function request(n: number): Request {
  return {
    clientId: clientId(n),
    requestNo: n as RequestNo,
    operation: new Uint8Array(16).fill(n),
    clientKey: new Uint8Array(32).fill(1),
    signature: new Uint8Array(64).fill(2),
  };
}

/** Distinct records of several kinds; `n` picks one. */
function record(n: number): JournalRecord {
  const seq = n as SeqNo;
  const digest = new Uint8Array(32).fill(n % 256);
  switch (n % 3) {
    case 0:
      return { kind: 'view-installed', view: n as View };
    case 1:
      return {
        kind: 'pre-prepare',
        message: { type: 'pre-prepare', view: 0 as View, seq, digest, signature: new Uint8Array(64), requests: [request(n)] },
      };
    default:
      return { kind: 'delivered', seq, digest, requests: [request(n), request(n + 1)] };
  }
}

function records(from: number, count: number): JournalRecord[] {
  return Array.from({ length: count }, (_, i) => record(from + i));
}

/** Writes `rs` to a new journal in a new directory and closes it; returns the directory. */
/** A journal holding `rs`, each synced in a group of its own. */
async function journalWith(rs: readonly JournalRecord[]): Promise<string> {
  const dir = freshDir();
  const { journal } = await openJournal(dir);
  for (const r of rs) await journal.whenDurable(journal.append(r));
  await journal.close();
  return dir;
}

const SALT = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
/** Bytes of a group holding one record: its frame and the group-end marker. */
const groupBytes = (r: JournalRecord): number => frame(encodeRecord(r)).length + groupEnd(0, SALT).length;
/** Bytes of a new segment's first group: its salted start marker. */
const headerBytes = segmentStart(SALT).length + groupEnd(0, SALT).length;

describe('frames', () => {
  const a = frame(Uint8Array.of(1, 2, 3));
  const b = frame(Uint8Array.of(4));
  const both = Uint8Array.of(...a, ...b);

  it('reads back what it framed', () => {
    assert.deepEqual(parseFrames(both), {
      payloads: [Uint8Array.of(1, 2, 3), Uint8Array.of(4)],
      offsets: [0, a.length],
      validBytes: both.length,
      tail: 'clean',
    });
    assert.deepEqual(parseFrames(new Uint8Array(0)), { payloads: [], offsets: [], validBytes: 0, tail: 'clean' });
  });

  it('calls an incomplete last frame, or zeros after the frames, a torn tail', () => {
    for (let cut = a.length + 1; cut < both.length; cut++) {
      const parsed = parseFrames(both.subarray(0, cut));
      assert.equal(parsed.tail, 'torn');
      assert.equal(parsed.validBytes, a.length);
      assert.equal(parsed.payloads.length, 1);
    }
    const zeros = Uint8Array.of(...both, ...new Uint8Array(4096));
    assert.deepEqual({ ...parseFrames(zeros), payloads: [] }, { payloads: [], offsets: [0, a.length], validBytes: both.length, tail: 'torn' });
  });

  const header = Uint8Array.of(...segmentStart(SALT), ...groupEnd(0, SALT));

  it('calls a bad frame followed by a complete later group corruption, wherever the damage is', () => {
    const first = Uint8Array.of(...header, ...a, ...groupEnd(header.length, SALT));
    const twoGroups = Uint8Array.of(...first, ...b, ...groupEnd(first.length, SALT));
    for (let at = header.length; at < header.length + a.length; at++) {
      const damaged = Uint8Array.of(...twoGroups);
      damaged[at]! ^= 0x10;
      const parsed = parseFrames(damaged);
      assert.equal(parsed.tail, 'corrupt', `damage at ${at}`);
      assert.equal(parsed.corruptAt, header.length);
      assert.equal(parsed.validBytes, header.length);
      assert.deepEqual(parsed.salt, SALT);
    }
  });

  it('calls a bad frame followed only by frames of its own group a torn tail (pages written out of order)', () => {
    const oneGroup = Uint8Array.of(...header, ...a, ...b, ...groupEnd(header.length, SALT));
    for (let at = header.length; at < header.length + a.length; at++) {
      const damaged = Uint8Array.of(...oneGroup);
      damaged[at]! ^= 0x10;
      assert.equal(parseFrames(damaged).tail, 'torn', `damage at ${at}`);
    }
  });

  it('a later group planted by a client inside a record, without the salt, does not make a tear corruption', () => {
    // Client bytes: a chain of frames ending in a group-end marker that names its start, as a real group would.
    const forged = (start: number): Uint8Array => Uint8Array.of(...b, ...groupEnd(start, new Uint8Array(8)));
    const record = frame(Uint8Array.of(1, ...forged(0)));
    const groupStart = header.length + a.length + 8 + 1; // where the forged chain lands
    const plantedRecord = frame(Uint8Array.of(1, ...forged(groupStart)));
    for (const planted of [record, plantedRecord]) {
      const bytes = Uint8Array.of(...header, ...a, ...planted, ...groupEnd(header.length, SALT));
      const damaged = Uint8Array.of(...bytes);
      damaged[header.length]! ^= 0x10;
      assert.equal(parseFrames(damaged).tail, 'torn');
    }
  });
});

describe('journal', () => {
  it('returns after a restart the records it appended, in order', async () => {
    const dir = freshDir();
    const first = await openJournal(dir);
    assert.deepEqual(first.records, []);
    const rs = records(0, 12);
    const tickets = rs.map((r) => first.journal.append(r));
    assert.deepEqual(tickets, Array.from({ length: 12 }, (_, i) => i + 1));
    await first.journal.whenDurable(12);
    assert.equal(first.journal.durableTicket, 12);
    assert.equal(first.journal.hasUndurable, false);
    await first.journal.close();

    const second = await openJournal(dir);
    assert.deepEqual(second.records, rs);
    assert.equal(second.truncatedBytes, 0);
    second.journal.append(record(12));
    await second.journal.close();
    assert.deepEqual(await readBack(dir), records(0, 13));
  });

  it('creates its directory with any missing parents, and leaves others’ files alone', async () => {
    const dir = join(freshDir(), 'a', 'b');
    const first = await openJournal(dir);
    assert.equal(first.file, join(dir, 'journal-1.log'));
    await first.journal.close();
    await writeFile(join(dir, 'image-64.state'), 'not mine');
    await writeFile(join(dir, 'journal-x.log'), 'not mine either');
    const second = await openJournal(dir);
    assert.deepEqual(second.records, []);
    await second.journal.close();
    assert.deepEqual((await readdir(dir)).sort(), ['image-64.state', 'journal-1.log', 'journal-x.log']);
  });

  it('tells whether a journal is present', async () => {
    const dir = freshDir();
    assert.equal(await Journal.exists(dir), false);
    await mkdir(dir);
    await writeFile(join(dir, 'journal-1.log.tmp'), 'an unfinished rotation');
    assert.equal(await Journal.exists(dir), false);
    await readBack(dir);
    assert.equal(await Journal.exists(dir), true);
  });

  it('cuts a torn last frame at every point and keeps the records before it', async () => {
    const rs = records(0, 3);
    const source = await journalWith(rs);
    const bytes = await readFile(join(source, 'journal-1.log'));
    const lastFrame = frame(encodeRecord(rs[2]!)).length;
    const lastStart = bytes.length - lastFrame - groupEnd(0, SALT).length;
    assert.equal(lastStart, headerBytes + groupBytes(rs[0]!) + groupBytes(rs[1]!));
    for (let cut = lastStart; cut < lastStart + lastFrame; cut++) {
      const dir = freshDir();
      await mkdir(dir);
      await writeFile(join(dir, 'journal-1.log'), bytes.subarray(0, cut));
      const opened = await openJournal(dir);
      assert.deepEqual(opened.records, rs.slice(0, 2), `cut at ${cut}`);
      assert.equal(opened.truncatedBytes, cut - lastStart);
      assert.equal((await stat(opened.file)).size, lastStart);
      // Appends go where the torn frame was.
      opened.journal.append(rs[2]!);
      await opened.journal.close();
      assert.deepEqual(await readBack(dir), rs);
      await rm(dir, { recursive: true });
    }
  });

  it('cuts zeros a crash left after the last frame', async () => {
    const rs = records(0, 2);
    const dir = await journalWith(rs);
    const file = join(dir, 'journal-1.log');
    const bytes = await readFile(file);
    await writeFile(file, Uint8Array.of(...bytes, ...new Uint8Array(8192)));
    const opened = await openJournal(dir);
    assert.deepEqual(opened.records, rs);
    assert.equal(opened.truncatedBytes, 8192);
    await opened.journal.close();
  });

  it('refuses to open a journal with a damaged record in the middle, and leaves it as it was', async () => {
    const rs = records(0, 3);
    const dir = await journalWith(rs);
    const file = join(dir, 'journal-1.log');
    const bytes = await readFile(file);
    const secondStart = headerBytes + groupBytes(rs[0]!);
    const damaged = Uint8Array.of(...bytes);
    damaged[secondStart + FRAME_HEADER_BYTES + 5]! ^= 0x01;
    await writeFile(file, damaged);
    await assert.rejects(openJournal(dir), (error: unknown) => {
      assert.ok(error instanceof StoreCorruptError);
      assert.equal(error.code, 'ERR_BAFOMET_STORE_CORRUPT');
      assert.equal(error.name, 'StoreCorruptError');
      assert.equal(error.offset, secondStart);
      assert.match(error.message, /journal-1\.log/);
      assert.match(error.message, new RegExp(`byte ${secondStart}`));
      assert.match(error.message, /move the data directory away to rejoin by state transfer/);
      return true;
    });
    assert.deepEqual(await readFile(file), Buffer.from(damaged));
  });

  it('refuses to open a journal whose record passes its checksum but does not decode', async () => {
    const dir = await journalWith(records(0, 1));
    const file = join(dir, 'journal-1.log');
    const first = await readFile(file);
    await writeFile(file, Uint8Array.of(...first, ...frame(Uint8Array.of(1, 99, 0))));
    await assert.rejects(openJournal(dir), (error: unknown) => {
      assert.ok(error instanceof StoreCorruptError);
      assert.equal(error.offset, first.length);
      assert.match(error.message, /unknown-kind/);
      return true;
    });
  });

  it('commits appends that arrive together in few syncs', async () => {
    const { journal } = await openJournal(freshDir());
    const durable: number[] = [];
    journal.onDurable((ticket) => durable.push(ticket));
    let last = 0;
    for (let i = 0; i < 200; i++) last = journal.append(record(i));
    assert.equal(journal.hasUndurable, true);
    await journal.whenDurable(last);
    assert.equal(journal.durableTicket, 200);
    assert.ok(journal.syncs < 20, `${journal.syncs} syncs for 200 appends`);
    assert.ok(journal.bytesWritten > 0);
    assert.deepEqual(durable, [...durable].sort((x, y) => x - y));
    assert.equal(durable.at(-1), 200);

    // Appends made while a group is being written form the next group, not one sync each.
    const before = journal.syncs;
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      waits.push(journal.whenDurable(journal.append(record(i))));
      // One turn of the event loop per append: the writer's I/O completes between them.
      await new Promise(setImmediate);
    }
    await Promise.all(waits);
    assert.ok(journal.syncs - before < 200, `${journal.syncs - before} syncs for 200 appends`);
    await journal.close();
  });

  it('rotates to a new segment holding the base and what follows it', async () => {
    const dir = freshDir();
    const { journal } = await openJournal(dir);
    for (const r of records(0, 10)) journal.append(r);
    await journal.whenDurable(journal.lastTicket);
    const base = records(100, 2);
    const rotation = journal.rotate(base);
    const afterBase = records(200, 3).map((r) => journal.append(r));
    await journal.whenDurable(rotation);
    await journal.whenDurable(afterBase.at(-1)!);
    assert.equal(journal.segmentBytes, (await stat(join(dir, 'journal-2.log'))).size);
    journal.append(record(300));
    await journal.close();
    assert.deepEqual(await readdir(dir), ['journal-2.log']);
    const reopened = await openJournal(dir);
    assert.deepEqual(reopened.records, [...base, ...records(200, 3), record(300)]);
    await reopened.journal.close();
  });

  it('writes nothing of what a rotation queued behind it supersedes', async () => {
    const dir = freshDir();
    const { journal } = await openJournal(dir);
    for (const r of records(0, 50)) journal.append(r);
    journal.rotate(records(100, 1));
    journal.append(record(200));
    journal.rotate(records(300, 2));
    journal.append(record(400));
    await journal.close();
    assert.deepEqual(await readdir(dir), ['journal-2.log']);
    assert.equal(journal.bytesWritten, (await stat(join(dir, 'journal-2.log'))).size);
    assert.deepEqual(await readBack(dir), [...records(300, 2), record(400)]);
  });

  it('reads only the newest segment and deletes what an interrupted rotation left', async () => {
    const older = await journalWith(records(0, 4));
    const newer = await journalWith(records(10, 2));
    const dir = freshDir();
    await mkdir(dir);
    await writeFile(join(dir, 'journal-6.log'), await readFile(join(older, 'journal-1.log')));
    await writeFile(join(dir, 'journal-7.log'), await readFile(join(newer, 'journal-1.log')));
    await writeFile(join(dir, 'journal-8.log.tmp'), Uint8Array.of(1, 2, 3));
    await writeFile(join(dir, 'journal-5.log.tmp'), Uint8Array.of(4));
    await writeFile(join(dir, 'checkpoint-64.image'), Uint8Array.of(5));
    const opened = await openJournal(dir);
    assert.deepEqual(opened.records, records(10, 2));
    assert.deepEqual((await readdir(dir)).sort(), ['checkpoint-64.image', 'journal-7.log']);
    opened.journal.rotate([]);
    await opened.journal.close();
    assert.deepEqual((await readdir(dir)).sort(), ['checkpoint-64.image', 'journal-8.log']);
  });

  it('flushes on close, and closing again changes nothing', async () => {
    const dir = freshDir();
    const { journal } = await openJournal(dir);
    for (const r of records(0, 5)) journal.append(r);
    const closing = journal.close();
    assert.equal(journal.close(), closing);
    await closing;
    assert.equal(journal.durableTicket, 5);
    assert.equal(journal.hasUndurable, false);
    assert.throws(() => journal.append(record(5)), /after close/);
    assert.deepEqual(await readBack(dir), records(0, 5));
  });

  it('reports a failed write as fatal and rejects what waits on it', async () => {
    const dir = freshDir();
    const fatal: Error[] = [];
    const { journal } = await openJournal(dir, (error) => fatal.push(error));
    journal.append(record(0));
    await journal.whenDurable(1);
    // The open segment outlives its directory, but a rotation cannot create the next one.
    await rm(dir, { recursive: true });
    const rotation = journal.rotate(records(1, 1));
    const waiting = journal.whenDurable(rotation);
    await assert.rejects(waiting, { code: 'ENOENT' });
    assert.equal(fatal.length, 1);
    assert.equal(fatal[0]!.message.includes('journal-2.log.tmp'), true);
    assert.equal(journal.durableTicket, 1);
    const later = journal.append(record(2));
    await assert.rejects(journal.whenDurable(later), { code: 'ENOENT' });
    await journal.whenDurable(1);
    await assert.rejects(journal.close(), { code: 'ENOENT' });
    assert.equal(fatal.length, 1);
  });
});
