// Where global index entries live: a reserved key namespace no client can write.
//
// The entry saying "primary key k has field f = v" is the composite key
//   (partition key: 0xFF 0x49 | field length (u16 BE) | field UTF-8 | value UTF-8, clustering key: k)
// so every entry of one (field, value) shares a partition key, lands in one partition, and is one
// range scan there (compositeKeyRange). The length prefix keeps ("ab","c") and ("a","bc") apart.
//
// Every stored entry key therefore starts with 0xFF 0x49 ('I'): the composite encoding only
// escapes 0x00 bytes, so the first two bytes of the partition key stay the first two bytes of the
// stored key. The node refuses any client key whose stored form starts with them (request-keys.ts,
// BatchPut), raw scans skip the range [0xFF 0x49, 0xFF 0x4A), and UTF-8 text never starts with
// 0xFF, so no text key is affected. (0xFF 0x53 is the salted hot-key namespace.)

import { compositeKeyRange, encodeCompositeKey, tryDecodeCompositeKey, type KeyRange } from '../../codec/composite-key';

const MARKER = Buffer.from([0xff, 0x49]);
const MAX_FIELD_BYTES = 0xffff;

/** How errors name the reserved prefix. */
export const RESERVED_PREFIX_TEXT = '0xff 0x49';

/** The reserved range, for scans that must step over it. */
export const RESERVED_RANGE: KeyRange = { start: MARKER, end: Buffer.from([0xff, 0x4a]) };

export function isReservedKey(stored: Buffer): boolean {
  return stored.length >= 2 && stored[0] === MARKER[0] && stored[1] === MARKER[1];
}

/** The partition key all entries of (field, value) share. */
export function indexPartitionKey(field: string, value: string): Buffer {
  const f = Buffer.from(field, 'utf8');
  if (f.length > MAX_FIELD_BYTES) throw new RangeError(`field name is ${f.length} bytes; at most ${MAX_FIELD_BYTES}`);
  const len = Buffer.allocUnsafe(2);
  len.writeUInt16BE(f.length);
  return Buffer.concat([MARKER, len, f, Buffer.from(value, 'utf8')]);
}

/** The stored key of one entry. */
export function indexEntryKey(field: string, value: string, primaryKey: Buffer): Buffer {
  return encodeCompositeKey(indexPartitionKey(field, value), primaryKey);
}

/** The stored keys of every entry of (field, value). */
export function indexEntryRange(field: string, value: string): KeyRange {
  return compositeKeyRange(indexPartitionKey(field, value));
}

export interface IndexEntryRef {
  field: string;
  value: string;
  primaryKey: Buffer;
}

/** The (field, value, primary key) a stored entry key names; undefined for any other key. */
export function decodeIndexEntryKey(stored: Buffer): IndexEntryRef | undefined {
  if (!isReservedKey(stored)) return undefined;
  const parts = tryDecodeCompositeKey(stored);
  if (!parts) return undefined;
  const pk = parts.partitionKey;
  if (parts.clusteringKey === undefined || pk.length < 4) return undefined;
  const n = pk.readUInt16BE(2);
  if (4 + n > pk.length) return undefined;
  return { field: pk.subarray(4, 4 + n).toString('utf8'), value: pk.subarray(4 + n).toString('utf8'), primaryKey: parts.clusteringKey };
}

/** One page of a scan: rows in key order, and whether the range has more after them. */
export interface ScanPage<E extends { key: Buffer }> {
  entries: E[];
  more: boolean;
}

/**
 * A client's scan of [start, end) (undefined = open) without the reserved range: it scans below
 * the range, then resumes above it, so a page is never cut short by entries it must not show.
 */
export function scanAroundReserved<E extends { key: Buffer }>(start: Buffer | undefined, end: Buffer | undefined, limit: number,
  scan: (start: Buffer | undefined, end: Buffer | undefined, limit: number) => ScanPage<E>): ScanPage<E> {
  const endsPastReserved = end === undefined || Buffer.compare(end, RESERVED_RANGE.start) > 0;
  const below = start === undefined || Buffer.compare(start, RESERVED_RANGE.start) < 0;
  const first: ScanPage<E> = below ? scan(start, endsPastReserved ? RESERVED_RANGE.start : end, limit) : { entries: [], more: false };
  if (first.more || !endsPastReserved) return first;
  const from = start === undefined || Buffer.compare(start, RESERVED_RANGE.end) < 0 ? RESERVED_RANGE.end : start;
  if (end !== undefined && Buffer.compare(from, end) >= 0) return first;
  const rest = scan(from, end, limit - first.entries.length);
  return { entries: [...first.entries, ...rest.entries], more: rest.more };
}
