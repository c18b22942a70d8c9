import { strict as assert } from 'node:assert';
import { Block } from './block';
import { BlockBuilder } from './block-builder';
import { BlockCache } from './block-cache';

/** A real block of at least `bytes` bytes. */
function blockOf(bytes: number): Block {
  const b = new BlockBuilder();
  b.add({ key: Buffer.from('k'), value: Buffer.alloc(Math.max(0, bytes - 20)), ts: 1, origin: 'n' }, Buffer.from('n'));
  return Block.parse(Buffer.from(b.finish()), 't.sst', 0);
}

describe('block cache', () => {
  it('evicts least recently used blocks once the bytes exceed capacity', () => {
    const size = blockOf(1000).size;
    const cache = new BlockCache(3 * size);
    cache.put(1, 0, blockOf(1000));
    cache.put(1, 100, blockOf(1000));
    cache.put(2, 0, blockOf(1000));
    assert.equal(cache.usedBytes, 3 * size);
    assert.ok(cache.get(1, 0)); // now most recently used
    cache.put(2, 100, blockOf(1000)); // evicts (1, 100), the least recently used
    assert.equal(cache.get(1, 100), undefined);
    assert.ok(cache.get(1, 0));
    assert.ok(cache.get(2, 0));
    assert.ok(cache.get(2, 100));
    assert.equal(cache.usedBytes, 3 * size);
    assert.equal(cache.hits, 4);
    assert.equal(cache.misses, 1);
  });

  it('evicts as many small blocks as a large one needs', () => {
    const small = blockOf(100);
    const large = blockOf(1000);
    const cache = new BlockCache(large.size + small.size);
    for (let i = 0; i < 10; i++) cache.put(7, i * 200, small);
    assert.ok(cache.usedBytes <= cache.capacityBytes);
    cache.put(8, 0, large);
    assert.ok(cache.usedBytes <= cache.capacityBytes);
    assert.equal(cache.blocks, 2);
    assert.ok(cache.get(8, 0));
    assert.ok(cache.get(7, 9 * 200), 'the most recent small block survives');
  });

  it('does not cache at capacity 0, nor a block larger than the capacity', () => {
    const none = new BlockCache(0);
    none.put(1, 0, blockOf(100));
    assert.equal(none.get(1, 0), undefined);
    assert.equal(none.usedBytes, 0);
    const tiny = new BlockCache(50);
    tiny.put(1, 0, blockOf(200));
    assert.equal(tiny.blocks, 0);
  });

  it('replaces a block put twice without double-charging it', () => {
    const cache = new BlockCache(10_000);
    cache.put(1, 0, blockOf(500));
    cache.put(1, 0, blockOf(500));
    assert.equal(cache.blocks, 1);
    assert.equal(cache.usedBytes, blockOf(500).size);
  });

  it('drops every block of a closed table and only those', () => {
    const cache = new BlockCache(100_000);
    for (let i = 0; i < 5; i++) {
      cache.put(1, i, blockOf(100));
      cache.put(2, i, blockOf(100));
    }
    cache.evictTable(1);
    assert.equal(cache.blocks, 5);
    assert.equal(cache.usedBytes, 5 * blockOf(100).size);
    assert.equal(cache.get(1, 3), undefined);
    assert.ok(cache.get(2, 3));
    // The list stays consistent: filling past capacity still evicts cleanly.
    const c2 = new BlockCache(blockOf(100).size * 2);
    c2.put(1, 0, blockOf(100));
    c2.put(2, 0, blockOf(100));
    c2.evictTable(1);
    c2.put(3, 0, blockOf(100));
    c2.put(4, 0, blockOf(100));
    assert.equal(c2.blocks, 2);
    assert.ok(c2.get(3, 0) && c2.get(4, 0));
  });

  it('keeps a block whose put evicted the last other block of its own table', () => {
    const size = blockOf(100).size;
    const cache = new BlockCache(2 * size);
    cache.put(1, 0, blockOf(100));
    cache.put(2, 0, blockOf(100));
    cache.put(1, 100, blockOf(100)); // evicts (1, 0): table 1's map empties while its block is being added
    cache.put(3, 0, blockOf(100)); // evicts (2, 0); before the fix the orphaned (1, 100) made this throw
    assert.ok(cache.get(1, 100));
    assert.ok(cache.get(3, 0));
    cache.put(4, 0, blockOf(100)); // evicts (1, 100) through its table's map
    assert.equal(cache.get(1, 100), undefined);
    assert.equal(cache.usedBytes, 2 * size);
  });

  it('rejects a negative or fractional capacity', () => {
    assert.throws(() => new BlockCache(-1), /non-negative integer/);
    assert.throws(() => new BlockCache(1.5), /non-negative integer/);
  });
});
