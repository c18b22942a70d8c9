// The memtable: every version written to recently written keys, in key order, held without a
// JS object per entry. A memtable lives until its flush, so whatever it keeps survives young-
// generation GC and gets copied by every scavenge; a cluster benchmark spent 100-170 ms per 2 s
// per node in scavenges, mostly on memtable objects. So keys and values are copied into large
// off-heap slabs (append-only, so views handed out stay valid), origins are interned, and keys
// are rows of typed arrays found through an open-addressing hash table: every write first reads
// its key (Last-Write-Wins), so get() is as hot as put(). Key order is kept as sorted runs, like
// a tiny LSM tree: new keys are appended unsorted, every RUN_KEYS of them are sorted into a run,
// and two runs of a size are merged, so a key takes part in log2(keys / RUN_KEYS) merges of
// sequential arrays, the largest merging the memtable's two halves. An ordered read (a flush, a
// scan) merges what is left into one run. A skiplist insert per new key cost more
// than everything else a write does to the memtable (a dozen cache misses in a 16 MiB memtable;
// 12 % of a replicated node's time); sorting the whole memtable at its flush blocked the event
// loop for 70 ms.
// Entries are built on demand, their key and value zero-copy views into a slab; they die young.
//
// A replaced key keeps its older versions in a chain. Version ids are allocated in write order,
// so a stable cursor is just the version count when it was taken: it reads, per key, the newest
// version below that count and skips keys whose oldest version is not below it.

import { fnv1a } from '../codec/fnv1a';
import { Interner } from '../codec/interner';
import { compareBytes } from './block-keys';
import type { Entry, EntryIterator } from './types';

/**
 * What `Memtable.bytes` charges on top of the bytes copied into slabs (keys once, every
 * value version, replaced ones included, since a slab cannot give them back) and each distinct
 * origin's length once: per key its row, its place in the sorted runs and its hash slots; per
 * version its row.
 * Growth slack of the typed arrays is folded into both.
 */
export const KEY_OVERHEAD = 48;
export const VERSION_OVERHEAD = 32;

const FIRST_SLAB_BYTES = 64 * 1024;
const MAX_SLAB_BYTES = 1024 * 1024;
/** Node 0 is a placeholder row (no key); as a hash slot it means "empty". */
const HEAD = 0;
const NO_VERSION = -1;
/** Keys per sorted run: sorting one takes about a millisecond. */
const RUN_KEYS = 2048;
const NO_SNAPSHOT = 0x7fffffff;
const SIGN_BIT = 0x80000000;

/**
 * Four key bytes from `at`, zero-padded, with the sign bit flipped so signed compares order them
 * like bytes. Two of them (bytes 0-7) settle most comparisons without reading a slab.
 */
function prefixOf(key: Uint8Array, at: number): number {
  const n = key.length;
  return ((n > at ? key[at] << 24 : 0) | (n > at + 1 ? key[at + 1] << 16 : 0) | (n > at + 2 ? key[at + 2] << 8 : 0) | (n > at + 3 ? key[at + 3] : 0)) ^ SIGN_BIT;
}

// Row layouts. A node (key) and a version are each one run of int32s, so a lookup or a cursor
// step touches one or two cache lines rather than one per field.
const K_SLAB = 0;
const K_OFFSET = 1;
const K_LENGTH = 2;
const K_PREFIX = 3;
const K_PREFIX2 = 4;
const K_HASH = 5;
const K_NEWEST = 6;
const NODE_INTS = 7;
const V_SLAB = 0;
const V_OFFSET = 1;
/** -1: a tombstone. */
const V_LENGTH = 2;
const V_ORIGIN = 3;
const V_OLDER = 4;
const V_TS_LOW = 5;
const V_TS_HIGH = 6;
const VERSION_INTS = 7;
const TWO_32 = 4294967296;
const NO_NODES = new Int32Array(0);

function grown(a: Int32Array, atLeast: number): Int32Array {
  let length = a.length * 2;
  while (length < atLeast) length *= 2;
  const b = new Int32Array(length);
  b.set(a);
  return b;
}

/**
 * The memtable's storage: slabs, node and version rows, the hash table and the origins.
 * A node's id is the offset of its row in `nodes`, a version's the offset of its row in
 * `versions`; version ids grow in write order, which is what snapshots compare.
 */
