// Reads one data block (format in SSTABLE_FORMAT.md). A Block is the verified, immutable bytes
// of one block as cached; a BlockIterator walks it. The iterator decodes into reused fields and
// a scratch key buffer, allocating only when an entry is asked for, and seeks by binary search
// over the restart points, whose keys are stored whole.

import { ByteReader, DecodeError } from '../codec/varint';
import { FLAG_TOMBSTONE } from './block-builder';
import { compareBytes, copyBytes } from './block-keys';
import { CorruptionError } from './errors';
import type { Entry, EntryIterator } from './types';

export class Block {
  private constructor(
    /** Block contents without the trailing CRC, already verified. */
    readonly data: Buffer,
    readonly restartsOffset: number,
    readonly numRestarts: number,
    /** Where the block lives, for error messages. */
    readonly file: string,
    readonly offset: number,
  ) {}

  /** Validates the restart trailer of `data` (whose CRC the caller checked). */
  static parse(data: Buffer, file: string, offset: number): Block {
    if (data.length < 4) throw new CorruptionError(file, offset, `data block of ${data.length} bytes is shorter than its trailer`);
    const numRestarts = data.readUInt32LE(data.length - 4);
    const restartsOffset = data.length - 4 - 4 * numRestarts;
    if (numRestarts < 1 || restartsOffset < 0) {
      throw new CorruptionError(file, offset, `data block claims ${numRestarts} restart points in ${data.length} bytes`);
    }
    for (let i = 0; i < numRestarts; i++) {
      const at = data.readUInt32LE(restartsOffset + 4 * i);
      const prev = i === 0 ? -1 : data.readUInt32LE(restartsOffset + 4 * (i - 1));
      const misplaced = i === 0 ? at !== 0 : at <= prev || at >= restartsOffset;
      if (misplaced) {
        throw new CorruptionError(file, offset, `restart point ${i} (${at}) is out of order or past the entries`);
      }
    }
    return new Block(data, restartsOffset, numRestarts, file, offset);
  }

  /** Bytes this block holds in memory (what the block cache charges). */
  get size(): number {
    return this.data.length;
  }

  restart(i: number): number {
    return this.data.readUInt32LE(this.restartsOffset + 4 * i);
  }
}

export class BlockIterator implements EntryIterator {
  private block: Block | undefined;
  private data: Buffer = Buffer.alloc(0);
  private readonly reader = new ByteReader(this.data);
  /** Offset of the current entry, or -1 when not valid. */
  private current = -1;
  private nextOffset = 0;
  private keyBuf: Buffer = Buffer.allocUnsafe(64);
  private keyLength = 0;
  private tombstone = false;
  private ts = 0;
  private originStart = 0;
  private originEnd = 0;
  private valueStart = 0;
  private valueEnd = 0;
  private cached: Entry | undefined;
  // Most entries of a node share one or two origins: decoding each to a string is the biggest
  // per-entry cost, so the last one is kept and reused when its bytes match.
  private originBytes: Buffer = Buffer.alloc(0);
  private originString = '';

  constructor(block?: Block) {
    if (block) this.reset(block);
  }

  /** Points the iterator at another block (invalid until a seek). Lets one iterator serve many gets. */
  reset(block: Block): void {
    this.block = block;
    this.data = block.data;
    this.current = -1;
    this.cached = undefined;
  }

  valid(): boolean {
    return this.current >= 0;
  }

  entry(): Entry {
    if (this.cached) return this.cached;
    if (this.current < 0) throw new RangeError('entry() called on an iterator that is not valid');
    const key = Buffer.allocUnsafe(this.keyLength);
    copyBytes(this.keyBuf, 0, this.keyLength, key, 0);
    const entry: Entry = {
      key,
      value: this.tombstone ? null : this.data.subarray(this.valueStart, this.valueEnd),
      ts: this.ts,
      origin: this.origin(),
    };
    this.cached = entry;
    return entry;
  }

  next(): void {
    if (this.current < 0) return;
    this.parseAt(this.nextOffset);
  }

