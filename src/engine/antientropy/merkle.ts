// An incrementally maintained Merkle tree over one key range (a partition): key -> version.
//
//              root                      level 0        1 node
//        /   /  ...  \   \
//      n0   n1  ...  n14 n15             level 1        fanout nodes
//      ...                               ...
//   leaf buckets 0 … fanout^depth - 1    level depth    a key's bucket = top bits of a hash of the key
//
// A leaf's hash is the XOR of entryDigest(key, version) over its keys. The tree keeps no key: a
// change is told the version it replaces, and XORs the old digest out and the new one in, so the
// tree's memory is fixed by its shape, not by the data, and a write costs one digest pair. Whoever
// feeds it must therefore report every change exactly once (XOR is order-free, so the order does
// not matter); the keys of a bucket, which a diff needs, come from the store (bucketEntries in
// the node's PartitionTrees).
//
// An inner node's hash is SHA-1 of its children's hashes, recomputed lazily: a change only marks
// its leaf-to-root path stale, so a burst of writes costs one recomputation per touched path when
// the root is next asked for. Two trees are comparable only with the same fanout and depth; the
// diff checks that.

import { createHash } from 'node:crypto';
import { fnv1a } from '../codec/fnv1a';

export const HASH_BYTES = 20;
/** A leaf hash is five 32-bit lanes. */
const LANES = HASH_BYTES / 4;
export const DEFAULT_FANOUT = 16;
/**
 * 16^3 = 4,096 leaf buckets. A tree covers one partition, and with 128 partitions a node holding
 * 500,000 keys has about one key per leaf; a single 100,000-key tree has leaves of about 24.
 * A tree holds 20 bytes per leaf whatever its keys, so the largest shape is capped.
 */
export const DEFAULT_DEPTH = 3;
const MAX_LEAVES = 2 ** 20;

export class MerkleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MerkleError';
  }
}

export interface MerkleShape {
  readonly fanout: number;
  readonly depth: number;
}

export interface MerkleEntry {
  readonly key: Buffer;
  readonly versionHash: Buffer;
}

// ---- the digest of one (key, version) ------------------------------------------------------
//
// Five MurmurHash3 (x86, 32-bit) lanes with different seeds over len(key) ‖ key ‖ version: 160
// bits, the width the wire format has always had. Not cryptographic: replicas do not forge
// collisions against each other, and what matters is that an accidental difference between two
// leaves does not XOR to zero. The lanes differ only by seed, so they are not independent (and
// MurmurHash3 has seed-independent collisions a crafted key pair could hit): fine against
// accidents, not against an adversary.
// SHA-1 here cost an allocation and a native call per digest on every write. The length prefix
// keeps (key, version) unambiguous.

const SEEDS = [0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab];
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The five lanes' streaming state; module-level instances keep a digest allocation-free. */
class Lanes {
  readonly h = new Int32Array(LANES);
  /** Bytes of the word being assembled (little-endian), and how many. */
  word = 0;
  pending = 0;
  length = 0;

  /** Starts a digest of `key`: its length, then its bytes. */
  startKey(key: Buffer): void {
    for (let l = 0; l < LANES; l++) this.h[l] = SEEDS[l];
    this.word = 0;
    this.pending = 0;
    this.length = 0;
    this.mixWord(key.length);
    this.length = 4;
    this.absorb(key);
  }

  copyFrom(o: Lanes): void {
    this.h.set(o.h);
    this.word = o.word;
    this.pending = o.pending;
    this.length = o.length;
  }

  absorb(bytes: Buffer): void {
    let word = this.word;
    let pending = this.pending;
    for (let i = 0; i < bytes.length; i++) {
      word |= bytes[i] << (pending << 3);
      if (++pending === 4) {
        this.mixWord(word);
        word = 0;
        pending = 0;
      }
    }
    this.word = word;
    this.pending = pending;
    this.length += bytes.length;
  }

  private mixWord(word: number): void {
    const k = mixK(word);
    const h = this.h;
    for (let l = 0; l < LANES; l++) {
      let x = h[l] ^ k;
      x = (x << 13) | (x >>> 19);
      h[l] = (Math.imul(x, 5) + 0xe6546b64) | 0;
    }
  }

  /** Finishes the digest and XORs it into `target[at .. at + LANES)`. */
  xorInto(target: Int32Array, at: number): void {
    const tail = this.pending > 0 ? mixK(this.word) : 0;
    for (let l = 0; l < LANES; l++) target[at + l] ^= fmix(this.h[l] ^ tail ^ this.length);
  }
}

const keyed = new Lanes();
const work = new Lanes();

/** XORs the digest of (key, version) into `target` at `at`; `keyed` must have started `key`. */
function xorDigest(target: Int32Array, at: number, version: Buffer): void {
  work.copyFrom(keyed);
  work.absorb(version);
  work.xorInto(target, at);
}

/** The 20-byte digest a key at a version contributes to its leaf (what a leaf of that one key hashes to). */
export function entryDigest(key: Buffer, version: Buffer): Buffer {
  const lanes = new Int32Array(LANES);
  keyed.startKey(key);
  xorDigest(lanes, 0, version);
  return lanesToBuffer(lanes, 0);
}

function lanesToBuffer(lanes: Int32Array, at: number): Buffer {
  const out = Buffer.allocUnsafe(HASH_BYTES);
  writeLanes(lanes, at, out, 0);
  return out;
}

function writeLanes(lanes: Int32Array, at: number, out: Buffer, offset: number): void {
  for (let l = 0; l < LANES; l++) out.writeInt32BE(lanes[at + l], offset + l * 4);
}

