// Merges sorted children (memtables, tables) into one sorted cursor with ONE entry per key:
// the winning version by compareVersions, whichever child holds it. Children are not ranked
// by age because Last-Write-Wins on Lamport timestamps lets an old source hold the newest
// version (a late replicated write). Tombstones are yielded; hiding them is the caller's choice.
//
// A binary min-heap on the children's current keys gives O(log k) per step. The children on
// the current key form a subtree at the root (heap order), so finding the winner and stepping
// past the key walk only that subtree.
//
// Children come newest source first (the store passes memtables, then L0 newest first, then deeper
// levels). A purge marker (types.ts) has no version to compete with, so it goes by that order
// instead: it hides every version of its key held by an older source, and loses to newer ones.

import { compareKeys } from './block-keys';
import { compareVersions, isPurgeMarker, type Entry, type EntryIterator } from './types';

export class MergingIterator implements EntryIterator {
  private readonly children: EntryIterator[];
  /** Valid children, heap-ordered by current key. */
  private readonly heap: EntryIterator[] = [];
  private current: Entry | undefined;
  /** The child `current` came from. */
  private currentChild: EntryIterator | undefined;
  /** Scratch stack for walking the subtree of children on the current key. */
  private readonly stack: number[] = [];

  /** Each child's age rank: 0 is the newest source. */
  private readonly rank = new Map<EntryIterator, number>();

  constructor(children: EntryIterator[]) {
    this.children = children.slice();
    this.children.forEach((c, i) => this.rank.set(c, i));
  }

  valid(): boolean {
    return this.current !== undefined;
  }

  entry(): Entry {
    if (this.current === undefined) throw new RangeError('entry() called on an iterator that is not valid');
    return this.current;
  }

  /** Which child (its index in the constructor's list) the current entry came from. */
  source(): number {
    if (this.currentChild === undefined) throw new RangeError('source() called on an iterator that is not valid');
    return this.rank.get(this.currentChild) ?? 0;
  }

  seekToFirst(): void {
    for (const child of this.children) child.seekToFirst();
    this.rebuild();
  }

  seek(key: Buffer): void {
    for (const child of this.children) child.seek(key);
    this.rebuild();
  }

  next(): void {
    const current = this.current;
    if (current === undefined) return;
    const key = current.key;
    const heap = this.heap;
    // Every child on this key sits at the root in turn until all have moved past it.
    while (heap.length > 0 && compareKeys(heap[0].entry().key, key) === 0) {
      const top = heap[0];
      top.next();
      if (top.valid()) {
        this.siftDown(0);
      } else {
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          this.siftDown(0);
        }
      }
    }
    this.settle();
  }

  private rebuild(): void {
    const heap = this.heap;
    heap.length = 0;
    for (const child of this.children) if (child.valid()) heap.push(child);
    for (let i = (heap.length >>> 1) - 1; i >= 0; i--) this.siftDown(i);
    this.settle();
  }

  /** Picks the winning version among the children on the smallest key. */
  private settle(): void {
    const heap = this.heap;
    if (heap.length === 0) {
      this.current = undefined;
      this.currentChild = undefined;
      return;
    }
    let bestChild = heap[0];
    let best = bestChild.entry();
    const key = best.key;
    let markerRank = isPurgeMarker(best) ? this.rank.get(heap[0]) ?? 0 : -1;
    const stack = this.stack;
    stack.length = 0;
    stack.push(1, 2);
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (i >= heap.length) continue;
      const e = heap[i].entry();
      if (compareKeys(e.key, key) !== 0) continue;
      if (isPurgeMarker(e)) {
        const r = this.rank.get(heap[i]) ?? 0;
        if (markerRank < 0 || r < markerRank) markerRank = r;
      } else if (isPurgeMarker(best) || compareVersions(e, best) > 0) {
        best = e;
        bestChild = heap[i];
      }
      stack.push(2 * i + 1, 2 * i + 2);
    }
    if (markerRank >= 0) bestChild = this.afterPurge(key, markerRank);
    this.currentChild = bestChild;
    this.current = bestChild.entry();
  }

  /** The child with the newest version of `key` from a source newer than the purge marker of rank `markerRank`, else the marker's. */
  private afterPurge(key: Buffer, markerRank: number): EntryIterator {
    const heap = this.heap;
    let best: EntryIterator | undefined;
    let marker: EntryIterator | undefined;
    const stack = this.stack;
    stack.length = 0;
    stack.push(0);
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (i >= heap.length) continue;
      const e = heap[i].entry();
      if (compareKeys(e.key, key) !== 0) continue;
      const r = this.rank.get(heap[i]) ?? 0;
      if (r === markerRank) marker = heap[i];
      else if (r < markerRank && !isPurgeMarker(e) && (!best || compareVersions(e, best.entry()) > 0)) best = heap[i];
      stack.push(2 * i + 1, 2 * i + 2);
    }
    return best ?? (marker as EntryIterator);
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[i];
    const itemKey = item.entry().key;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let childKey = heap[left].entry().key;
      if (right < n) {
        const rightKey = heap[right].entry().key;
        if (compareKeys(rightKey, childKey) < 0) {
          child = right;
          childKey = rightKey;
        }
      }
      if (compareKeys(childKey, itemKey) >= 0) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = item;
  }
}