class Rows {
  // Slabs. An allocation's place is returned through allocSlab/allocOffset (no tuple per call).
  private readonly slabs: Buffer[] = [];
  private readonly arenas: ArrayBuffer[] = [];
  private current = -1;
  private used = 0;
  private nextSlabBytes = FIRST_SLAB_BYTES;
  private allocSlab = 0;
  private allocOffset = 0;

  private nodes: Int32Array = new Int32Array(NODE_INTS * 128);
  /** Row HEAD is the placeholder. */
  private nodeTop = NODE_INTS;
  keyCount = 0;
  /**
   * Node ids in key order, each run sorted, larger runs first. A run is replaced by merges,
   * never changed, so an iterator may keep the one it took.
   */
  private readonly runs: Int32Array[] = [];
  /** Node ids added since the last run was cut, in arrival order. */
  private readonly unsorted = new Int32Array(RUN_KEYS);
  private unsortedCount = 0;

  private versions: Int32Array = new Int32Array(VERSION_INTS * 64);
  versionTop = 0;

  /** Node ids by key hash (HEAD: empty), linear probing, at most half full. */
  private table = new Int32Array(128);
  /** The empty slot where the last missed lookup ended. */
  private freeSlot = 0;

  readonly origins = new Interner();

  /** Reserves `n` bytes; a piece too big for the rest of the current slab and over a quarter of the next one gets a slab of its own. */
  private alloc(n: number): void {
    if (this.current >= 0 && this.used + n <= this.slabs[this.current].length) {
      this.allocSlab = this.current;
      this.allocOffset = this.used;
      this.used += n;
      return;
    }
    const dedicated = n > this.nextSlabBytes / 4;
    // Zero-filled by the allocator, off the V8 heap; never written twice, so views stay valid.
    const arena = new ArrayBuffer(dedicated ? n : this.nextSlabBytes);
    this.arenas.push(arena);
    this.slabs.push(Buffer.from(arena));
    this.allocSlab = this.slabs.length - 1;
    this.allocOffset = 0;
    if (dedicated) return;
    this.nextSlabBytes = Math.min(MAX_SLAB_BYTES, this.nextSlabBytes * 2);
    this.current = this.allocSlab;
    this.used = n;
  }

  /** Sign of Buffer.compare(key, key of node n); `prefix` and `prefix2` are key's prefixOf at 0 and 4. */
  private compareKey(key: Buffer, prefix: number, prefix2: number, n: number): number {
    const nodes = this.nodes;
    const p = nodes[n + K_PREFIX];
    if (prefix !== p) return prefix < p ? -1 : 1;
    const p2 = nodes[n + K_PREFIX2];
    if (prefix2 !== p2) return prefix2 < p2 ? -1 : 1;
    const offset = nodes[n + K_OFFSET];
    return compareBytes(key, 0, key.length, this.slabs[nodes[n + K_SLAB]], offset, offset + nodes[n + K_LENGTH]);
  }

  /** Sign of Buffer.compare(key of node a, key of node b). */
  private compareNodes(a: number, b: number): number {
    const nodes = this.nodes;
    const pa = nodes[a + K_PREFIX];
    const pb = nodes[b + K_PREFIX];
    if (pa !== pb) return pa < pb ? -1 : 1;
    const qa = nodes[a + K_PREFIX2];
    const qb = nodes[b + K_PREFIX2];
    if (qa !== qb) return qa < qb ? -1 : 1;
    const oa = nodes[a + K_OFFSET];
    const ob = nodes[b + K_OFFSET];
    return compareBytes(this.slabs[nodes[a + K_SLAB]], oa, oa + nodes[a + K_LENGTH], this.slabs[nodes[b + K_SLAB]], ob, ob + nodes[b + K_LENGTH]);
  }

