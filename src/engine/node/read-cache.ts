// The node's read cache (`cacheSize`, 0 = off): recent reads of stored versions, tombstones and
// absent keys included. It is filled only through ObservedStore.get and invalidated by
// ObservedStore's writing listener, which sees every change to a key — local writes, replicated
// ops, pull sync, repairs, hinted handoff, data moves — before the store applies it. A fill takes
// a ticket before reading, so a read that raced a write never caches the superseded version.

import { LruCache, type CacheStats } from '../cache/lru';
import type { Entry } from '../storage/types';

/** null: the store holds no version of the key (cached too, so misses on absent keys are cheap). */
type Cached = Entry | null;

const sizeOf = (e: Cached, key: Buffer): number => key.length + (e?.value?.length ?? 0) + 64;

/**
 * An entry with Buffers of its own: a store read hands out views of a memtable slab (up to 1 MiB)
 * or of a table block, and a cached view would keep all of it alive long after a flush.
 */
function ownCopy(e: Entry): Entry {
  return { key: Buffer.from(e.key), value: e.value === null ? null : Buffer.from(e.value), ts: e.ts, origin: e.origin };
}

export class ReadCache {
  private readonly lru: LruCache<Cached>;

  constructor(maxEntries: number) {
    this.lru = new LruCache<Cached>({ maxEntries, sizeOf });
  }

  get enabled(): boolean {
    return this.lru.enabled;
  }

  /** The cached version of `key`, else `read(key)` (cached for next time). */
  get(key: Buffer, read: (key: Buffer) => Entry | undefined): Entry | undefined {
    if (!this.lru.enabled) return read(key);
    const hit = this.lru.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const ticket = this.lru.ticket();
    const e = read(key);
    this.lru.set(key, e === undefined ? null : ownCopy(e), ticket);
    return e;
  }

  invalidate(keys: readonly { key: Buffer }[]): void {
    if (!this.lru.enabled) return;
    for (const k of keys) this.lru.invalidate(k.key);
  }

  stats(): CacheStats {
    return this.lru.stats();
  }
}
