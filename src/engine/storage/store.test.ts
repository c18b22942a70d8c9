// The Store's contract, example by example: reads and writes with Last-Write-Wins, input
// validation that writes nothing, the folder lock, group commit, introspection, clean-up of
// what a crash leaves behind, and lazy scans that outlive a compaction.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClosedError, InvalidArgumentError, LockedError } from './errors';
import { NodeFileSystem } from './node-fs';
import { Store } from './store';
import type { Entry, StoreSnapshot } from './types';

const b = (s: string): Buffer => Buffer.from(s);
const keys = (entries: Entry[]): string[] => entries.map((e) => e.key.toString());

/** The real file system, counting the fsyncs group commit issues. */
class CountingFs extends NodeFileSystem {
  asyncSyncs = 0;
  syncs = 0;
  override fsyncAsync(fd: number): Promise<void> {
    this.asyncSyncs++;
    return super.fsyncAsync(fd);
  }
  override fsync(fd: number): void {
    this.syncs++;
    super.fsync(fd);
  }
}

describe('Store', () => {
  let dir: string;
  const open: Store[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringdb-store-'));
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function openStore(options: Parameters<typeof Store.open>[1] = {}): Promise<Store> {
    const s = await Store.open(dir, options);
    open.push(s);
    return s;
  }

  it('returns the newest version of a key, tombstones included, and hides tombstones from scans', async () => {
    const s = await openStore();
    assert.equal(await s.put(b('a'), b('1'), 1, 'n1'), true);
    assert.equal(await s.put(b('b'), b('2'), 1, 'n1'), true);
    assert.equal(await s.delete(b('a'), 2, 'n1'), true);
    assert.deepEqual(s.get(b('a')), { key: b('a'), value: null, ts: 2, origin: 'n1' });
    assert.equal(s.get(b('zz')), undefined);
    assert.deepEqual(keys(s.scan()), ['b']);
    assert.deepEqual(keys(s.scan({ includeTombstones: true })), ['a', 'b']);
  });

  it('keeps the newest version by (timestamp, origin) and counts stale writes', async () => {
    const s = await openStore();
    await s.put(b('k'), b('new'), 10, 'n2');
    assert.equal(await s.put(b('k'), b('old'), 9, 'n9'), false, 'older timestamp loses');
    assert.equal(await s.put(b('k'), b('tie-low'), 10, 'n1'), false, 'same timestamp, lower origin loses');
    assert.equal(await s.put(b('k'), b('same'), 10, 'n2'), false, 'the same version is not applied twice');
    assert.equal(await s.delete(b('k'), 5, 'n1'), false, 'an old delete loses too');
    assert.equal(s.get(b('k'))?.value?.toString(), 'new');
    assert.equal(await s.put(b('k'), b('tie-high'), 10, 'n3'), true, 'same timestamp, higher origin wins');
    assert.equal(s.snapshot().counters.staleWrites, 4);
    await s.flush();
    assert.equal(await s.put(b('k'), b('old'), 9, 'n9'), false, 'LWW also holds against versions in SSTables');
    assert.equal(s.get(b('k'))?.value?.toString(), 'tie-high');
  });

  it('applies a batch op by op with LWW, including several ops on one key', async () => {
    const s = await openStore();
    await s.put(b('x'), b('stored'), 5, 'n1');
    const results = await s.write([
      { key: b('x'), value: b('older'), ts: 4, origin: 'n1' },
      { key: b('y'), value: b('y1'), ts: 1, origin: 'n1' },
      { key: b('y'), value: b('y2'), ts: 3, origin: 'n1' },
      { key: b('y'), value: b('y0'), ts: 2, origin: 'n1' },
      { key: b('x'), value: null, ts: 6, origin: 'n1' },
    ]);
    assert.deepEqual(results, [false, true, true, false, true]);
    assert.equal(s.get(b('y'))?.value?.toString(), 'y2');
    assert.equal(s.get(b('x'))?.value, null);
    assert.deepEqual(await s.write([]), []);
  });

  it('scans ranges in byte order with start inclusive, end exclusive and a limit', async () => {
    const s = await openStore({ memtableBytes: 2048 });
    const all = ['a', 'ab', 'b', 'ba', 'c', '\u00e9'].map((k) => Buffer.from(k, 'latin1'));
    for (const [i, k] of all.entries()) await s.put(k, b(`v${i}`), 1, 'n1');
    await s.flush();
    await s.put(b('bb'), b('mem'), 1, 'n1');
    assert.deepEqual(keys(s.scan({ start: b('ab'), end: b('c') })), ['ab', 'b', 'ba', 'bb']);
    assert.deepEqual(keys(s.scan({ start: b('b'), limit: 2 })), ['b', 'ba']);
    assert.deepEqual(s.scan().map((e) => e.key.toString('latin1')), ['a', 'ab', 'b', 'ba', 'bb', 'c', '\u00e9']);
    assert.deepEqual(s.scan({ limit: 0 }), []);
  });

  describe('rejects bad input with a typed error and writes nothing', () => {
    const cases: [string, (s: Store) => Promise<unknown>, RegExp][] = [
      ['an empty key', (s) => s.put(Buffer.alloc(0), b('v'), 1, 'n1'), /key must be 1 to 65536 bytes; got an empty key/],
      ['a key over 64 KiB', (s) => s.put(Buffer.alloc(65537), b('v'), 1, 'n1'), /key must be 1 to 65536 bytes; got 65537 bytes/],
      ['a value over maxValueBytes', (s) => s.put(b('k'), Buffer.alloc(1025), 1, 'n1'), /value must be at most 1024 bytes; got 1025 bytes/],
      ['a string key', (s) => s.put('k' as unknown as Buffer, b('v'), 1, 'n1'), /key must be a Buffer; got string/],
      ['a string value', (s) => s.put(b('k'), 'v' as unknown as Buffer, 1, 'n1'), /value must be a Buffer, or null for a delete; got string/],
      ['a null value in put', (s) => s.put(b('k'), null as unknown as Buffer, 1, 'n1'), /value must be a Buffer \(delete\(\) writes a tombstone\); got null/],
      ['a negative timestamp', (s) => s.put(b('k'), b('v'), -1, 'n1'), /ts must be a non-negative safe integer/],
      ['a fractional timestamp', (s) => s.delete(b('k'), 1.5, 'n1'), /ts must be a non-negative safe integer .*; got 1.5/],
      ['an empty origin', (s) => s.put(b('k'), b('v'), 1, ''), /origin must be a non-empty node id/],
      ['an origin over 255 bytes', (s) => s.put(b('k'), b('v'), 1, 'é'.repeat(128)), /origin must be at most 255 UTF-8 bytes; got 256 bytes/],
      ['a batch that is not an array', (s) => s.write({} as unknown as Entry[]), /ops must be an array of entries/],
      [
        'a batch with one bad op',
        (s) => s.write([{ key: b('k'), value: b('v'), ts: 1, origin: 'n1' }, { key: b('k2'), value: b('v'), ts: Number.NaN, origin: 'n1' }]),
        /ops\[1\]\.ts must be a non-negative safe integer/,
      ],
      ['a batch op without a value', (s) => s.write([{ key: b('k'), ts: 1, origin: 'n1' } as unknown as Entry]), /ops\[0\]\.value must be a Buffer, or null/],
    ];
    for (const [name, act, message] of cases) {
      it(name, async () => {
        const s = await openStore({ maxValueBytes: 1024 });
        const walBefore = s.snapshot().walBytes;
        await assert.rejects(act(s), (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message));
        assert.equal(s.snapshot().walBytes, walBefore, 'nothing reached the WAL');
        assert.equal(s.get(b('k')), undefined, 'nothing reached the memtable');
        assert.equal(s.snapshot().memtableEntries, 0);
      });
    }

    it('a batch too large for one WAL record', async () => {
      const s = await openStore();
      const value = Buffer.alloc(16 * 1024 * 1024);
      const ops = Array.from({ length: 17 }, (_, i) => ({ key: b(`k${i}`), value, ts: 1, origin: 'n1' }));
      await assert.rejects(s.write(ops), (err: unknown) => err instanceof InvalidArgumentError && /ops must be a batch of at most 268435456 bytes .*; got \d+ bytes/.test(err.message));
      assert.equal(s.snapshot().memtableEntries, 0);
    });

    it('in reads and scans too', async () => {
      const s = await openStore();
      assert.throws(() => s.get(Buffer.alloc(0)), InvalidArgumentError);
      assert.throws(() => s.scan({ limit: -1 }), /limit must be an integer from 0/);
      assert.throws(() => s.scan({ start: 'a' as unknown as Buffer }), /start must be a Buffer/);
    });

    it('in options', async () => {
      await assert.rejects(Store.open(dir, { sync: 'sometimes' as 'none' }), /sync must be 'always', 'batch' or 'none'; got "sometimes"/);
      await assert.rejects(Store.open(dir, { memtableBytes: 10 }), /memtableBytes must be an integer from 1024/);
      // A rejected open leaves the folder unlocked.
      await (await Store.open(dir)).close();
    });
  });

  it('refuses a second open of the same folder while the first is open', async () => {
    const s = await openStore();
    await assert.rejects(Store.open(dir), (err: unknown) => err instanceof LockedError && err.dir === dir && err.holderPid === process.pid);
    await s.close();
    open.splice(0);
    await openStore();
  });

  it('tells its owner once when a background flush fails, and refuses writes from then on', async () => {
    // A file system whose new SSTables cannot be created (a folder made read-only under a running node).
    class NoNewTables extends NodeFileSystem {
      denied = false;
      override open(p: string, flags: 'r' | 'r+' | 'w' | 'wx' | 'a'): number {
        if (this.denied && p.includes('.sst') && flags !== 'r') throw Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' });
        return super.open(p, flags);
      }
    }
    const nfs = new NoNewTables();
    const s = await openStore({ fs: nfs });
    const failures: string[] = [];
    s.onFailure((err) => failures.push(err.message));
    await s.write([{ key: Buffer.from('a'), value: Buffer.from('1'), ts: 1, origin: 'n1' }]);
    nfs.denied = true;
    await assert.rejects(s.flush(), /EACCES/);
    assert.deepEqual(failures.map((m) => /EACCES/.test(m)), [true], 'told once, with the cause');
    await assert.rejects(s.write([{ key: Buffer.from('b'), value: Buffer.from('2'), ts: 2, origin: 'n1' }]), /stopped accepting writes after a background failure: EACCES/);
    assert.equal(failures.length, 1);
    // An owner that listens only after the failure (it happened while the owner was starting) is told too.
    const late = await new Promise<string>((resolve) => s.onFailure((err) => resolve(err.message)));
    assert.match(late, /EACCES/);
  });

  it('rejects every call after close with ClosedError', async () => {
    const s = await Store.open(dir);
    await s.close();
    await s.close();
    await assert.rejects(s.put(b('k'), b('v'), 1, 'n1'), ClosedError);
    assert.throws(() => s.get(b('k')), ClosedError);
    assert.throws(() => s.scan(), ClosedError);
  });

  it('ends a compaction cut short by close() with ClosedError, and keeps every write', async () => {
    const s = await Store.open(dir, { autoCompact: false, blockBytes: 256 });
    for (let i = 0; i < 30_000; i += 1000) {
      await s.write(Array.from({ length: 1000 }, (_, j) => ({ key: b(`k${String(i + j).padStart(6, '0')}`), value: b('v'), ts: 1, origin: 'n1' })));
      await s.flush();
    }
    const compacting = s.compact();
    await new Promise((resolve) => setImmediate(resolve));
    await s.close();
    await assert.rejects(compacting, ClosedError);
    const again = await openStore();
    assert.equal(again.scan().length, 30_000);
  });

  it("shares one fsync among writers that queue while another runs (sync 'always')", async () => {
    const counting = new CountingFs();
    const s = await openStore({ fs: counting, sync: 'always' });
    const before = counting.asyncSyncs;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => s.put(b(`k${i}`), b('v'), 1, 'n1')));
    assert.ok(results.every((r) => r));
    const used = counting.asyncSyncs - before;
    assert.ok(used >= 1 && used <= 3, `200 concurrent puts used ${used} fsyncs`);
  });

  it("issues no fsync per write with sync 'none' and resolves before any", async () => {
    const counting = new CountingFs();
    const s = await openStore({ fs: counting, sync: 'none' });
    const before = counting.asyncSyncs + counting.syncs;
    for (let i = 0; i < 100; i++) await s.put(b(`k${i}`), b('v'), 1, 'n1');
    assert.equal(counting.asyncSyncs + counting.syncs, before);
    assert.equal(s.scan().length, 100);
  });

  it("with sync 'batch', resolves writes after a shared fsync", async () => {
    const counting = new CountingFs();
    const s = await openStore({ fs: counting, sync: 'batch', syncIntervalMs: 20 });
    const before = counting.asyncSyncs;
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.put(b(`k${i}`), b('v'), 1, 'n1')));
    await s.put(b('last'), b('v'), 1, 'n1');
    assert.ok(counting.asyncSyncs - before >= 1 && counting.asyncSyncs - before <= 3);
  });

  it('says which tables a flush wrote, and its answer still names a table a compaction merged since', async () => {
    const s = await openStore({ compaction: { l0Trigger: 2 } });
    assert.deepEqual(await s.flush(), [], 'an empty memtable writes nothing');
    await s.put(b('a'), b('1'), 1, 'n1');
    const first = await s.flush();
    assert.deepEqual(first.map((t) => [t.level, t.entries]), [[0, 1]]);
    assert.deepEqual(s.snapshot().sstables.map((t) => t.file), first.map((t) => t.file));
    await s.put(b('b'), b('2'), 2, 'n1');
    await s.put(b('c'), b('3'), 3, 'n1');
    const second = await s.flush();
    assert.deepEqual(second.map((t) => [t.level, t.entries]), [[0, 2]]);
    // The second L0 table starts a compaction into L1: a diff of the tables around the flush would
    // name its output as written by the flush.
    await s.compact();
    const now = s.snapshot().sstables;
    assert.ok(now.every((t) => t.level > 0) && !now.some((t) => t.file === second[0].file), 'the flushed table was merged');
    assert.ok(path.isAbsolute(second[0].file), 'named as the snapshot names tables');
  });

  it('purges keys from this store alone: hidden from reads, beaten by a write at least as new as the purged version, kept across reopen, gone after compaction', async () => {
    let s = await Store.open(dir, { memtableBytes: 4096 });
    for (let i = 0; i < 200; i++) await s.put(b(`k${String(i).padStart(3, '0')}`), Buffer.alloc(40, i), i + 1, 'n1');
    await s.flush();
    const purged = await s.purge([b('k000'), b('k001'), b('k199'), b('absent')]);
    assert.deepEqual(keys(purged), ['k000', 'k001', 'k199'], 'an absent key gets no marker');
    for (const k of ['k000', 'k001', 'k199']) assert.equal(s.get(b(k)), undefined, `${k} reads as absent`);
    assert.equal(s.scan({ includeTombstones: true }).length, 197, 'no marker shows in a scan, even with tombstones');
    assert.equal([...s.iterate({ includeTombstones: true })].length, 197);
    // Older than the version the marker hides: refused, or it would sit above that newer version
    // in an older table, and reads, scans and compaction would disagree on k001.
    assert.equal(await s.put(b('k001'), b('older'), 1, 'n2'), false);
    assert.equal(s.get(b('k001')), undefined);
    assert.equal(s.scan({ includeTombstones: true }).length, 197);
    // The very version that was purged (a data move bringing the range back) is accepted again.
    assert.equal(await s.put(b('k001'), Buffer.alloc(40, 1), 2, 'n1'), true);
    await s.close();
    s = await openStore();
    assert.equal(s.get(b('k000')), undefined, 'the marker survives a reopen (WAL replay)');
    assert.deepEqual(s.get(b('k001'))?.value, Buffer.alloc(40, 1));
    assert.deepEqual(s.scan({ start: b('k001'), end: b('k002') }).map((e) => e.value), [Buffer.alloc(40, 1)]);
    // The range comes back with the very version that was purged: with the marker in a table by
    // now, the newer write still wins in reads, scans and compaction.
    await s.flush();
    assert.equal(await s.put(b('k199'), b('again'), 200, 'n1'), true);
    assert.deepEqual(s.scan({ start: b('k199') }).map((e) => e.value), [b('again')]);
    await s.compact();
    assert.equal(s.snapshot().sstables.reduce((n, t) => n + t.tombstones, 0), 0, 'compaction drops the markers');
    assert.equal(s.get(b('k000')), undefined);
    assert.deepEqual(s.get(b('k199'))?.value, b('again'));
    assert.deepEqual(s.get(b('k001'))?.value, Buffer.alloc(40, 1), 'compaction keeps the version brought back');
    assert.equal(s.scan().length, 199);
    await assert.rejects(s.purge([Buffer.alloc(0)]), InvalidArgumentError);
  });

  it('keeps tombstones through compaction until they are tombstoneGraceMs old, across a reopen, so an older write arriving late still loses', async () => {
    let now = 1_000_000;
    const clock = { tombstoneGraceMs: 60_000, now: () => now };
    let s = await Store.open(dir, clock);
    await s.put(b('gone'), b('v1'), 1, 'n1');
    await s.put(b('kept'), b('v'), 2, 'n1');
    await s.delete(b('gone'), 3, 'n2');
    await s.compact(); // flushed at 1,000,000
    const tombstones = () => s.snapshot().sstables.reduce((n, t) => n + t.tombstones, 0);
    assert.equal(tombstones(), 1, 'a fresh tombstone survives a compaction');
    assert.deepEqual(s.snapshot().sstables.map((t) => t.newestWriteMs), [1_000_000]);
    assert.equal(await s.put(b('gone'), b('v1'), 1, 'n1'), false, 'the late older write loses to the kept tombstone');

    now += 59_999;
    await s.close();
    s = await Store.open(dir, clock);
    await s.put(b('late'), b('x'), 4, 'n1');
    await s.delete(b('late'), 5, 'n1');
    await s.compact(); // merges the old table with one flushed now
    assert.equal(tombstones(), 2, 'one ms short of the grace, both tombstones stay');
    now += 1;
    await s.compact();
    assert.equal(tombstones(), 2, 'the merged table is as young as its newest input');
    now += 60_000;
    await s.compact();
    assert.equal(tombstones(), 0, 'past the grace they go');
    assert.deepEqual(keys(s.scan()), ['kept']);
    await s.close();
  });

  it('survives close and reopen, with data in the WAL, in SSTables and across levels', async () => {
    let s = await Store.open(dir, { memtableBytes: 4096, compaction: { l0Trigger: 2, baseLevelBytes: 8192, targetFileBytes: 4096 } });
    for (let i = 0; i < 1000; i++) await s.put(b(`key${String(i).padStart(4, '0')}`), Buffer.alloc(30, i), i + 1, 'n1');
    for (let i = 0; i < 1000; i += 3) await s.delete(b(`key${String(i).padStart(4, '0')}`), 5000, 'n1');
    const levels = new Set(s.snapshot().sstables.map((t) => t.level));
    assert.ok(levels.size >= 1 && s.snapshot().counters.flushes > 0);
    await s.close();
    s = await openStore();
    const live = s.scan();
    assert.equal(live.length, 666);
    assert.ok(live.every((e) => Number(e.key.toString().slice(3)) % 3 !== 0));
    assert.deepEqual(s.get(b('key0500'))?.value, Buffer.alloc(30, 500));
  });

  it('describes itself in snapshots and announces every change of the SSTable set', async () => {
    const s = await openStore({ autoCompact: false });
    const seen: StoreSnapshot[] = [];
    const stop = s.onChange((snap) => seen.push(snap));
    await s.put(b('a'), b('1'), 1, 'n1');
    await s.delete(b('b'), 2, 'n1');
    let snap = s.snapshot();
    assert.equal(snap.memtableEntries, 2);
    assert.ok(snap.memtableBytes > 0 && snap.walBytes > 0);
    assert.deepEqual(snap.sstables, []);
    await s.flush();
    assert.equal(seen.length, 1);
    snap = s.snapshot();
    assert.equal(snap.memtableEntries, 0);
    assert.equal(snap.sstables.length, 1);
    const t = snap.sstables[0];
    assert.deepEqual([t.level, t.entries, t.tombstones, t.minKey.toString(), t.maxKey.toString()], [0, 2, 1, 'a', 'b']);
    assert.ok(t.bytes > 0 && t.bloomBits > 0 && fs.existsSync(t.file));
    assert.deepEqual([t.minTs, t.maxTs], [1, 2], 'the versions\' timestamp range, from the file');
    assert.equal(snap.counters.flushes, 1);
    assert.equal(snap.counters.puts, 1);
    assert.equal(snap.counters.deletes, 1);
    await s.put(b('c'), b('3'), 1, 'n1');
    await s.compact();
    assert.equal(seen.length, 3, 'the flush inside compact() and the compaction each announce');
    assert.equal(seen[2].counters.compactions, 1);
    assert.ok(seen[2].counters.bytesCompacted > 0);
    assert.deepEqual(seen[2].sstables.map((x) => [x.level, x.tombstones]), [[1, 0]]);
    stop();
    await s.put(b('d'), b('4'), 1, 'n1');
    await s.flush();
    assert.equal(seen.length, 3, 'no announcements after unsubscribing');
    const before = s.snapshot().counters.gets;
    assert.equal(s.peek(b('d'))?.value?.toString(), '4');
    assert.equal(s.snapshot().counters.gets, before, 'peek is not a counted read');
    s.get(b('zzz'));
    assert.equal(s.snapshot().counters.gets, before + 1);
  });

  it('counts bloom filter skips on reads of absent keys', async () => {
    const s = await openStore();
    for (let i = 0; i < 200; i++) await s.put(b(`k${String(i).padStart(3, '0')}`), b('v'), 1, 'n1');
    await s.flush();
    for (let i = 0; i < 100; i++) s.get(b(`k${String(i).padStart(3, '0')}x`));
    const c = s.snapshot().counters;
    assert.ok(c.bloomSkips > 80, `bloom skipped ${c.bloomSkips} of 100 absent keys`);
    assert.equal(c.bloomSkips + c.bloomFalsePositives, 100);
  });

  it('removes temporary files and unlisted tables a crash left behind', async () => {
    let s = await Store.open(dir);
    await s.put(b('a'), b('1'), 1, 'n1');
    await s.flush();
    await s.close();
    fs.writeFileSync(path.join(dir, 'sst', '000999.sst.tmp'), 'half a table');
    fs.writeFileSync(path.join(dir, 'sst', '000998.sst'), 'a table the manifest never recorded');
    fs.writeFileSync(path.join(dir, 'MANIFEST.tmp'), 'half a manifest');
    s = await openStore();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sst')).filter((f) => f.startsWith('0009')), []);
    assert.equal(fs.existsSync(path.join(dir, 'MANIFEST.tmp')), false);
    assert.equal(s.get(b('a'))?.value?.toString(), '1');
  });

  it('keeps tables a lazy scan reads until it ends, then deletes them', async () => {
    const s = await openStore({ autoCompact: false, blockBytes: 256 });
    for (let i = 0; i < 300; i++) await s.put(b(`k${String(i).padStart(3, '0')}`), b(`v${i}`), 1, 'n1');
    await s.flush();
    for (let i = 0; i < 300; i += 2) await s.put(b(`k${String(i).padStart(3, '0')}`), b(`w${i}`), 2, 'n1');
    await s.flush();
    const tablesBefore = s.snapshot().sstables.map((t) => t.file);
    const it = s.iterate({ start: b('k100') })[Symbol.iterator]();
    assert.equal(it.next().value?.key.toString(), 'k100');
    await s.delete(b('k150'), 3, 'n1');
    await s.compact();
    assert.ok(tablesBefore.every((f) => fs.existsSync(f)), 'tables the scan reads are still there');
    const rest: string[] = [];
    for (let r = it.next(); !r.done; r = it.next()) rest.push(`${r.value.key.toString()}=${r.value.value?.toString()}`);
    assert.equal(rest.length, 199);
    assert.ok(rest.includes('k150=w150'), 'the scan sees the store as it was when it started');
    assert.ok(tablesBefore.every((f) => !fs.existsSync(f)), 'replaced tables are deleted once the scan ends');
    assert.equal(s.get(b('k150'))?.value ?? null, null, 'the delete applies (compaction may have dropped its tombstone)');
  });

  it('stops a lazy scan at end and limit', async () => {
    const s = await openStore();
    for (const k of ['a', 'b', 'c', 'd']) await s.put(b(k), b(k), 1, 'n1');
    assert.deepEqual(keys([...s.iterate({ start: b('b'), end: b('d') })]), ['b', 'c']);
    assert.deepEqual(keys([...s.iterate({ limit: 3 })]), ['a', 'b', 'c']);
  });
});
