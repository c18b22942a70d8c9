// Stored key -> partition id, for the keys a node placed last. A node places each op it applies
// several times (coordinator, Merkle tree, one shipping filter per destination, global index),
// each time from a different Buffer of the same bytes, so the cache is keyed by the bytes:
// a direct-mapped table indexed by an FNV-1a hash of the key, holding a copy of the key to
// compare on a hit. Unlike a Map keyed by latin1 strings it allocates nothing per op, and a
// newer key simply overwrites its slot, so there is nothing to clear and nothing for the GC.

import { fnv1a } from '../codec/fnv1a';

const SLOTS = 1 << 14;
/** Longer keys are placed every time: the cache is for the short keys of a busy workload. */
export const MAX_CACHED_KEY_BYTES = 48;
const EMPTY = -1;

export class PidCache {
  private readonly lengths = new Int32Array(SLOTS).fill(EMPTY);
  private readonly pids = new Float64Array(SLOTS);
  private readonly keys = new Uint8Array(SLOTS * MAX_CACHED_KEY_BYTES);

  /** The cached partition of `key`, or `place(key)` (then cached). */
  pidOf(key: Buffer, place: (key: Buffer) => number): number {
    const length = key.length;
    if (length > MAX_CACHED_KEY_BYTES) return place(key);
    const slot = fnv1a(key) & (SLOTS - 1);
    const keys = this.keys;
    const at = slot * MAX_CACHED_KEY_BYTES;
    if (this.lengths[slot] === length) {
      let i = 0;
      while (i < length && keys[at + i] === key[i]) i++;
      if (i === length) return this.pids[slot];
    }
    const pid = place(key);
    for (let i = 0; i < length; i++) keys[at + i] = key[i];
    this.lengths[slot] = length;
    this.pids[slot] = pid;
    return pid;
  }

  clear(): void {
    this.lengths.fill(EMPTY);
  }
}
