// The replication log: every op this node applied (its own writes and those it received), in
// the order it applied them, each at a log sequence number (LSN). It is append-only and
// segmented: `seg-<startLsn>.log` files of CRC-framed records, each opening with a header that
// holds the replication state before it, so old segments can be deleted without losing the
// version vector or the clock. It serves three readers: the senders (ops not yet acknowledged
// by a destination), FetchUpdates (an origin's ops after a given seq, through a per-origin
// index), and recovery (the version vector, the highest timestamp, the store's replay point).

import * as path from 'node:path';
import { CorruptionError } from '../storage/errors';
import type { FileSystem, SyncPolicy } from '../storage/types';
import { readLog } from '../storage/wal-format';
import { decodeRecord, encodeHeader, encodeOps, loggedOp, type LoggedOp, type Op, type SegmentHeader } from './op-codec';

export interface OpLogOptions {
  fs: FileSystem;
  sync: SyncPolicy;
  syncIntervalMs: number;
  /** A segment is closed and a new one started past this size. */
  segmentBytes: number;
  /** Newest ops kept decoded in memory for the senders. */
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
}

/**
 * Where an origin's retained ops sit: seq firstSeq + i is at lsns[head + i] with timestamp
 * tss[head + i] (seqs are gap-free, and an origin's timestamps grow with its seqs).
 */
interface OriginIndex {
  firstSeq: number;
  lsns: number[];
  tss: number[];
  head: number;
}

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

const SEGMENT_PATTERN = /^seg-(\d{16})\.log$/;
const segmentName = (lsn: number) => `seg-${String(lsn).padStart(16, '0')}.log`;

export class OpLog {
  private segments: Segment[] = [];
  private fd = -1;
  private next = 0;
  private durable = 0;
  private maxTs = 0;
  private readonly seen = new Map<string, number>();
  private readonly index = new Map<string, OriginIndex>();
  private cache: LoggedOp[] = [];
  private cacheHead = 0;
  private cacheBytes = 0;
  private decoded: { file: string; ops: LoggedOp[] } | undefined;
  private waiters: Waiter[] = [];
  private syncing = false;
  private rollPending = false;
  private timer: NodeJS.Timeout | undefined;
  private lastSyncAt = 0;
  private failure: Error | undefined;
  private closed = false;
  private readonly durableListeners = new Set<() => void>();

  private constructor(
    private readonly dir: string,
    private readonly opts: OpLogOptions,
  ) {}

  /** Opens (or creates) the log in `dir`, recovering state from its segments. A torn last record is cut off. */
  static open(dir: string, options: Partial<OpLogOptions> & { fs: FileSystem }): OpLog {
    const log = new OpLog(dir, { ...DEFAULT_OP_LOG_OPTIONS, ...options });
    log.recover();
    return log;
  }

