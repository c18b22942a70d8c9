// The MANIFEST: a log of edits (tables added and removed, next file number, oldest live WAL
// segment) replayed on open, after LevelDB's version_edit. Each edit is one framed record
// (wal-format.ts) holding JSON: edits are rare (one per flush or compaction) and readable
// JSON makes the file inspectable. When the log grows it is rewritten as one snapshot edit
// through a temporary file, fsync and rename.

import * as path from 'node:path';
import { CorruptionError } from './errors';
import type { FileSystem, SSTableInfo } from './types';
import { frameRecord, readLog } from './wal-format';

export const MANIFEST_FILE = 'MANIFEST';

/** A live table as the manifest records it; `file` is relative to the store folder. */
export type TableRecord = SSTableInfo;

export interface ManifestEdit {
  nextFile?: number;
  /** WAL segments numbered below this are flushed into tables and may be deleted. */
  logNumber?: number;
  add?: TableRecord[];
  remove?: number[];
}

export interface ManifestState {
  nextFile: number;
  logNumber: number;
  tables: Map<number, TableRecord>;
}

interface JsonTable extends Omit<TableRecord, 'minKey' | 'maxKey'> {
  minKey: string;
  maxKey: string;
}

interface JsonEdit {
  nextFile?: number;
  logNumber?: number;
  add?: JsonTable[];
  remove?: number[];
}

/** Rewrite the log once it is this much larger than a snapshot of the state. */
const REWRITE_FACTOR = 4;
const MIN_REWRITE_BYTES = 64 * 1024;

