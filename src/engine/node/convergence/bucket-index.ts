// Which keys sit in each leaf bucket of this node's Merkle trees: what a diff round asks for the
// buckets that differ (MerkleDiff, and this node's own side). The trees keep no keys, so the
// answer comes from the store.
//
// Scanning the store per request would cost O(store) per partition compared, and a round
// compares every differing partition with every peer. So the first request builds this index
// from one scan, for all partitions and buckets at once, and it serves the requests that follow
// until it has been idle for a while (then it is dropped: between rounds the node holds no key
// outside the store). Keys the store gains while it lives are added by the trees' change
// listener, so it never misses one; versions are read from the store when asked, so they are
// current, and a key since purged reads as absent. A new partition map drops it (keys move).

import type { MerkleEntry } from '../../antientropy/merkle';
import type { Entry } from '../../storage/types';

export class BucketIndex {
  /** Keys by pid * leafCount + bucket; a key removed and written again may be listed twice. */
  private readonly slots = new Map<number, Buffer[]>();

  constructor(private readonly leafCount: number) {}

  add(pid: number, bucket: number, key: Buffer): void {
    const slot = pid * this.leafCount + bucket;
    const keys = this.slots.get(slot);
    if (keys) keys.push(key);
    else this.slots.set(slot, [key]);
  }

  /** The entries of `buckets` of partition `pid`, each sorted by key, with the versions `read` gives now. */
  entries(pid: number, buckets: readonly number[], read: (key: Buffer) => Entry | undefined, versionOf: (e: Entry) => Buffer): MerkleEntry[][] {
    return buckets.map((bucket) => {
      const keys = [...(this.slots.get(pid * this.leafCount + bucket) ?? [])].sort(Buffer.compare);
      const out: MerkleEntry[] = [];
      for (let i = 0; i < keys.length; i++) {
        if (i > 0 && keys[i].equals(keys[i - 1])) continue;
        const e = read(keys[i]);
        if (e) out.push({ key: keys[i], versionHash: versionOf(e) });
      }
      return out;
    });
  }
}
