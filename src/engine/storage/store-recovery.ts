// Opening a store folder after a clean close or a crash: remove temporary files, replay the
// manifest, delete files it does not list (a flush or compaction that never committed), open
// and verify every live table, and replay the WAL segments the manifest still needs into a
// memtable. Only the newest segment may end in a torn record; it is cut off there.

import * as path from 'node:path';
import { SST_DIR } from './compaction-runner';
import { CorruptionError } from './errors';
import { Manifest, MANIFEST_FILE } from './manifest';
import { Memtable } from './memtable';
import { TableHandle } from './version';
import { TableReader } from './table-reader';
import type { BlockCache } from './block-cache';
import type { CutTail, FileSystem } from './types';
import { decodeEntries, readLog } from './wal-format';

export const WAL_DIR = 'wal';

export function walFileName(n: number): string {
  return path.join(WAL_DIR, `${String(n).padStart(6, '0')}.log`);
}

const NUMBERED = /^(\d+)\.(log|sst)$/;

export interface Recovered {
  manifest: Manifest;
  tables: TableHandle[];
  memtable: Memtable;
  /** Segments the memtable came from, oldest first (the last is appended to next). */
  walSegments: number[];
  nextFile: number;
  /** The torn record cut off the newest WAL segment, if there was one. */
  cutTail: CutTail | undefined;
}

function numbered(fs: FileSystem, dir: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdir(dir)) {
    const m = NUMBERED.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

function removeTemporaries(fs: FileSystem, dirs: string[]): void {
  for (const dir of dirs) {
    let removed = false;
    for (const name of fs.readdir(dir)) {
      if (name.endsWith('.tmp')) {
        fs.unlink(path.join(dir, name));
        removed = true;
      }
    }
    if (removed) fs.fsyncDir(dir);
  }
}

/** Replays one WAL segment into `mem`, cutting a torn last record off the newest segment. */
function replaySegment(fs: FileSystem, file: string, mem: Memtable, newest: boolean): CutTail | undefined {
  const log = readLog(fs, file);
  for (const r of log.records) {
    for (const e of decodeEntries(r.payload, file, r.offset + 12)) mem.put(e);
  }
  if (!log.tornTail) return undefined;
  if (!newest) throw new CorruptionError(file, log.validBytes, 'incomplete record in a WAL segment that is not the newest (it was fsynced whole)');
  fs.truncate(file, log.validBytes);
  const fd = fs.open(file, 'r+');
  try {
    fs.fsync(fd);
  } finally {
    fs.close(fd);
  }
  return { file, keptBytes: log.validBytes, cutBytes: log.bytes.length - log.validBytes };
}

export function recover(fs: FileSystem, dir: string, cache: BlockCache | undefined, deleteTable: (file: string) => () => void, nowMs: number): Recovered {
  const walDir = path.join(dir, WAL_DIR);
  const sstDir = path.join(dir, SST_DIR);
  fs.mkdirp(walDir);
  fs.mkdirp(sstDir);
  removeTemporaries(fs, [dir, walDir, sstDir]);
  const manifestFile = path.join(dir, MANIFEST_FILE);
  if (!fs.exists(manifestFile) && fs.readdir(sstDir).some((name) => NUMBERED.test(name))) {
    // Starting empty would delete every table as unlisted: refuse instead.
    throw new CorruptionError(manifestFile, 0, 'the MANIFEST is missing but sst/ holds tables; restore it or move the tables away');
  }
  const manifest = Manifest.open(fs, dir, nowMs);
  const state = manifest.state;
  const live = new Set([...state.tables.values()].map((t) => t.file));
  const walNumbers = numbered(fs, walDir);
  const sstNumbers = numbered(fs, sstDir);
  let nextFile = Math.max(state.nextFile, ...walNumbers.map((n) => n + 1), ...sstNumbers.map((n) => n + 1));

  for (const name of fs.readdir(sstDir)) {
    if (!live.has(path.join(SST_DIR, name))) fs.unlink(path.join(sstDir, name));
  }
  const walSegments: number[] = [];
  for (const n of walNumbers) {
    if (n < state.logNumber) fs.unlink(path.join(dir, walFileName(n)));
    else walSegments.push(n);
  }

  const tables: TableHandle[] = [];
  try {
    for (const info of state.tables.values()) {
      if (!fs.exists(path.join(dir, info.file))) {
        throw new CorruptionError(manifest.file, 0, `the manifest lists table ${info.file}, which is missing`);
      }
      const reader = TableReader.open(fs, path.join(dir, info.file), cache);
      tables.push(new TableHandle(info, reader, deleteTable(info.file)));
    }
    const memtable = new Memtable();
    let cutTail: CutTail | undefined;
    walSegments.forEach((n, i) => {
      cutTail = replaySegment(fs, path.join(dir, walFileName(n)), memtable, i === walSegments.length - 1) ?? cutTail;
    });
    if (walSegments.length === 0) {
      const n = nextFile++;
      const fd = fs.open(path.join(dir, walFileName(n)), 'w');
      fs.close(fd);
      fs.fsyncDir(walDir);
      walSegments.push(n);
    }
    return { manifest, tables, memtable, walSegments, nextFile, cutTail };
  } catch (err) {
    for (const t of tables) t.close();
    manifest.close();
    throw err;
  }
}
