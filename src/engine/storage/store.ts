// The Store: one LSM tree in one data folder. Writes read the stored version first and land
// only when they win by (timestamp, origin) — Last-Write-Wins — then go to the WAL buffer and
// the memtable; the returned promise waits for group commit. A full memtable becomes
// immutable and is flushed to an L0 table in the background while writes continue; leveled
// compaction (compaction-policy.ts) merges tables. Readers see one immutable Version of the
// tables at a time. How a write, read, flush and compaction flow: README.md beside this file.

import * as path from 'node:path';
import { BlockCache } from './block-cache';
import { manualCompaction, pickCompaction, type CompactionTask } from './compaction-policy';
import { BuildCancelledError, buildTables, type BuildTarget, type BuiltTable } from './compaction-runner';
import { ClosedError, InvalidArgumentError, StorageError } from './errors';
import { DirLock } from './lock';
import type { Manifest } from './manifest';
import { Memtable } from './memtable';
import { MergingIterator } from './merging-iterator';
import { entriesInRange, rangeCursor } from './store-read';
import { checkBatch, checkEntry, checkKey, checkScan, resolveOptions, type ResolvedOptions, type StoreOpenOptions } from './store-input';
import { recover, WAL_DIR, walFileName } from './store-recovery';
import { TableReader } from './table-reader';
import { compareVersions, isPurgeMarker, PURGE_ORIGIN, zeroCounters, type CutTail, type Entry, type ScanOptions, type SSTableSnapshot, type StoreCounters, type StoreSnapshot } from './types';
import { TableHandle, Version } from './version';
import { WalWriter } from './wal';

/** How a write reaches durability when it is not through this store's WAL. */
export interface WriteOptions {
  /**
   * The ops are already in the caller's own write-ahead log (the replication log), so they go
   * to the memtable only: no WAL record, nothing to wait for. `logMark` is a position in that
   * log below which the caller has handed every op to this store, by this call or an earlier
   * one; once the memtable holding this write is in an SSTable, flushedLogMark reaches it.
   * After a crash the caller replays its log from its last saved flushedLogMark.
   *
   * The store does not copy the ops' key and value Buffers first: the memtable copies the
   * bytes into its own slabs. Change listeners get the ops' Buffers, which may be views of a
   * received request: a listener that keeps one copies it.
   */
  logMark: number;
  /**
   * The values are not the ones the caller's log holds (a resolver merged them into new states),
   * so the log cannot restore them: they also go to the WAL, copied, as unlogged writes do. The
   * mark still counts, so flushedLogMark keeps moving.
   */
  rewritten?: boolean;
}

/**
 * Told, synchronously inside Store.write or Store.purge, of each key whose version the call
 * changed: the version it held before (undefined: none, or purged) and the one it holds now
 * (undefined: purged). A view derived from the store follows it without a lookup of its own.
 */
export type ChangeReport = (key: Buffer, before: Entry | undefined, after: Entry | undefined) => void;

interface Immutable {
  mem: Memtable;
  /** The highest logMark written into `mem` (0: none). */
  logMark: number;
  /** First WAL segment not covered by this memtable: the manifest's logNumber once it is flushed. */
  nextLog: number;
  /** Segments holding this memtable's writes, deleted after its flush commits. */
  segments: number[];
  walBytes: number;
  /** The tables its flush wrote, for a flush() waiting on it to say which are its own. */
  written?: SSTableSnapshot[];
}

const NO_SCAN: ScanOptions = {};

export class Store {
  private mem: Memtable;
  /** The highest logMark written into the active memtable (0: none). */
  private memLogMark = 0;
  private flushedMark = 0;
  private readonly imms: Immutable[] = [];
  private version: Version;
  /** WAL segments holding the active memtable's writes (the last one is being appended). */
  private segments: number[];
  private retiredWalBytes = 0;
  private readonly counters: StoreCounters = zeroCounters();
  private readonly listeners = new Set<(s: StoreSnapshot) => void>();
  private closed = false;
  private flushing: Promise<void> | undefined;
  /** Compactions run one at a time, in this chain. */
  private compactions: Promise<void> = Promise.resolve();
  private compactionQueued = false;
  /** A background flush or compaction failed: writes stop, since memtables can no longer drain. */
  private failure: Error | undefined;
  private readonly failureListeners = new Set<(err: Error) => void>();
  private readonly target: BuildTarget;
  private readonly wal: WalWriter;

