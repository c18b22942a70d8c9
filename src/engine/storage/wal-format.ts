// Record framing shared by the WAL and the MANIFEST (documented in WAL_FORMAT.md), and the
// encoding of a batch of entries inside a WAL record.
//
// The length has its own checksum so a flipped length byte is reported as corruption instead
// of being mistaken for a record that runs past the end of the file (a torn tail).

import { crc32c } from '../codec/crc32c';
import { CorruptionError } from './errors';
import type { Entry, FileSystem } from './types';

/** payloadLength u32 | crc32c(payloadLength bytes) u32 | crc32c(payload) u32 */
export const RECORD_HEADER_BYTES = 12;
/** Upper bound of one record: a batch of maximal values still fits, garbage lengths do not. */
export const MAX_RECORD_BYTES = 1024 * 1024 * 1024;

const TOMBSTONE = 1;

/** Fills the header of a record whose payload occupies `buf[start + 12 .. end)`. */
export function sealRecord(buf: Buffer, start: number, end: number): void {
  const length = end - start - RECORD_HEADER_BYTES;
  buf.writeUInt32LE(length, start);
  buf.writeUInt32LE(crc32c(buf, 0, start, start + 4), start + 4);
  buf.writeUInt32LE(crc32c(buf, 0, start + RECORD_HEADER_BYTES, end), start + 8);
}

/** One framed record around `payload`. */
export function frameRecord(payload: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  payload.copy(buf, RECORD_HEADER_BYTES);
  sealRecord(buf, 0, buf.length);
  return buf;
}

/** Bytes an entry takes inside a WAL record payload. */
export function encodedEntryBytes(entry: Entry, originBytes: number): number {
  return 1 + 8 + 1 + originBytes + 4 + entry.key.length + 4 + (entry.value === null ? 0 : entry.value.length);
}

/**
 * Writes `entry` at `buf[at..]` and returns the offset after it. `buf` must have room for
 * encodedEntryBytes(entry, Buffer.byteLength(origin)).
 * Layout: flags u8 | ts u64 (hi u32, lo u32) | originLen u8 | origin | keyLen u32 | key | valueLen u32 | value
 */
export function encodeEntry(buf: Buffer, at: number, entry: Entry): number {
  buf[at] = entry.value === null ? TOMBSTONE : 0;
  buf.writeUInt32LE(Math.floor(entry.ts / 0x100000000), at + 1);
  buf.writeUInt32LE(entry.ts >>> 0, at + 5);
  const originLen = buf.write(entry.origin, at + 10, 'utf8');
  buf[at + 9] = originLen;
  let p = at + 10 + originLen;
  buf.writeUInt32LE(entry.key.length, p);
  entry.key.copy(buf, p + 4);
  p += 4 + entry.key.length;
  const value = entry.value;
  if (value === null) {
    buf.writeUInt32LE(0, p);
    return p + 4;
  }
  buf.writeUInt32LE(value.length, p);
  value.copy(buf, p + 4);
  return p + 4 + value.length;
}

/** Decodes every entry of a WAL record payload; `where` locates errors. */
export function decodeEntries(payload: Buffer, file: string, payloadOffset: number): Entry[] {
  const out: Entry[] = [];
  let p = 0;
  const fail = (detail: string): never => {
    throw new CorruptionError(file, payloadOffset + p, detail);
  };
  while (p < payload.length) {
    if (p + 10 > payload.length) fail('entry header runs past the end of its record');
    const flags = payload[p];
    if (flags !== 0 && flags !== TOMBSTONE) fail(`unknown entry flags ${flags}`);
    const ts = payload.readUInt32LE(p + 1) * 0x100000000 + payload.readUInt32LE(p + 5);
    const originLen = payload[p + 9];
    let q = p + 10;
    if (q + originLen + 4 > payload.length) fail('entry origin runs past the end of its record');
    const origin = payload.toString('utf8', q, q + originLen);
    q += originLen;
    const keyLen = payload.readUInt32LE(q);
    q += 4;
    if (q + keyLen + 4 > payload.length) fail('entry key runs past the end of its record');
    const key = Buffer.from(payload.subarray(q, q + keyLen));
    q += keyLen;
    const valueLen = payload.readUInt32LE(q);
    q += 4;
    if (q + valueLen > payload.length) fail('entry value runs past the end of its record');
    if (flags === TOMBSTONE && valueLen !== 0) fail('a tombstone carries a value');
    const value = flags === TOMBSTONE ? null : Buffer.from(payload.subarray(q, q + valueLen));
    q += valueLen;
    out.push({ key, value, ts, origin });
    p = q;
  }
  return out;
}

export interface LogReadResult {
  /** Payloads of the valid records, in order, with the file offset of each record. */
  records: { offset: number; payload: Buffer }[];
  /** Offset after the last valid record. */
  validBytes: number;
  /** True when bytes after `validBytes` look like an interrupted append (a torn tail). */
  tornTail: boolean;
  /** The file as read (the payloads are views of it). */
  bytes: Buffer;
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** What can be wrong with the framed record at an offset (checkRecord). */
export type RecordProblem = 'header cut off' | 'length fails its checksum' | 'runs past the end' | 'payload fails its checksum';

/** The end of the framed record at `buf[p]`, both checksums verified, or what is wrong with it. */
export function checkRecord(buf: Buffer, p: number): number | RecordProblem {
  if (p + RECORD_HEADER_BYTES > buf.length) return 'header cut off';
  const length = buf.readUInt32LE(p);
  if (buf.readUInt32LE(p + 4) !== crc32c(buf, 0, p, p + 4) || length > MAX_RECORD_BYTES) return 'length fails its checksum';
  const end = p + RECORD_HEADER_BYTES + length;
  if (end > buf.length) return 'runs past the end';
  if (buf.readUInt32LE(p + 8) !== crc32c(buf, 0, p + RECORD_HEADER_BYTES, end)) return 'payload fails its checksum';
  return end;
}

/**
 * Reads every framed record of `file`. A bad record is a torn tail when it could be the
 * remains of the last append: its header is cut off, its payload runs to or past the end of
 * the file, or everything from it on is zeros (a size extended before the data reached the
 * disk). Anything else is a CorruptionError naming the file and offset.
 */
export function readLog(fs: FileSystem, file: string): LogReadResult {
  const records: { offset: number; payload: Buffer }[] = [];
  const scan = scanLog(fs, file, (buf, offset, end) => void records.push({ offset, payload: buf.subarray(offset + RECORD_HEADER_BYTES, end) }));
  return { records, ...scan };
}

/**
 * readLog without a record list: `visit` gets each valid record (its offset in `buf` and its
 * end; the payload starts RECORD_HEADER_BYTES in), so a log of a million records is read
 * without a million objects.
 */
export function scanLog(fs: FileSystem, file: string, visit: (buf: Buffer, offset: number, end: number) => void): Omit<LogReadResult, 'records'> {
  const buf = fs.readFile(file);
  let p = 0;
  while (p < buf.length) {
    const end = checkRecord(buf, p);
    if (typeof end === 'number') {
      visit(buf, p, end);
      p = end;
      continue;
    }
    const torn = end === 'header cut off' || end === 'runs past the end' ||
      (end === 'length fails its checksum' && allZero(buf, p)) ||
      (end === 'payload fails its checksum' && allZero(buf, p + RECORD_HEADER_BYTES + buf.readUInt32LE(p)));
    if (torn) return { validBytes: p, tornTail: true, bytes: buf };
    throw new CorruptionError(file, p, `record ${end}`);
  }
  return { validBytes: p, tornTail: false, bytes: buf };
}