  seekToFirst(): void {
    if (this.block) this.parseAt(0);
  }

  seek(target: Buffer): void {
    const block = this.block;
    if (!block) return;
    // The last restart point whose key is < target; the answer lies at or after it.
    let lo = 0;
    let hi = block.numRestarts - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.compareRestartKey(block.restart(mid), target) < 0) lo = mid;
      else hi = mid - 1;
    }
    this.parseAt(block.restart(lo));
    while (this.current >= 0 && this.compareCurrent(target) < 0) this.parseAt(this.nextOffset);
  }

  /** The entry stored for exactly `key`, or undefined. */
  find(key: Buffer): Entry | undefined {
    this.seek(key);
    return this.current >= 0 && this.compareCurrent(key) === 0 ? this.entry() : undefined;
  }

  /** Current key against `target`, without allocating. */
  private compareCurrent(target: Buffer): number {
    return compareBytes(this.keyBuf, 0, this.keyLength, target, 0, target.length);
  }

  private compareRestartKey(offset: number, target: Buffer): number {
    const r = this.reader;
    r.reset(this.data, offset, this.block!.restartsOffset);
    try {
      r.byte();
      const shared = r.varint();
      const unshared = r.varint();
      r.varint();
      r.varint();
      r.varint();
      if (shared !== 0) throw new DecodeError(offset, `restart entry shares ${shared} key bytes (must be 0)`);
      const start = r.skip(unshared);
      return compareBytes(this.data, start, start + unshared, target, 0, target.length);
    } catch (e) {
      throw this.corruption(e);
    }
  }

  private parseAt(offset: number): void {
    this.cached = undefined;
    const block = this.block!;
    if (offset >= block.restartsOffset) {
      this.current = -1;
      return;
    }
    const r = this.reader;
    r.reset(this.data, offset, block.restartsOffset);
    try {
      const flags = r.byte();
      if (flags > FLAG_TOMBSTONE) throw new DecodeError(offset, `unknown entry flags ${flags}`);
      const shared = r.varint();
      const unshared = r.varint();
      const ts = r.varint();
      const originLength = r.varint();
      const valueLength = r.varint();
      if (shared > this.keyLength || (offset === 0 && shared !== 0)) {
        throw new DecodeError(offset, `entry shares ${shared} bytes with a previous key of ${this.keyLength}`);
      }
      const keyStart = r.skip(unshared);
      this.originStart = r.skip(originLength);
      this.originEnd = this.originStart + originLength;
      this.valueStart = r.skip(valueLength);
      this.valueEnd = this.valueStart + valueLength;
      this.tombstone = (flags & FLAG_TOMBSTONE) !== 0;
      if (this.tombstone && valueLength !== 0) throw new DecodeError(offset, 'tombstone with value bytes');
      const keyLength = shared + unshared;
      if (keyLength > this.keyBuf.length) {
        const grown = Buffer.allocUnsafe(Math.max(keyLength, 2 * this.keyBuf.length));
        this.keyBuf.copy(grown, 0, 0, shared);
        this.keyBuf = grown;
      }
      copyBytes(this.data, keyStart, keyStart + unshared, this.keyBuf, shared);
      this.keyLength = keyLength;
      this.ts = ts;
      this.current = offset;
      this.nextOffset = r.pos;
    } catch (e) {
      this.current = -1;
      throw this.corruption(e);
    }
  }

  private origin(): string {
    const length = this.originEnd - this.originStart;
    const cached = this.originBytes;
    if (cached.length === length && compareBytes(this.data, this.originStart, this.originEnd, cached, 0, length) === 0) {
      return this.originString;
    }
    this.originBytes = Buffer.from(this.data.subarray(this.originStart, this.originEnd));
    this.originString = this.originBytes.toString('utf8');
    return this.originString;
  }

  private corruption(e: unknown): unknown {
    if (!(e instanceof DecodeError)) return e;
    const block = this.block!;
    return new CorruptionError(block.file, block.offset, `data block entry: ${e.message} of the block`);
  }
}
