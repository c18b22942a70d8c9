// The memtable: every version written to recently written keys, in key order, held without a
// JS object per entry. A memtable lives until its flush, so whatever it keeps survives young-
// generation GC and gets copied by every scavenge; a cluster benchmark spent 100-170 ms per 2 s
// per node in scavenges, mostly on memtable objects. So keys and values are copied into large
// off-heap slabs (append-only, so views handed out stay valid), origins are interned, and the
// index is a LevelDB-style skiplist whose nodes are rows of typed arrays, beside an
// open-addressing hash table for point reads: every write first reads its key (Last-Write-Wins),
// so get() is as hot as put(). Entries are built on demand, their key and value zero-copy views
// into a slab; they die young.
//
// A replaced key keeps its older versions in a chain. Version ids are allocated in write order,
// so a stable cursor is just the version count when it was taken: it reads, per key, the newest
// version below that count and skips keys whose oldest version is not below it.

import { fnv1a } from '../codec/fnv1a';
import { compareBytes } from './block-keys';
import type { Entry, EntryIterator } from './types';

/**
 * What `Memtable.bytes` charges on top of the bytes copied into slabs (keys once, every
 * value version, replaced ones included, since a slab cannot give them back) and each distinct
 * origin's length once: per key its index row, links and hash slots; per version its row.
 * Growth slack of the typed arrays is folded into both.
 */
export const KEY_OVERHEAD = 48;
export const VERSION_OVERHEAD = 32;

const FIRST_SLAB_BYTES = 64 * 1024;
const MAX_SLAB_BYTES = 1024 * 1024;
/** LevelDB's: a node has height h+1 with probability 1/4^h, capped (4^12 keys is plenty). */
const MAX_HEIGHT = 12;
/** Node 0 is the skiplist head (no key); as a link or hash slot it means "none". */
const HEAD = 0;
const NO_VERSION = -1;
const NO_SNAPSHOT = 0x7fffffff;
const SIGN_BIT = 0x80000000;

/** The first four key bytes, zero-padded, with the sign bit flipped so signed compares order them like bytes. */
function prefixOf(key: Uint8Array): number {
  const n = key.length;
  return ((n > 0 ? key[0] << 24 : 0) | (n > 1 ? key[1] << 16 : 0) | (n > 2 ? key[2] << 8 : 0) | (n > 3 ? key[3] : 0)) ^ SIGN_BIT;
}

