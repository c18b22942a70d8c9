// An incrementally maintained Merkle tree over one key range (a partition): key -> version hash.
//
//              root                      level 0        1 node
//        /   /  ...  \   \
//      n0   n1  ...  n14 n15             level 1        fanout nodes
//      ...                               ...
//   leaf buckets 0 … fanout^depth - 1    level depth    a key's bucket = top bits of a hash of the key
//
// A leaf's hash is the XOR of SHA-1(key, version hash) over its keys, so a write or delete
// changes it in O(1) without rehashing the leaf's other keys. An inner node's hash is SHA-1 of
// its children's hashes, recomputed lazily: an update only drops the cached hashes on its own
// leaf-to-root path, so writes never rebuild the tree and a burst of writes costs one
// recomputation per touched path when the root is next asked for.
//
// Storage is sparse: only non-empty leaves and cached inner hashes are kept, and an empty
// subtree has a fixed hash per level, so 128 partitions × replicas of small trees cost little.
// Two trees are comparable only with the same fanout and depth; the diff checks that.

import { createHash, hash } from 'node:crypto';

export const HASH_BYTES = 20;
export const DEFAULT_FANOUT = 16;
/**
 * 16^3 = 4,096 leaf buckets. A tree covers one partition, and with 128 partitions a node holding
 * 500,000 keys has about one key per leaf; a single 100,000-key tree has leaves of about 24.
 * Deeper trees make leaves smaller but cost a Map per non-empty leaf; pass a shape to choose.
 */
export const DEFAULT_DEPTH = 3;

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

interface Leaf {
  readonly entries: Map<string, MerkleEntry & { readonly digest: Buffer }>;
  readonly xor: Buffer;
}

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

function xorInto(target: Buffer, other: Buffer): void {
  for (let i = 0; i < HASH_BYTES; i++) target[i] ^= other[i];
}

/** The digest a key contributes to its leaf; length-prefixing the key keeps (key, version) unambiguous. */
function entryDigest(key: Buffer, versionHash: Buffer): Buffer {
  const input = Buffer.allocUnsafe(4 + key.length + versionHash.length);
  input.writeUInt32BE(key.length, 0);
  key.copy(input, 4);
  versionHash.copy(input, 4 + key.length);
  return hash('sha1', input, 'buffer');
}

/**
 * 32-bit FNV-1a of the key with MurmurHash3's finalizer so the top bits (which pick the bucket)
 * avalanche. Bucketing needs spread, not collision resistance, and this runs on every write, so
 * it avoids a second SHA-1 per update.
 */
