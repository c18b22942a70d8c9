// Hotspot metrics: operations per partition (what CheckHotPartitions splits on) and the most
// frequent keys (what MarkHotKey salts). Partitions are few, so they are counted exactly; keys
// are unbounded, so they go through Space-Saving (Metwally et al. 2005): a fixed number of
// counters, where a new key evicts the least counted one and inherits its count as an error
// bound. Any key seen more than total/capacity times is guaranteed to be listed, and each
// listed count overestimates the truth by at most its `error`.

export interface HotKey {
  readonly key: Buffer;
  /** Upper bound on the key's operations since the last reset. */
  readonly count: number;
  /** How much `count` may overestimate: count - error is a lower bound. */
  readonly error: number;
}

export interface HotPartition {
  readonly partition: number;
  readonly ops: number;
}

interface Counter {
  readonly id: string;
  key: Buffer;
  count: number;
  error: number;
}

/** Space-Saving top-k: O(log capacity) per key through a min-heap indexed by key. */
export class SpaceSaving {
  private heap: Counter[] = [];
  private readonly where = new Map<string, number>();
  private seen = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity is a positive integer, got ${capacity}`);
  }

  /** Operations offered since the last reset. */
  get total(): number {
    return this.seen;
  }

  offer(key: Buffer, weight = 1): void {
    this.seen += weight;
    const id = key.toString('latin1');
    const at = this.where.get(id);
    if (at !== undefined) {
      this.heap[at].count += weight;
      this.siftDown(at);
      return;
    }
    if (this.heap.length < this.capacity) {
      this.heap.push({ id, key: Buffer.from(key), count: weight, error: 0 });
      this.where.set(id, this.heap.length - 1);
      this.siftUp(this.heap.length - 1);
      return;
    }
    // Evict the smallest counter: the newcomer may have occurred up to that many times unseen.
    const min = this.heap[0];
    this.where.delete(min.id);
    this.heap[0] = { id, key: Buffer.from(key), count: min.count + weight, error: min.count };
    this.where.set(id, 0);
    this.siftDown(0);
  }

  /** The k most frequent keys, highest count first (ties by key bytes, for stable output). */
  top(k: number): HotKey[] {
    return [...this.heap]
      .sort((a, b) => b.count - a.count || Buffer.compare(a.key, b.key))
      .slice(0, Math.max(0, k))
      .map(({ key, count, error }) => ({ key: Buffer.from(key), count, error }));
  }

  reset(): void {
    this.heap = [];
    this.where.clear();
    this.seen = 0;
  }

  private swap(i: number, j: number): void {
    [this.heap[i], this.heap[j]] = [this.heap[j], this.heap[i]];
    this.where.set(this.heap[i].id, i);
    this.where.set(this.heap[j].id, j);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heap[parent].count <= this.heap[i].count) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < this.heap.length && this.heap[l].count < this.heap[smallest].count) smallest = l;
      if (r < this.heap.length && this.heap[r].count < this.heap[smallest].count) smallest = r;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}

export const DEFAULT_TRACKED_KEYS = 1000;

/** Per-node (or per-controller) hotspot counters; `reset` is ResetMetrics. */
export class HotspotMetrics {
  private readonly partitionOps = new Map<number, number>();
  private readonly keys: SpaceSaving;

  constructor(trackedKeys = DEFAULT_TRACKED_KEYS) {
    this.keys = new SpaceSaving(trackedKeys);
  }

  /** Counts one operation on a partition key of partition `pid`. */
  record(pid: number, partitionKey: Buffer, weight = 1): void {
    this.partitionOps.set(pid, (this.partitionOps.get(pid) ?? 0) + weight);
    this.keys.offer(partitionKey, weight);
  }

  /** Operations per partition since the last reset. */
  partitionStats(): Map<number, number> {
    return new Map(this.partitionOps);
  }

  /** Partitions with more than `threshold` operations, busiest first. */
  getHotPartitions(threshold: number): HotPartition[] {
    if (!Number.isFinite(threshold) || threshold < 0) throw new RangeError(`threshold is a non-negative number of operations, got ${threshold}`);
    return [...this.partitionOps]
      .filter(([, ops]) => ops > threshold)
      .sort(([pa, a], [pb, b]) => b - a || pa - pb)
      .map(([partition, ops]) => ({ partition, ops }));
  }

  /** The k most frequent partition keys (approximate beyond the tracked capacity; see SpaceSaving). */
  getHotKeys(k: number): HotKey[] {
    return this.keys.top(k);
  }

  /** Operations recorded since the last reset. */
  get totalOps(): number {
    return this.keys.total;
  }

  reset(): void {
    this.partitionOps.clear();
    this.keys.reset();
  }
}
