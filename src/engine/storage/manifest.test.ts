// The manifest: edits replay to the same state, a torn last edit is dropped, damage is a
// CorruptionError at the damaged record, and the log is rewritten (atomically) as it grows.

import { strict as assert } from 'node:assert';
import { CorruptionError } from './errors';
import { FaultFileSystem } from './fault-fs';
import { Manifest, type TableRecord } from './manifest';
import { frameRecord, RECORD_HEADER_BYTES } from './wal-format';

const DIR = '/db';
const FILE = '/db/MANIFEST';

function table(id: number, level = 0): TableRecord {
  return { id, level, file: `sst/${id}.sst`, minKey: Buffer.from([0, id]), maxKey: Buffer.from([0xff, id]), entries: id, tombstones: 1, bytes: 100 * id, bloomBits: 80, newestWriteMs: 1_700_000_000_000 + id };
}

function fresh(): FaultFileSystem {
  const fs = new FaultFileSystem();
  fs.mkdirp(DIR);
  return fs;
}

function setBytes(fs: FaultFileSystem, bytes: Buffer): void {
  const fd = fs.open(FILE, 'w');
  fs.write(fd, bytes, 0);
  fs.fsync(fd);
  fs.close(fd);
}

describe('Manifest', () => {
  it('replays edits into the same state, durably, across a crash', async () => {
    const fs = fresh();
    const m = Manifest.open(fs, DIR);
    await m.apply({ add: [table(3), table(4)], nextFile: 5, logNumber: 2 });
    await m.apply({ add: [table(7, 1)], remove: [3, 4], nextFile: 8 });
    await m.apply({ logNumber: 6 });
    fs.crash();
    const state = Manifest.open(fs, DIR).state;
    assert.deepEqual([...state.tables.values()], [table(7, 1)]);
    assert.equal(state.nextFile, 8);
    assert.equal(state.logNumber, 6);
  });

  it('takes a table recorded before newestWriteMs existed as written when the store opened', () => {
    const fs = fresh();
    const { newestWriteMs: _, ...old } = table(3);
    const json = { ...old, minKey: old.minKey.toString('hex'), maxKey: old.maxKey.toString('hex') };
    setBytes(fs, frameRecord(Buffer.from(JSON.stringify({ add: [json], nextFile: 4 }))));
    assert.equal(Manifest.open(fs, DIR, 42_000).state.tables.get(3)?.newestWriteMs, 42_000);
    setBytes(fs, frameRecord(Buffer.from(JSON.stringify({ add: [{ ...json, newestWriteMs: -1 }], nextFile: 4 }))));
    assert.throws(() => Manifest.open(fs, DIR), (e: unknown) => e instanceof CorruptionError && /adds a malformed table/.test(e.message));
  });

  it('drops a torn last edit and keeps the ones before it', async () => {
    const fs = fresh();
    const m = Manifest.open(fs, DIR);
    await m.apply({ add: [table(2)] });
    m.close();
    const bytes = fs.readFile(FILE);
    setBytes(fs, Buffer.concat([bytes, frameRecord(Buffer.from(JSON.stringify({ add: [] }))).subarray(0, 15)]));
    assert.deepEqual([...Manifest.open(fs, DIR).state.tables.keys()], [2]);
  });

  it('reports a damaged edit that is not the last with file and offset', async () => {
    const fs = fresh();
    const m = Manifest.open(fs, DIR);
    await m.apply({ add: [table(2)] });
    await m.apply({ add: [table(3)] });
    m.close();
    const bytes = fs.readFile(FILE);
    const second = RECORD_HEADER_BYTES + bytes.readUInt32LE(0);
    bytes[second + RECORD_HEADER_BYTES + 4] ^= 1;
    setBytes(fs, bytes);
    assert.throws(() => Manifest.open(fs, DIR), (e: unknown) => e instanceof CorruptionError && e.file === FILE && e.offset === second);
  });

  it('reports an edit with a valid checksum but a meaning it cannot have', () => {
    const fs = fresh();
    setBytes(fs, Buffer.concat([frameRecord(Buffer.from('{"nextFile":3}')), frameRecord(Buffer.from('{"remove":[9]}'))]));
    assert.throws(() => Manifest.open(fs, DIR), /removes table 9, which is not live/);
    setBytes(fs, frameRecord(Buffer.from('not json')));
    assert.throws(() => Manifest.open(fs, DIR), (e: unknown) => e instanceof CorruptionError && e.offset === 0 && /not valid JSON/.test(e.message));
    setBytes(fs, Buffer.alloc(0));
    assert.throws(() => Manifest.open(fs, DIR), /holds no complete edit/);
  });

  it('appends edits made without waiting in call order, each durable when it resolves', async () => {
    const fs = fresh();
    const m = Manifest.open(fs, DIR);
    const first = m.apply({ add: [table(3)], nextFile: 4 });
    const second = m.apply({ add: [table(4)], remove: [3], nextFile: 5 });
    await first;
    // The second is not durable yet: the crash takes it, and it fails.
    fs.crash();
    assert.deepEqual([...Manifest.open(fs, DIR).state.tables.keys()], [3]);
    await assert.rejects(second);
  });

  it('applies a queued edit after the one before it is durable', async () => {
    const fs = fresh();
    const m = Manifest.open(fs, DIR);
    // The second removes what the first adds: it is checked against the state the first leaves.
    const edits = [m.apply({ add: [table(3)], nextFile: 4 }), m.apply({ add: [table(4)], remove: [3], nextFile: 5 }), m.apply({ logNumber: 9 })];
    await Promise.all(edits);
    fs.crash();
    const state = Manifest.open(fs, DIR).state;
    assert.deepEqual([...state.tables.keys()], [4]);
    assert.equal(state.logNumber, 9);
    assert.equal(state.nextFile, 5);
  });

  it('refuses an edit that removes a table that is not live, writing nothing', async () => {
    const fs = fresh();
    const m = Manifest.open(fs, DIR);
    const size = fs.readFile(FILE).length;
    await assert.rejects(m.apply({ remove: [1] }), /not live/);
    assert.equal(fs.readFile(FILE).length, size);
  });

  it('rewrites itself as one snapshot once the log grows, without losing state', async () => {
    const fs = fresh();
    const m = Manifest.open(fs, DIR);
    for (let i = 1; i <= 2000; i++) await m.apply({ add: [table(i)], remove: i > 1 ? [i - 1] : [], nextFile: i + 1 });
    assert.ok(fs.readFile(FILE).length < 80 * 1024, `manifest is ${fs.readFile(FILE).length} bytes`);
    fs.crash();
    const state = Manifest.open(fs, DIR).state;
    assert.deepEqual([...state.tables.keys()], [2000]);
    assert.equal(state.nextFile, 2001);
  });
});
