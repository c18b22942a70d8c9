// The memtable: the newest version of each recently written key, in key order. Keys are held
// as latin1 strings, whose code units are the key's bytes, so the B+ tree compares them in
// byte order with the engine's native string comparison (several times faster than Buffer.compare).
// A hash map beside the tree answers point reads in O(1): every write first reads its key (for
// Last-Write-Wins), and a tree descent per read cost a quarter of the write path.

import BTree from 'sorted-btree';
import type { Entry, EntryIterator } from './types';

/** Bookkeeping bytes per entry on top of key, value and origin (tree node slot, object headers). */
const ENTRY_OVERHEAD = 48;

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function entryBytes(entry: Entry): number {
  return entry.key.length + (entry.value === null ? 0 : entry.value.length) + entry.origin.length + ENTRY_OVERHEAD;
}

export class Memtable {
  private readonly tree = new BTree<string, Entry>(undefined, compareStrings);
  private readonly byKey = new Map<string, Entry>();
  private byteCount = 0;
  private frozen = false;

  get bytes(): number {
    return this.byteCount;
  }

  get size(): number {
    return this.tree.size;
  }

  get immutable(): boolean {
    return this.frozen;
  }

  /** Stops further writes: the memtable is about to be flushed and is read concurrently. */
  freeze(): void {
    this.frozen = true;
  }

  /** Stores `entry` as the version of its key, replacing any older one (the caller decided LWW). */
  put(entry: Entry, keyString: string = entry.key.toString('latin1')): void {
    if (this.frozen) throw new Error('internal: write to a frozen memtable');
    const old = this.byKey.get(keyString);
    if (old !== undefined) this.byteCount -= entryBytes(old);
    this.byKey.set(keyString, entry);
    this.tree.set(keyString, entry);
    this.byteCount += entryBytes(entry);
  }

  get(keyString: string): Entry | undefined {
    return this.byKey.get(keyString);
  }

  /**
   * A cursor over the entries. With `stable`, an active memtable is iterated through an O(1)
   * copy-on-write clone so writes made while the cursor lives do not disturb it; a cursor used
   * within one synchronous call (or over a frozen memtable) needs no clone.
   */
  iterator(stable: boolean): EntryIterator {
    return new MemtableIterator(stable && !this.frozen ? this.tree.clone() : this.tree);
  }

  /** Entries in key order (flushes read a frozen memtable this way). */
  values(): IterableIterator<Entry> {
    return this.tree.values();
  }
}

class MemtableIterator implements EntryIterator {
  private it: IterableIterator<[string, Entry]> | undefined;
  private current: Entry | undefined;

  constructor(private readonly tree: BTree<string, Entry>) {}

  valid(): boolean {
    return this.current !== undefined;
  }

  entry(): Entry {
    if (this.current === undefined) throw new Error('internal: entry() on an exhausted memtable iterator');
    return this.current;
  }

  next(): void {
    const r = this.it?.next();
    this.current = r && !r.done ? r.value[1] : undefined;
  }

  seek(key: Buffer): void {
    this.it = this.tree.entries(key.toString('latin1'));
    this.next();
  }

  seekToFirst(): void {
    this.it = this.tree.entries();
    this.next();
  }
}
