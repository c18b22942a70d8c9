// The write-ahead log writer: appends framed records to the current segment and makes them
// durable per the sync policy with group commit (every writer that queued while an fsync was
// running shares the next one). One segment per memtable; the store rotates segments.

import { encodedEntryBytes, encodeEntry, RECORD_HEADER_BYTES, sealRecord } from './wal-format';
import type { Entry, FileSystem, SyncPolicy } from './types';

/** A group of appends that become durable together. */
class Round {
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: Error) => void;
  private whenTrue: Promise<boolean> | undefined;
  private whenFalse: Promise<boolean> | undefined;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A failed round is reported to its writers; this keeps an unobserved one from crashing the process.
    this.done.catch(() => undefined);
  }

  /** One shared promise per outcome, so a single put allocates no promise of its own. */
  result(applied: boolean): Promise<boolean> {
    if (applied) return (this.whenTrue ??= this.done.then(() => true));
    return (this.whenFalse ??= this.done.then(() => false));
  }
}

const RESOLVED_TRUE = Promise.resolve(true);
const RESOLVED_FALSE = Promise.resolve(false);
const RESOLVED = Promise.resolve();

export class WalWriter {
  private fd: number;
  private pending: Buffer = Buffer.allocUnsafe(64 * 1024);
  private pendingBytes = 0;
  /** Bytes of the current segment handed to the OS. */
  private written: number;
  /** Round whose appends are buffered and not yet synced. */
  private next: Round | undefined;
  /** Round whose fsync is running. */
  private inFlight: Round | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSyncAt = 0;
  private failure: Error | undefined;
  /** Segments whose descriptor must stay open until the running fsync on it ends. */
  private retiring: number[] = [];

  constructor(
    private readonly fs: FileSystem,
    private file: string,
    private readonly policy: SyncPolicy,
    private readonly syncIntervalMs: number,
  ) {
    this.fd = fs.open(file, 'a');
    this.written = fs.size(this.fd);
  }

  get segmentFile(): string {
    return this.file;
  }

  /** Bytes of the current segment, including appends not yet handed to the OS. */
  get bytes(): number {
    return this.written + this.pendingBytes;
  }

  /** The error that stopped the log, if an fsync or write failed; every later append fails with it. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Appends one record holding `entries` (already validated; `originBytes[i]` is each origin's UTF-8 length). */
  append(entries: readonly Entry[], originBytes: readonly number[]): void {
    let size = RECORD_HEADER_BYTES;
    for (let i = 0; i < entries.length; i++) size += encodedEntryBytes(entries[i], originBytes[i]);
    const start = this.reserve(size);
    let p = start + RECORD_HEADER_BYTES;
    for (let i = 0; i < entries.length; i++) p = encodeEntry(this.pending, p, entries[i]);
    sealRecord(this.pending, start, p);
    this.pendingBytes = p;
  }

  /** Appends a record holding one entry: the single-put path, without arrays. */
  appendOne(entry: Entry, originBytes: number): void {
    const start = this.reserve(RECORD_HEADER_BYTES + encodedEntryBytes(entry, originBytes));
    const end = encodeEntry(this.pending, start + RECORD_HEADER_BYTES, entry);
    sealRecord(this.pending, start, end);
    this.pendingBytes = end;
  }

  private reserve(size: number): number {
    const need = this.pendingBytes + size;
    if (need > this.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.pending.length * 2));
      this.pending.copy(grown, 0, 0, this.pendingBytes);
      this.pending = grown;
    }
    return this.pendingBytes;
  }

  /**
   * Resolves with `applied` once everything appended so far is durable per the policy.
   * 'none' writes to the OS now and resolves at once.
   */
  commit(applied: boolean): Promise<boolean> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.policy === 'none') {
      this.writePending();
      return applied ? RESOLVED_TRUE : RESOLVED_FALSE;
    }
    if (this.pendingBytes === 0) {
      // Nothing new to sync (a stale write): wait for whatever is still on its way to disk.
      const round = this.next ?? this.inFlight;
      return round ? round.result(applied) : applied ? RESOLVED_TRUE : RESOLVED_FALSE;
    }
    const round = (this.next ??= new Round());
    this.schedule();
    return round.result(applied);
  }

  /** Resolves when everything appended so far is durable per the policy. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.policy === 'none') {
      this.writePending();
      return RESOLVED;
    }
    if (this.pendingBytes > 0) {
      this.next ??= new Round();
      this.schedule();
    }
    const round = this.next ?? this.inFlight;
    return round ? round.done : RESOLVED;
  }

  private schedule(): void {
    if (this.inFlight || this.timer) return;
    const wait = this.policy === 'batch' ? this.lastSyncAt + this.syncIntervalMs - Date.now() : 0;
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.startRound();
      }, wait);
      return;
    }
    this.startRound();
  }

  private startRound(): void {
    const round = this.next;
    if (!round || this.failure) return;
    this.next = undefined;
    this.inFlight = round;
    this.lastSyncAt = Date.now();
    try {
      this.writePending();
    } catch (err) {
      this.fail(err as Error, round);
      return;
    }
    this.fs.fsyncAsync(this.fd).then(
      () => this.endRound(round),
      (err: Error) => this.fail(err, round),
    );
  }

  private endRound(round: Round): void {
    this.inFlight = undefined;
    this.closeRetired();
    round.resolve();
    if (this.next) this.schedule();
  }

  private fail(err: Error, round: Round): void {
    this.failure = err;
    this.inFlight = undefined;
    round.reject(err);
    this.next?.reject(err);
    this.next = undefined;
  }

  private writePending(): void {
    if (this.pendingBytes === 0) return;
    this.fs.write(this.fd, this.pending.subarray(0, this.pendingBytes));
    this.written += this.pendingBytes;
    this.pendingBytes = 0;
  }

  /**
   * Makes the current segment durable synchronously and continues in `file`. The old segment
   * is fsynced here so only the newest segment can ever end in a torn record.
   */
  rotate(file: string): void {
    if (this.failure) throw this.failure;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const round = this.next;
    this.next = undefined;
    try {
      this.writePending();
      this.fs.fsync(this.fd);
      this.retiring.push(this.fd);
      this.fd = this.fs.open(file, 'a');
    } catch (err) {
      this.failure = err as Error;
      round?.reject(err as Error);
      throw err;
    }
    this.file = file;
    this.written = this.fs.size(this.fd);
    if (!this.inFlight) this.closeRetired();
    round?.resolve();
  }

  private closeRetired(): void {
    for (const fd of this.retiring) this.fs.close(fd);
    this.retiring = [];
  }

  /** Writes and fsyncs everything pending (whatever the policy) and closes the segment. */
  async close(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.inFlight) await this.inFlight.done.catch(() => undefined);
    const round = this.next;
    this.next = undefined;
    try {
      if (this.failure) throw this.failure;
      this.writePending();
      this.fs.fsync(this.fd);
      round?.resolve();
    } catch (err) {
      this.failure ??= err as Error;
      round?.reject(this.failure);
      throw err;
    } finally {
      this.closeRetired();
      this.fs.close(this.fd);
    }
  }
}
