import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { BloomBuilder, BloomFilter, bloomHash, probesFor } from './bloom';

function filterOf(keys: Buffer[], bitsPerKey: number): BloomFilter {
  const b = new BloomBuilder(bitsPerKey);
  for (const k of keys) b.addKey(k);
  return new BloomFilter(b.finish().bytes);
}

describe('bloom filter', () => {
  it('hashes exactly as LevelDB does (util/hash_test.cc vectors)', () => {
    assert.equal(bloomHash(Buffer.alloc(0)), 0xbc9f1d34);
    assert.equal(bloomHash(Buffer.from([0x62])), 0xef1345c4);
    assert.equal(bloomHash(Buffer.from([0xc3, 0x97])), 0x5b663814);
    assert.equal(bloomHash(Buffer.from([0xe2, 0x99, 0xa5])), 0x323c078f);
    assert.equal(bloomHash(Buffer.from([0xe1, 0x80, 0xb9, 0x32])), 0xed21633a);
  });

  it('never rules out a key that was added', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 300 }), fc.integer({ min: 1, max: 20 }), (raw, bits) => {
        const keys = raw.map((k) => Buffer.from(k));
        const f = filterOf(keys, bits);
        for (const k of keys) assert.ok(f.mayContain(k));
      }),
    );
  });

  it('has a false-positive rate near 1% at 10 bits per key (measured over 10k absent keys)', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => Buffer.from(`key${String(i).padStart(8, '0')}`));
    const f = filterOf(keys, 10);
    let falsePositives = 0;
    for (let i = 0; i < 10_000; i++) if (f.mayContain(Buffer.from(`absent${String(i).padStart(8, '0')}`))) falsePositives++;
    const rate = falsePositives / 10_000;
    assert.ok(rate < 0.03, `false-positive rate ${rate}`);
    assert.equal(probesFor(10), 7);
  });

  it('writes no filter at 0 bits per key, and an empty filter admits every key', () => {
    const b = new BloomBuilder(0);
    b.addKey(Buffer.from('a'));
    const { bytes, bits } = b.finish();
    assert.equal(bits, 0);
    assert.equal(bytes.length, 0);
    const f = new BloomFilter(bytes);
    assert.equal(f.present, false);
    assert.ok(f.mayContain(Buffer.from('anything')));
  });

  it('sizes the filter from the key count, with a 64-bit floor', () => {
    const small = new BloomBuilder(10);
    small.addKey(Buffer.from('x'));
    assert.equal(small.finish().bits, 64);
    const big = new BloomBuilder(10);
    for (let i = 0; i < 1000; i++) big.addKey(Buffer.from(String(i)));
    assert.equal(big.finish().bits, 10_000);
  });

  it('rejects a bits-per-key budget it cannot use, saying what is accepted', () => {
    assert.throws(() => new BloomBuilder(-1), /0 \(no filter\) to 64/);
    assert.throws(() => new BloomBuilder(2.5), /integer/);
  });
});
