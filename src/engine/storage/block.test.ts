import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Block, BlockIterator } from './block';
import { BlockBuilder, RESTART_INTERVAL } from './block-builder';
import { CorruptionError } from './errors';
import type { Entry } from './types';

function build(entries: Entry[]): Block {
  const b = new BlockBuilder(16);
  for (const e of entries) b.add(e, Buffer.from(e.origin));
  return Block.parse(Buffer.from(b.finish()), 'test.sst', 0);
}

function collect(it: BlockIterator): Entry[] {
  const out: Entry[] = [];
  for (; it.valid(); it.next()) out.push(it.entry());
  return out;
}

const arbEntries = fc
  .uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 24 }), {
    maxLength: 120,
    selector: (k) => Buffer.from(k).toString('hex'),
  })
  .chain((keys) =>
    fc.tuple(
      fc.constant(keys.map((k) => Buffer.from(k)).sort(Buffer.compare)),
      fc.array(
        fc.record({
          value: fc.option(fc.uint8Array({ maxLength: 40 }), { freq: 4 }),
          ts: fc.maxSafeNat(),
          origin: fc.constantFrom('n1', 'n2', 'node-ü', ''),
        }),
        { minLength: keys.length, maxLength: keys.length },
      ),
    ),
  )
  .map(([keys, rest]) =>
    keys.map((key, i): Entry => ({ key, value: rest[i].value === null ? null : Buffer.from(rest[i].value), ts: rest[i].ts, origin: rest[i].origin })),
  );

describe('block', () => {
  it('round-trips random sorted entries, tombstones included', () => {
    fc.assert(
      fc.property(arbEntries, (entries) => {
        const it = new BlockIterator(build(entries));
        it.seekToFirst();
        assert.deepEqual(collect(it), entries);
      }),
    );
  });

  it('stores shared key prefixes once and a full key at every restart point', () => {
    const entries: Entry[] = [];
    for (let i = 0; i < 100; i++) {
      entries.push({ key: Buffer.from(`user:profile:${String(i).padStart(6, '0')}`), value: Buffer.from('v'), ts: i, origin: 'n1' });
    }
    const block = build(entries);
    // Without sharing, each entry costs 9 bytes of header, origin and value plus its 19-byte key.
    const unshared = entries.length * (9 + 19) + 4 * (block.numRestarts + 1);
    assert.ok(block.data.length < unshared * 0.5, `block ${block.data.length} bytes, ${unshared} without prefix sharing`);
    assert.equal(block.numRestarts, Math.ceil(100 / RESTART_INTERVAL));
    const it = new BlockIterator(block);
    it.seekToFirst();
    assert.deepEqual(collect(it), entries);
  });

  it('seek lands on the first key >= target, for present, absent and out-of-range targets', () => {
    fc.assert(
      fc.property(arbEntries, fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 30 }), (entries, targets) => {
        const it = new BlockIterator(build(entries));
        for (const raw of [...targets, ...entries.map((e) => e.key)]) {
          const target = Buffer.from(raw);
          it.seek(target);
          const expected = entries.findIndex((e) => Buffer.compare(e.key, target) >= 0);
          if (expected < 0) {
            assert.equal(it.valid(), false);
          } else {
            assert.deepEqual(it.entry(), entries[expected]);
            assert.deepEqual(collect(it), entries.slice(expected));
          }
          const found = it.find(target);
          const exact = entries.find((e) => e.key.equals(target));
          assert.deepEqual(found, exact);
        }
      }),
    );
  });

  it('hands out entries that stay intact after the iterator moves on', () => {
    const entries = [0, 1, 2].map((i): Entry => ({ key: Buffer.from([1, 2, i]), value: Buffer.from([i]), ts: i, origin: 'a' }));
    const it = new BlockIterator(build(entries));
    it.seekToFirst();
    const first = it.entry();
    it.next();
    it.next();
    assert.deepEqual(first, entries[0]);
  });

  it('rejects a block whose restart trailer is impossible, naming file and offset', () => {
    const data = Buffer.from(new BlockBuilder().finish());
    data.writeUInt32LE(1000, data.length - 4);
    assert.throws(
      () => Block.parse(data, 'x.sst', 4096),
      (e: unknown) => e instanceof CorruptionError && e.file === 'x.sst' && e.offset === 4096,
    );
  });

  it('reports a malformed entry as a CorruptionError at the block offset', () => {
    const b = new BlockBuilder();
    b.add({ key: Buffer.from('abc'), value: Buffer.from('xyz'), ts: 1, origin: 'n1' }, Buffer.from('n1'));
    const data = Buffer.from(b.finish());
    data[0] = 0x7e; // flags byte: unknown bits
    const it = new BlockIterator(Block.parse(data, 'y.sst', 123));
    assert.throws(() => it.seekToFirst(), (e: unknown) => e instanceof CorruptionError && e.offset === 123 && /flags/.test(e.message));
    const data2 = Buffer.from(b.finish());
    data2[5] = 120; // value length (after flags, shared, unshared, ts, origin length) runs past the entries
    const it2 = new BlockIterator(Block.parse(data2, 'y.sst', 7));
    assert.throws(() => it2.seekToFirst(), (e: unknown) => e instanceof CorruptionError && e.offset === 7);
  });
});
