// Writes sorted entries into new SSTables: the I/O half of a flush (one memtable -> one L0
// table) and of a compaction (merged inputs -> tables of about `splitBytes` each). Each table
// is built under a temporary name, fsynced, renamed and its folder fsynced, so a crash leaves
// only *.tmp files, which open removes. The work yields to the event loop every few thousand
// entries so writes and reads keep being served while it runs.

import * as path from 'node:path';
import { Slices } from '../event-loop';
import { TableBuilder, type TableBuilderOptions, type TableProperties } from './table-builder';
import type { Entry, EntryIterator, FileSystem } from './types';

export const SST_DIR = 'sst';

/** A slice per 1,024 entries, however fast: a flush competes with the writes it frees room for. */
const SLICE = { items: 1024, ms: 0 };

export interface BuildTarget {
  fs: FileSystem;
  /** The store folder; tables go to `<dir>/sst/NNNNNN.sst`. */
  dir: string;
  table: TableBuilderOptions;
  /** Hands out file numbers (the store persists the counter in the manifest). */
  allocateFile(): number;
  /** Checked between slices: true abandons the work (the store is closing). */
  cancelled(): boolean;
}

export interface BuiltTable {
  id: number;
  /** Relative to the store folder. */
  file: string;
  properties: TableProperties;
}

/** Thrown out of buildTables when the target asked to stop; nothing it wrote remains. */
export class BuildCancelledError extends Error {
  constructor() {
    super('table build cancelled: the store is closing');
  }
}

export function tableFileName(id: number): string {
  return path.join(SST_DIR, `${String(id).padStart(6, '0')}.sst`);
}

/**
 * Writes every entry of `source` (from its first) into new tables, skipping the tombstones
 * `dropTombstone` accepts, starting a new table once one reaches `splitBytes` (0: never split).
 * Returns the tables in key order, durable under their final names.
 */
export async function buildTables(
  source: EntryIterator,
  target: BuildTarget,
  options: { dropTombstone: ((tombstone: Entry) => boolean) | undefined; splitBytes: number },
): Promise<BuiltTable[]> {
  const { fs, dir } = target;
  const built: BuiltTable[] = [];
  let builder: TableBuilder | undefined;
  let id = 0;

  const finishOne = async (): Promise<void> => {
    if (!builder) return;
    const properties = await builder.finish();
    const file = tableFileName(id);
    fs.rename(builder.file, path.join(dir, file));
    built.push({ id, file, properties });
    builder = undefined;
  };

  try {
    const slices = new Slices(SLICE);
    for (source.seekToFirst(); source.valid(); source.next()) {
      const entry = source.entry();
      if (entry.value === null && options.dropTombstone?.(entry)) continue;
      if (!builder) {
        id = target.allocateFile();
        builder = new TableBuilder(fs, path.join(dir, tableFileName(id) + '.tmp'), target.table);
      }
      builder.add(entry);
      if (options.splitBytes > 0 && builder.estimatedBytes() >= options.splitBytes) await finishOne();
      if (slices.due()) {
        await slices.next();
        if (target.cancelled()) throw new BuildCancelledError();
      }
    }
    await finishOne();
    // In the thread pool, as the tables' own fsyncs: under load this one took up to 28 ms.
    await fs.fsyncDirAsync(path.join(dir, SST_DIR));
    return built;
  } catch (err) {
    builder?.abandon();
    for (const t of built) {
      try {
        fs.unlink(path.join(dir, t.file));
      } catch {
        // Best effort: a table missing from the manifest is removed on the next open anyway.
      }
    }
    throw err;
  }
}