function bucketHash(key: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i], 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class MerkleTree implements MerkleShape {
  readonly fanout: number;
  readonly depth: number;
  readonly leafCount: number;
  private readonly leaves = new Map<number, Leaf>();
  /** Cached inner hashes per level; an entry is dropped whenever its subtree changes. */
  private readonly cache: Map<number, Buffer>[];
  /** Keys under each inner node, so empty subtrees answer with their constant hash. */
  private readonly counts: Map<number, number>[];
  private readonly emptyHash: Buffer[];
  private keys = 0;
  private innerHashes = 0;

  constructor(shape: Partial<MerkleShape> = {}) {
    const fanout = shape.fanout ?? DEFAULT_FANOUT;
    const depth = shape.depth ?? DEFAULT_DEPTH;
    if (!Number.isInteger(fanout) || fanout < 2 || fanout > 256) throw new MerkleError(`fanout is an integer from 2 to 256, got ${fanout}`);
    if (!Number.isInteger(depth) || depth < 1 || fanout ** depth > 2 ** 24) {
      throw new MerkleError(`depth is a positive integer with fanout^depth at most 2^24 leaves, got ${fanout}^${depth}`);
    }
    this.fanout = fanout;
    this.depth = depth;
    this.leafCount = fanout ** depth;
    this.cache = Array.from({ length: depth }, () => new Map());
    this.counts = Array.from({ length: depth }, () => new Map());
    // An empty leaf XORs nothing: all zeros. An empty inner node hashes `fanout` empty children.
    this.emptyHash = new Array<Buffer>(depth + 1);
    this.emptyHash[depth] = Buffer.alloc(HASH_BYTES);
    for (let level = depth - 1; level >= 0; level--) this.emptyHash[level] = sha1(...Array<Buffer>(fanout).fill(this.emptyHash[level + 1]));
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

  /** Records the current version of a key (a put, a replicated op, a repair). */
  update(key: Buffer, versionHash: Buffer): void {
    const bucket = this.bucketOf(key);
    let leaf = this.leaves.get(bucket);
    if (!leaf) this.leaves.set(bucket, (leaf = { entries: new Map(), xor: Buffer.alloc(HASH_BYTES) }));
    const id = key.toString('latin1');
    const old = leaf.entries.get(id);
    if (old) {
      if (old.versionHash.equals(versionHash)) return;
      xorInto(leaf.xor, old.digest);
    }
    const digest = entryDigest(key, versionHash);
    xorInto(leaf.xor, digest);
    leaf.entries.set(id, { key: Buffer.from(key), versionHash: Buffer.from(versionHash), digest });
    this.touch(bucket, old ? 0 : 1);
  }

  /** Forgets a key (it left the range; a tombstone is an update with the tombstone's version). */
  remove(key: Buffer): void {
    const bucket = this.bucketOf(key);
    const leaf = this.leaves.get(bucket);
    const id = key.toString('latin1');
    const old = leaf?.entries.get(id);
    if (!leaf || !old) return;
    xorInto(leaf.xor, old.digest);
    leaf.entries.delete(id);
    if (leaf.entries.size === 0) this.leaves.delete(bucket);
    this.touch(bucket, -1);
  }

  /** Drops cached hashes on the leaf's path to the root and adjusts subtree key counts. */
  private touch(bucket: number, delta: number): void {
    this.keys += delta;
    let index = bucket;
    for (let level = this.depth - 1; level >= 0; level--) {
      index = Math.floor(index / this.fanout);
      this.cache[level].delete(index);
      if (delta !== 0) {
        const n = (this.counts[level].get(index) ?? 0) + delta;
        if (n === 0) this.counts[level].delete(index);
        else this.counts[level].set(index, n);
      }
    }
  }

  root(): Buffer {
    return this.hashAt(0, 0);
  }

  /** The hash of node `index` at `level` (0 = root, depth = leaves). */
  hashAt(level: number, index: number): Buffer {
    this.checkNode(level, index);
    if (level === this.depth) return Buffer.from(this.leaves.get(index)?.xor ?? this.emptyHash[level]);
    if (!this.counts[level].has(index)) return this.emptyHash[level];
    let h = this.cache[level].get(index);
    if (!h) {
      const children: Buffer[] = [];
      for (let c = 0; c < this.fanout; c++) children.push(this.hashAt(level + 1, index * this.fanout + c));
      h = sha1(...children);
      this.innerHashes++;
      this.cache[level].set(index, h);
    }
    return h;
  }

  /** Hashes of several nodes of one level: what a peer answers in one diff round. */
  hashes(level: number, indices: readonly number[]): Buffer[] {
    return indices.map((i) => this.hashAt(level, i));
  }

  /** The keys and versions in a leaf bucket, sorted by key. */
  bucketEntries(bucket: number): MerkleEntry[] {
    this.checkNode(this.depth, bucket);
    const leaf = this.leaves.get(bucket);
    if (!leaf) return [];
    return [...leaf.entries.values()].map(({ key, versionHash }) => ({ key, versionHash })).sort((a, b) => Buffer.compare(a.key, b.key));
  }

  private checkNode(level: number, index: number): void {
    if (!Number.isInteger(level) || level < 0 || level > this.depth) throw new MerkleError(`level is an integer from 0 to ${this.depth}, got ${level}`);
    if (!Number.isInteger(index) || index < 0 || index >= this.fanout ** level) {
      throw new MerkleError(`node index at level ${level} is an integer from 0 to ${this.fanout ** level - 1}, got ${index}`);
    }
  }
}
