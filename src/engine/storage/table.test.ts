import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { BlockCache } from './block-cache';
import { InvalidArgumentError } from './errors';
import { NodeFileSystem } from './node-fs';
import { TableBuilder, type TableBuilderOptions } from './table-builder';
import { TableReader } from './table-reader';
import type { Entry, EntryIterator } from './types';

const nodeFs = new NodeFileSystem();
const opts: TableBuilderOptions = { blockBytes: 4096, bloomBitsPerKey: 10 };
let dir: string;
let seq = 0;

async function writeTable(entries: Entry[], o: TableBuilderOptions = opts): Promise<string> {
  const file = path.join(dir, `t${seq++}.sst`);
  const b = new TableBuilder(nodeFs, file, o);
  for (const e of entries) b.add(e);
  await b.finish();
  return file;
}

function collect(it: EntryIterator): Entry[] {
  const out: Entry[] = [];
  for (; it.valid(); it.next()) out.push(it.entry());
  return out;
}

function entryAt(i: number, value: Buffer | null = Buffer.from(`value-${i}`)): Entry {
  return { key: Buffer.from(`key${String(i).padStart(8, '0')}`), value, ts: i + 1, origin: i % 2 ? 'n1' : 'n2' };
}

const arbTable = fc
  .uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 400, selector: (k) => Buffer.from(k).toString('hex') })
  .chain((keys) =>
    fc.tuple(
      fc.constant(keys.map((k) => Buffer.from(k)).sort(Buffer.compare)),
      fc.array(fc.tuple(fc.option(fc.uint8Array({ maxLength: 300 }), { freq: 5 }), fc.nat(1_000_000), fc.constantFrom('a', 'b', 'node-3')), {
        minLength: keys.length,
        maxLength: keys.length,
      }),
    ),
  )
  .map(([keys, rest]) => keys.map((key, i): Entry => ({ key, value: rest[i][0] === null ? null : Buffer.from(rest[i][0]), ts: rest[i][1], origin: rest[i][2] })));

