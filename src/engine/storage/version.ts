// The set of live SSTables as an immutable Version, replaced whole by a flush or compaction so
// a reader never sees half a change. Tables are reference-counted: a table that compaction
// removed stays open and on disk until the last Version or scan using it lets go.

import type { TableReader } from './table-reader';
import type { Entry, SSTableInfo, StoreCounters } from './types';

export class TableHandle {
  private refs = 0;
  private obsolete = false;

  constructor(
    /** `file` is the path relative to the store folder, as the manifest records it. */
    readonly info: SSTableInfo,
    readonly reader: TableReader,
    private readonly deleteFile: () => void,
  ) {}

  ref(): void {
    this.refs++;
  }

  unref(): void {
    if (--this.refs === 0 && this.obsolete) this.dispose();
  }

  /** Compaction replaced this table: delete it once nothing reads it any more. */
  retire(): void {
    this.obsolete = true;
    if (this.refs === 0) this.dispose();
  }

  private dispose(): void {
    this.reader.close();
    if (this.obsolete) this.deleteFile();
  }

  /** Closes the file without deleting it (the store is closing). */
  close(): void {
    this.reader.close();
  }
}

function byMinKey(a: TableHandle, b: TableHandle): number {
  return Buffer.compare(a.info.minKey, b.info.minKey);
}

export class Version {
  /** levels[0] newest first (tables overlap); deeper levels sorted by key and disjoint. */
  readonly levels: readonly (readonly TableHandle[])[];

  constructor(levels: readonly (readonly TableHandle[])[]) {
    const out: TableHandle[][] = [];
    for (let i = 0; i < levels.length; i++) {
      const tables = levels[i].slice();
      tables.sort(i === 0 ? (a, b) => b.info.id - a.info.id : byMinKey);
      out.push(tables);
    }
    while (out.length > 1 && out[out.length - 1].length === 0) out.pop();
    if (out.length === 0) out.push([]);
    this.levels = out;
  }

  static empty(): Version {
    return new Version([[]]);
  }

  /** Builds the version that `handles` describe (on open), placing each at its level. */
  static of(handles: TableHandle[]): Version {
    const levels: TableHandle[][] = [[]];
    for (const h of handles) {
      while (levels.length <= h.info.level) levels.push([]);
      levels[h.info.level].push(h);
    }
    return new Version(levels);
  }

  tables(): TableHandle[] {
    return this.levels.flat();
  }

  ref(): void {
    for (const level of this.levels) for (const t of level) t.ref();
  }

  unref(): void {
    for (const level of this.levels) for (const t of level) t.unref();
  }

  /** The levels as the compaction policy and the UI see them. */
  infos(): SSTableInfo[][] {
    return this.levels.map((level) => level.map((t) => t.info));
  }

  /** A new version with `added` in place and the tables numbered in `removed` gone. */
  edit(added: TableHandle[], removed: ReadonlySet<number>): Version {
    const kept = this.tables().filter((t) => !removed.has(t.info.id));
    return Version.of([...kept, ...added]);
  }

  /**
   * The newest version of `key` in the tables, newest source first: a write only lands when it
   * beats every stored version, so the first table holding the key holds its winner. With
   * `skip`, the newest that it does not reject (older levels hold older versions).
   */
  get(key: Buffer, counters: StoreCounters, skip?: (e: Entry) => boolean): Entry | undefined {
    const levels = this.levels;
    for (const t of levels[0]) {
      const found = this.probe(t, key, counters);
      if (found && !skip?.(found)) return found;
    }
    for (let l = 1; l < levels.length; l++) {
      const level = levels[l];
      // The one table whose range can hold the key: the last with minKey <= key.
      let lo = 0;
      let hi = level.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (Buffer.compare(level[mid].info.minKey, key) <= 0) lo = mid + 1;
        else hi = mid;
      }
      if (lo === 0) continue;
      const found = this.probe(level[lo - 1], key, counters);
      if (found && !skip?.(found)) return found;
    }
    return undefined;
  }

  private probe(t: TableHandle, key: Buffer, counters: StoreCounters): Entry | undefined {
    const r = t.reader.get(key);
    if (r.bloomSkipped) counters.bloomSkips++;
    else if (r.falsePositive) counters.bloomFalsePositives++;
    return r.entry;
  }
}
