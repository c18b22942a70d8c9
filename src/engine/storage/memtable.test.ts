// The memtable against a Map: the newest version per key, byte-ordered iteration (latin1 keys
// must order like Buffer.compare, bytes above 0x7f included), seek, size accounting, and
// cursors that later writes do not disturb.

import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { entryBytes, Memtable } from './memtable';
import type { Entry, EntryIterator } from './types';

function drain(it: EntryIterator): Entry[] {
  const out: Entry[] = [];
  for (; it.valid(); it.next()) out.push(it.entry());
  return out;
}

const entryArb: fc.Arbitrary<Entry> = fc.record({
  key: fc.uint8Array({ minLength: 1, maxLength: 6, max: 255 }).map((a) => Buffer.from(a)),
  value: fc.option(fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)), { nil: null }),
  ts: fc.nat(),
  origin: fc.constantFrom('n1', 'node-2'),
});

describe('Memtable', () => {
  it('holds the last version put per key, iterates in byte order and accounts its bytes', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 200 }), fc.uint8Array({ minLength: 1, maxLength: 3 }), (entries, seekTo) => {
        const mem = new Memtable();
        const model = new Map<string, Entry>();
        for (const e of entries) {
          mem.put(e);
          model.set(e.key.toString('hex'), e);
        }
        const expected = [...model.values()].sort((a, b) => Buffer.compare(a.key, b.key));
        const it = mem.iterator(false);
        it.seekToFirst();
        assert.deepEqual(drain(it), expected);
        assert.equal(mem.size, model.size);
        assert.equal(mem.bytes, expected.reduce((n, e) => n + entryBytes(e), 0));
        for (const e of expected) assert.equal(mem.get(e.key.toString('latin1')), e);
        const seek = Buffer.from(seekTo);
        it.seek(seek);
        assert.deepEqual(drain(it), expected.filter((e) => Buffer.compare(e.key, seek) >= 0));
      }),
      { numRuns: 200 },
    );
  });

  it('gives a stable cursor that does not see writes made after it was taken', () => {
    const mem = new Memtable();
    for (const k of ['a', 'c', 'e']) mem.put({ key: Buffer.from(k), value: Buffer.from('1'), ts: 1, origin: 'n' });
    const it = mem.iterator(true);
    it.seekToFirst();
    mem.put({ key: Buffer.from('b'), value: Buffer.from('2'), ts: 2, origin: 'n' });
    mem.put({ key: Buffer.from('c'), value: Buffer.from('2'), ts: 2, origin: 'n' });
    assert.deepEqual(drain(it).map((e) => `${e.key}${e.ts}`), ['a1', 'c1', 'e1']);
    assert.equal(mem.size, 4);
  });

  it('refuses writes once frozen for a flush', () => {
    const mem = new Memtable();
    mem.freeze();
    assert.equal(mem.immutable, true);
    assert.throws(() => mem.put({ key: Buffer.from('a'), value: null, ts: 1, origin: 'n' }), /frozen/);
  });
});
