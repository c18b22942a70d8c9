// The memtable against a model (a Map of the newest version per key, sorted by Buffer.compare):
// random interleavings of puts (new and replaced keys, tombstones, bytes above 0x7f, keys that
// are prefixes of others, empty values), gets, seeks, full iterations and stable cursors taken at
// different points and drained later, each of which must see the model as it was when taken;
// byte accounting; freezing; and pieces larger than a slab.

import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { KEY_OVERHEAD, Memtable, VERSION_OVERHEAD } from './memtable';
import type { Entry, EntryIterator } from './types';

function drain(it: EntryIterator): Entry[] {
  const out: Entry[] = [];
  for (; it.valid(); it.next()) out.push(it.entry());
  return out;
}

function sorted(model: Map<string, Entry>): Entry[] {
  return [...model.values()].sort((a, b) => Buffer.compare(a.key, b.key));
}

/** Model-side byte accounting: keys once, every version, each origin once, plus the overheads. */
class Bytes {
  total = 0;
  private readonly origins = new Set<string>();

  put(e: Entry, isNewKey: boolean): void {
    if (isNewKey) this.total += e.key.length + KEY_OVERHEAD;
    if (!this.origins.has(e.origin)) {
      this.origins.add(e.origin);
      this.total += e.origin.length;
    }
    this.total += (e.value?.length ?? 0) + VERSION_OVERHEAD;
  }
}

// Few short keys over a small alphabet with high bytes: replacements, shared prefixes and
// prefix keys ('a' and 'a\x00') come up often.
const keyArb = fc.uint8Array({ minLength: 0, maxLength: 5 }).map((a) => Buffer.from(a.map((b) => [0x00, 0x01, 0x61, 0x7f, 0x80, 0xff][b % 6])));
const valueArb = fc.option(
  fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a))),
  { nil: null, freq: 4 },
);
const entryArb: fc.Arbitrary<Entry> = fc.record({
  key: keyArb,
  value: valueArb,
  ts: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
  origin: fc.constantFrom('n1', 'node-2', '\u0000purged', 'ñ3'),
}).map((e) => ({ ...e })); // plain objects, like the memtable's, for deepEqual

type Op =
  | { kind: 'put'; entry: Entry }
  | { kind: 'get'; key: Buffer }
  | { kind: 'seek'; key: Buffer }
  | { kind: 'scan' }
  | { kind: 'cursor' }
  | { kind: 'drain'; index: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: entryArb.map((entry) => ({ kind: 'put' as const, entry })), weight: 12 },
  { arbitrary: keyArb.map((key) => ({ kind: 'get' as const, key })), weight: 3 },
  { arbitrary: keyArb.map((key) => ({ kind: 'seek' as const, key })), weight: 2 },
  { arbitrary: fc.constant({ kind: 'scan' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'cursor' as const }), weight: 2 },
  { arbitrary: fc.nat().map((index) => ({ kind: 'drain' as const, index })), weight: 2 },
);

/** A stable cursor and the model as of when it was taken; some are positioned at once, some only when drained. */
interface Taken {
  it: EntryIterator;
  expected: Entry[];
  started: boolean;
}

