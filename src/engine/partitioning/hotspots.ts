// Hotspot metrics: operations per partition (what CheckHotPartitions splits on) and the most
// frequent keys (what MarkHotKey salts). Partitions are few, so they are counted exactly; keys
// are unbounded, so they go through Space-Saving (Metwally et al. 2005): a fixed number of
// counters, where a new key evicts the least counted one and inherits its count as an error
// bound. Any key seen more than total/capacity times is guaranteed to be listed, and each
// listed count overestimates the truth by at most its `error`.

import { fnv1a } from '../codec/fnv1a';
import type { PartitionMap } from './partition-map';

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

const NONE = -1;
/** Key bytes each counter holds without reallocating; a longer key gets its own buffer. */
const KEY_BYTES = 32;

/**
 * Space-Saving top-k: O(log capacity) per key through a min-heap of counters. A node offers every
 * op it coordinates, so an offer allocates nothing: counters live in typed arrays, found through
 * an open-addressing table keyed by an FNV-1a hash of the key bytes, and each counter copies its
 * key into a buffer it reuses when a newcomer takes it over.
 */
export class SpaceSaving {
  private seen = 0;
  /** Counters in use: 0..size-1. */
  private size = 0;
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  private readonly hashes: Int32Array;
  private readonly lengths: Int32Array;
  private readonly keys: Buffer[] = [];
  /** heap[i]: the counter at heap position i, least count at 0; heapAt is its inverse. */
  private readonly heap: Int32Array;
  private readonly heapAt: Int32Array;
  /** Linear probing, at most half full: a counter index or NONE. */
  private readonly table: Int32Array;
  private readonly mask: number;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity is a positive integer, got ${capacity}`);
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.heap = new Int32Array(capacity);
    this.heapAt = new Int32Array(capacity);
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.table = new Int32Array(slots).fill(NONE);
    this.mask = slots - 1;
  }

  /** Operations offered since the last reset. */
  get total(): number {
    return this.seen;
  }

  offer(key: Buffer, weight = 1): void {
    this.seen += weight;
    const hash = fnv1a(key);
    const c = this.find(key, hash);
    if (c !== NONE) {
      this.counts[c] += weight;
      this.siftDown(this.heapAt[c]);
      return;
    }
    if (this.size < this.capacity) {
      const fresh = this.size++;
      this.assign(fresh, key, hash, weight, 0);
      this.heap[fresh] = fresh;
      this.heapAt[fresh] = fresh;
      this.siftUp(fresh);
      return;
    }
    // Evict the smallest counter: the newcomer may have occurred up to that many times unseen.
    const min = this.heap[0];
    this.unlink(min);
    const floor = this.counts[min];
    this.assign(min, key, hash, floor + weight, floor);
    this.siftDown(0);
  }

  /** The k most frequent keys, highest count first (ties by key bytes, for stable output). */
  top(k: number): HotKey[] {
    return Array.from({ length: this.size }, (_, c) => c)
      .sort((a, b) => this.counts[b] - this.counts[a] || Buffer.compare(this.keyOf(a), this.keyOf(b)))
      .slice(0, Math.max(0, k))
      .map((c) => ({ key: Buffer.from(this.keyOf(c)), count: this.counts[c], error: this.errors[c] }));
  }

  reset(): void {
    this.size = 0;
    this.seen = 0;
    this.table.fill(NONE);
  }

  private keyOf(c: number): Buffer {
    return this.keys[c].subarray(0, this.lengths[c]);
  }

  /** The counter holding `key`, or NONE. */
  private find(key: Buffer, hash: number): number {
    const { table, mask } = this;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const c = table[slot];
      if (c === NONE) return NONE;
      if (this.hashes[c] === hash && this.holds(c, key)) return c;
    }
  }

  private holds(c: number, key: Buffer): boolean {
    const length = key.length;
    if (this.lengths[c] !== length) return false;
    const own = this.keys[c];
    for (let i = 0; i < length; i++) if (own[i] !== key[i]) return false;
    return true;
  }

  /** Gives counter `c` to `key` and indexes it. */
  private assign(c: number, key: Buffer, hash: number, count: number, error: number): void {
    let own = this.keys[c];
    if (own === undefined || own.length < key.length) own = this.keys[c] = Buffer.alloc(Math.max(KEY_BYTES, key.length));
    for (let i = 0; i < key.length; i++) own[i] = key[i];
    this.lengths[c] = key.length;
    this.hashes[c] = hash;
    this.counts[c] = count;
    this.errors[c] = error;
    const { table, mask } = this;
    let slot = hash & mask;
    while (table[slot] !== NONE) slot = (slot + 1) & mask;
    table[slot] = c;
  }

  /** Removes counter `c` from the table, shifting back the entries its slot kept off their home. */
  private unlink(c: number): void {
    const { table, mask, hashes } = this;
    let hole = hashes[c] & mask;
    while (table[hole] !== c) hole = (hole + 1) & mask;
    table[hole] = NONE;
    for (let slot = (hole + 1) & mask; table[slot] !== NONE; slot = (slot + 1) & mask) {
      const home = hashes[table[slot]] & mask;
      // An entry may fill the hole only when its home is not cyclically within (hole, slot].
      const reachable = hole <= slot ? hole < home && home <= slot : hole < home || home <= slot;
      if (reachable) continue;
      table[hole] = table[slot];
      table[slot] = NONE;
      hole = slot;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i];
    const b = this.heap[j];
    this.heap[i] = b;
    this.heap[j] = a;
    this.heapAt[b] = i;
    this.heapAt[a] = j;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.counts[this.heap[parent]] <= this.counts[this.heap[i]]) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const { heap, counts, size } = this;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < size && counts[heap[l]] < counts[heap[smallest]]) smallest = l;
      if (r < size && counts[heap[r]] < counts[heap[smallest]]) smallest = r;
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

  /** Drops the operation counts of these partitions (their ranges changed: the counts describe keys they may no longer hold). */
  forgetPartitions(pids: Iterable<number>): void {
    for (const pid of pids) this.partitionOps.delete(pid);
  }
}

/**
 * Partitions whose key range is not what it was: new ids, ids gone, and ids a split or merge
 * kept with another range. Their counts belong to the old ranges: after a split, the half that
 * kept the id showed all of the traffic and an automatic split picked it over the hot new half.
 */
export function changedPartitionIds(before: PartitionMap | undefined, after: PartitionMap): number[] {
  const old = new Map((before?.partitions ?? []).map((p) => [p.id, p]));
  const changed: number[] = [];
  for (const p of after.partitions) {
    const was = old.get(p.id);
    old.delete(p.id);
    const sameEnd = was !== undefined && (was.end === null ? p.end === null : p.end !== null && was.end.equals(p.end));
    if (!was || !was.start.equals(p.start) || !sameEnd) changed.push(p.id);
  }
  return [...changed, ...old.keys()];
}