// Row layouts. A node (key) and a version are each one run of int32s, so a lookup or a cursor
// step touches one or two cache lines rather than one per field.
const K_SLAB = 0;
const K_OFFSET = 1;
const K_LENGTH = 2;
const K_PREFIX = 3;
const K_HASH = 4;
const K_NEWEST = 5;
/** Links (next node per level) follow, one per level of the node's height. */
const K_LINKS = 6;
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
  private readonly slabs: Uint8Array[] = [];
  private readonly arenas: ArrayBuffer[] = [];
  private current = -1;
  private used = 0;
  private nextSlabBytes = FIRST_SLAB_BYTES;
  private allocSlab = 0;
  private allocOffset = 0;

  private nodes: Int32Array = new Int32Array(1024);
  /** The head's row is at HEAD with every level's link. */
  private nodeTop = K_LINKS + MAX_HEIGHT;
  keyCount = 0;
  private listHeight = 1;
  private readonly preds = new Int32Array(MAX_HEIGHT);

  private versions: Int32Array = new Int32Array(VERSION_INTS * 64);
  versionTop = 0;

  /** Node ids by key hash (HEAD: empty), linear probing, at most half full. */
  private table = new Int32Array(128);
  /** The empty slot where the last missed lookup ended. */
  private freeSlot = 0;

  private readonly origins: string[] = [];
  private readonly originIds = new Map<string, number>();
  private lastOrigin: string | undefined;
  private lastOriginId = 0;

  get originCount(): number {
    return this.origins.length;
  }

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
    this.slabs.push(new Uint8Array(arena));
    this.allocSlab = this.slabs.length - 1;
    this.allocOffset = 0;
    if (dedicated) return;
    this.nextSlabBytes = Math.min(MAX_SLAB_BYTES, this.nextSlabBytes * 2);
    this.current = this.allocSlab;
    this.used = n;
  }

  /** Sign of Buffer.compare(key, key of node n); `prefix` is prefixOf(key). */
  private compare(key: Buffer, prefix: number, n: number): number {
    const nodes = this.nodes;
    const p = nodes[n + K_PREFIX];
    if (prefix !== p) return prefix < p ? -1 : 1;
    const offset = nodes[n + K_OFFSET];
    return compareBytes(key, 0, key.length, this.slabs[nodes[n + K_SLAB]], offset, offset + nodes[n + K_LENGTH]);
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

  /** Adds a node for `key`, which find() just missed, and links it in key order. */
  addNode(key: Buffer, hash: number): number {
    let height = 1;
    while (height < MAX_HEIGHT && Math.random() < 0.25) height++;
    if (height > this.listHeight) this.listHeight = height;
    const n = this.nodeTop;
    this.nodeTop += K_LINKS + height;
    if (this.nodeTop > this.nodes.length) this.nodes = grown(this.nodes, this.nodeTop);
    this.alloc(key.length);
    this.slabs[this.allocSlab].set(key, this.allocOffset);
    const prefix = prefixOf(key);
    const nodes = this.nodes;
    nodes[n + K_SLAB] = this.allocSlab;
    nodes[n + K_OFFSET] = this.allocOffset;
    nodes[n + K_LENGTH] = key.length;
    nodes[n + K_PREFIX] = prefix;
    nodes[n + K_HASH] = hash;
    nodes[n + K_NEWEST] = NO_VERSION;

    const preds = this.preds;
    let x = HEAD;
    for (let level = this.listHeight - 1; level >= 0; level--) {
      for (;;) {
        const next = nodes[x + K_LINKS + level];
        if (next === HEAD || this.compare(key, prefix, next) < 0) break;
        x = next;
      }
      preds[level] = x;
    }
    for (let level = 0; level < height; level++) {
      const at = preds[level] + K_LINKS + level;
      nodes[n + K_LINKS + level] = nodes[at];
      nodes[at] = n;
    }

    this.table[this.freeSlot] = n;
    this.keyCount++;
    if (this.keyCount * 2 > this.table.length) this.growTable();
    return n;
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

  /** The origin's id, interning it if new: entries carry the first string stored for it. */
  originId(origin: string): number {
    if (origin === this.lastOrigin) return this.lastOriginId;
    let id = this.originIds.get(origin);
    if (id === undefined) {
      id = this.origins.length;
      this.origins.push(origin);
      this.originIds.set(origin, id);
    }
    this.lastOrigin = origin;
    this.lastOriginId = id;
    return id;
  }

  /** The first node whose key is >= `key` (HEAD: none). */
  seek(key: Buffer): number {
    const prefix = prefixOf(key);
    const nodes = this.nodes;
    let x = HEAD;
    for (let level = this.listHeight - 1; level >= 0; level--) {
      for (;;) {
        const next = nodes[x + K_LINKS + level];
        if (next === HEAD || this.compare(key, prefix, next) <= 0) break;
        x = next;
      }
    }
    return nodes[x + K_LINKS];
  }

  successor(n: number): number {
    return this.nodes[n + K_LINKS];
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
      origin: this.origins[versions[v + V_ORIGIN]],
    };
  }

  private growTable(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = table.length - 1;
    const nodes = this.nodes;
    for (let n = nodes[HEAD + K_LINKS]; n !== HEAD; n = nodes[n + K_LINKS]) {
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
    const origins = rows.originCount;
    const originId = rows.originId(entry.origin);
    if (rows.originCount !== origins) this.byteCount += entry.origin.length;
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
  private node = HEAD;
  private version = NO_VERSION;
  /** Built on the first entry() call at a position: merging iterators ask for it repeatedly. */
  private current: Entry | undefined;

  constructor(
    private readonly rows: Rows,
    private readonly snapshot: number,
  ) {}

  valid(): boolean {
    return this.node !== HEAD;
  }

  entry(): Entry {
    if (this.node === HEAD) throw new Error('internal: entry() on an exhausted memtable iterator');
    return (this.current ??= this.rows.entry(this.node, this.version));
  }

  next(): void {
    if (this.node !== HEAD) this.settle(this.rows.successor(this.node));
  }

  seek(key: Buffer): void {
    this.settle(this.rows.seek(key));
  }

  seekToFirst(): void {
    this.settle(this.rows.successor(HEAD));
  }

  /** Moves to the first node from n on that has a version in the snapshot. */
  private settle(n: number): void {
    this.current = undefined;
    const rows = this.rows;
    for (; n !== HEAD; n = rows.successor(n)) {
      const v = rows.visible(n, this.snapshot);
      if (v !== NO_VERSION) {
        this.node = n;
        this.version = v;
        return;
      }
    }
    this.node = HEAD;
  }
}