describe('Memtable', () => {
  it('agrees with a Map sorted by Buffer.compare under interleaved puts, reads, seeks and stable cursors', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 250 }), fc.boolean(), (ops, freezeAtEnd) => {
        const mem = new Memtable();
        const model = new Map<string, Entry>();
        const bytes = new Bytes();
        const cursors: Taken[] = [];
        for (const op of ops) {
          switch (op.kind) {
            case 'put': {
              const id = op.entry.key.toString('hex');
              bytes.put(op.entry, !model.has(id));
              mem.put(op.entry);
              model.set(id, op.entry);
              break;
            }
            case 'get':
              assert.deepEqual(mem.get(op.key), model.get(op.key.toString('hex')));
              break;
            case 'seek': {
              const it = mem.iterator(false);
              it.seek(op.key);
              assert.deepEqual(drain(it), sorted(model).filter((e) => Buffer.compare(e.key, op.key) >= 0));
              break;
            }
            case 'scan': {
              const it = mem.iterator(false);
              it.seekToFirst();
              assert.deepEqual(drain(it), sorted(model));
              break;
            }
            case 'cursor': {
              const it = mem.iterator(true);
              const started = cursors.length % 2 === 0;
              if (started) it.seekToFirst();
              cursors.push({ it, expected: sorted(model), started });
              break;
            }
            case 'drain': {
              if (cursors.length === 0) break;
              const [c] = cursors.splice(op.index % cursors.length, 1);
              if (!c.started) c.it.seekToFirst();
              assert.deepEqual(drain(c.it), c.expected);
              break;
            }
          }
          assert.equal(mem.size, model.size);
          assert.equal(mem.bytes, bytes.total);
        }
        if (freezeAtEnd) mem.freeze();
        for (const c of cursors) {
          if (!c.started) c.it.seekToFirst();
          assert.deepEqual(drain(c.it), c.expected);
        }
        const it = mem.iterator(freezeAtEnd);
        it.seekToFirst();
        assert.deepEqual(drain(it), sorted(model));
        for (const e of model.values()) assert.deepEqual(mem.get(e.key), e);
      }),
      { numRuns: 300 },
    );
  });

  it('orders random keys exactly like Buffer.compare and finds each with get', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)), { selector: (k) => k.toString('hex'), maxLength: 400 }), (keys) => {
        const mem = new Memtable();
        for (const key of keys) mem.put({ key, value: key, ts: 1, origin: 'n' });
        const it = mem.iterator(false);
        it.seekToFirst();
        assert.deepEqual(
          drain(it).map((e) => e.key),
          [...keys].sort(Buffer.compare),
        );
        for (const key of keys) assert.deepEqual(mem.get(key)?.value, key);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps key order across thousands of keys (several sorted runs and their merges), with cursors taken between them', () => {
    // Keys over a four-letter alphabet, 1 to 12 bytes: many share their first 8 bytes (the part
    // compared without reading a slab), many are prefixes of others, and some are written again.
    fc.assert(
      fc.property(fc.integer({ min: 2_000, max: 9_000 }), fc.integer(), fc.uniqueArray(fc.nat(9_000), { maxLength: 6 }), (count, seed, takeAt) => {
        let state = seed | 0;
        const random = (n: number): number => {
          state = (Math.imul(state, 1_103_515_245) + 12_345) | 0;
          return (state >>> 8) % n;
        };
        const mem = new Memtable();
        const model = new Map<string, Entry>();
        const cursors: Taken[] = [];
        for (let i = 0; i < count; i++) {
          if (takeAt.includes(i)) {
            const it = mem.iterator(true);
            const started = cursors.length % 2 === 0;
            if (started) it.seekToFirst();
            cursors.push({ it, expected: sorted(model), started });
          }
          const key = Buffer.from(Array.from({ length: 1 + random(12) }, () => [0x00, 0x61, 0x62, 0xff][random(4)]));
          const entry: Entry = { key, value: random(5) === 0 ? null : Buffer.from([i & 0xff]), ts: i + 1, origin: 'n1' };
          mem.put(entry);
          model.set(key.toString('hex'), entry);
        }
        for (const c of cursors) {
          if (!c.started) c.it.seekToFirst();
          assert.deepEqual(drain(c.it), c.expected);
        }
        const all = sorted(model);
        const it = mem.iterator(false);
        it.seekToFirst();
        assert.deepEqual(drain(it), all);
        for (let s = 0; s < 20; s++) {
          const probe = Buffer.from(Array.from({ length: random(10) }, () => [0x00, 0x61, 0x62, 0xff][random(4)]));
          const at = mem.iterator(false);
          at.seek(probe);
          assert.deepEqual(at.valid() ? at.entry() : undefined, all.find((e) => Buffer.compare(e.key, probe) >= 0));
        }
        for (const e of all) assert.deepEqual(mem.get(e.key), e);
        assert.equal(mem.size, model.size);
      }),
      { numRuns: 15 },
    );
  });

  it('a stable cursor reads the version of its time and skips keys written after it', () => {
    const mem = new Memtable();
    for (const k of ['a', 'c', 'e']) mem.put({ key: Buffer.from(k), value: Buffer.from('1'), ts: 1, origin: 'n' });
    const it = mem.iterator(true);
    it.seekToFirst();
    mem.put({ key: Buffer.from('b'), value: Buffer.from('2'), ts: 2, origin: 'n' });
    mem.put({ key: Buffer.from('c'), value: Buffer.from('2'), ts: 2, origin: 'n' });
    mem.put({ key: Buffer.from('c'), value: null, ts: 3, origin: 'n' });
    assert.deepEqual(drain(it).map((e) => `${e.key}${e.ts}`), ['a1', 'c1', 'e1']);
    assert.equal(mem.size, 4);
    assert.equal(mem.get(Buffer.from('c'))?.value, null);
  });

  it('copies what it is given and returns the interned origin string', () => {
    const mem = new Memtable();
    const key = Buffer.from('key');
    const value = Buffer.from('value');
    const origin = ['node', '7'].join('-');
    mem.put({ key, value, ts: 5, origin });
    key.fill(0);
    value.fill(0);
    const got = mem.get(Buffer.from('key'));
    assert.deepEqual(got, { key: Buffer.from('key'), value: Buffer.from('value'), ts: 5, origin: 'node-7' });
    assert.equal(got?.origin, origin);
  });

  it('keeps pieces larger than a slab, and every earlier view, intact', () => {
    const mem = new Memtable();
    const model = new Map<string, Entry>();
    const put = (e: Entry): void => {
      mem.put(e);
      model.set(e.key.toString('hex'), e);
    };
    const fill = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
    for (let i = 0; i < 3000; i++) put({ key: fill(16, i), value: fill(100, i + 1), ts: i, origin: 'n1' });
    const early = mem.get(fill(16, 7));
    put({ key: fill(64 * 1024, 1), value: fill(3 * 1024 * 1024, 2), ts: 1, origin: 'n2' });
    put({ key: Buffer.from('big'), value: fill(1024 * 1024 + 1, 3), ts: 1, origin: 'n2' });
    for (let i = 0; i < 3000; i++) put({ key: fill(20, i), value: fill(300, i), ts: i, origin: 'n1' });
    put({ key: Buffer.from('big'), value: fill(200 * 1024, 4), ts: 2, origin: 'n2' });
    assert.deepEqual(early, model.get(fill(16, 7).toString('hex')));
    const it = mem.iterator(false);
    it.seekToFirst();
    assert.deepEqual(drain(it), sorted(model));
    assert.ok(mem.bytes > 4 * 1024 * 1024 + 6000 * (KEY_OVERHEAD + VERSION_OVERHEAD));
  });

  it('refuses writes once frozen for a flush', () => {
    const mem = new Memtable();
    mem.put({ key: Buffer.from('a'), value: null, ts: 1, origin: 'n' });
    mem.freeze();
    assert.equal(mem.immutable, true);
    assert.throws(() => mem.put({ key: Buffer.from('a'), value: null, ts: 2, origin: 'n' }), /frozen/);
    assert.equal(mem.get(Buffer.from('a'))?.ts, 1);
  });
});
