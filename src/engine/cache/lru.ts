// The node's read cache (`cacheSize`): an LRU of recent reads, with hit/miss counters for stats.
//
// Staleness is the hard part, not eviction. Writes, replicated ops, repairs and handoffs call
// invalidate(key); but a read that started before such a write may finish after it and would
// put the old version back. So a reader takes a ticket before reading storage and fills the
// cache with set(key, value, ticket): the fill is dropped when the key was invalidated after the
// ticket was issued. Invalidations are remembered per key for a bounded window; beyond it the
// cache conservatively drops any fill older than the oldest forgotten invalidation.
//
// Recency uses the Map's insertion order: a hit re-inserts the entry at the end, and eviction
// takes the first entry, so every operation is O(1).

export interface LruOptions<V> {
  /** Maximum number of entries (the spec's cacheSize); 0 disables the cache. */
  readonly maxEntries: number;
  /** Optional byte budget, measured by sizeOf. */
  readonly maxBytes?: number;
  readonly sizeOf?: (value: V, key: Buffer) => number;
  /** How many recent invalidations are remembered per key for ticket checks. */
  readonly invalidationWindow?: number;
}

export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly invalidations: number;
  /** Fills dropped because the key changed while the read was in flight. */
  readonly staleFillsDropped: number;
  readonly entries: number;
  readonly bytes: number;
}

/** Issued before a storage read; see the module comment. */
export type CacheTicket = number & { readonly __cacheTicket: unique symbol };

export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; size: number }>();
  private readonly invalidatedAt = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly sizeOf: (value: V, key: Buffer) => number;
  private readonly window: number;
  private epoch = 0;
  /** Fills with a ticket below this are dropped: an invalidation this old may have been forgotten. */
  private forgottenBefore = 0;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private invalidations = 0;
  private staleFills = 0;

  constructor(options: LruOptions<V>) {
    const { maxEntries, maxBytes = Infinity, invalidationWindow = 4096 } = options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new RangeError(`cacheSize is a non-negative integer (0 = off), got ${maxEntries}`);
    if (!(maxBytes > 0)) throw new RangeError(`maxBytes is a positive number of bytes, got ${maxBytes}`);
    if (!Number.isSafeInteger(invalidationWindow) || invalidationWindow < 1) throw new RangeError(`invalidationWindow is a positive integer, got ${invalidationWindow}`);
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.sizeOf = options.sizeOf ?? (() => 0);
    this.window = invalidationWindow;
  }

  get enabled(): boolean {
    return this.maxEntries > 0;
  }

  /** The cached value, counting a hit or a miss; a hit becomes the most recently used entry. */
  get(key: Buffer): V | undefined {
    const id = key.toString('latin1');
    const entry = this.entries.get(id);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.value;
  }

  /** Take before reading storage; pass to set() so a fill never undoes a concurrent invalidation. */
  ticket(): CacheTicket {
    return this.epoch as CacheTicket;
  }

  /**
   * Caches a value read from storage. With a ticket, the fill is dropped (returns false) when the
   * key was invalidated after the ticket was issued.
   */
  set(key: Buffer, value: V, ticket?: CacheTicket): boolean {
    if (!this.enabled) return false;
    const id = key.toString('latin1');
    if (ticket !== undefined && (ticket < this.forgottenBefore || (this.invalidatedAt.get(id) ?? -1) >= ticket)) {
      this.staleFills++;
      return false;
    }
    const size = this.sizeOf(value, key);
    if (size > this.maxBytes) return false;
    this.drop(id);
    this.entries.set(id, { value, size });
    this.bytes += size;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.drop(oldest);
      this.evictions++;
    }
    return true;
  }

  /** Drops a key because its stored version changed (write, replicated op, repair, handoff). */
  invalidate(key: Buffer): void {
    const id = key.toString('latin1');
    this.drop(id);
    this.invalidations++;
    this.invalidatedAt.delete(id);
    this.invalidatedAt.set(id, this.epoch++);
    if (this.invalidatedAt.size > this.window) {
      const [oldest, at] = this.invalidatedAt.entries().next().value as [string, number];
      this.invalidatedAt.delete(oldest);
      this.forgottenBefore = at + 1;
    }
  }

  /** Empties the cache (e.g. after a partition moved away); in-flight fills are dropped too. */
  clear(): void {
    this.entries.clear();
    this.invalidatedAt.clear();
    this.bytes = 0;
    this.forgottenBefore = ++this.epoch;
  }

  stats(): CacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      invalidations: this.invalidations,
      staleFillsDropped: this.staleFills,
      entries: this.entries.size,
      bytes: this.bytes,
    };
  }

  private drop(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.bytes -= entry.size;
  }
}
