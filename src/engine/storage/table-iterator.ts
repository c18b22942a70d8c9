// A cursor over one SSTable: a two-level iterator (index, then the block it points at) that
// reads data blocks only as the cursor reaches them, a small read-ahead window at first that
// grows while the cursor keeps walking, so a short scan touches few blocks and a long one
// (a compaction) makes few syscalls.

import { BlockIterator } from './block';
import { ReadAhead, type TableReader } from './table-reader';
import type { Entry, EntryIterator } from './types';

export class TableIterator implements EntryIterator {
  private readonly blockIt = new BlockIterator();
  private readonly ahead = new ReadAhead();
  /** Index of the block the cursor is in; blockCount once past the end. */
  private blockIndex: number;

  constructor(private readonly table: TableReader) {
    this.blockIndex = table.blockCount;
  }

  valid(): boolean {
    return this.blockIndex < this.table.blockCount && this.blockIt.valid();
  }

  entry(): Entry {
    if (!this.valid()) throw new RangeError('entry() called on an iterator that is not valid');
    return this.blockIt.entry();
  }

  next(): void {
    if (!this.valid()) return;
    this.blockIt.next();
    if (!this.blockIt.valid()) this.enterBlock(this.blockIndex + 1);
  }

  seekToFirst(): void {
    this.ahead.restart();
    this.enterBlock(0);
  }

  seek(key: Buffer): void {
    const i = this.table.findBlock(key);
    this.blockIndex = i;
    if (i >= this.table.blockCount) return;
    this.ahead.restart();
    this.blockIt.reset(this.table.readBlock(i, this.ahead));
    this.blockIt.seek(key);
    // The block's last key is >= key, so the seek lands inside it unless the index lies; move on rather than stop.
    if (!this.blockIt.valid()) this.enterBlock(i + 1);
  }

  private enterBlock(i: number): void {
    this.blockIndex = i;
    if (i >= this.table.blockCount) return;
    this.blockIt.reset(this.table.readBlock(i, this.ahead));
    this.blockIt.seekToFirst();
  }
}
