import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { changedPartitionIds, HotspotMetrics, SpaceSaving } from './hotspots';
import { createPartitionMap } from './settings';
import { mergePartitions, splitHotPartitions, splitPartition } from './topology';

/**
 * The plain Space-Saving the typed-array one replaced: counters in an array heap, found through a
 * Map keyed by latin1 strings. Same heap moves, so the same counters for any stream.
 */
class ReferenceSpaceSaving {
  private readonly heap: { id: string; key: Buffer; count: number; error: number }[] = [];
  private readonly where = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  offer(key: Buffer, weight: number): void {
    const id = key.toString('latin1');
    const at = this.where.get(id);
    if (at !== undefined) {
      this.heap[at].count += weight;
      this.siftDown(at);
    } else if (this.heap.length < this.capacity) {
      this.heap.push({ id, key: Buffer.from(key), count: weight, error: 0 });
      this.where.set(id, this.heap.length - 1);
      for (let i = this.heap.length - 1; i > 0 && this.heap[(i - 1) >> 1].count > this.heap[i].count; i = (i - 1) >> 1) this.swap(i, (i - 1) >> 1);
    } else {
      const min = this.heap[0];
      this.where.delete(min.id);
      this.heap[0] = { id, key: Buffer.from(key), count: min.count + weight, error: min.count };
      this.where.set(id, 0);
      this.siftDown(0);
    }
  }

  top(k: number): { key: Buffer; count: number; error: number }[] {
    return [...this.heap].sort((a, b) => b.count - a.count || Buffer.compare(a.key, b.key)).slice(0, k).map(({ key, count, error }) => ({ key, count, error }));
  }

  private swap(i: number, j: number): void {
    [this.heap[i], this.heap[j]] = [this.heap[j], this.heap[i]];
    this.where.set(this.heap[i].id, i);
    this.where.set(this.heap[j].id, j);
  }

  private siftDown(i: number): void {
    for (;;) {
      let smallest = i;
      for (const c of [2 * i + 1, 2 * i + 2]) if (c < this.heap.length && this.heap[c].count < this.heap[smallest].count) smallest = c;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}

describe('hotspot metrics', () => {
  it('space-saving keeps the counters the plain Map-and-heap version keeps, for any keys, weights and resets', () => {
    // A few keys per run, so each comes back after others were evicted around it in the table;
    // long ones outgrow a counter's buffer.
    const keyArb = fc.oneof(
      fc.array(fc.constantFrom(0, 1, 0xff), { maxLength: 3 }).map((a) => Buffer.from(a)),
      fc.uint8Array({ minLength: 30, maxLength: 70 }).map((a) => Buffer.from(a)),
    );
    const eventArb = fc.oneof(
      { weight: 30, arbitrary: fc.record({ pick: fc.nat(), weight: fc.integer({ min: 1, max: 5 }) }) },
      { weight: 1, arbitrary: fc.constant('reset' as const) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(keyArb, { minLength: 1, maxLength: 24 }), fc.array(eventArb, { maxLength: 400 }), (capacity, pool, events) => {
        const summary = new SpaceSaving(capacity);
        let reference = new ReferenceSpaceSaving(capacity);
        let total = 0;
        for (const e of events) {
          if (e === 'reset') {
            summary.reset();
            reference = new ReferenceSpaceSaving(capacity);
            total = 0;
            continue;
          }
          const key = pool[e.pick % pool.length];
          summary.offer(key, e.weight);
          reference.offer(key, e.weight);
          total += e.weight;
          // After every offer: a counter lost by the table shows up at once as a diverging list.
          assert.deepEqual(summary.top(capacity), reference.top(capacity));
        }
        assert.equal(summary.total, total);
      }),
      { numRuns: 1500 },
    );
  });

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
  it('forgets the counts of partitions a split or merge changed, and keeps the others', () => {
    const map = createPartitionMap({ partitionStrategy: 'range', keyRanges: [{ start: '', end: 'f', node: 'n1' }, { start: 'f', end: null, node: 'n2' }] }, ['n1', 'n2']);
    const split = splitPartition(map, 1, { splitKey: Buffer.from('p') }).map;
    const changed = changedPartitionIds(map, split).sort((a, b) => a - b);
    assert.deepEqual(changed, [1, split.partitions.find((p) => p.start.equals(Buffer.from('p')))!.id].sort((a, b) => a - b));
    assert.deepEqual(changedPartitionIds(split, split), []);
    const merged = mergePartitions(split, 1, changed[1]).map;
    assert.deepEqual(changedPartitionIds(split, merged).sort((a, b) => a - b), changed);
    const metrics = new HotspotMetrics();
    for (const pid of [0, 1, 1, 1]) metrics.record(pid, Buffer.from(`k${pid}`));
    metrics.forgetPartitions(changed);
    assert.deepEqual([...metrics.partitionStats()], [[0, 1]]);
  });
});
