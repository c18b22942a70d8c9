// The contracts shared by every storage module. Keys and values are bytes; every stored
// version carries the replication metadata (Lamport timestamp, origin node) that decides
// which version wins, so the store can apply Last-Write-Wins without knowing about nodes.

/** One version of one key. `value === null` is a tombstone (a delete). */
export interface Entry {
  readonly key: Buffer;
  readonly value: Buffer | null;
  /** Lamport timestamp of the write (a non-negative safe integer). */
  readonly ts: number;
  /** Id of the node that accepted the write; breaks timestamp ties. */
  readonly origin: string;
}

/**
 * Total order on versions: by timestamp, then by origin id (byte order).
 * Returns > 0 when `a` wins over `b`, < 0 when `b` wins, 0 for the same version.
 */
export function compareVersions(a: Pick<Entry, 'ts' | 'origin'>, b: Pick<Entry, 'ts' | 'origin'>): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.origin === b.origin) return 0;
  return a.origin < b.origin ? -1 : 1;
}

/**
 * The origin of a purge marker: a tombstone at ts 0 that removes a key from one store without a
 * version (a node dropping a range it no longer replicates). Reads never see a marker, every real
 * version (ts >= 1) beats it, and compaction drops it like any tombstone. No node id can take
 * this origin (node ids have no control characters).
 */
export const PURGE_ORIGIN = '\u0000purged';

export function isPurgeMarker(e: Pick<Entry, 'value' | 'ts' | 'origin'>): boolean {
  return e.value === null && e.ts === 0 && e.origin === PURGE_ORIGIN;
}

/**
 * A synchronous cursor over entries in ascending key order, one entry per key.
 * The one iterator shape that blocks, tables, memtables and merge iterators share.
 */
export interface EntryIterator {
  /** True while the iterator points at an entry. */
  valid(): boolean;
  /** The current entry; only when valid(). */
  entry(): Entry;
  next(): void;
  /** Positions at the first entry whose key is >= `key`. */
  seek(key: Buffer): void;
  /** Positions at the first entry. */
  seekToFirst(): void;
}

/**
 * A torn last record cut off a log on open: an append a crash interrupted before it was durable
 * (with sync batch or always, before it was acknowledged). Reported so the node can say so.
 */
export interface CutTail {
  file: string;
  /** The file's length after the cut: the offset where the torn record began. */
  keptBytes: number;
  cutBytes: number;
}

/**
 * The file-system port. Everything storage does to disk goes through it, so a
 * fault-injecting implementation can drop unsynced writes to simulate a crash
 * deterministically. Calls are synchronous except `fsyncAsync` and `fsyncDirAsync`, which let
 * group commit keep accepting writes while the disk flushes.
 */
export interface FileSystem {
  /** flags as in node's fs.openSync: 'r', 'r+', 'w', 'wx', 'a'. Returns a descriptor. */
  open(path: string, flags: 'r' | 'r+' | 'w' | 'wx' | 'a'): number;
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; returns bytes read. */
  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  /** Writes all of `data` at `position` (or at the end for 'a' descriptors / when omitted). */
  write(fd: number, data: Buffer, position?: number): void;
  fsync(fd: number): void;
  fsyncAsync(fd: number): Promise<void>;
  close(fd: number): void;
  /** Size in bytes of an open file. */
  size(fd: number): number;
  truncate(path: string, length: number): void;
  exists(path: string): boolean;
  readFile(path: string): Buffer;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  readdir(dir: string): string[];
  mkdirp(dir: string): void;
  /** Makes a rename or create inside `dir` durable. */
  fsyncDir(dir: string): void;
  /** fsyncDir in the thread pool, for writers that must not stop the event loop meanwhile. */
  fsyncDirAsync(dir: string): Promise<void>;
}

export type SyncPolicy = 'always' | 'batch' | 'none';

export interface StoreOptions {
  /** 'always': a write resolves after the fsync that covers it (concurrent writers share one);
   *  'batch': fsync at most every `syncIntervalMs`, a write resolves after that fsync;
   *  'none': a write resolves once handed to the OS. */
  sync: SyncPolicy;
  syncIntervalMs: number;
  /** Memtable size that triggers a flush to an SSTable. */
  memtableBytes: number;
  /** Target uncompressed data-block size in SSTables. */
  blockBytes: number;
  bloomBitsPerKey: number;
  /** Block cache capacity in bytes (0 disables it). */
  blockCacheBytes: number;
  /** Largest accepted value; larger ones are rejected with InvalidArgumentError. */
  maxValueBytes: number;
  /** Run flushes and compactions automatically in the background. */
  autoCompact: boolean;
  /**
   * How long a tombstone is kept after this store accepted it before compaction may drop it (0:
   * at once). A replica must still hold a delete when an older version of the key arrives late
   * (a hint, a repair): without the tombstone that version would win against nothing.
   */
  tombstoneGraceMs: number;
  /** Wall clock for tombstone ages (Date.now unless a test steps its own). */
  now: () => number;
  fs: FileSystem;
}

export const MAX_KEY_BYTES = 64 * 1024;
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;

/** What the UI shows of one SSTable. */
export interface SSTableInfo {
  id: number;
  level: number;
  file: string;
  minKey: Buffer;
  maxKey: Buffer;
  entries: number;
  tombstones: number;
  bytes: number;
  bloomBits: number;
  /**
   * Wall-clock ms by which this store had accepted every entry in the table (the flush time, or
   * the newest of a compaction's inputs): a tombstone in it is at least now - newestWriteMs old.
   */
  newestWriteMs: number;
}

export interface StoreCounters {
  puts: number;
  deletes: number;
  gets: number;
  /** Writes rejected because a newer version was already stored (LWW). */
  staleWrites: number;
  flushes: number;
  compactions: number;
  bytesCompacted: number;
  bloomSkips: number;
  bloomFalsePositives: number;
  blockCacheHits: number;
  blockCacheMisses: number;
}

export function zeroCounters(): StoreCounters {
  return {
    puts: 0,
    deletes: 0,
    gets: 0,
    staleWrites: 0,
    flushes: 0,
    compactions: 0,
    bytesCompacted: 0,
    bloomSkips: 0,
    bloomFalsePositives: 0,
    blockCacheHits: 0,
    blockCacheMisses: 0,
  };
}

/** An immutable picture of the store for introspection. */
/** A table as a snapshot reports it: with the timestamp range its file records (not kept in the manifest). */
export interface SSTableSnapshot extends SSTableInfo {
  minTs: number;
  maxTs: number;
}

export interface StoreSnapshot {
  memtableBytes: number;
  memtableEntries: number;
  immutableMemtables: number;
  walBytes: number;
  sstables: SSTableSnapshot[];
  counters: StoreCounters;
}

/** A scan over [start, end) in key order. */
export interface ScanOptions {
  start?: Buffer;
  /** Exclusive upper bound. */
  end?: Buffer;
  limit?: number;
  /** Include tombstones (replication and anti-entropy need them; users do not). */
  includeTombstones?: boolean;
}
