// This node's Merkle tree over every key it stores and the version it stores: built from storage
// once on start, then updated by each applied version (never rebuilt), so a round's hashes cost
// only the paths that changed since the last one.

import { MerkleTree } from '../../antientropy/merkle';
import type { Store } from '../../storage';
import type { Entry } from '../../storage/types';
import type { ObservedStore } from './observed-store';

/** Keys read per scan page while building: bounds the memory of one page. */
const BUILD_PAGE = 10_000;

/**
 * A stored version as the tree records it: its Last-Write-Wins order (timestamp, origin) and
 * whether it is a tombstone. Two replicas holding the same (ts, origin) hold the same write, so
 * the value need not be hashed; and since it is the version itself rather than a digest, the
 * round's initiator can tell from the peer's bucket entries which side holds the winner and
 * move each divergent key one way only. 9 bytes plus the origin: shorter than a SHA-1.
 */
export function encodeVersion(e: Pick<Entry, 'ts' | 'origin' | 'value'>): Buffer {
  const origin = Buffer.from(e.origin, 'utf8');
  const out = Buffer.allocUnsafe(9 + origin.length);
  out.writeUInt32BE(Math.floor(e.ts / 2 ** 32), 0);
  out.writeUInt32BE(e.ts >>> 0, 4);
  out[8] = e.value === null ? 1 : 0;
  origin.copy(out, 9);
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

export class ConvergenceTree {
  readonly tree = new MerkleTree();
  private readonly off: () => void;

  /**
   * Scans the whole store (tombstones too) synchronously, then follows every applied version.
   * Being synchronous, no write can slip between the scan and the subscription.
   */
  constructor(store: Store, observed: ObservedStore, versionOf: VersionOf = encodeVersion) {
    let start: Buffer | undefined;
    for (;;) {
      const page = store.scan({ start, limit: BUILD_PAGE, includeTombstones: true });
      for (const e of page) this.tree.update(e.key, versionOf(e));
      if (page.length < BUILD_PAGE) break;
      start = Buffer.concat([page[page.length - 1].key, Buffer.from([0])]);
    }
    this.off = observed.onApplied((entries) => {
      for (const e of entries) this.tree.update(e.key, versionOf(e));
    });
  }

  close(): void {
    this.off();
  }
}
