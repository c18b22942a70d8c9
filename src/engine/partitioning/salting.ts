// Hot-key salting: one very hot partition key is spread over `buckets` salted variants, each
// a different partition key, so its writes land on different partitions (and nodes). Writes pick
// one variant; reads probe the original key and every variant and keep the newest version
// (newest-wins is the reader's job, with the same LWW rule as everywhere else).
//
// A salted variant is 0xFF 0x53 ('S'), the bucket as 16 bits, then the original key. 0xFF never
// occurs in UTF-8, so no text key can collide with a variant; binary keys starting with those
// two bytes are reserved (isSaltedKey lets the edge reject them).
//
// Which keys are salted is part of the partition map, so every node, driver and router that
// has the map's version agrees on where to read.

import { InvalidArgumentError } from './errors';
import { MAX_SALT_BUCKETS, type PartitionMap } from './partition-map';

const MARKER = Buffer.from([0xff, 0x53]);
const HEADER = MARKER.length + 2;

export function isSaltedKey(key: Buffer): boolean {
  return key.length >= HEADER && key[0] === MARKER[0] && key[1] === MARKER[1];
}

/** The variant of `key` for `bucket` (0-based). */
export function saltedKey(key: Buffer, bucket: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER + key.length);
  MARKER.copy(out, 0);
  out.writeUInt16BE(bucket, MARKER.length);
  key.copy(out, HEADER);
  return out;
}

/** The original key and bucket of a salted variant, or null for an ordinary key. */
export function unsaltKey(key: Buffer): { key: Buffer; bucket: number } | null {
  if (!isSaltedKey(key)) return null;
  return { key: key.subarray(HEADER), bucket: key.readUInt16BE(MARKER.length) };
}

/** All `buckets` variants of a key, bucket order. */
export function saltVariants(key: Buffer, buckets: number): Buffer[] {
  return Array.from({ length: buckets }, (_, b) => saltedKey(key, b));
}

function checkKey(key: unknown): asserts key is Buffer {
  if (!Buffer.isBuffer(key) || key.length === 0) throw new InvalidArgumentError('key', 'a hot key is a non-empty partition key');
  if (isSaltedKey(key)) throw new InvalidArgumentError('key', 'this key is already a salted variant (it starts with 0xff 0x53); mark the original key');
}

/** MarkHotKey: a new map (version + 1) where `key` is spread over `buckets` variants. */
export function markHotKey(map: PartitionMap, key: Buffer, buckets: number): PartitionMap {
  checkKey(key);
  // Range placement orders keys by their bytes: every variant (0xff 0x53 …) would sort into the
  // last range, moving the load instead of spreading it.
  if (map.strategy === 'range') {
    throw new InvalidArgumentError('key', 'cannot be salted under range partitioning: its variants start with 0xff 0x53 and would all fall in the last range; split the range that holds it instead (ringdb split <partition> --at <key>)');
  }
  if (!Number.isSafeInteger(buckets) || buckets < 2 || buckets > MAX_SALT_BUCKETS) {
    throw new InvalidArgumentError('buckets', `an integer from 2 to ${MAX_SALT_BUCKETS}, got ${buckets}`);
  }
  const before = map.saltedKeys.get(key.toString('hex'));
  if (before !== undefined && buckets < before) {
    throw new InvalidArgumentError('buckets', `the key is salted over ${before} buckets and can only get more: with ${buckets}, reads would stop looking at variants ${buckets} to ${before - 1} and the values written there; give ${before} or more, got ${buckets}`);
  }
  const saltedKeys = new Map(map.saltedKeys).set(key.toString('hex'), buckets);
  return map.next({ saltedKeys });
}

/** Stops salting `key` (new writes go to the key itself again; reads still see the variants' data until rewritten). */
export function unmarkHotKey(map: PartitionMap, key: Buffer): PartitionMap {
  checkKey(key);
  const hex = key.toString('hex');
  if (!map.saltedKeys.has(hex)) throw new InvalidArgumentError('key', 'this key is not marked hot');
  const saltedKeys = new Map(map.saltedKeys);
  saltedKeys.delete(hex);
  return map.next({ saltedKeys });
}

/** The number of buckets `key` is salted over, or 0 when it is not salted. */
export function saltBuckets(map: PartitionMap, key: Buffer): number {
  return map.saltedKeys.get(key.toString('hex')) ?? 0;
}

/**
 * Where a write of `key` goes: the key itself, or for a salted key the variant for `pick`
 * (any integer: a per-writer counter spreads writes evenly, a random integer does too).
 */
export function writeKeyFor(map: PartitionMap, key: Buffer, pick: number): Buffer {
  const buckets = saltBuckets(map, key);
  if (buckets === 0) return key;
  return saltedKey(key, ((Math.trunc(pick) % buckets) + buckets) % buckets);
}

/**
 * Every key a read of `key` must probe: the key itself (it holds the value written before the key
 * was marked hot, unless migrated) and, when salted, all its variants. The newest version wins.
 */
export function readKeysFor(map: PartitionMap, key: Buffer): Buffer[] {
  const buckets = saltBuckets(map, key);
  return buckets === 0 ? [key] : [key, ...saltVariants(key, buckets)];
}