  /** The node holding `key`, or HEAD (then freeSlot is where it would go). */
  find(key: Buffer, hash: number): number {
    const table = this.table;
    const nodes = this.nodes;
    const mask = table.length - 1;
    const length = key.length;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const n = table[i];
      if (n === HEAD) {
        this.freeSlot = i;
        return HEAD;
      }
      const offset = nodes[n + K_OFFSET];
      if (nodes[n + K_HASH] === hash && nodes[n + K_LENGTH] === length && compareBytes(key, 0, length, this.slabs[nodes[n + K_SLAB]], offset, offset + length) === 0) {
        return n;
      }
    }
  }

  /** Adds a node for `key`, which find() just missed; it joins the key order at the next ordered read. */
  addNode(key: Buffer, hash: number): number {
    const n = this.nodeTop;
    this.nodeTop += NODE_INTS;
    if (this.nodeTop > this.nodes.length) this.nodes = grown(this.nodes, this.nodeTop);
    this.alloc(key.length);
    this.slabs[this.allocSlab].set(key, this.allocOffset);
    const nodes = this.nodes;
    nodes[n + K_SLAB] = this.allocSlab;
    nodes[n + K_OFFSET] = this.allocOffset;
    nodes[n + K_LENGTH] = key.length;
    nodes[n + K_PREFIX] = prefixOf(key, 0);
    nodes[n + K_PREFIX2] = prefixOf(key, 4);
    nodes[n + K_HASH] = hash;
    nodes[n + K_NEWEST] = NO_VERSION;
    this.unsorted[this.unsortedCount++] = n;
    if (this.unsortedCount === RUN_KEYS) this.cutRun();

    this.table[this.freeSlot] = n;
    this.keyCount++;
    if (this.keyCount * 2 > this.table.length) this.growTable();
    return n;
  }

  /** Every node id in key order (a new array when keys were added since the last call). */
  order(): Int32Array {
    if (this.unsortedCount > 0) this.cutRun();
    while (this.runs.length > 1) this.mergeLastRuns();
    return this.runs.length === 1 ? this.runs[0] : NO_NODES;
  }

  /** Sorts the unsorted keys into a run, then merges runs of a size (a binary counter). */
  private cutRun(): void {
    this.runs.push(this.unsorted.slice(0, this.unsortedCount).sort((a, b) => this.compareNodes(a, b)));
    this.unsortedCount = 0;
    const runs = this.runs;
    while (runs.length > 1 && runs[runs.length - 2].length <= runs[runs.length - 1].length) this.mergeLastRuns();
  }

  private mergeLastRuns(): void {
    const b = this.runs.pop() as Int32Array;
    const a = this.runs.pop() as Int32Array;
    const merged = new Int32Array(a.length + b.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < a.length && j < b.length) merged[k++] = this.compareNodes(a[i], b[j]) <= 0 ? a[i++] : b[j++];
    while (i < a.length) merged[k++] = a[i++];
    while (j < b.length) merged[k++] = b[j++];
    this.runs.push(merged);
  }

  /** Appends a version of node n and makes it the newest; `ts` must be a safe integer. */
  addVersion(n: number, value: Uint8Array | null, ts: number, originId: number): void {
    const v = this.versionTop;
    this.versionTop += VERSION_INTS;
    if (this.versionTop > this.versions.length) this.versions = grown(this.versions, this.versionTop);
    const versions = this.versions;
    if (value === null) {
      versions[v + V_LENGTH] = -1;
    } else {
      this.alloc(value.length);
      this.slabs[this.allocSlab].set(value, this.allocOffset);
      versions[v + V_SLAB] = this.allocSlab;
      versions[v + V_OFFSET] = this.allocOffset;
      versions[v + V_LENGTH] = value.length;
    }
    const high = Math.floor(ts / TWO_32);
    versions[v + V_TS_LOW] = ts - high * TWO_32;
    versions[v + V_TS_HIGH] = high;
    versions[v + V_ORIGIN] = originId;
    versions[v + V_OLDER] = this.nodes[n + K_NEWEST];
    this.nodes[n + K_NEWEST] = v;
  }

  /** The index in `order` of the first node whose key is >= `key` (order.length: none). */
  lowerBound(order: Int32Array, key: Buffer): number {
    const prefix = prefixOf(key, 0);
    const prefix2 = prefixOf(key, 4);
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareKey(key, prefix, prefix2, order[mid]) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  newest(n: number): number {
    return this.nodes[n + K_NEWEST];
  }

  /** Node n's newest version with an id below `snapshot` (NO_VERSION: the key is younger). */
  visible(n: number, snapshot: number): number {
    let v = this.nodes[n + K_NEWEST];
    while (v >= snapshot) v = this.versions[v + V_OLDER];
    return v;
  }

  /** Version v of node n, its key and value views into their slabs. */
  entry(n: number, v: number): Entry {
    const nodes = this.nodes;
    const versions = this.versions;
    const length = versions[v + V_LENGTH];
    return {
      key: Buffer.from(this.arenas[nodes[n + K_SLAB]], nodes[n + K_OFFSET], nodes[n + K_LENGTH]),
      value: length < 0 ? null : Buffer.from(this.arenas[versions[v + V_SLAB]], versions[v + V_OFFSET], length),
      ts: versions[v + V_TS_HIGH] * TWO_32 + (versions[v + V_TS_LOW] >>> 0),
      origin: this.origins.string(versions[v + V_ORIGIN]),
    };
  }

  private growTable(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = table.length - 1;
    const nodes = this.nodes;
    for (let n = NODE_INTS; n < this.nodeTop; n += NODE_INTS) {
      let i = nodes[n + K_HASH] & mask;
      while (table[i] !== HEAD) i = (i + 1) & mask;
      table[i] = n;
    }
    this.table = table;
  }
}

