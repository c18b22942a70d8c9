// Which keys sit in each leaf bucket of this node's Merkle trees, and their versions: what a diff
// round asks for the buckets that differ (MerkleDiff, and this node's own side). The trees keep
// no keys, so the answer comes from the store.
//
// Scanning the store per request would cost O(store) per partition compared, and a round
// compares every differing partition with every peer. So the first request builds this index
// from one scan, for all partitions and buckets at once, and it serves the requests that follow
// until it has been idle for a while (then it is dropped: between rounds the node holds no key
// outside the store) or has tracked changes to more keys than it scanned, and to at least
// 100,000 (then the next request
// rebuilds it, so the changes it tracks cannot grow without bound while rounds keep it in use).
// It stays exact meanwhile, and while the scan is still going (it yields to the event loop): the
// trees' change listener tells it every change from the moment the scan's view was fixed (a new
// key joins its bucket; a changed key's version overrides the scanned one), so a request reads
// the store again only for tombstones, which compaction may drop unseen (a random read per key
// served would cost more than the scan). A new partition map drops it (keys move).

import type { MerkleEntry } from '../../antientropy/merkle';

/** A version as the index knows it: its bytes (versionOf) and whether it is a tombstone. */
export interface IndexedVersion {
  readonly bytes: Buffer;
  readonly tombstone: boolean;
}

interface Slot {
  keys: Buffer[];
  versions: IndexedVersion[];
}

export class BucketIndex {
  /** By pid * leafCount + bucket; a key removed and written again is listed twice. */
  private readonly slots = new Map<number, Slot>();
  /** Keys changed since the scan (latin1): their current version, null once gone. */
  private readonly since = new Map<string, IndexedVersion | null>();

  /** Keys the scan added. */
  scanned = 0;

  constructor(private readonly leafCount: number) {}

  /** Keys changed since the scan began (each counted once, however often it changed). */
  get changes(): number {
    return this.since.size;
  }

  /** A key of the scan, with its version when the scan began. */
  add(pid: number, bucket: number, key: Buffer, version: IndexedVersion): void {
    this.scanned++;
    this.insert(pid, bucket, key, version);
  }

  private insert(pid: number, bucket: number, key: Buffer, version: IndexedVersion): void {
    const slot = pid * this.leafCount + bucket;
    const s = this.slots.get(slot);
    if (s) {
      s.keys.push(key);
      s.versions.push(version);
    } else {
      this.slots.set(slot, { keys: [key], versions: [version] });
    }
  }

  /** A change since the scan began: `after` undefined when the key is gone; `isNew` when it had no version. */
  change(pid: number, bucket: number, key: Buffer, isNew: boolean, after: IndexedVersion | undefined): void {
    if (isNew && after) this.insert(pid, bucket, Buffer.from(key), after);
    this.since.set(key.toString('latin1'), after ?? null);
  }

  /** The entries of `buckets` of partition `pid`, each sorted by key; `stored` tells whether a tombstone is still there. */
  entries(pid: number, buckets: readonly number[], stored: (key: Buffer) => boolean): MerkleEntry[][] {
    return buckets.map((bucket) => {
      const s = this.slots.get(pid * this.leafCount + bucket);
      if (!s) return [];
      const out: MerkleEntry[] = [];
      for (let i = 0; i < s.keys.length; i++) {
        const key = s.keys[i];
        const changed = this.since.size > 0 ? this.since.get(key.toString('latin1')) : undefined;
        if (changed === null) continue;
        const now = changed ?? s.versions[i];
        if (now.tombstone && !stored(key)) continue;
        out.push({ key, versionHash: now.bytes });
      }
      out.sort((a, b) => Buffer.compare(a.key, b.key));
      return out.filter((e, i) => i === 0 || !e.key.equals(out[i - 1].key));
    });
  }
}
