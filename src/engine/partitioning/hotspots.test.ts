import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { HotspotMetrics, SpaceSaving } from './hotspots';

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
});