/**
 * 32-bit FNV-1a of the key with MurmurHash3's finalizer so the top bits (which pick the bucket)
 * avalanche. Bucketing needs spread, not collision resistance, and this runs on every write.
 */
function bucketHash(key: Buffer): number {
  return fmix(fnv1a(key)) >>> 0;
}

export class MerkleTree implements MerkleShape {
  readonly fanout: number;
  readonly depth: number;
  readonly leafCount: number;
  /** LANES 32-bit lanes per leaf: the XOR of its keys' digests (all zeros when empty). */
  private readonly leaves: Int32Array;
  /** Per inner level: each node's last computed hash, and whether it is still current. */
  private readonly inner: Buffer[];
  private readonly current: Uint8Array[];
  /** The hashes of one inner node's leaves, back to back, as they are hashed. */
  private readonly leafRun: Buffer;
  private keys = 0;
  private innerHashes = 0;

  constructor(shape: Partial<MerkleShape> = {}) {
    const fanout = shape.fanout ?? DEFAULT_FANOUT;
    const depth = shape.depth ?? DEFAULT_DEPTH;
    if (!Number.isInteger(fanout) || fanout < 2 || fanout > 256) throw new MerkleError(`fanout is an integer from 2 to 256, got ${fanout}`);
    if (!Number.isInteger(depth) || depth < 1 || fanout ** depth > MAX_LEAVES) {
      throw new MerkleError(`depth is a positive integer with fanout^depth at most 2^20 leaves, got ${fanout}^${depth}`);
    }
    this.fanout = fanout;
    this.depth = depth;
    this.leafCount = fanout ** depth;
    this.leaves = new Int32Array(this.leafCount * LANES);
    this.inner = Array.from({ length: depth }, (_, level) => Buffer.alloc(fanout ** level * HASH_BYTES));
    this.current = Array.from({ length: depth }, (_, level) => new Uint8Array(fanout ** level));
    this.leafRun = Buffer.alloc(fanout * HASH_BYTES);
  }

  /** Inner node hashes computed so far: shows that an update costs one path, not a rebuild. */
  get hashesComputed(): number {
    return this.innerHashes;
  }

  /** Keys in the tree. */
  get size(): number {
    return this.keys;
  }

  /** The leaf bucket of a key, the same on every replica (see bucketHash). */
  bucketOf(key: Buffer): number {
    return Math.floor((bucketHash(key) / 2 ** 32) * this.leafCount);
  }

  /**
   * Records that `key` went from version `before` to `after` (undefined: the key was absent, or
   * is now: it left the range). Each change must be reported once, with the version it replaced.
   */
  change(key: Buffer, before: Buffer | undefined, after: Buffer | undefined): void {
    if (before === undefined ? after === undefined : after !== undefined && before.equals(after)) return;
    const bucket = this.bucketOf(key);
    keyed.startKey(key);
    if (before !== undefined) xorDigest(this.leaves, bucket * LANES, before);
    if (after !== undefined) xorDigest(this.leaves, bucket * LANES, after);
    if (before === undefined) this.keys++;
    else if (after === undefined) this.keys--;
    this.stale(bucket);
  }

  /**
   * Marks the leaf's path to the root stale. A current node's subtree is all current (computing
   * it computed its children), so the first stale node met has only stale ancestors: the walk
   * stops there, and a burst of writes under one path costs O(1) each.
   */
  private stale(bucket: number): void {
    let index = bucket;
    for (let level = this.depth - 1; level >= 0; level--) {
      index = Math.floor(index / this.fanout);
      if (this.current[level][index] === 0) return;
      this.current[level][index] = 0;
    }
  }

  root(): Buffer {
    return this.hashAt(0, 0);
  }

  /** The hash of node `index` at `level` (0 = root, depth = leaves). */
  hashAt(level: number, index: number): Buffer {
    this.checkNode(level, index);
    return Buffer.from(this.nodeHash(level, index));
  }

  /** A view of the node's hash (a fresh buffer for a leaf, the cache slot for an inner node). */
  private nodeHash(level: number, index: number): Buffer {
    if (level === this.depth) return lanesToBuffer(this.leaves, index * LANES);
    const slot = this.inner[level].subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
    if (this.current[level][index] === 0) {
      // A node's children sit side by side (leaves as lanes, inner nodes in their level's
      // buffer), so their hashes go to SHA-1 as one run: after a burst of writes a root
      // recomputes every node, and a buffer and an update per child made that about 0.5 s for
      // a node's 128 partition trees.
      const first = index * this.fanout;
      let children: Buffer;
      if (level + 1 === this.depth) {
        children = this.leafRun;
        for (let c = 0; c < this.fanout; c++) writeLanes(this.leaves, (first + c) * LANES, children, c * HASH_BYTES);
      } else {
        for (let c = 0; c < this.fanout; c++) this.nodeHash(level + 1, first + c);
        children = this.inner[level + 1].subarray(first * HASH_BYTES, (first + this.fanout) * HASH_BYTES);
      }
      createHash('sha1').update(children).digest().copy(slot);
      this.current[level][index] = 1;
      this.innerHashes++;
    }
    return slot;
  }

  /** Hashes of several nodes of one level: what a peer answers in one diff round. */
  hashes(level: number, indices: readonly number[]): Buffer[] {
    return indices.map((i) => this.hashAt(level, i));
  }

  private checkNode(level: number, index: number): void {
    if (!Number.isInteger(level) || level < 0 || level > this.depth) throw new MerkleError(`level is an integer from 0 to ${this.depth}, got ${level}`);
    if (!Number.isInteger(index) || index < 0 || index >= this.fanout ** level) {
      throw new MerkleError(`node index at level ${level} is an integer from 0 to ${this.fanout ** level - 1}, got ${index}`);
    }
  }
}
