// WAL framing and the group-commit writer: records round-trip, a torn tail is recognised at
// every cut point, damage anywhere else is a CorruptionError at the damaged record's offset,
// and writers that queue together share one fsync.

import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { CorruptionError } from './errors';
import { FaultFileSystem } from './fault-fs';
import type { Entry } from './types';
import { WalWriter } from './wal';
import { decodeEntries, readLog, RECORD_HEADER_BYTES } from './wal-format';

const entryArb: fc.Arbitrary<Entry> = fc.record({
  key: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)),
  value: fc.option(fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)), { nil: null }),
  ts: fc.maxSafeNat(),
  origin: fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }).filter((s) => Buffer.byteLength(s) <= 255),
});

const FILE = '/w/000001.log';

function writeLog(batches: Entry[][]): { fs: FaultFileSystem; offsets: number[] } {
  const fs = new FaultFileSystem();
  fs.mkdirp('/w');
  const wal = new WalWriter(fs, FILE, 'none', 0);
  const offsets: number[] = [];
  for (const batch of batches) {
    offsets.push(wal.bytes);
    if (batch.length === 1) wal.appendOne(batch[0], Buffer.byteLength(batch[0].origin));
    else wal.append(batch, batch.map((e) => Buffer.byteLength(e.origin)));
    void wal.commit(true);
  }
  return { fs, offsets };
}

function withBytes(fs: FaultFileSystem, edit: (bytes: Buffer) => Buffer): void {
  const bytes = edit(fs.readFile(FILE));
  const fd = fs.open(FILE, 'w');
  fs.write(fd, bytes, 0);
  fs.close(fd);
}

describe('WAL', () => {
  it('round-trips batches of entries (tombstones, unicode origins, 53-bit timestamps)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(entryArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 10 }), (batches) => {
        const { fs, offsets } = writeLog(batches);
        const log = readLog(fs, FILE);
        assert.equal(log.tornTail, false);
        assert.deepEqual(log.records.map((r) => r.offset), offsets);
        const decoded = log.records.map((r) => decodeEntries(r.payload, FILE, r.offset + RECORD_HEADER_BYTES));
        assert.deepEqual(decoded.map((b) => b.map((e) => ({ ...e }))), batches.map((b) => b.map((e) => ({ ...e }))));
      }),
      { numRuns: 100 },
    );
  });

  it('recognises a torn last record at every cut point and keeps the records before it', () => {
    const batches = [[{ key: Buffer.from('a'), value: Buffer.from('1'), ts: 1, origin: 'n' }], [{ key: Buffer.from('bb'), value: Buffer.alloc(50, 7), ts: 2, origin: 'n' }]];
    const { fs, offsets } = writeLog(batches);
    const full = fs.readFile(FILE);
    for (let cut = offsets[1] + 1; cut < full.length; cut++) {
      withBytes(fs, () => full.subarray(0, cut));
      const log = readLog(fs, FILE);
      assert.equal(log.tornTail, true, `cut at ${cut}`);
      assert.equal(log.validBytes, offsets[1]);
      assert.equal(log.records.length, 1);
    }
  });

  it('recognises zeros after the last record as a torn tail', () => {
    const { fs, offsets } = writeLog([[{ key: Buffer.from('a'), value: null, ts: 1, origin: 'n' }]]);
    withBytes(fs, (b) => Buffer.concat([b, Buffer.alloc(64)]));
    const log = readLog(fs, FILE);
    assert.deepEqual([log.tornTail, log.validBytes, log.records.length], [true, offsets[0] + fs.readFile(FILE).length - 64, 1]);
  });

  it('reports any flipped byte of a record that is not the last as corruption at that record', () => {
    const batches = Array.from({ length: 6 }, (_, i) => [{ key: Buffer.from(`key${i}`), value: Buffer.alloc(20, i), ts: i, origin: 'n1' }]);
    const { fs, offsets } = writeLog(batches);
    const clean = fs.readFile(FILE);
    fc.assert(
      fc.property(fc.nat(offsets[5] - 1), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        withBytes(fs, () => {
          const b = Buffer.from(clean);
          b[at] ^= mask;
          return b;
        });
        const record = offsets.filter((o) => o <= at).pop()!;
        assert.throws(
          () => readLog(fs, FILE),
          (err: unknown) => err instanceof CorruptionError && err.file === FILE && err.offset === record,
        );
      }),
      { numRuns: 200 },
    );
  });

  it("shares one fsync among every writer that queued while the previous one ran (sync 'always')", async () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/w');
    const wal = new WalWriter(fs, FILE, 'always', 0);
    fs.fsyncDir('/w');
    const entry = { key: Buffer.from('k'), value: Buffer.from('v'), ts: 1, origin: 'n' };
    const before = fs.mutations;
    const acks: Promise<boolean>[] = [];
    for (let i = 0; i < 50; i++) {
      wal.appendOne(entry, 1);
      acks.push(wal.commit(true));
    }
    assert.deepEqual(new Set(await Promise.all(acks)), new Set([true]));
    // First round: one write + one fsync for the first writer; second round: the other 49 together.
    assert.equal(fs.mutations - before, 4);
    fs.crash();
    assert.equal(readLog(fs, FILE).records.length, 50, 'every acknowledged record survives a crash');
  });

  it('fails every waiting writer when an fsync fails, and every later append', async () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/w');
    const wal = new WalWriter(fs, FILE, 'always', 0);
    const entry = { key: Buffer.from('k'), value: Buffer.from('v'), ts: 1, origin: 'n' };
    fs.crashAfter(1);
    wal.appendOne(entry, 1);
    const first = wal.commit(true);
    wal.appendOne(entry, 1);
    const second = wal.commit(true);
    await assert.rejects(first, /simulated crash/);
    await assert.rejects(second, /simulated crash/);
    await assert.rejects(wal.commit(true), /simulated crash/);
  });

  it('makes the old segment durable when it rotates, and resolves the writers waiting on it', async () => {
    const fs = new FaultFileSystem();
    fs.mkdirp('/w');
    const wal = new WalWriter(fs, FILE, 'batch', 10_000);
    const entry = { key: Buffer.from('k'), value: Buffer.from('v'), ts: 1, origin: 'n' };
    wal.appendOne(entry, 1);
    const waiting = wal.commit(true);
    wal.rotate('/w/000002.log');
    assert.equal(await waiting, true, 'resolved by the rotation, not by the 10 s batch timer');
    wal.appendOne(entry, 1);
    await wal.close();
    fs.fsyncDir('/w');
    fs.crash();
    assert.equal(readLog(fs, FILE).records.length, 1);
    assert.equal(readLog(fs, '/w/000002.log').records.length, 1, 'close() syncs whatever the policy');
  });
});
