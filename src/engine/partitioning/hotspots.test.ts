import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { HotspotMetrics, SpaceSaving } from './hotspots';
import { createPartitionMap } from './settings';
import { splitHotPartitions } from './topology';

describe('hotspot metrics', () => {
  it('space-saving: every listed count brackets the true count, and every frequent key is listed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.nat(20), { maxLength: 300 }), (capacity, stream) => {
        const summary = new SpaceSaving(capacity);
        const truth = new Map<number, number>();
        for (const k of stream) {
          summary.offer(Buffer.from([k]));
          truth.set(k, (truth.get(k) ?? 0) + 1);
        }
        const listed = summary.top(capacity);
        assert.ok(listed.length <= capacity);
        for (const { key, count, error } of listed) {
          const actual = truth.get(key[0]) ?? 0;
          assert.ok(count - error <= actual && actual <= count, `key ${key[0]}: ${count - error} <= ${actual} <= ${count}`);
        }
        for (const [k, n] of truth) {
          if (n > stream.length / capacity) assert.ok(listed.some((h) => h.key[0] === k), `key ${k} seen ${n} of ${stream.length} times is missing`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('finds the hot key of a skewed workload with bounded memory', () => {
    const metrics = new HotspotMetrics(16);
    for (let i = 0; i < 5000; i++) {
      const key = i % 3 === 0 ? 'celebrity' : `user:${i}`;
      metrics.record(key === 'celebrity' ? 7 : i % 4, Buffer.from(key));
    }
    const [top] = metrics.getHotKeys(1);
    assert.equal(top.key.toString(), 'celebrity');
    assert.ok(top.count - top.error <= 1667 && top.count >= 1667);
    assert.deepEqual(metrics.getHotPartitions(1000).map((h) => h.partition), [7]);
    assert.equal(metrics.getHotPartitions(0).length, 5);
    assert.equal(metrics.totalOps, 5000);
  });

  it('reset clears partitions and keys', () => {
    const metrics = new HotspotMetrics();
    metrics.record(1, Buffer.from('a'));
    metrics.reset();
    assert.deepEqual(metrics.getHotKeys(5), []);
    assert.deepEqual(metrics.getHotPartitions(0), []);
    assert.equal(metrics.partitionStats().size, 0);
    assert.throws(() => metrics.getHotPartitions(-1), /non-negative/);
  });

  it('CheckHotPartitions splits each partition above the threshold and reports the ones it cannot', () => {
    const map = createPartitionMap(
      { partitionStrategy: 'range', keyRanges: [{ start: '', end: 'm', node: 0 }, { start: 'm', node: 1 }] },
      ['n0', 'n1'],
    );
    const metrics = new HotspotMetrics();
    const keys = ['a', 'b', 'c', 'd', 'x'].map((k) => Buffer.from(k));
    for (let i = 0; i < 100; i++) for (const k of keys) metrics.record(map.locate(k).id, k);
    const samples = (pid: number) => keys.filter((k) => map.locate(k).id === pid);
    const result = splitHotPartitions(map, metrics.getHotPartitions(50), samples);
    assert.deepEqual(result.split, [0]);
    assert.equal(result.skipped.length, 1);
    assert.match(result.skipped[0].reason, /fewer than 2 distinct sample keys/);
    assert.equal(result.map.partitions.length, 3);
    assert.equal(result.map.version, map.version + 1);
  });
});
