// The replication log: every op this node applied (its own writes and those it received), in
// the order it applied them, each at a log sequence number (LSN). It is append-only and
// segmented: `seg-<startLsn>.log` files of CRC-framed records, each opening with a header that
// holds the replication state before it, so old segments can be deleted without losing the
// version vector or the clock. It serves three readers: the senders (ops not yet acknowledged
// by a destination), FetchUpdates (an origin's ops after a given seq, through a per-origin
// index), and recovery (the version vector, the highest timestamp, the store's replay point).

import * as path from 'node:path';
import { Interner } from '../codec/interner';
import { readAtomicFile, writeAtomicFileAsync } from '../storage/atomic-file';
import { CorruptionError } from '../storage/errors';
import type { CutTail, FileSystem, SyncPolicy } from '../storage/types';
import { decodeLoggedOp, encodeHeader, measureOps, salvageOpRecords, scanSegment, writeOps, type EncodedOps, type LoggedOp, type Op, type SegmentHeader } from './op-codec';
import { OriginIndex } from './origin-index';
import { decodeSegmentIndex, encodeSegmentIndex, type OriginRun, type SegmentIndex } from './segment-index';

export interface OpLogOptions {
  fs: FileSystem;
  sync: SyncPolicy;
  syncIntervalMs: number;
  /** A segment is closed and a new one started past this size. */
  segmentBytes: number;
  /** Newest ops kept in memory (as their record bytes) for the senders. */
  cacheBytes: number;
  /** Acknowledged segments are deleted only while the log is larger than this (history for FetchUpdates). */
  retainBytes: number;
}

export const DEFAULT_OP_LOG_OPTIONS: Omit<OpLogOptions, 'fs'> = {
  sync: 'batch',
  syncIntervalMs: 5,
  segmentBytes: 16 * 1024 * 1024,
  cacheBytes: 32 * 1024 * 1024,
  retainBytes: 128 * 1024 * 1024,
};

interface Segment {
  file: string;
  startLsn: number;
  bytes: number;
  /** Its index file's payload, once written (or read on open): retention counts it too. */
  indexBytes: number;
}

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Records are encoded into slabs of this size (a bigger batch gets a slab of its own). */
const SLAB_BYTES = 1024 * 1024;

/**
 * Old segments kept decoded at once. Each destination that lags reads its own old segment; with
 * one kept, two senders catching up in different segments re-read 16 MiB each per window. Two
 * cover a 3-node cluster (two peers); each costs about its file size plus an object per op.
 */
const DECODED_SEGMENTS = 2;

/** What OpLog.window found: the kept ops, and where the next window starts. */
export interface ShippingWindow {
  ops: LoggedOp[];
  next: number;
  /** Set when the window lies in a damaged segment: see OpLog.window. */
  lost?: LostOps;
}

/** Ops whose records a damaged segment lost: skips stand in for them among a window's ops. */
export interface LostOps {
  /** The stand-ins, in LSN order: each a skip (empty key, no value) with the lost op's origin, seq and ts. */
  ops: LoggedOp[];
  /** The segment, the offset of its first damaged record, and what is wrong there. */
  file: string;
  offset: number;
  detail: string;
}

/** A damaged segment as window() reads it: its readable ops and a stand-in for each lost one. */
interface Salvaged {
  ops: LoggedOp[];
  /** Below this LSN the segment was salvaged (the active segment grows past it). */
  endLsn: number;
  lost: LostOps;
}

const NO_KEY = Buffer.alloc(0);

/**
 * The newest ops as the record bytes `append` wrote to the segment, kept in slabs, plus per op
 * where its record sits, in typed arrays. Nothing here is a JS object per op: under a steady
 * write load every op stays cached for a while, and objects that live that long survive
 * young-generation scavenges and get promoted, which is what made the scavenges slow. Readers
 * get ops decoded on demand (short-lived objects whose key and value are views of a slab; a
 * slab is never written again where it holds records).
 */
class RecordCache {
  /** Op i of the typed arrays has LSN base + i; the live ones are [head, end). */
  private base: number;
  private head = 0;
  private end = 0;
  private slabOf: Uint32Array = new Uint32Array(1024);
  private offsetOf: Uint32Array = new Uint32Array(1024);
  private sizeOf: Uint32Array = new Uint32Array(1024);
  private originOf: Uint32Array = new Uint32Array(1024);
  /** Slab k (a number that only grows) is slabs[k - slabBase]; the last one is filled up to `used`. */
  private slabs: Buffer[] = [];
  private slabBase = 0;
  private used = 0;
  /** Origins by number, so a decoded op shares its origin string instead of decoding a new one. */
  private readonly origins = new Interner();
  /** Record bytes of the cached ops. */
  private bytes = 0;

  constructor(nextLsn: number) {
    this.base = nextLsn;
  }

  get firstLsn(): number {
    return this.base + this.head;
  }

