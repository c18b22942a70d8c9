// What the node's Merkle trees record per key: the version itself (or a CRDT state digest).
// The trees, one per partition, are in partition-trees.ts.

import type { Entry } from '../../storage/types';

/**
 * A stored version as the tree records it: its Last-Write-Wins order (timestamp, origin) and
 * whether it is a tombstone. Two replicas holding the same (ts, origin) hold the same write, so
 * the value need not be hashed; and since it is the version itself rather than a digest, the
 * round's initiator can tell from the peer's bucket entries which side holds the winner and
 * move each divergent key one way only. 9 bytes plus the origin: shorter than a SHA-1.
 */
export function encodeVersion(e: Pick<Entry, 'ts' | 'origin' | 'value'>): Buffer {
  const out = Buffer.allocUnsafe(9 + Buffer.byteLength(e.origin, 'utf8'));
  out.writeUInt32BE(Math.floor(e.ts / 2 ** 32), 0);
  out.writeUInt32BE(e.ts >>> 0, 4);
  out[8] = e.value === null ? 1 : 0;
  out.write(e.origin, 9, 'utf8');
  return out;
}

/** Flag byte of a version that is a state digest: such keys merge, so both sides send theirs. */
const MERGEABLE = 2;

/** A version identified by a digest of its state (CRDT keys): 8 zero bytes, the flag, the digest. */
export function mergeableVersion(digest: Buffer): Buffer {
  const out = Buffer.alloc(9 + digest.length);
  out[8] = MERGEABLE;
  digest.copy(out, 9);
  return out;
}

export type RecordedVersion = { ts: number; origin: string; deleted: boolean } | 'mergeable';

/** The inverse of encodeVersion (or 'mergeable'); undefined for bytes neither can have produced. */
export function decodeVersion(bytes: Buffer): RecordedVersion | undefined {
  if (bytes.length >= 10 && bytes[8] === MERGEABLE) return 'mergeable';
  if (bytes.length < 10 || bytes[8] > 1) return undefined;
  const ts = bytes.readUInt32BE(0) * 2 ** 32 + bytes.readUInt32BE(4);
  if (!Number.isSafeInteger(ts)) return undefined;
  return { ts, origin: bytes.subarray(9).toString('utf8'), deleted: bytes[8] === 1 };
}

/** What the tree records for a stored entry (encodeVersion, or a state digest in crdt mode). */
export type VersionOf = (e: Entry) => Buffer;
