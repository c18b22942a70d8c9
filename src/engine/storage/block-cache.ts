// A least-recently-used cache of verified data blocks, bounded by bytes, shared by every table
// of a store. Keyed by (table identity, block offset): tables are immutable, so a cached block
// never goes stale; a closed table drops its blocks. Lookups are two Map probes and a list
// splice, with no key strings built, because a get does one per table it reads.

import type { Block } from './block';

interface Node {
  table: number;
  offset: number;
  block: Block;
  prev: Node | undefined;
  next: Node | undefined;
}

let nextTableId = 1;

/** A process-unique identity for a table reader's blocks in the cache. */
export function newTableCacheId(): number {
  return nextTableId++;
}

export class BlockCache {
  private readonly byTable = new Map<number, Map<number, Node>>();
  /** Most recently used first. */
  private head: Node | undefined;
  private tail: Node | undefined;
  private used = 0;
  private hitCount = 0;
  private missCount = 0;

  constructor(readonly capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0) {
      throw new RangeError(`block cache capacity must be a non-negative integer number of bytes (0 disables it), got ${capacityBytes}`);
    }
  }

  get hits(): number {
    return this.hitCount;
  }

  get misses(): number {
    return this.missCount;
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Number of cached blocks. */
  get blocks(): number {
    let n = 0;
    for (const m of this.byTable.values()) n += m.size;
    return n;
  }

  get(table: number, offset: number): Block | undefined {
    const node = this.byTable.get(table)?.get(offset);
    if (!node) {
      this.missCount++;
      return undefined;
    }
    this.hitCount++;
    if (node !== this.head) {
      this.unlink(node);
      this.pushFront(node);
    }
    return node.block;
  }

  /** Caches `block`, evicting least recently used blocks until it fits. Blocks larger than the whole cache are not kept. */
  put(table: number, offset: number, block: Block): void {
    const charge = block.size;
    if (charge > this.capacityBytes) return;
    const existing = this.byTable.get(table)?.get(offset);
    if (existing) this.remove(existing);
    while (this.used + charge > this.capacityBytes && this.tail) this.remove(this.tail);
    // Looked up only now: removals above may have dropped this table's map when they took its last block.
    let perTable = this.byTable.get(table);
    if (!perTable) {
      perTable = new Map();
      this.byTable.set(table, perTable);
    }
    const node: Node = { table, offset, block, prev: undefined, next: undefined };
    perTable.set(offset, node);
    this.pushFront(node);
    this.used += charge;
  }

  /** Drops every block of one table (called when the table is closed or deleted). */
  evictTable(table: number): void {
    const perTable = this.byTable.get(table);
    if (!perTable) return;
    for (const node of perTable.values()) {
      this.unlink(node);
      this.used -= node.block.size;
    }
    this.byTable.delete(table);
  }

  private remove(node: Node): void {
    this.unlink(node);
    this.used -= node.block.size;
    const perTable = this.byTable.get(node.table)!;
    perTable.delete(node.offset);
    if (perTable.size === 0) this.byTable.delete(node.table);
  }

  private pushFront(node: Node): void {
    node.prev = undefined;
    node.next = this.head;
    if (this.head) this.head.prev = node;
    this.head = node;
    if (!this.tail) this.tail = node;
  }

  private unlink(node: Node): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
  }
}