  private constructor(
    readonly dir: string,
    private readonly opts: ResolvedOptions,
    private readonly lock: DirLock,
    private readonly manifest: Manifest,
    private readonly cache: BlockCache | undefined,
    tables: TableHandle[],
    memtable: Memtable,
    segments: number[],
    private nextFile: number,
    /** The torn record recovery cut off the WAL on open, if any. */
    readonly cutTail: CutTail | undefined,
  ) {
    this.version = Version.of(tables);
    this.version.ref();
    this.mem = memtable;
    this.segments = segments;
    const last = path.join(dir, walFileName(segments[segments.length - 1]));
    this.wal = new WalWriter(opts.fs, last, opts.sync, opts.syncIntervalMs);
    for (const n of segments.slice(0, -1)) this.retiredWalBytes += this.fileBytes(walFileName(n));
    this.target = {
      fs: opts.fs,
      dir,
      table: { blockBytes: opts.blockBytes, bloomBitsPerKey: opts.bloomBitsPerKey },
      allocateFile: () => this.nextFile++,
      cancelled: () => this.closed,
    };
  }

  /**
   * Opens (creating if needed) the store in `dir`: takes the folder lock (LockedError when
   * another process or another Store holds it), replays the manifest and the WAL, and
   * removes what a crash left behind. Damage is a CorruptionError naming file and offset.
   */
  static async open(dir: string, options: StoreOpenOptions = {}): Promise<Store> {
    const opts = resolveOptions(options);
    const fs = opts.fs;
    fs.mkdirp(dir);
    const lock = DirLock.acquire(fs, dir);
    try {
      const cache = opts.blockCacheBytes > 0 ? new BlockCache(opts.blockCacheBytes) : undefined;
      const deleteTable = (file: string) => () => {
        try {
          fs.unlink(path.join(dir, file));
        } catch {
          // Already gone; the next open removes any table the manifest does not list.
        }
      };
      const r = recover(fs, dir, cache, deleteTable, opts.now());
      const store = new Store(dir, opts, lock, r.manifest, cache, r.tables, r.memtable, r.walSegments, r.nextFile, r.cutTail);
      store.maybeRotate();
      store.scheduleCompaction();
      return store;
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  // ---- writes ---------------------------------------------------------------------------

  /**
   * Every logged write (WriteOptions) with a mark up to this one is in an SSTable whose manifest
   * edit is durable: memtables flush oldest first, so so is everything handed over before it.
   * 0 until the first such flush since open (the caller keeps its own replay point across restarts).
   */
  get flushedLogMark(): number {
    return this.flushedMark;
  }

  put(key: Buffer, value: Buffer, ts: number, origin: string): Promise<boolean> {
    try {
      this.checkWritable();
      if (value === null) throw new InvalidArgumentError('value must be a Buffer (delete() writes a tombstone); got null');
      const originBytes = checkEntry(key, value, ts, origin, this.opts.maxValueBytes);
      return this.applyOne({ key: Buffer.from(key), value: Buffer.from(value), ts, origin }, originBytes);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Writes a tombstone. */
  delete(key: Buffer, ts: number, origin: string): Promise<boolean> {
    try {
      this.checkWritable();
      const originBytes = checkEntry(key, null, ts, origin, this.opts.maxValueBytes);
      return this.applyOne({ key: Buffer.from(key), value: null, ts, origin }, originBytes);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Applies each op that beats the stored version of its key (true) and skips the others
   * (false, counted as staleWrites). Every op is validated before any is applied; the
   * applied ones go to the WAL as one record, so they survive a crash together or not at all.
   * With `logged` they go to the memtable alone and the caller's log answers for them
   * (WriteOptions); the memtable changes before this returns, in call order.
   */
  write(ops: Entry[], logged?: WriteOptions, onChange?: ChangeReport): Promise<boolean[]> {
    try {
      this.checkWritable();
      const originBytes = checkBatch(ops, this.opts.maxValueBytes);
      const results = new Array<boolean>(ops.length);
      const applied: Entry[] = [];
      const appliedOriginBytes: number[] = [];
      const owned = logged !== undefined && logged.rewritten !== true;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i];
        const key = owned ? op.key : Buffer.from(op.key);
        const newest = this.newest(key);
        if (!this.beats(op, newest, key)) {
          this.counters.staleWrites++;
          results[i] = false;
          continue;
        }
        const entry: Entry = { key, value: op.value === null || owned ? op.value : Buffer.from(op.value), ts: op.ts, origin: op.origin };
        this.mem.put(entry);
        onChange?.(key, newest === undefined || isPurgeMarker(newest) ? undefined : newest, entry);
        if (entry.value === null) this.counters.deletes++;
        else this.counters.puts++;
        if (!owned) {
          applied.push(entry);
          appliedOriginBytes.push(originBytes[i]);
        }
        results[i] = true;
      }
      if (applied.length > 0) this.wal.append(applied, appliedOriginBytes);
      if (logged && logged.logMark > this.memLogMark) this.memLogMark = logged.logMark;
      this.maybeRotate();
      return owned ? Promise.resolve(results) : this.wal.commit(applied.length > 0).then(() => results);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Removes `keys` from this store alone: each key that holds a version gets a purge marker
   * (types.ts), in one WAL record. Not a delete: there is no version, so any later write of the
   * key wins and nothing of it replicates. Returns the markers written (absent keys get none).
   */
  purge(keys: readonly Buffer[], onChange?: ChangeReport): Promise<Entry[]> {
    try {
      this.checkWritable();
      keys.forEach((k, i) => checkKey(k, `keys[${i}]`));
      const markers: Entry[] = [];
      for (const k of keys) {
        const key = Buffer.from(k);
        const before = this.lookup(key);
        if (before === undefined) continue;
        const marker: Entry = { key, value: null, ts: 0, origin: PURGE_ORIGIN };
        this.mem.put(marker);
        markers.push(marker);
        onChange?.(key, before, undefined);
      }
      if (markers.length > 0) this.wal.append(markers, markers.map(() => Buffer.byteLength(PURGE_ORIGIN)));
      this.maybeRotate();
      return this.wal.commit(markers.length > 0).then(() => markers);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private applyOne(entry: Entry, originBytes: number): Promise<boolean> {
    if (!this.beatsStored(entry, entry.key)) {
      this.counters.staleWrites++;
      return this.wal.commit(false);
    }
    this.wal.appendOne(entry, originBytes);
    this.mem.put(entry);
    if (entry.value === null) this.counters.deletes++;
    else this.counters.puts++;
    this.maybeRotate();
    return this.wal.commit(true);
  }

  private checkWritable(): void {
    if (this.closed) throw new ClosedError();
    if (this.failure) throw new StorageError(`the store stopped accepting writes after a background failure: ${this.failure.message}`);
  }

  // ---- reads ----------------------------------------------------------------------------

  /** The newest stored version of `key`, tombstones included (value null); undefined if none. */
  get(key: Buffer): Entry | undefined {
    const e = this.peek(key);
    this.counters.gets++;
    return e;
  }

  /** What get answers, without counting a read: for the node's own views of the store (Stats count clients' reads). */
  peek(key: Buffer): Entry | undefined {
    if (this.closed) throw new ClosedError();
    checkKey(key);
    return this.lookup(key);
  }

  /**
   * Whether `op` may be stored: it must beat the newest stored version. Under a purge marker the
   * rival is the newest version the marker hides, which `op` may also equal (the same version
   * arriving again, e.g. by a data move, brings the key back). Letting an older version in over a
   * marker would put it above a newer one in an older source: reads and scans would disagree,
   * and compaction would bring the purged version back.
   */
  private beatsStored(op: Entry, key: Buffer): boolean {
    return this.beats(op, this.newest(key), key);
  }

  /** beatsStored, given the newest stored version already looked up. */
  private beats(op: Entry, newest: Entry | undefined, key: Buffer): boolean {
    if (newest === undefined) return true;
    if (!isPurgeMarker(newest)) return compareVersions(op, newest) > 0;
    const hidden = this.newestReal(key);
    return hidden === undefined || compareVersions(op, hidden) >= 0;
  }

  private newestReal(key: Buffer): Entry | undefined {
    for (let i = this.imms.length - 1; i >= 0; i--) {
      const e = this.imms[i].mem.get(key);
      if (e !== undefined && !isPurgeMarker(e)) return e;
    }
    return this.version.get(key, this.counters, isPurgeMarker);
  }

  /** The newest version of a key; a purge marker reads as no version at all. */
  private lookup(key: Buffer): Entry | undefined {
    const e = this.newest(key);
    return e !== undefined && isPurgeMarker(e) ? undefined : e;
  }

  private newest(key: Buffer): Entry | undefined {
    const found = this.mem.get(key);
    if (found !== undefined) return found;
    for (let i = this.imms.length - 1; i >= 0; i--) {
      const e = this.imms[i].mem.get(key);
      if (e !== undefined) return e;
    }
    return this.version.get(key, this.counters);
  }

  /** Entries in [start, end) in key order, without tombstones unless asked. */
  scan(options: ScanOptions = NO_SCAN): Entry[] {
    if (this.closed) throw new ClosedError();
    checkScan(options);
    const cursor = rangeCursor(this.mem, this.immutableMemtables(), this.version, options, false);
    return [...entriesInRange(cursor, options)];
  }

  /**
   * The lazy form of scan for large ranges. The view is fixed when iteration starts: later
   * writes, flushes and compactions do not change what it yields, and tables it reads stay
   * on disk until it finishes or is abandoned with return().
   */
  *iterate(options: ScanOptions = NO_SCAN): Generator<Entry, void, undefined> {
    if (this.closed) throw new ClosedError();
    checkScan(options);
    const version = this.version;
    version.ref();
    try {
      yield* entriesInRange(rangeCursor(this.mem, this.immutableMemtables(), version, options, true), options);
    } finally {
      version.unref();
    }
  }

  private immutableMemtables(): Memtable[] {
    return this.imms.map((imm) => imm.mem);
  }

  // ---- flush ----------------------------------------------------------------------------

  /** Past memtableBytes the memtable becomes immutable and a new WAL segment starts. */
  private maybeRotate(): void {
    if (this.mem.bytes >= this.opts.memtableBytes && this.opts.autoCompact) this.rotate();
  }

  private rotate(): void {
    if (this.mem.size === 0) {
      // Logged writes that all lost LWW leave a mark on an empty memtable: what they lost to is
      // in an older memtable or a table, so the mark is durable with the newest of those.
      if (this.imms.length > 0) this.imms[this.imms.length - 1].logMark = Math.max(this.imms[this.imms.length - 1].logMark, this.memLogMark);
      else this.flushedMark = Math.max(this.flushedMark, this.memLogMark);
      this.memLogMark = 0;
      return;
    }
    const n = this.nextFile++;
    const walBytes = this.retiredWalBytes + this.wal.bytes;
    try {
      this.wal.rotate(path.join(this.dir, walFileName(n)));
      this.opts.fs.fsyncDir(path.join(this.dir, WAL_DIR));
    } catch (err) {
      // The new segment may not be durable: accepting more writes could lose acknowledged ones.
      this.fail(err as Error);
      throw err;
    }
    this.mem.freeze();
    this.imms.push({ mem: this.mem, logMark: this.memLogMark, nextLog: n, segments: this.segments, walBytes });
    this.mem = new Memtable();
    this.memLogMark = 0;
    this.segments = [n];
    this.retiredWalBytes = 0;
    this.startFlushing();
  }

  /**
   * The loop ends a few microtasks before its promise settles; a memtable rotated in between
   * would wait for the next rotation (and flush() would return without it), so it restarts.
   */
  private startFlushing(): void {
    this.flushing ??= this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.imms.length > 0 && !this.closed && !this.failure) this.startFlushing();
    });
  }

  /**
   * Writes the memtable, and any waiting to be written, out as L0 tables; resolves with those
   * tables (none when there was nothing to write), also when a compaction has merged them since.
   */
  async flush(): Promise<SSTableSnapshot[]> {
    if (this.closed) throw new ClosedError();
    this.rotate();
    const waited = [...this.imms];
    while (this.flushing) await this.flushing;
    if (this.failure) throw this.failure;
    return waited.flatMap((imm) => imm.written ?? []);
  }

  private async flushLoop(): Promise<void> {
    while (this.imms.length > 0 && !this.closed && !this.failure) {
      try {
        await this.flushOne(this.imms[0]);
      } catch (err) {
        if (!(err instanceof BuildCancelledError) && !this.closed) this.fail(err as Error);
        return;
      }
    }
    this.scheduleCompaction();
  }

  private async flushOne(imm: Immutable): Promise<void> {
    const built = await buildTables(imm.mem.iterator(false), this.target, { dropTombstone: undefined, splitBytes: 0 });
    // Every entry in it was accepted before now.
    const added = this.install(built, 0, this.opts.now());
    await this.manifest.apply({ add: added.map((t) => t.info), logNumber: imm.nextLog, nextFile: this.nextFile });
    this.replaceVersion(this.version.edit(added, new Set()));
    imm.written = added.map((t) => this.tableSnapshot(t));
    this.imms.shift();
    if (imm.logMark > this.flushedMark) this.flushedMark = imm.logMark;
    for (const n of imm.segments) this.removeFile(walFileName(n));
    this.counters.flushes++;
    this.emitChange();
  }

  // ---- compaction -----------------------------------------------------------------------

  /** Queues one background pass of the compaction policy (no-op when one is queued). */
  private scheduleCompaction(): void {
    if (!this.opts.autoCompact || this.compactionQueued || this.closed) return;
    this.compactionQueued = true;
    this.exclusive(async () => {
      this.compactionQueued = false;
      for (;;) {
        const task = pickCompaction(this.version.infos(), this.opts.compaction);
        if (!task || this.closed || this.failure) return;
        await this.runCompaction(task);
      }
    }).catch((err: Error) => {
      if (!(err instanceof BuildCancelledError) && !this.closed) this.fail(err);
    });
  }

  /** Flushes the memtable, then merges every table into the bottom level (drops tombstones). */
  async compact(): Promise<void> {
    await this.flush();
    await this.exclusive(async () => {
      const task = manualCompaction(this.version.infos());
      if (task && !this.closed) await this.runCompaction(task);
    }).catch((err: Error) => {
      throw err instanceof BuildCancelledError ? new ClosedError() : err;
    });
  }

  private exclusive(job: () => Promise<void>): Promise<void> {
    const run = this.compactions.then(job);
    this.compactions = run.catch(() => undefined);
    return run;
  }

  private async runCompaction(task: CompactionTask): Promise<void> {
    const ids = new Set(task.inputs.map((t) => t.id));
    const inputs = this.version.tables().filter((t) => ids.has(t.info.id));
    if (inputs.length !== ids.size) throw new Error('internal: compaction task names tables that are not live');
    for (const t of inputs) t.ref();
    try {
      const source = new MergingIterator(inputs.map((t) => t.reader.iterator()));
      const built = await buildTables(source, this.target, {
        dropTombstone: task.dropTombstones ? this.tombstoneDropper(source, inputs) : undefined,
        splitBytes: this.opts.compaction.targetFileBytes,
      });
      const added = this.install(built, task.outputLevel, Math.max(...inputs.map((t) => t.info.newestWriteMs)));
      await this.manifest.apply({ add: added.map((t) => t.info), remove: [...ids], nextFile: this.nextFile });
      this.replaceVersion(this.version.edit(added, ids));
      for (const t of inputs) t.retire();
      this.counters.compactions++;
      for (const t of inputs) this.counters.bytesCompacted += t.info.bytes;
      this.emitChange();
    } finally {
      for (const t of inputs) t.unref();
    }
  }

  /**
   * Which tombstones a compaction with nothing deeper under it may drop: purge markers (a local
   * range drop, no version to resurrect) and tombstones whose table has been past the grace
   * since its newest write. The age is per input table, so a merge keeps young deletes and drops
   * old ones; the output takes the newest input's time, which only ever makes it look younger.
   */
  private tombstoneDropper(source: MergingIterator, inputs: readonly TableHandle[]): (tombstone: Entry) => boolean {
    const cutoff = this.opts.now() - this.opts.tombstoneGraceMs;
    const old = inputs.map((t) => t.info.newestWriteMs <= cutoff);
    return (tombstone) => isPurgeMarker(tombstone) || old[source.source()];
  }

  /** Opens freshly built tables as handles at `level`; `newestWriteMs` as SSTableInfo says. */
  private install(built: BuiltTable[], level: number, newestWriteMs: number): TableHandle[] {
    return built.map((b) => {
      const p = b.properties;
      const info = { id: b.id, level, file: b.file, minKey: p.minKey, maxKey: p.maxKey, entries: p.entries, tombstones: p.tombstones, bytes: p.bytes, bloomBits: p.bloomBits, newestWriteMs };
      const reader = TableReader.open(this.opts.fs, path.join(this.dir, b.file), this.cache);
      return new TableHandle(info, reader, () => this.removeFile(b.file));
    });
  }

  private replaceVersion(next: Version): void {
    next.ref();
    const old = this.version;
    this.version = next;
    old.unref();
  }

  private removeFile(file: string): void {
    try {
      this.opts.fs.unlink(path.join(this.dir, file));
    } catch {
      // Already gone; open removes any file the manifest no longer needs.
    }
  }

  private fileBytes(file: string): number {
    const fd = this.opts.fs.open(path.join(this.dir, file), 'r');
    try {
      return this.opts.fs.size(fd);
    } finally {
      this.opts.fs.close(fd);
    }
  }

  // ---- introspection and lifecycle ------------------------------------------------------

  private tableSnapshot({ info, reader }: TableHandle): SSTableSnapshot {
    return { ...info, file: path.join(this.dir, info.file), minTs: reader.properties.minTs, maxTs: reader.properties.maxTs };
  }

  snapshot(): StoreSnapshot {
    let walBytes = this.retiredWalBytes + this.wal.bytes;
    for (const imm of this.imms) walBytes += imm.walBytes;
    return {
      memtableBytes: this.mem.bytes,
      memtableEntries: this.mem.size,
      immutableMemtables: this.imms.length,
      walBytes,
      sstables: this.version.tables().map((t) => this.tableSnapshot(t)),
      counters: {
        ...this.counters,
        blockCacheHits: this.cache?.hits ?? 0,
        blockCacheMisses: this.cache?.misses ?? 0,
      },
    };
  }

  /**
   * Calls `listener` once when a background flush, compaction or WAL rotation fails and the
   * store stops taking writes (the owner decides what that means for its process).
   */
  onFailure(listener: (err: Error) => void): () => void {
    // A failure before the owner listened (during its start) is told at once.
    if (this.failure) {
      const failed = this.failure;
      queueMicrotask(() => listener(failed));
      return () => undefined;
    }
    this.failureListeners.add(listener);
    return () => void this.failureListeners.delete(listener);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const listener of this.failureListeners) listener(err);
  }

  /** Calls `listener` with a fresh snapshot whenever the set of SSTables changes; returns the unsubscribe. */
  onChange(listener: (s: StoreSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emitChange(): void {
    if (this.listeners.size === 0) return;
    const s = this.snapshot();
    for (const listener of this.listeners) {
      try {
        listener(s);
      } catch {
        // A failing observer must not break a flush or compaction that already committed.
      }
    }
  }

  /**
   * Stops background work (an unfinished flush stays in the WAL, an unfinished compaction is
   * discarded), makes every acknowledged-or-pending write durable, and releases the folder.
   * Logged writes not yet flushed are dropped: their log has them (flush() first to keep them).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      while (this.flushing) await this.flushing;
      await this.compactions;
      await this.wal.close();
    } finally {
      for (const t of this.version.tables()) t.close();
      this.manifest.close();
      this.listeners.clear();
      this.lock.release();
    }
  }
}