  get firstLsn(): number {
    return this.segments[0].startLsn;
  }
  /** The LSN the next appended op gets. */
  get nextLsn(): number {
    return this.next;
  }
  /** Ops below this LSN are durable per the sync policy; senders only ship those. */
  get durableLsn(): number {
    return this.durable;
  }
  get highestTs(): number {
    return this.maxTs;
  }
  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
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
    return this.firstAtOrAfter(idx, toLsn) - this.firstAtOrAfter(idx, fromLsn);
  }

  private firstAtOrAfter(idx: OriginIndex, lsn: number): number {
    let lo = idx.head;
    let hi = idx.lsns.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (idx.lsns[mid] < lsn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** LSN of `origin`'s op `seq` when it is still retained. */
  lsnOf(origin: string, seq: number): number | undefined {
    const idx = this.index.get(origin);
    if (!idx || seq < idx.firstSeq) return undefined;
    const at = idx.head + (seq - idx.firstSeq);
    return at < idx.lsns.length ? idx.lsns[at] : undefined;
  }

  /** The seq of `origin`'s retained op with timestamp `ts` (a stored version's op id), if retained. */
  seqOf(origin: string, ts: number): number | undefined {
    const idx = this.index.get(origin);
    if (!idx) return undefined;
    let lo = idx.head;
    let hi = idx.tss.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = idx.tss[mid];
      if (t === ts) return idx.firstSeq + (mid - idx.head);
      if (t < ts) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
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
   * sync policy is satisfied.
   */
  append(ops: readonly Op[]): { firstLsn: number; durable: Promise<void> } {
    if (this.closed) throw new Error('the replication log is closed');
    if (this.failure) throw this.failure;
    const firstLsn = this.next;
    const expected = new Map<string, number>();
    for (const op of ops) {
      const want = (expected.get(op.origin) ?? this.lastSeen(op.origin)) + 1;
      if (op.seq !== want) throw new Error(`replication log: ${op.origin}:${op.seq} appended where seq ${want} was due`);
      expected.set(op.origin, op.seq);
    }
    const sizes: number[] = new Array(ops.length);
    const buf = encodeOps(ops, sizes);
    this.opts.fs.write(this.fd, buf);
    this.segments[this.segments.length - 1].bytes += buf.length;
    for (let i = 0; i < ops.length; i++) {
      const entry = loggedOp(ops[i], this.next++, sizes[i]);
      this.track(entry);
      this.cache.push(entry);
    }
    this.cacheBytes += buf.length;
    this.trimCache();
    const durable = this.awaitDurable();
    if (this.active.bytes >= this.opts.segmentBytes) {
      if (this.syncing) this.rollPending = true;
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
    const cacheStart = this.cacheHead < this.cache.length ? this.cache[this.cacheHead].lsn : this.next;
    let source: LoggedOp[];
    let at: number;
    if (from >= cacheStart) {
      source = this.cache;
      at = this.cacheHead + (from - cacheStart);
    } else {
      source = this.decodeSegmentOf(from);
      at = source.findIndex((op) => op.lsn === from);
      if (at < 0) return [];
    }
    const out: LoggedOp[] = [];
    let bytes = 0;
    for (let i = at; i < source.length && out.length < maxOps && bytes < maxBytes; i++) {
      out.push(source[i]);
      bytes += source[i].size;
    }
    return out;
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
      if (this.decoded?.file === gone.file) this.decoded = undefined;
      removed = true;
    }
    if (!removed) return;
    this.opts.fs.fsyncDir(this.dir);
    const first = this.firstLsn;
    for (const [origin, idx] of this.index) {
      while (idx.head < idx.lsns.length && idx.lsns[idx.head] < first) {
        idx.head++;
        idx.firstSeq++;
      }
      if (idx.head === idx.lsns.length) this.index.delete(origin);
      else if (idx.head > 4096) {
        idx.lsns = idx.lsns.slice(idx.head);
        idx.tss = idx.tss.slice(idx.head);
        idx.head = 0;
      }
    }
  }

  /** Syncs what was appended and closes the segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    while (this.syncing) await new Promise((r) => setTimeout(r, 1));
    if (!this.failure) {
      this.opts.fs.fsync(this.fd);
      this.settle(this.next);
    }
    this.opts.fs.close(this.fd);
    for (const w of this.waiters.splice(0)) w.reject(new Error('the replication log was closed'));
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private track(op: LoggedOp): void {
    this.seen.set(op.origin, op.seq);
    if (op.ts > this.maxTs) this.maxTs = op.ts;
    let idx = this.index.get(op.origin);
    if (!idx) this.index.set(op.origin, (idx = { firstSeq: op.seq, lsns: [], tss: [], head: 0 }));
    idx.lsns.push(op.lsn);
    idx.tss.push(op.ts);
  }

  private trimCache(): void {
    while (this.cacheBytes > this.opts.cacheBytes && this.cacheHead < this.cache.length - 1) {
      this.cacheBytes -= this.cache[this.cacheHead].size;
      this.cacheHead++;
    }
    if (this.cacheHead > 65536 && this.cacheHead * 2 > this.cache.length) {
      this.cache = this.cache.slice(this.cacheHead);
      this.cacheHead = 0;
    }
  }

  private decodeSegmentOf(lsn: number): LoggedOp[] {
    let i = this.segments.length - 1;
    while (i > 0 && this.segments[i].startLsn > lsn) i--;
    const seg = this.segments[i];
    if (this.decoded?.file === seg.file && this.decoded.ops.length > 0 && this.decoded.ops[this.decoded.ops.length - 1].lsn >= lsn) {
      return this.decoded.ops;
    }
    const { ops } = this.readSegment(seg.file);
    this.decoded = { file: seg.file, ops };
    return ops;
  }

  private readSegment(file: string): { header: SegmentHeader; ops: LoggedOp[]; validBytes: number; tornTail: boolean } {
    const full = path.join(this.dir, file);
    const result = readLog(this.opts.fs, full);
    const first = result.records[0];
    if (!first) throw new CorruptionError(full, 0, 'segment has no header record');
    const head = decodeRecord(first.payload, full, first.offset);
    if (head.type !== 'header') throw new CorruptionError(full, 0, 'segment does not start with a header record');
    const ops: LoggedOp[] = [];
    let lsn = head.header.startLsn;
    for (let r = 1; r < result.records.length; r++) {
      const rec = decodeRecord(result.records[r].payload, full, result.records[r].offset);
      if (rec.type !== 'op') throw new CorruptionError(full, result.records[r].offset, 'header record inside a segment');
      ops.push(loggedOp(rec.op, lsn++, rec.size));
    }
    return { header: head.header, ops, validBytes: result.validBytes, tornTail: result.tornTail };
  }

  private recover(): void {
    const { fs } = this.opts;
    fs.mkdirp(this.dir);
    const files = fs.readdir(this.dir).filter((f) => SEGMENT_PATTERN.test(f)).sort();
    for (const f of fs.readdir(this.dir)) if (f.endsWith('.tmp')) fs.unlink(path.join(this.dir, f));
    if (files.length === 0) {
      this.startSegment(0);
      return;
    }
    for (let i = 0; i < files.length; i++) {
      const full = path.join(this.dir, files[i]);
      const last = i === files.length - 1;
      const seg = this.readSegment(files[i]);
      if (seg.header.startLsn !== Number(SEGMENT_PATTERN.exec(files[i])?.[1])) {
        throw new CorruptionError(full, 0, `header says the segment starts at LSN ${seg.header.startLsn}, its name disagrees`);
      }
      if (i === 0) {
        for (const [origin, seq] of Object.entries(seg.header.lastSeen)) this.seen.set(origin, seq);
        this.maxTs = seg.header.maxTs;
        this.next = seg.header.startLsn;
      } else if (seg.header.startLsn !== this.next) {
        throw new CorruptionError(full, 0, `segment starts at LSN ${seg.header.startLsn} but the previous one ends at ${this.next}`);
      }
      if (seg.tornTail) {
        if (!last) throw new CorruptionError(full, seg.validBytes, 'a closed segment ends in a torn record');
        // An append the crash interrupted: it was never acknowledged, so it is cut off.
        fs.truncate(full, seg.validBytes);
      }
      for (const op of seg.ops) {
        const due = this.lastSeen(op.origin) + 1;
        if (op.seq !== due) throw new CorruptionError(full, 0, `${op.origin}:${op.seq} logged where seq ${due} was due`);
        this.track(op);
        this.next = op.lsn + 1;
      }
      this.segments.push({ file: files[i], startLsn: seg.header.startLsn, bytes: seg.validBytes });
      if (last) {
        for (const op of seg.ops) {
          this.cache.push(op);
          this.cacheBytes += op.size;
        }
        this.trimCache();
      }
    }
    this.fd = fs.open(path.join(this.dir, this.active.file), 'a');
    this.durable = this.next;
  }

  private startSegment(startLsn: number): void {
    const file = segmentName(startLsn);
    const full = path.join(this.dir, file);
    const header = encodeHeader({ startLsn, maxTs: this.maxTs, lastSeen: this.versionVector() });
    // Written under a temporary name first so a segment file never exists without its header.
    const tmp = `${full}.tmp`;
    const fd = this.opts.fs.open(tmp, 'w');
    this.opts.fs.write(fd, header);
    this.opts.fs.fsync(fd);
    this.opts.fs.close(fd);
    this.opts.fs.rename(tmp, full);
    this.opts.fs.fsyncDir(this.dir);
    this.fd = this.opts.fs.open(full, 'a');
    this.segments.push({ file, startLsn, bytes: header.length });
  }

  private roll(): void {
    this.rollPending = false;
    this.opts.fs.fsync(this.fd);
    this.opts.fs.close(this.fd);
    this.settle(this.next);
    this.startSegment(this.next);
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