describe('sstable', () => {
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringdb-sst-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips random sorted entries with tombstones: scan, get of each key, and properties', async () => {
    await fc.assert(
      fc.asyncProperty(arbTable, fc.constantFrom(64, 256, 4096), async (entries, blockBytes) => {
        const file = await writeTable(entries, { blockBytes, bloomBitsPerKey: 10 });
        const t = TableReader.open(nodeFs, file, new BlockCache(1 << 20));
        try {
          const it = t.iterator();
          it.seekToFirst();
          assert.deepEqual(collect(it), entries);
          for (const e of entries) assert.deepEqual(t.get(e.key).entry, e);
          const p = t.properties;
          assert.equal(p.entries, entries.length);
          assert.equal(p.tombstones, entries.filter((e) => e.value === null).length);
          assert.deepEqual(p.minKey, entries[0].key);
          assert.deepEqual(p.maxKey, entries[entries.length - 1].key);
          assert.equal(p.minTs, Math.min(...entries.map((e) => e.ts)));
          assert.equal(p.maxTs, Math.max(...entries.map((e) => e.ts)));
          assert.equal(p.bytes, fs.statSync(file).size);
        } finally {
          t.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('finish() reports the same properties the reader finds', async () => {
    const file = path.join(dir, 'p.sst');
    const b = new TableBuilder(nodeFs, file, opts);
    for (let i = 0; i < 3000; i++) b.add(entryAt(i, i % 10 === 0 ? null : undefined));
    assert.equal(b.entries, 3000);
    const props = await b.finish();
    const t = TableReader.open(nodeFs, file);
    assert.deepEqual(t.properties, props);
    assert.equal(props.tombstones, 300);
    assert.ok(t.blockCount > 10, `${t.blockCount} blocks`);
    t.close();
  });

  it('answers absent keys without an entry, and mostly without reading a block', async () => {
    const entries = Array.from({ length: 10_000 }, (_, i) => entryAt(2 * i));
    const t = TableReader.open(nodeFs, await writeTable(entries));
    let skipped = 0;
    let falsePositives = 0;
    const absent = 9_999; // odd keys 1..19997 sit between the stored even keys 0..19998
    for (let i = 0; i < absent; i++) {
      const r = t.get(entryAt(2 * i + 1).key);
      assert.equal(r.entry, undefined);
      if (r.bloomSkipped) skipped++;
      if (r.falsePositive) falsePositives++;
      assert.ok(r.bloomSkipped !== r.falsePositive);
    }
    assert.ok(falsePositives / absent < 0.03, `false-positive rate ${falsePositives / absent}`);
    assert.equal(skipped + falsePositives, absent);
    // Outside [minKey, maxKey] the range decides, before the filter.
    const before = t.get(Buffer.from('a'));
    assert.deepEqual(before, { entry: undefined, bloomSkipped: false, falsePositive: false });
    t.close();
  });

  it('without a bloom filter, absent keys are found absent by reading the block, never flagged as false positives', async () => {
    const t = TableReader.open(nodeFs, await writeTable([entryAt(0), entryAt(2)], { blockBytes: 4096, bloomBitsPerKey: 0 }));
    assert.equal(t.properties.bloomBits, 0);
    assert.deepEqual(t.get(entryAt(1).key), { entry: undefined, bloomSkipped: false, falsePositive: false });
    assert.deepEqual(t.get(entryAt(2).key).entry, entryAt(2));
    t.close();
  });

  it('returns tombstones from get so newer deletes shadow older tables', async () => {
    const t = TableReader.open(nodeFs, await writeTable([entryAt(1), entryAt(2, null)]));
    const r = t.get(entryAt(2).key);
    assert.equal(r.entry?.value, null);
    assert.equal(r.entry?.ts, 3);
    t.close();
  });

  it('iterator seek lands on the first key >= target across block boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(arbTable, fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 20 }), async (entries, targets) => {
        const t = TableReader.open(nodeFs, await writeTable(entries, { blockBytes: 128, bloomBitsPerKey: 10 }));
        try {
          const it = t.iterator();
          for (const raw of [...targets, ...entries.map((e) => e.key)]) {
            const target = Buffer.from(raw);
            it.seek(target);
            const at = entries.findIndex((e) => Buffer.compare(e.key, target) >= 0);
            if (at < 0) assert.equal(it.valid(), false);
            else assert.deepEqual(collect(it).map((e) => e.key), entries.slice(at).map((e) => e.key));
          }
          // seekToFirst after exhaustion starts over.
          it.seekToFirst();
          assert.equal(it.valid(), true);
          assert.deepEqual(it.entry(), entries[0]);
        } finally {
          t.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('serves repeated reads of a block from the cache and forgets a closed table', async () => {
    const cache = new BlockCache(1 << 20);
    const t = TableReader.open(nodeFs, await writeTable(Array.from({ length: 1000 }, (_, i) => entryAt(i))), cache);
    t.get(entryAt(10).key);
    assert.equal(cache.misses, 1);
    t.get(entryAt(11).key);
    t.get(entryAt(10).key);
    assert.equal(cache.hits, 2);
    assert.ok(cache.usedBytes > 0);
    t.close();
    assert.equal(cache.usedBytes, 0);
    assert.throws(() => t.get(entryAt(500).key), /closed/);
  });

  it('a cursor reads ahead: a whole-table walk makes far fewer reads than it has blocks, leaves the cache alone, and still yields every entry', async () => {
    class CountingFs extends NodeFileSystem {
      reads = 0;
      override read(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
        this.reads++;
        return super.read(fd, buf, offset, length, position);
      }
    }
    const counting = new CountingFs();
    const entries = Array.from({ length: 20_000 }, (_, i) => entryAt(i));
    const cache = new BlockCache(1 << 20);
    const t = TableReader.open(counting, await writeTable(entries), cache);
    try {
      assert.ok(t.blockCount > 100, `${t.blockCount} blocks`);
      const opened = counting.reads;
      const it = t.iterator();
      it.seekToFirst();
      assert.deepEqual(collect(it), entries);
      const walk = counting.reads - opened;
      assert.ok(walk * 20 < t.blockCount, `${walk} reads for ${t.blockCount} blocks`);
      assert.equal(cache.usedBytes, 0);
      // A seek starts a small window again; the walk from there is still complete.
      it.seek(entryAt(12_345).key);
      assert.deepEqual(collect(it), entries.slice(12_345));
    } finally {
      t.close();
    }
  });

  it('rejects keys out of order, a duplicate key, and a bad timestamp, keeping the table usable', async () => {
    const file = path.join(dir, 'o.sst');
    const b = new TableBuilder(nodeFs, file, opts);
    b.add(entryAt(5));
    assert.throws(() => b.add(entryAt(4)), (e: unknown) => e instanceof InvalidArgumentError && /strictly increasing/.test(e.message));
    assert.throws(() => b.add(entryAt(5)), InvalidArgumentError);
    assert.throws(() => b.add({ ...entryAt(6), ts: -1 }), /non-negative safe integer/);
    b.add(entryAt(6));
    await b.finish();
    const t = TableReader.open(nodeFs, file);
    assert.equal(t.iterator().valid(), false, 'a new iterator is not positioned until a seek');
    const it = t.iterator();
    it.seekToFirst();
    assert.deepEqual(collect(it), [entryAt(5), entryAt(6)]);
    t.close();
  });

  it('refuses to overwrite an existing file, to finish an empty table, and to add after finish', async () => {
    const file = await writeTable([entryAt(1)]);
    assert.throws(() => new TableBuilder(nodeFs, file, opts), /EEXIST/);
    const empty = new TableBuilder(nodeFs, path.join(dir, 'empty.sst'), opts);
    await assert.rejects(empty.finish(), (e: unknown) => e instanceof InvalidArgumentError && /at least one/.test(e.message));
    empty.abandon();
    assert.equal(fs.existsSync(path.join(dir, 'empty.sst')), false);
    const b = new TableBuilder(nodeFs, path.join(dir, 'done.sst'), opts);
    b.add(entryAt(1));
    await b.finish();
    assert.throws(() => b.add(entryAt(2)), /already finished/);
  });

  it('rejects builder options outside what the format accepts', () => {
    assert.throws(() => new TableBuilder(nodeFs, path.join(dir, 'x.sst'), { blockBytes: 0, bloomBitsPerKey: 10 }), /blockBytes must be/);
    assert.throws(() => new TableBuilder(nodeFs, path.join(dir, 'y.sst'), { blockBytes: 4096, bloomBitsPerKey: 99 }), InvalidArgumentError);
    assert.equal(fs.readdirSync(dir).length, 0, 'no file is created for rejected options');
  });

  it('abandon() removes a half-written table', () => {
    const file = path.join(dir, 'half.sst');
    const b = new TableBuilder(nodeFs, file, opts);
    for (let i = 0; i < 5000; i++) b.add(entryAt(i));
    assert.ok(b.estimatedBytes() > 100_000);
    b.abandon();
    assert.equal(fs.existsSync(file), false);
  });

  it('keeps large keys and values that span many nominal block sizes', async () => {
    const big: Entry[] = [
      { key: Buffer.alloc(64 * 1024, 1), value: Buffer.alloc(200_000, 7), ts: 1, origin: 'n1' },
      { key: Buffer.alloc(64 * 1024, 2), value: null, ts: 2, origin: 'n1' },
      { key: Buffer.from([3]), value: Buffer.alloc(0), ts: 3, origin: '' },
    ];
    const t = TableReader.open(nodeFs, await writeTable(big));
    const it = t.iterator();
    it.seekToFirst();
    assert.deepEqual(collect(it), big);
    assert.deepEqual(t.get(big[0].key).entry, big[0]);
    t.close();
  });
});
