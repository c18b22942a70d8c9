// Builds one data block (format in SSTABLE_FORMAT.md): entries with keys prefix-compressed
// against the previous key, a full key every RESTART_INTERVAL entries so a reader can
// binary-search, then the restart offsets and their count. The caller (TableBuilder) appends
// the CRC-32C and guarantees ascending keys.

import { MAX_VARINT_BYTES, writeVarint } from '../codec/varint';
import type { Entry } from './types';

/** Entries between full keys: LevelDB's default, a balance of seek cost against prefix savings. */
export const RESTART_INTERVAL = 16;

/** Bit 0 of an entry's flags byte: the entry is a tombstone and has no value bytes. */
export const FLAG_TOMBSTONE = 1;

export class BlockBuilder {
  private buf: Buffer;
  private pos = 0;
  private restarts: number[] = [0];
  private sinceRestart = 0;
  // The previous key, kept in a reused scratch buffer: the caller may mutate its key after add().
  private lastKey: Buffer = Buffer.allocUnsafe(64);
  private lastKeyLength = 0;
  private count = 0;

  constructor(initialBytes = 8192) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get entries(): number {
    return this.count;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** Size of the finished block if it were finished now. */
  estimatedBytes(): number {
    return this.pos + 4 * (this.restarts.length + 1);
  }

  add(entry: Entry, originBytes: Buffer): void {
    const key = entry.key;
    let shared = 0;
    if (this.sinceRestart < RESTART_INTERVAL) {
      const last = this.lastKey;
      const max = Math.min(this.lastKeyLength, key.length);
      while (shared < max && last[shared] === key[shared]) shared++;
    } else {
      this.restarts.push(this.pos);
      this.sinceRestart = 0;
    }
    const unshared = key.length - shared;
    const value = entry.value;
    const valueLength = value === null ? 0 : value.length;
    this.ensure(1 + 5 * MAX_VARINT_BYTES + unshared + originBytes.length + valueLength);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = value === null ? FLAG_TOMBSTONE : 0;
    pos = writeVarint(buf, pos, shared);
    pos = writeVarint(buf, pos, unshared);
    pos = writeVarint(buf, pos, entry.ts);
    pos = writeVarint(buf, pos, originBytes.length);
    pos = writeVarint(buf, pos, valueLength);
    pos += key.copy(buf, pos, shared);
    pos += originBytes.copy(buf, pos);
    if (value !== null) pos += value.copy(buf, pos);
    this.pos = pos;
    if (key.length > this.lastKey.length) this.lastKey = Buffer.allocUnsafe(Math.max(key.length, 2 * this.lastKey.length));
    key.copy(this.lastKey, 0);
    this.lastKeyLength = key.length;
    this.sinceRestart++;
    this.count++;
  }

  /** The finished block contents (without CRC); valid until `reset`. */
  finish(): Buffer {
    const n = this.restarts.length;
    this.ensure(4 * (n + 1));
    for (let i = 0; i < n; i++) this.buf.writeUInt32LE(this.restarts[i], this.pos + 4 * i);
    this.buf.writeUInt32LE(n, this.pos + 4 * n);
    return this.buf.subarray(0, this.pos + 4 * (n + 1));
  }

  reset(): void {
    this.pos = 0;
    this.restarts = [0];
    this.sinceRestart = 0;
    this.lastKeyLength = 0;
    this.count = 0;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}