  /**
   * Where to write `bytes` of records: `buf[at..at + bytes)` is unused. A new slab is taken when
   * the current one lacks room, so no byte a cached op (or a view of it) covers is overwritten.
   */
  space(bytes: number): { buf: Buffer; at: number } {
    const last = this.slabs[this.slabs.length - 1];
    if (last === undefined || last.length - this.used < bytes) this.adopt(Buffer.allocUnsafeSlow(Math.max(bytes, SLAB_BYTES)));
    return { buf: this.slabs[this.slabs.length - 1], at: this.used };
  }

  /** Takes `buf` (which it then owns) as the current slab, empty; commit() registers records written into it. */
  adopt(buf: Buffer): void {
    this.slabs.push(buf);
    this.used = 0;
  }

  /**
   * Records the ops whose records were just written back to back from the `at` of the last
   * space() (or from the start of an adopted slab), at LSNs from the cache's end on.
   */
  commit(ops: readonly { readonly origin: string }[], sizes: readonly number[]): void {
    if (this.end + ops.length > this.slabOf.length) this.makeRoom(ops.length);
    const slab = this.slabBase + this.slabs.length - 1;
    for (let i = 0; i < ops.length; i++) {
      const at = this.end++;
      this.slabOf[at] = slab;
      this.offsetOf[at] = this.used;
      this.sizeOf[at] = sizes[i];
      this.originOf[at] = this.origins.id(ops[i].origin);
      this.used += sizes[i];
      this.bytes += sizes[i];
    }
  }

  /** Drops the oldest ops while over `maxBytes`, always keeping the newest one. */
  trim(maxBytes: number): void {
    while (this.bytes > maxBytes && this.head < this.end - 1) this.bytes -= this.sizeOf[this.head++];
    if (this.head === this.end) return;
    const firstSlab = this.slabOf[this.head];
    if (firstSlab > this.slabBase) {
      this.slabs.splice(0, firstSlab - this.slabBase);
      this.slabBase = firstSlab;
    }
  }

  /** Ops from `from` (at least firstLsn, below the end), as OpLog.read counts them. */
  read(from: number, maxOps: number, maxBytes: number): LoggedOp[] {
    const out: LoggedOp[] = [];
    let bytes = 0;
    for (let i = from - this.base; i < this.end && out.length < maxOps && bytes < maxBytes; i++) {
      const size = this.sizeOf[i];
      out.push(decodeLoggedOp(this.slabs[this.slabOf[i] - this.slabBase], this.offsetOf[i], size, this.origins.string(this.originOf[i]), this.base + i));
      bytes += size;
    }
    return out;
  }

  /** See OpLog.window; `from` is at least firstLsn and below both `end` and the cache's end. */
  select(from: number, end: number, maxOps: number, maxBytes: number, keep: (origin: string) => boolean): ShippingWindow {
    const ops: LoggedOp[] = [];
    const verdicts: (boolean | undefined)[] = [];
    const stop = Math.min(this.end, end - this.base);
    let bytes = 0;
    let i = from - this.base;
    for (let scanned = 0; i < stop && scanned < maxOps && bytes < maxBytes; i++, scanned++) {
      const size = this.sizeOf[i];
      bytes += size;
      const id = this.originOf[i];
      let kept = verdicts[id];
      if (kept === undefined) kept = verdicts[id] = keep(this.origins.string(id));
      if (kept) ops.push(decodeLoggedOp(this.slabs[this.slabOf[i] - this.slabBase], this.offsetOf[i], size, this.origins.string(id), this.base + i));
    }
    return { ops, next: this.base + i };
  }

  /** See OpLog.records. A run of ops whose records are adjacent in one slab is one view, or one copy. */
  records(ops: readonly { readonly lsn: number }[]): Buffer | undefined {
    if (ops.length === 0 || ops[0].lsn < this.firstLsn || ops[ops.length - 1].lsn >= this.base + this.end) return undefined;
    const runs: Buffer[] = [];
    let size = 0;
    for (let k = 0; k < ops.length;) {
      const first = ops[k].lsn - this.base;
      let last = first;
      while (++k < ops.length && this.adjacent(last, ops[k].lsn - this.base)) last = ops[k].lsn - this.base;
      const start = this.offsetOf[first];
      const run = this.slabs[this.slabOf[first] - this.slabBase].subarray(start, this.offsetOf[last] + this.sizeOf[last]);
      runs.push(run);
      size += run.length;
    }
    return runs.length === 1 ? runs[0] : Buffer.concat(runs, size);
  }

  /** Whether op j's record directly follows op i's in the same slab. */
  private adjacent(i: number, j: number): boolean {
    return this.slabOf[j] === this.slabOf[i] && this.offsetOf[j] === this.offsetOf[i] + this.sizeOf[i];
  }

