// The read side of the Store that is not a point lookup: one merged cursor over every source
// that can hold keys of a range, and the walk that turns it into the entries a scan returns.

import type { Memtable } from './memtable';
import { MergingIterator } from './merging-iterator';
import { isPurgeMarker, type Entry, type EntryIterator, type ScanOptions } from './types';
import type { Version } from './version';

/**
 * One cursor over the memtables and the tables of `version` that overlap [start, end).
 * `stable` cursors survive later writes to the active memtable (lazy scans need that).
 * Empty memtables are left out, so a compacted store with one table scans it without a merge.
 */
export function rangeCursor(active: Memtable, immutables: readonly Memtable[], version: Version, options: ScanOptions, stable: boolean): EntryIterator {
  const children: EntryIterator[] = [];
  if (active.size > 0) children.push(active.iterator(stable));
  // Newest source first: the merge ranks purge markers by it (merging-iterator.ts).
  for (let i = immutables.length - 1; i >= 0; i--) children.push(immutables[i].iterator(stable));
  const { start, end } = options;
  for (const level of version.levels) {
    for (const t of level) {
      if (start !== undefined && Buffer.compare(t.info.maxKey, start) < 0) continue;
      if (end !== undefined && Buffer.compare(t.info.minKey, end) >= 0) continue;
      children.push(t.reader.iterator());
    }
  }
  return children.length === 1 ? children[0] : new MergingIterator(children);
}

/** The entries of `it` in [start, end), tombstones only if asked (purge markers never), at most `limit`. */
export function* entriesInRange(it: EntryIterator, options: ScanOptions): Generator<Entry, void, undefined> {
  const end = options.end;
  const limit = options.limit ?? Infinity;
  const tombstones = options.includeTombstones === true;
  let n = 0;
  for (options.start ? it.seek(options.start) : it.seekToFirst(); it.valid() && n < limit; it.next()) {
    const e = it.entry();
    if (end !== undefined && Buffer.compare(e.key, end) >= 0) return;
    if (e.value === null && (!tombstones || isPurgeMarker(e))) continue;
    n++;
    yield e;
  }
}