function encodeEdit(edit: ManifestEdit): Buffer {
  const json: JsonEdit = {
    ...edit,
    add: edit.add?.map((t) => ({ ...t, minKey: t.minKey.toString('hex'), maxKey: t.maxKey.toString('hex') })),
  };
  return frameRecord(Buffer.from(JSON.stringify(json), 'utf8'));
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * A manifest written before tables recorded newestWriteMs: such a table is taken as written at
 * `openedAtMs`, which keeps its tombstones a whole grace longer rather than dropping them early.
 */
function decodeTable(t: unknown, openedAtMs: number): TableRecord | undefined {
  if (typeof t !== 'object' || t === null) return undefined;
  const r = t as Record<string, unknown>;
  const counts = ['id', 'level', 'entries', 'tombstones', 'bytes', 'bloomBits'];
  if (!counts.every((k) => isCount(r[k]))) return undefined;
  if (typeof r.file !== 'string' || typeof r.minKey !== 'string' || typeof r.maxKey !== 'string') return undefined;
  if (r.newestWriteMs !== undefined && !isCount(r.newestWriteMs)) return undefined;
  return {
    id: r.id as number,
    level: r.level as number,
    file: r.file,
    minKey: Buffer.from(r.minKey, 'hex'),
    maxKey: Buffer.from(r.maxKey, 'hex'),
    entries: r.entries as number,
    tombstones: r.tombstones as number,
    bytes: r.bytes as number,
    bloomBits: r.bloomBits as number,
    newestWriteMs: (r.newestWriteMs as number | undefined) ?? openedAtMs,
  };
}

/** Applies one decoded edit to `state`; a malformed edit is corruption at `offset`. */
function applyJson(state: ManifestState, payload: Buffer, file: string, offset: number, openedAtMs: number): void {
  const fail = (detail: string): never => {
    throw new CorruptionError(file, offset, `manifest edit ${detail}`);
  };
  let edit: JsonEdit;
  try {
    edit = JSON.parse(payload.toString('utf8')) as JsonEdit;
  } catch {
    return fail('is not valid JSON');
  }
  if (typeof edit !== 'object' || edit === null) fail('is not an object');
  if (edit.nextFile !== undefined) {
    if (!isCount(edit.nextFile)) fail('has a bad nextFile');
    state.nextFile = Math.max(state.nextFile, edit.nextFile);
  }
  if (edit.logNumber !== undefined) {
    if (!isCount(edit.logNumber)) fail('has a bad logNumber');
    state.logNumber = Math.max(state.logNumber, edit.logNumber);
  }
  for (const id of edit.remove ?? []) {
    if (!state.tables.delete(id)) fail(`removes table ${id}, which is not live`);
  }
  for (const raw of edit.add ?? []) {
    const table = decodeTable(raw, openedAtMs) ?? fail('adds a malformed table');
    state.tables.set(table.id, table);
  }
}

export class Manifest {
  private fd: number;
  private logBytes: number;
  /** The edit being appended; edits are appended one after another, in call order. */
  private appending: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    readonly state: ManifestState,
    private readonly openedAtMs: number,
  ) {
    this.logBytes = this.rewrite();
    this.fd = fs.open(this.file, 'a');
  }

  get file(): string {
    return path.join(this.dir, MANIFEST_FILE);
  }

  /**
   * Replays the manifest in `dir`, or starts an empty one. A torn last edit (a crash during
   * an append) is dropped; any other damage is a CorruptionError with file and offset. The
   * replayed state is rewritten as a fresh single-edit log, which also discards a torn tail.
   */
  static open(fs: FileSystem, dir: string, openedAtMs: number = Date.now()): Manifest {
    const file = path.join(dir, MANIFEST_FILE);
    const state: ManifestState = { nextFile: 1, logNumber: 0, tables: new Map() };
    if (fs.exists(file)) {
      const log = readLog(fs, file);
      if (log.records.length === 0) throw new CorruptionError(file, 0, 'the manifest holds no complete edit');
      for (const r of log.records) applyJson(state, r.payload, file, r.offset, openedAtMs);
    }
    return new Manifest(fs, dir, state, openedAtMs);
  }

  /**
   * Appends `edit` durably, then applies it to `state`. The fsync runs in the thread pool: every
   * flush and compaction ends with an edit, and on the event loop its fsync held a loaded node
   * up for up to 21 ms. Edits are appended in call order; each resolves once it is durable.
   */
  apply(edit: ManifestEdit): Promise<void> {
    const applied = this.appending.then(() => this.append(edit));
    this.appending = applied.catch(() => undefined);
    return applied;
  }

  private async append(edit: ManifestEdit): Promise<void> {
    for (const id of edit.remove ?? []) {
      if (!this.state.tables.has(id)) throw new Error(`internal: manifest edit removes table ${id}, which is not live`);
    }
    const record = encodeEdit(edit);
    this.fs.write(this.fd, record);
    await this.fs.fsyncAsync(this.fd);
    this.logBytes += record.length;
    applyJson(this.state, record.subarray(12), this.file, this.logBytes - record.length, this.openedAtMs);
    if (this.logBytes > Math.max(MIN_REWRITE_BYTES, REWRITE_FACTOR * this.snapshotBytes())) {
      this.fs.close(this.fd);
      this.logBytes = this.rewrite();
      this.fd = this.fs.open(this.file, 'a');
    }
  }

  private snapshotEdit(): ManifestEdit {
    return { nextFile: this.state.nextFile, logNumber: this.state.logNumber, add: [...this.state.tables.values()] };
  }

  private snapshotBytes(): number {
    return 200 * (this.state.tables.size + 1);
  }

  /** Replaces the log with one snapshot edit (temp file, fsync, rename, fsync folder). */
  private rewrite(): number {
    const record = encodeEdit(this.snapshotEdit());
    const tmp = this.file + '.tmp';
    const fd = this.fs.open(tmp, 'w');
    try {
      this.fs.write(fd, record, 0);
      this.fs.fsync(fd);
    } finally {
      this.fs.close(fd);
    }
    this.fs.rename(tmp, this.file);
    this.fs.fsyncDir(this.dir);
    return record.length;
  }

  close(): void {
    this.fs.close(this.fd);
  }
}