  /** Room for `more` ops: moves the live ones to the front when that frees enough, else doubles. */
  private makeRoom(more: number): void {
    const live = this.end - this.head;
    let capacity = this.slabOf.length;
    while (live + more > capacity / 2) capacity *= 2;
    const move = (a: Uint32Array): Uint32Array => {
      if (capacity === a.length) {
        a.copyWithin(0, this.head, this.end);
        return a;
      }
      const b = new Uint32Array(capacity);
      b.set(a.subarray(this.head, this.end));
      return b;
    };
    this.slabOf = move(this.slabOf);
    this.offsetOf = move(this.offsetOf);
    this.sizeOf = move(this.sizeOf);
    this.originOf = move(this.originOf);
    this.base += this.head;
    this.end = live;
    this.head = 0;
  }
}

const SEGMENT_PATTERN = /^seg-(\d{16})\.log$/;
const INDEX_PATTERN = /^seg-(\d{16})\.idx$/;
/** Up to `maxOps` of `source` from the op at LSN `from`, stopping once `maxBytes` is passed. */
function slice(source: readonly LoggedOp[], from: number, maxOps: number, maxBytes: number): LoggedOp[] {
  const at = source.findIndex((op) => op.lsn === from);
  if (at < 0) return [];
  const out: LoggedOp[] = [];
  let bytes = 0;
  for (let i = at; i < source.length && out.length < maxOps && bytes < maxBytes; i++) {
    out.push(source[i]);
    bytes += source[i].size;
  }
  return out;
}

const segmentName = (lsn: number) => `seg-${String(lsn).padStart(16, '0')}.log`;
/** A closed segment's index file (segment-index.ts). */
const indexName = (segment: string) => segment.replace(/\.log$/, '.idx');

/** The replication state a segment's header holds (as of its first op). */
type HeaderState = Pick<SegmentHeader, 'maxTs' | 'lastSeen'>;

export class OpLog {
  private segments: Segment[] = [];
  private fd = -1;
  private next = 0;
  private durable = 0;
  private maxTs = 0;
  private readonly seen = new Map<string, number>();
  private readonly index = new Map<string, OriginIndex>();
  private cache = new RecordCache(0);
  /** Old segments read for senders and pulls, by file, least recently used first (see decodeSegmentOf). */
  private readonly decoded = new Map<string, LoggedOp[]>();
  /** Damaged segments as the senders read them (see window), by file. */
  private readonly salvaged = new Map<string, Salvaged>();
  private waiters: Waiter[] = [];
  private syncing = false;
  private rollPending = false;
  /** Without a sync policy: the full segment being flushed in the thread pool before the roll. */
  private presync: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSyncAt = 0;
  private failure: Error | undefined;
  private closed = false;
  private readonly durableListeners = new Set<() => void>();
  /** The active segment's header state, for the index written when it is closed. */
  private activeHeader: HeaderState = { maxTs: 0, lastSeen: {} };
  /** Index files being written; close() waits for them. */
  private readonly indexWrites = new Set<Promise<void>>();
  /**
   * How the closed segments were recovered on open (from their index files, or by reading every
   * record), and the torn record cut off the last segment, if there was one.
   */
  readonly recovery: { indexedSegments: number; scannedSegments: number; cutTail: CutTail | undefined } = { indexedSegments: 0, scannedSegments: 0, cutTail: undefined };

  private constructor(
    private readonly dir: string,
    private readonly opts: OpLogOptions,
  ) {}

  /** Opens (or creates) the log in `dir`, recovering state from its segments. A torn last record is cut off. */
  static open(dir: string, options: Partial<OpLogOptions> & { fs: FileSystem }): OpLog {
    const log = new OpLog(dir, { ...DEFAULT_OP_LOG_OPTIONS, ...options });
    for (const { segment, header, endLsn } of log.recover()) log.writeIndex(segment, header, endLsn);
    return log;
  }

