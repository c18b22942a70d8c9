import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { InvalidArgumentError } from './errors';
import { isSaltedKey, markHotKey, readKeysFor, saltVariants, unmarkHotKey, unsaltKey, writeKeyFor } from './salting';
import { createPartitionMap } from './settings';

const map = createPartitionMap({ numPartitions: 64 }, ['n0', 'n1', 'n2', 'n3']);

describe('hot-key salting', () => {
  it('variants are distinct, decode back, and never collide with a text key', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 2, max: 32 }), (text, buckets) => {
        const key = Buffer.from(text, 'utf8');
        const variants = saltVariants(key, buckets);
        assert.equal(new Set(variants.map((v) => v.toString('hex'))).size, buckets);
        variants.forEach((v, b) => assert.deepEqual(unsaltKey(v), { key, bucket: b }));
        assert.ok(!isSaltedKey(key), 'UTF-8 text never starts with 0xff');
      }),
    );
  });

  it('a marked key spreads writes over every bucket and its partitions; reads probe the key and all variants', () => {
    const key = Buffer.from('celebrity');
    const hot = markHotKey(map, key, 8);
    assert.equal(hot.version, map.version + 1);
    const written = Array.from({ length: 80 }, (_, i) => writeKeyFor(hot, key, i));
    assert.equal(new Set(written.map((w) => w.toString('hex'))).size, 8);
    assert.ok(new Set(written.map((w) => hot.locate(w).id)).size > 1, 'variants land in different partitions');
    const reads = readKeysFor(hot, key);
    assert.deepEqual(reads[0], key);
    assert.equal(reads.length, 9);
    for (const w of written) assert.ok(reads.some((r) => r.equals(w)));
    assert.deepEqual(readKeysFor(map, key), [key], 'unmarked keys read one key');
    assert.deepEqual(writeKeyFor(map, key, 3), key);
    assert.deepEqual(readKeysFor(unmarkHotKey(hot, key), key), [key]);
    assert.deepEqual(JSON.parse(JSON.stringify(hot)).saltedKeys, [{ key: key.toString('hex'), buckets: 8 }]);
  });

  it('rejects bad buckets and salted or empty keys, leaving the map alone', () => {
    const isArg = (field: string) => (e: unknown) => e instanceof InvalidArgumentError && e.field === field;
    assert.throws(() => markHotKey(map, Buffer.from('k'), 1), isArg('buckets'));
    assert.throws(() => markHotKey(map, Buffer.from('k'), 5000), isArg('buckets'));
    assert.throws(() => markHotKey(map, Buffer.alloc(0), 4), isArg('key'));
    assert.throws(() => markHotKey(map, saltVariants(Buffer.from('k'), 2)[0], 4), isArg('key'));
    assert.throws(() => unmarkHotKey(map, Buffer.from('k')), /not marked hot/);
    assert.equal(map.saltedKeys.size, 0);
    // Fewer buckets would stop reads from looking at the variants past the new count.
    const hot = markHotKey(map, Buffer.from('k'), 16);
    assert.throws(() => markHotKey(hot, Buffer.from('k'), 2), (e: unknown) => isArg('buckets')(e) && /salted over 16 buckets and can only get more/.test((e as Error).message));
    assert.equal(markHotKey(hot, Buffer.from('k'), 32).saltedKeys.get(Buffer.from('k').toString('hex')), 32);
  });

  it('refuses to salt under range partitioning, where every variant would sort into the last range', () => {
    const ranged = createPartitionMap({ partitionStrategy: 'range', keyRanges: [{ start: '', end: 'm', node: 'n0' }, { start: 'm', end: null, node: 'n1' }] }, ['n0', 'n1']);
    assert.throws(() => markHotKey(ranged, Buffer.from('a'), 4), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'key' && /split the range/.test(e.message));
  });
});
