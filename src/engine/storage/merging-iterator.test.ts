import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { MergingIterator } from './merging-iterator';
import { NodeFileSystem } from './node-fs';
import { TableBuilder } from './table-builder';
import { TableReader } from './table-reader';
import { compareVersions, type Entry, type EntryIterator } from './types';

/** A sorted in-memory run: the shape a memtable iterator has, without the memtable. */
class RunIterator implements EntryIterator {
  private i: number;
  constructor(private readonly entries: Entry[]) {
    this.i = entries.length;
  }
  valid(): boolean {
    return this.i < this.entries.length;
  }
  entry(): Entry {
    return this.entries[this.i];
  }
  next(): void {
    this.i++;
  }
  seek(key: Buffer): void {
    this.i = this.entries.findIndex((e) => Buffer.compare(e.key, key) >= 0);
    if (this.i < 0) this.i = this.entries.length;
  }
  seekToFirst(): void {
    this.i = 0;
  }
}

function collect(it: EntryIterator): Entry[] {
  const out: Entry[] = [];
  for (; it.valid(); it.next()) out.push(it.entry());
  return out;
}

// Few distinct keys and timestamps so children overlap heavily and ties on ts are broken by origin.
const arbChild = fc
  .uniqueArray(
    fc.record({ k: fc.integer({ min: 0, max: 40 }), ts: fc.integer({ min: 0, max: 5 }), origin: fc.constantFrom('n1', 'n2', 'n3'), tomb: fc.boolean() }),
    { maxLength: 30, selector: (r) => r.k },
  )
  .map((rows) =>
    rows
      .map((r): Entry => ({
        key: Buffer.from([r.k >> 3, r.k & 7]),
        // The value is a function of the version, so two children holding the same version agree.
        value: r.tomb ? null : Buffer.from(`${r.ts}@${r.origin}`),
        ts: r.ts,
        origin: r.origin,
      }))
      .sort((a, b) => Buffer.compare(a.key, b.key)),
  );

/** The model: per key, the winning version over every child. */
function model(children: Entry[][]): Entry[] {
  const best = new Map<string, Entry>();
  for (const child of children) {
    for (const e of child) {
      const k = e.key.toString('hex');
      const cur = best.get(k);
      if (!cur || compareVersions(e, cur) > 0) best.set(k, e);
    }
  }
  return [...best.values()].sort((a, b) => Buffer.compare(a.key, b.key));
}

describe('merging iterator', () => {
  it('yields one entry per key, the winning version whichever child holds it (vs a Map model)', () => {
    fc.assert(
      fc.property(fc.array(arbChild, { maxLength: 7 }), (children) => {
        // A version held by two children is one write: make it the same entry in both, as in a store.
        const canon = new Map<string, Entry>();
        const normalized = children.map((c) =>
          c.map((e) => {
            const id = `${e.key.toString('hex')}/${e.ts}/${e.origin}`;
            if (!canon.has(id)) canon.set(id, e);
            return canon.get(id)!;
          }),
        );
        const it = new MergingIterator(normalized.map((c) => new RunIterator(c)));
        it.seekToFirst();
        assert.deepEqual(collect(it), model(normalized));
      }),
    );
  });

  it('seek positions at the first merged key >= target', () => {
    fc.assert(
      fc.property(fc.array(arbChild, { maxLength: 5 }), fc.array(fc.integer({ min: 0, max: 42 }), { maxLength: 10 }), (children, targets) => {
        const distinct = children.map((c) => c.map((e) => ({ ...e, value: e.value && Buffer.concat([e.value, e.key]) })));
        const it = new MergingIterator(distinct.map((c) => new RunIterator(c)));
        const expected = model(distinct);
        for (const t of targets) {
          const target = Buffer.from([t >> 3, t & 7]);
          it.seek(target);
          const rest = expected.filter((e) => Buffer.compare(e.key, target) >= 0);
          assert.deepEqual(collect(it).map((e) => [e.key, e.ts, e.origin]), rest.map((e) => [e.key, e.ts, e.origin]));
        }
      }),
    );
  });

  it('keeps tombstones, and lets a tombstone lose to a newer write in an older source', () => {
    const k = Buffer.from('k');
    const older = new RunIterator([{ key: k, value: Buffer.from('late replicated write'), ts: 9, origin: 'n2' }]);
    const newer = new RunIterator([{ key: k, value: null, ts: 5, origin: 'n1' }, { key: Buffer.from('z'), value: null, ts: 1, origin: 'n1' }]);
    const it = new MergingIterator([newer, older]);
    it.seekToFirst();
    assert.deepEqual(
      collect(it).map((e) => [e.key.toString(), e.value?.toString() ?? null]),
      [
        ['k', 'late replicated write'],
        ['z', null],
      ],
    );
  });

  it('is empty with no children or only empty ones', () => {
    const it = new MergingIterator([new RunIterator([]), new RunIterator([])]);
    it.seekToFirst();
    assert.equal(it.valid(), false);
    assert.throws(() => it.entry(), RangeError);
    const none = new MergingIterator([]);
    none.seek(Buffer.from('a'));
    assert.equal(none.valid(), false);
  });

  it('merges real SSTables into what a compaction writes: newest version per key, tables of any age', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringdb-merge-'));
    const nodeFs = new NodeFileSystem();
    const readers: TableReader[] = [];
    try {
      const runs: Entry[][] = [];
      for (let t = 0; t < 4; t++) {
        const run: Entry[] = [];
        for (let i = t; i < 3000; i += t + 1) {
          const key = Buffer.from(`key${String(i).padStart(6, '0')}`);
          run.push({ key, value: i % 11 === t ? null : Buffer.from(`t${t}-${i}`), ts: (i * 7 + t * 13) % 17, origin: `n${t}` });
        }
        runs.push(run);
        const b = new TableBuilder(nodeFs, path.join(dir, `${t}.sst`), { blockBytes: 1024, bloomBitsPerKey: 10 });
        for (const e of run) b.add(e);
        await b.finish();
        readers.push(TableReader.open(nodeFs, path.join(dir, `${t}.sst`)));
      }
      const it = new MergingIterator(readers.map((r) => r.iterator()));
      it.seekToFirst();
      assert.deepEqual(collect(it), model(runs));
    } finally {
      for (const r of readers) r.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