export class Memtable {
  private readonly rows = new Rows();
  private byteCount = 0;
  private frozen = false;

  /** Slab bytes written (every version's value, each key once), each origin once, and the fixed overheads above. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Distinct keys. */
  get size(): number {
    return this.rows.keyCount;
  }

  get immutable(): boolean {
    return this.frozen;
  }

  /** Stops further writes: the memtable is about to be flushed and is read concurrently. */
  freeze(): void {
    this.frozen = true;
  }

  /**
   * Stores `entry` as the newest version of its key (the caller decided LWW). Its bytes are
   * copied: the caller's Buffers are not kept.
   */
  put(entry: Entry): void {
    if (this.frozen) throw new Error('internal: write to a frozen memtable');
    const rows = this.rows;
    const key = entry.key;
    const hash = fnv1a(key);
    let n = rows.find(key, hash);
    if (n === HEAD) {
      n = rows.addNode(key, hash);
      this.byteCount += key.length + KEY_OVERHEAD;
    }
    const origins = rows.origins.size;
    const originId = rows.origins.id(entry.origin);
    if (rows.origins.size !== origins) this.byteCount += entry.origin.length;
    rows.addVersion(n, entry.value, entry.ts, originId);
    this.byteCount += (entry.value === null ? 0 : entry.value.length) + VERSION_OVERHEAD;
  }

  /** The newest version of `key`, built now (key and value are views into a slab: do not write to them). */
  get(key: Buffer): Entry | undefined {
    const rows = this.rows;
    const n = rows.find(key, fnv1a(key));
    return n === HEAD ? undefined : rows.entry(n, rows.newest(n));
  }

  /**
   * A cursor over the newest version of each key. With `stable`, a cursor on an active
   * memtable sees it as it was when taken: later writes neither add keys nor change versions
   * for it. A cursor used within one synchronous call (or over a frozen memtable) needs none.
   */
  iterator(stable: boolean): EntryIterator {
    return new MemtableIterator(this.rows, stable && !this.frozen ? this.rows.versionTop : NO_SNAPSHOT);
  }
}

class MemtableIterator implements EntryIterator {
  /** Taken now: keys added later are younger than any snapshot, and an unstable cursor is used at once. */
  private readonly order: Int32Array;
  /** Position in `order`; -1 before the first seek and once exhausted. */
  private at = -1;
  private version = NO_VERSION;
  /** Built on the first entry() call at a position: merging iterators ask for it repeatedly. */
  private current: Entry | undefined;

  constructor(
    private readonly rows: Rows,
    private readonly snapshot: number,
  ) {
    this.order = rows.order();
  }

  valid(): boolean {
    return this.at >= 0;
  }

  entry(): Entry {
    if (this.at < 0) throw new Error('internal: entry() on an exhausted memtable iterator');
    return (this.current ??= this.rows.entry(this.order[this.at], this.version));
  }

  next(): void {
    if (this.at >= 0) this.settle(this.at + 1);
  }

  seek(key: Buffer): void {
    this.settle(this.rows.lowerBound(this.order, key));
  }

  seekToFirst(): void {
    this.settle(0);
  }

  /** Moves to the first node from position i on that has a version in the snapshot. */
  private settle(i: number): void {
    this.current = undefined;
    const order = this.order;
    for (; i < order.length; i++) {
      const v = this.rows.visible(order[i], this.snapshot);
      if (v !== NO_VERSION) {
        this.at = i;
        this.version = v;
        return;
      }
    }
    this.at = -1;
  }
}