  get firstLsn(): number {
    return this.segments[0].startLsn;
  }
  /** The LSN the next appended op gets. */
  get nextLsn(): number {
    return this.next;
  }
  /** Ops from this LSN on are read from the record cache in memory, not from the segment files. */
  get cachedFromLsn(): number {
    return this.cache.firstLsn;
  }
  /** Ops below this LSN are durable per the sync policy; senders only ship those. */
  get durableLsn(): number {
    return this.durable;
  }
  get highestTs(): number {
    return this.maxTs;
  }
  /** The segments and their index files: what retention bounds. */
  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes + s.indexBytes, 0);
  }

  /** Highest seq of `origin` in the log (0 = none): the version vector entry. */
  lastSeen(origin: string): number {
    return this.seen.get(origin) ?? 0;
  }

  versionVector(): Record<string, number> {
    return Object.fromEntries(this.seen);
  }

  /** How many retained ops of `origin` have an LSN in [fromLsn, toLsn): binary search, O(log n). */
  countOf(origin: string, fromLsn: number, toLsn: number): number {
    const idx = this.index.get(origin);
    if (!idx || fromLsn >= toLsn) return 0;
    return idx.firstAtOrAfter(toLsn) - idx.firstAtOrAfter(fromLsn);
  }

  /** LSN of `origin`'s op `seq` when it is still retained. */
  lsnOf(origin: string, seq: number): number | undefined {
    return this.index.get(origin)?.lsnOf(seq);
  }

  /** The seq of `origin`'s retained op with timestamp `ts` (a stored version's op id), if retained. */
  seqOf(origin: string, ts: number): number | undefined {
    return this.index.get(origin)?.seqOf(ts);
  }

  /** Resolves once every op appended so far is durable (per the sync policy). */
  whenDurable(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the replication log is closed'));
    if (this.failure) return Promise.reject(this.failure);
    return this.awaitDurable();
  }

  /** Called whenever durableLsn advances (senders ship only durable ops). */
  onDurable(listener: () => void): () => void {
    this.durableListeners.add(listener);
    return () => this.durableListeners.delete(listener);
  }

  /**
   * Appends `ops` (each origin's seqs must continue gap-free from lastSeen). The bytes reach
   * the OS before this returns, so a killed process keeps them; `durable` resolves when the
   * sync policy is satisfied. `encoded`, when given, holds exactly the records of `ops` in order
   * (verified ones received from a peer): they are written as they are instead of encoding the ops again.
   */
  append(ops: readonly Op[], encoded?: EncodedOps): { firstLsn: number; durable: Promise<void> } {
    if (this.closed) throw new Error('the replication log is closed');
    if (this.failure) throw this.failure;
    const firstLsn = this.next;
    const expected = new Map<string, number>();
    for (const op of ops) {
      const want = (expected.get(op.origin) ?? this.lastSeen(op.origin)) + 1;
      if (op.seq !== want) throw new Error(`replication log: ${op.origin}:${op.seq} appended where seq ${want} was due`);
      expected.set(op.origin, op.seq);
    }
    let sizes: readonly number[];
    let size: number;
    if (encoded) {
      if (encoded.sizes.length !== ops.length) throw new Error(`replication log: ${encoded.sizes.length} records given for ${ops.length} ops`);
      sizes = encoded.sizes;
      size = encoded.bytes.length;
    } else {
      const measured: number[] = new Array(ops.length);
      size = measureOps(ops, measured);
      sizes = measured;
    }
    const { buf, at } = this.cache.space(size);
    if (encoded) encoded.bytes.copy(buf, at);
    else writeOps(ops, buf, at);
    this.opts.fs.write(this.fd, buf.subarray(at, at + size));
    this.active.bytes += size;
    this.cache.commit(ops, sizes);
    for (const op of ops) this.track(op.origin, op.seq, op.ts, this.next++);
    this.cache.trim(this.opts.cacheBytes);
    const durable = this.awaitDurable();
    if (this.active.bytes >= this.opts.segmentBytes) {
      if (this.syncing) this.rollPending = true;
      else if (this.opts.sync === 'none') this.rollWhenFlushed();
      else this.roll();
    }
    return { firstLsn, durable };
  }

  /**
   * Up to `maxOps` retained ops from `fromLsn` (clamped to firstLsn), stopping once `maxBytes`
   * is passed. May return fewer than exist (one segment at a time from disk): call again.
   */
  read(fromLsn: number, maxOps: number, maxBytes = Infinity): LoggedOp[] {
    const from = Math.max(fromLsn, this.firstLsn);
    if (from >= this.next || maxOps <= 0) return [];
    if (from >= this.cache.firstLsn) return this.cache.read(from, maxOps, maxBytes);
    return slice(this.decodeSegmentOf(from), from, maxOps, maxBytes);
  }

  /**
   * The ops of `origin`s that `keep` accepts among those read(fromLsn, maxOps, maxBytes) would
   * return below `endLsn`, and the LSN after the last one scanned. Only the kept ones are
   * decoded: a sender of a full mesh ships this node's own ops, a third of a 3-node log, and
   * decoding the rest only to drop them was half of its work. In a segment that does not read
   * whole it goes on past the damage (see salvage): `lost` then names the skips among the ops
   * that stand in for ops whose records are lost.
   */
  window(fromLsn: number, endLsn: number, maxOps: number, maxBytes: number, keep: (origin: string) => boolean): ShippingWindow {
    const from = Math.max(fromLsn, this.firstLsn);
    if (from >= Math.min(endLsn, this.next) || maxOps <= 0) return { ops: [], next: from };
    if (from >= this.cache.firstLsn) return this.cache.select(from, endLsn, maxOps, maxBytes, keep);
    // A segment found damaged is not read whole again for every window (up to 16 MiB, checksummed).
    let salvaged = this.salvagedAt(from);
    let scanned: LoggedOp[] = [];
    if (salvaged === undefined) {
      try {
        scanned = this.read(from, maxOps, maxBytes);
      } catch (err) {
        if (!(err instanceof CorruptionError)) throw err;
        salvaged = this.salvage(from, err);
      }
    }
    // What the record cache holds is read from there (intact) by the next window, not salvaged.
    if (salvaged) scanned = slice(salvaged.ops, from, maxOps, maxBytes).filter((op) => op.lsn < this.cache.firstLsn);
    scanned = scanned.filter((op) => op.lsn < endLsn);
    const ops = scanned.filter((op) => keep(op.origin));
    const next = scanned.length > 0 ? scanned[scanned.length - 1].lsn + 1 : from;
    if (!salvaged) return { ops, next };
    const lost = salvaged.lost.ops.filter((op) => op.lsn >= from && op.lsn < next && keep(op.origin));
    return lost.length > 0 ? { ops, next, lost: { ...salvaged.lost, ops: lost } } : { ops, next };
  }

  /**
   * A segment that does not read whole, as the senders ship it (read() and everything else
   * still fail on it: recovery must not pass over a write it cannot replay). Every record that
   * reads is an op as usual, and each op whose record does not is a skip with its origin, seq
   * and ts (from the per-origin index, which holds every retained op's LSN): a destination's
   * version vector moves past it, and the sender moves on instead of holding the destination
   * back for good. The lost op's write is in this node's store (an op is logged and stored
   * together), so a Merkle round repairs the destination's copy of its key.
   */
  private salvage(lsn: number, cause: CorruptionError): Salvaged {
    const { seg, endLsn } = this.segmentAt(lsn);
    const full = path.join(this.dir, seg.file);
    const buf = this.opts.fs.readFile(full);
    const found: LoggedOp[] = [];
    const damage = salvageOpRecords(buf, (op, offset, end) => {
      const at = this.lsnOf(op.origin, op.seq);
      // An intact record the index does not place in this segment is not one of its ops.
      if (at !== undefined && at >= seg.startLsn && at < endLsn && (found.length === 0 || at > found[found.length - 1].lsn)) {
        found.push(decodeLoggedOp(buf, offset, end - offset, op.origin, at));
      }
    });
    const ops: LoggedOp[] = [];
    const lost: LoggedOp[] = [];
    let k = 0;
    for (let at = seg.startLsn; at < endLsn; at++) {
      if (k < found.length && found[k].lsn === at) {
        ops.push(found[k++]);
        continue;
      }
      const stand = this.skipAt(at);
      if (stand === undefined) continue;
      ops.push(stand);
      lost.push(stand);
    }
    const salvaged: Salvaged = {
      ops, endLsn,
      lost: { ops: lost, file: full, offset: damage?.offset ?? cause.offset, detail: damage?.detail ?? cause.message },
    };
    this.salvaged.set(seg.file, salvaged);
    if (this.salvaged.size > DECODED_SEGMENTS) this.salvaged.delete(this.salvaged.keys().next().value as string);
    return salvaged;
  }

  /** The segment holding `lsn`, and the LSN its ops end below (the active one's grows). */
  private segmentAt(lsn: number): { seg: Segment; endLsn: number } {
    let i = this.segments.length - 1;
    while (i > 0 && this.segments[i].startLsn > lsn) i--;
    return { seg: this.segments[i], endLsn: i + 1 < this.segments.length ? this.segments[i + 1].startLsn : this.next };
  }

  /** The salvage of the damaged segment holding `lsn`, when it covers `lsn`. */
  private salvagedAt(lsn: number): Salvaged | undefined {
    if (this.salvaged.size === 0) return undefined;
    const kept = this.salvaged.get(this.segmentAt(lsn).seg.file);
    return kept && lsn < kept.endLsn ? kept : undefined;
  }

  /** A skip standing in for the retained op at `lsn` (found through the per-origin index). */
  private skipAt(lsn: number): LoggedOp | undefined {
    for (const [origin, idx] of this.index) {
      const position = idx.firstAtOrAfter(lsn);
      if (position < idx.size && idx.lsnAt(position) === lsn) {
        return { origin, seq: idx.firstSeq + position, ts: idx.tsAt(position), key: NO_KEY, value: null, lsn, size: 0 };
      }
    }
    return undefined;
  }

  /**
   * The records of `ops` (ops this log handed out, in LSN order) as they are in the log, back to
   * back; undefined unless all of them are still cached.
   */
  records(ops: readonly LoggedOp[]): Buffer | undefined {
    return this.cache.records(ops);
  }

  /**
   * Deletes whole segments that lie below `keepFromLsn` (everything every destination has
   * acknowledged and the store has made durable) while the log is over its retention size.
   */
  release(keepFromLsn: number): void {
    let removed = false;
    while (this.segments.length > 1 && this.bytes > this.opts.retainBytes && this.segments[1].startLsn <= keepFromLsn) {
      const gone = this.segments.shift() as Segment;
      this.opts.fs.unlink(path.join(this.dir, gone.file));
      const index = path.join(this.dir, indexName(gone.file));
      if (this.opts.fs.exists(index)) this.opts.fs.unlink(index);
      this.decoded.delete(gone.file);
      this.salvaged.delete(gone.file);
      removed = true;
    }
    if (!removed) return;
    this.opts.fs.fsyncDir(this.dir);
    const first = this.firstLsn;
    for (const [origin, idx] of this.index) {
      idx.dropBelow(first);
      if (idx.size === 0) this.index.delete(origin);
    }
  }

  /** Syncs what was appended and closes the segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    while (this.syncing) await new Promise((r) => setTimeout(r, 1));
    await this.presync;
    if (!this.failure) {
      this.opts.fs.fsync(this.fd);
      this.settle(this.next);
    }
    this.opts.fs.close(this.fd);
    for (const w of this.waiters.splice(0)) w.reject(new Error('the replication log was closed'));
    await Promise.all(this.indexWrites);
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private track(origin: string, seq: number, ts: number, lsn: number): void {
    this.seen.set(origin, seq);
    if (ts > this.maxTs) this.maxTs = ts;
    let idx = this.index.get(origin);
    if (!idx) this.index.set(origin, (idx = new OriginIndex(seq)));
    idx.push(lsn, ts);
  }

  private decodeSegmentOf(lsn: number): LoggedOp[] {
    let i = this.segments.length - 1;
    while (i > 0 && this.segments[i].startLsn > lsn) i--;
    const seg = this.segments[i];
    const kept = this.decoded.get(seg.file);
    this.decoded.delete(seg.file);
    // The active segment grows: what was read of it may end before `lsn`.
    const ops = kept !== undefined && kept.length > 0 && kept[kept.length - 1].lsn >= lsn ? kept : this.readSegment(seg.file);
    this.decoded.set(seg.file, ops);
    if (this.decoded.size > DECODED_SEGMENTS) this.decoded.delete(this.decoded.keys().next().value as string);
    return ops;
  }

  /**
   * The ops of a segment, checked as recovery checks them, as views of the segment's bytes: one
   * buffer for the segment (it is in `decoded` until others push it out) rather than a copy of every
   * key and value, which cost a sender catching up on old segments most of its time in GC.
   */
  private readSegment(file: string): LoggedOp[] {
    const ops: LoggedOp[] = [];
    let lsn = 0;
    const full = path.join(this.dir, file);
    const scan = scanSegment(this.opts.fs, full, (header) => void (lsn = header.startLsn),
      (op, buf, offset, end) => void ops.push(decodeLoggedOp(buf, offset, end - offset, op.origin, lsn++)));
    // Appends are written whole before they return, so a live log has no torn record: this is damage.
    if (scan.tornTail) throw new CorruptionError(full, scan.validBytes, 'the segment ends in a damaged record');
    return ops;
  }

  /**
   * Rebuilds the version vector, the per-origin index and the highest timestamp. A closed segment
   * with a usable index file is taken from it; any other is read record by record, checked, and
   * (unless it is the active one) gets its index written after open.
   */
  private recover(): { segment: Segment; header: HeaderState; endLsn: number }[] {
    const { fs } = this.opts;
    fs.mkdirp(this.dir);
    const names = fs.readdir(this.dir);
    const files = names.filter((f) => SEGMENT_PATTERN.test(f)).sort();
    for (const f of names) {
      // Temporary files of a write a crash interrupted, and indexes of segments already deleted.
      if (f.endsWith('.tmp') || (INDEX_PATTERN.test(f) && !files.includes(f.replace(/\.idx$/, '.log')))) fs.unlink(path.join(this.dir, f));
    }
    if (files.length === 0) {
      this.startSegment(0);
      return [];
    }
    const unindexed: { segment: Segment; header: HeaderState; endLsn: number }[] = [];
    for (let i = 0; i < files.length; i++) {
      const startLsn = Number(SEGMENT_PATTERN.exec(files[i])?.[1]);
      const last = i === files.length - 1;
      const indexed = last || !names.includes(indexName(files[i])) ? undefined : this.recoverIndexed(files[i], startLsn, i === 0);
      if (indexed) {
        this.segments.push(indexed);
        this.recovery.indexedSegments++;
        continue;
      }
      const segment = this.recoverScanned(files[i], startLsn, i === 0, last);
      this.segments.push(segment);
      if (!last) {
        this.recovery.scannedSegments++;
        unindexed.push({ segment, header: this.activeHeader, endLsn: this.next });
      }
    }
    this.fd = fs.open(path.join(this.dir, this.active.file), 'a');
    this.durable = this.next;
    return unindexed;
  }

  /** Reads every record of a segment, checking each (a torn last record of the active segment is cut off). */
  private recoverScanned(file: string, startLsn: number, first: boolean, last: boolean): Segment {
    const { fs } = this.opts;
    const full = path.join(this.dir, file);
    // Only the last segment's ops are cached, so only its origins and sizes are kept.
    const origins: string[] = [];
    const sizes: number[] = [];
    const seg = scanSegment(fs, full, (header) => {
      if (header.startLsn !== startLsn) throw new CorruptionError(full, 0, `header says the segment starts at LSN ${header.startLsn}, its name disagrees`);
      if (first) this.adoptHeader(header.lastSeen, header.maxTs);
      else if (header.startLsn !== this.next) throw new CorruptionError(full, 0, `segment starts at LSN ${header.startLsn} but the previous one ends at ${this.next}`);
      this.next = header.startLsn;
      this.activeHeader = { maxTs: header.maxTs, lastSeen: header.lastSeen };
    }, (op, _buf, offset, end) => {
      const due = this.lastSeen(op.origin) + 1;
      if (op.seq !== due) throw new CorruptionError(full, offset, `${op.origin}:${op.seq} logged where seq ${due} was due`);
      this.track(op.origin, op.seq, op.ts, this.next++);
      if (last) {
        origins.push(op.origin);
        sizes.push(end - offset);
      }
    });
    if (seg.tornTail) {
      if (!last) throw new CorruptionError(full, seg.validBytes, 'a closed segment ends in a torn record');
      // An append a crash interrupted (with sync batch or always, never acknowledged): cut off.
      fs.truncate(full, seg.validBytes);
      this.recovery.cutTail = { file: full, keptBytes: seg.validBytes, cutBytes: seg.bytes.length - seg.validBytes };
    }
    if (last) this.cacheTail(origins, sizes, seg.bytes.subarray(0, seg.validBytes));
    return { file, startLsn, bytes: seg.validBytes, indexBytes: 0 };
  }

  /**
   * A closed segment from its index file, or undefined (nothing changed) when the index cannot be
   * used: damaged, of another version, or disagreeing with the segment or the segments before it.
   */
  private recoverIndexed(file: string, startLsn: number, first: boolean): Segment | undefined {
    const { fs } = this.opts;
    let index: SegmentIndex | string;
    let indexBytes = 0;
    try {
      const payload = readAtomicFile(fs, path.join(this.dir, indexName(file)));
      indexBytes = payload?.length ?? 0;
      index = payload ? decodeSegmentIndex(payload) : 'missing';
    } catch {
      return undefined; // A damaged index costs a scan of its segment, nothing else.
    }
    if (typeof index === 'string' || index.startLsn !== startLsn || (!first && startLsn !== this.next)) return undefined;
    const fd = fs.open(path.join(this.dir, file), 'r');
    const bytes = fs.size(fd);
    fs.close(fd);
    if (bytes !== index.segmentBytes) return undefined;
    const lastSeen = (origin: string) => (first ? index.headerLastSeen[origin] ?? 0 : this.lastSeen(origin));
    for (const run of index.runs) if (run.firstSeq !== lastSeen(run.origin) + 1) return undefined;
    if (first) {
      this.adoptHeader(index.headerLastSeen, index.headerMaxTs);
      this.next = startLsn;
    }
    this.trackIndexed(index);
    return { file, startLsn, bytes, indexBytes };
  }

  /** track() for every op of a validated index, an origin's ops in one copy. */
  private trackIndexed({ runs, opCount }: SegmentIndex): void {
    for (const { origin, firstSeq, lsns, tss } of runs) {
      let idx = this.index.get(origin);
      if (!idx) this.index.set(origin, (idx = new OriginIndex(firstSeq)));
      idx.pushAll(lsns, tss);
      this.seen.set(origin, firstSeq + lsns.length - 1);
      // An origin's timestamps grow with its seqs: its last op has its highest.
      if (tss[tss.length - 1] > this.maxTs) this.maxTs = tss[tss.length - 1];
    }
    this.next += opCount;
  }

  /** The first retained segment's header: the state of every op deleted before it. */
  private adoptHeader(lastSeen: Record<string, number>, maxTs: number): void {
    for (const [origin, seq] of Object.entries(lastSeen)) this.seen.set(origin, seq);
    this.maxTs = maxTs;
  }

  /** Writes `segment`'s index (a closed segment, all of whose ops the per-origin index still holds), in the background. */
  private writeIndex(segment: Segment, header: HeaderState, endLsn: number): void {
    const runs: OriginRun[] = [];
    for (const [origin, idx] of this.index) {
      const run = idx.range(segment.startLsn, endLsn);
      if (run.lsns.length > 0) runs.push({ origin, ...run });
    }
    let payload: Buffer;
    try {
      payload = encodeSegmentIndex({
        startLsn: segment.startLsn, opCount: endLsn - segment.startLsn, segmentBytes: segment.bytes, headerMaxTs: header.maxTs, headerLastSeen: header.lastSeen, runs,
      });
    } catch {
      return; // A segment this build cannot index (segment-index.ts says which) is read record by record on open.
    }
    const file = path.join(this.dir, indexName(segment.file));
    const writing = writeAtomicFileAsync(this.opts.fs, file, payload).then(() => {
      segment.indexBytes = payload.length;
      // Released while it was being written (release() found no index to delete).
      if (!this.segments.includes(segment) && this.opts.fs.exists(file)) this.opts.fs.unlink(file);
    }).catch(() => undefined); // Without an index the next open reads the segment's records instead: slower, never wrong.
    this.indexWrites.add(writing);
    void writing.finally(() => this.indexWrites.delete(writing));
  }

  /**
   * Fills the cache with the newest ops of the last segment (their origins and record sizes, in
   * log order up to this.next), whose records end `segment` (the bytes recovery read: records
   * are contiguous, so the newest ops are its last bytes). They are copied, so the cache does
   * not keep the whole segment alive.
   */
  private cacheTail(origins: readonly string[], sizes: readonly number[], segment: Buffer): void {
    let k = sizes.length;
    let bytes = 0;
    while (k > 0 && (k === sizes.length || bytes + sizes[k - 1] <= this.opts.cacheBytes)) bytes += sizes[--k];
    this.cache = new RecordCache(this.next - (sizes.length - k));
    if (bytes === 0) return;
    const buf = Buffer.allocUnsafeSlow(bytes);
    segment.copy(buf, 0, segment.length - bytes);
    this.cache.adopt(buf);
    this.cache.commit(origins.slice(k).map((origin) => ({ origin })), sizes.slice(k));
  }

  private startSegment(startLsn: number): void {
    const file = segmentName(startLsn);
    const full = path.join(this.dir, file);
    this.activeHeader = { maxTs: this.maxTs, lastSeen: this.versionVector() };
    const header = encodeHeader({ startLsn, ...this.activeHeader });
    // Written under a temporary name first so a segment file never exists without its header.
    const tmp = `${full}.tmp`;
    const fd = this.opts.fs.open(tmp, 'w');
    this.opts.fs.write(fd, header);
    this.opts.fs.fsync(fd);
    this.opts.fs.close(fd);
    this.opts.fs.rename(tmp, full);
    this.opts.fs.fsyncDir(this.dir);
    this.fd = this.opts.fs.open(full, 'a');
    this.segments.push({ file, startLsn, bytes: header.length, indexBytes: 0 });
  }

  /**
   * Without a sync policy a full segment's bytes are all still in the page cache, and roll()'s
   * fsync flushed them on the event loop (24-56 ms per 16 MiB segment under load). They are
   * flushed in the thread pool first; appends meanwhile still go to the segment, and roll() then
   * flushes only those.
   */
  private rollWhenFlushed(): void {
    if (this.presync) return;
    const fd = this.fd;
    this.presync = this.opts.fs.fsyncAsync(fd).then(
      () => {
        this.presync = undefined;
        if (!this.closed && !this.failure && this.fd === fd) this.roll();
      },
      (err: Error) => {
        this.presync = undefined;
        this.failure = new Error(`replication log fsync failed: ${err.message}`);
      },
    );
  }

  private roll(): void {
    this.rollPending = false;
    this.opts.fs.fsync(this.fd);
    this.opts.fs.close(this.fd);
    this.settle(this.next);
    const closed = this.active;
    const header = this.activeHeader;
    this.startSegment(this.next);
    this.writeIndex(closed, header, this.next);
  }

  private awaitDurable(): Promise<void> {
    if (this.opts.sync === 'none') {
      this.settle(this.next);
      return Promise.resolve();
    }
    const promise = new Promise<void>((resolve, reject) => this.waiters.push({ upTo: this.next, resolve, reject }));
    this.scheduleSync();
    return promise;
  }

  private scheduleSync(): void {
    if (this.syncing || this.timer || this.closed) return;
    const wait = this.opts.sync === 'batch' ? Math.max(0, this.lastSyncAt + this.opts.syncIntervalMs - Date.now()) : 0;
    if (wait === 0) this.runSync();
    else
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.runSync();
      }, wait);
  }

  private runSync(): void {
    if (this.waiters.length === 0 || this.closed) return;
    this.syncing = true;
    const target = this.next;
    this.opts.fs.fsyncAsync(this.fd).then(
      () => {
        this.syncing = false;
        this.lastSyncAt = Date.now();
        this.settle(target);
        if (this.closed) return;
        if (this.rollPending) this.roll();
        if (this.waiters.length > 0) this.scheduleSync();
      },
      (err: Error) => {
        this.syncing = false;
        this.failure = new Error(`replication log fsync failed: ${err.message}`);
        for (const w of this.waiters.splice(0)) w.reject(this.failure);
      },
    );
  }

  private settle(upTo: number): void {
    let n = 0;
    while (n < this.waiters.length && this.waiters[n].upTo <= upTo) this.waiters[n++].resolve();
    if (n > 0) this.waiters.splice(0, n);
    if (upTo > this.durable) {
      this.durable = upTo;
      for (const listener of this.durableListeners) listener();
    }
  }
}
