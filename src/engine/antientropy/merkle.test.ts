import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { entryDigest, MerkleError, MerkleTree, type MerkleEntry, type MerkleShape } from './merkle';
import { diffEntries, diffTrees, findDivergentKeys, type EntrySource, type MerklePeer } from './merkle-diff';

const version = (n: number): Buffer => createHash('sha1').update(`v${n}`).digest();
const key = (i: number): Buffer => Buffer.from(`user:${i}`);

/**
 * A replica as a node has one: its data (here a Map, in the node the store) and a tree that is
 * told each change with the version it replaces, serving bucket entries from the data.
 */
class Replica extends MerkleTree implements EntrySource {
  readonly data = new Map<string, Buffer>();

  constructor(shape?: Partial<MerkleShape>) {
    super(shape);
  }

  /** Stores `v` for `k` (undefined removes the key). */
  set(k: Buffer, v: Buffer | undefined): void {
    const id = k.toString('latin1');
    const before = this.data.get(id);
    if (v === undefined) this.data.delete(id);
    else this.data.set(id, v);
    this.change(k, before, v);
  }

  bucketEntries(buckets: readonly number[]): MerkleEntry[][] {
    const out = buckets.map((): MerkleEntry[] => []);
    for (const [id, versionHash] of this.data) {
      const k = Buffer.from(id, 'latin1');
      const i = buckets.indexOf(this.bucketOf(k));
      if (i >= 0) out[i].push({ key: k, versionHash });
    }
    return out.map((list) => list.sort((a, b) => Buffer.compare(a.key, b.key)));
  }
}

/** A tree built from final contents alone, in the given order. */
function built(contents: Iterable<[Buffer, Buffer]>, shape: Partial<MerkleShape>): MerkleTree {
  const t = new MerkleTree(shape);
  for (const [k, v] of contents) t.change(k, undefined, v);
  return t;
}

describe('Merkle tree', () => {
  it('property: puts, overwrites, tombstones and removals leave the root of a fresh build over the final contents', () => {
    // Versions of varied length (the digest streams key and version through 4-byte words) and
    // keys that collide into few buckets, so leaves hold several keys and overwrite each other.
    const versions = fc.uint8Array({ minLength: 0, maxLength: 23 }).map((a) => Buffer.from(a));
    const step = fc.record({ k: fc.nat(40), v: fc.option(versions, { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), fc.boolean(), (steps, reverse) => {
        const shape = { fanout: 4, depth: 3 };
        const live = new Replica(shape);
        for (const { k, v } of steps) {
          live.set(key(k), v);
          if (k % 3 === 0) live.root(); // interleave reads so stale marks must be placed correctly
        }
        const final = [...live.data].map(([id, v]): [Buffer, Buffer] => [Buffer.from(id, 'latin1'), v]);
        const fresh = built(reverse ? final.reverse() : final, shape);
        assert.ok(live.root().equals(fresh.root()));
        for (let b = 0; b < live.leafCount; b++) assert.ok(live.hashAt(3, b).equals(fresh.hashAt(3, b)), `leaf ${b}`);
        assert.equal(live.size, live.data.size);
        if (live.data.size === 0) assert.ok(live.root().equals(new MerkleTree(shape).root()), 'emptied is empty');
      }),
      { numRuns: 300 },
    );
  });

  it('a leaf is the XOR of its keys\' digests, and a digest tells (key, version) splits apart', () => {
    const t = new MerkleTree({ fanout: 2, depth: 1 });
    t.change(Buffer.from('ab'), undefined, Buffer.from('c'));
    const leaf = t.bucketOf(Buffer.from('ab'));
    assert.ok(t.hashAt(1, leaf).equals(entryDigest(Buffer.from('ab'), Buffer.from('c'))));
    assert.ok(!entryDigest(Buffer.from('ab'), Buffer.from('c')).equals(entryDigest(Buffer.from('a'), Buffer.from('bc'))));
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(entryDigest(key(i % 100), version(i)).toString('hex'));
    assert.equal(seen.size, 20_000, 'no two of 20,000 (key, version) pairs share a digest');
    // Each of the 160 bits is set in about half of the digests (the five lanes are all used).
    const ones = new Array<number>(160).fill(0);
    for (const hex of seen) {
      const d = Buffer.from(hex, 'hex');
      for (let bit = 0; bit < 160; bit++) ones[bit] += (d[bit >> 3] >> (bit & 7)) & 1;
    }
    for (let bit = 0; bit < 160; bit++) assert.ok(ones[bit] > 9_000 && ones[bit] < 11_000, `bit ${bit} set ${ones[bit]} times of 20,000`);
  });

  it('an inner node hashes to SHA-1 of its children\'s hashes in order (what peers of any build compare), also after changes', () => {
    fc.assert(fc.property(fc.constantFrom([2, 3], [4, 2], [16, 2]), fc.array(fc.tuple(fc.nat(300), fc.option(fc.nat(3), { nil: undefined })), { maxLength: 200 }), ([fanout, depth], writes) => {
      const tree = new Replica({ fanout, depth });
      const check = () => {
        for (let level = depth - 1; level >= 0; level--) {
          for (let i = 0; i < fanout ** level; i++) {
            const children = Array.from({ length: fanout }, (_, c) => tree.hashAt(level + 1, i * fanout + c));
            assert.ok(tree.hashAt(level, i).equals(createHash('sha1').update(Buffer.concat(children)).digest()), `node ${level}:${i}`);
          }
        }
      };
      writes.forEach(([k, v], n) => {
        tree.set(key(k), v === undefined ? undefined : version(v));
        if (n % 50 === 0) check();
      });
      check();
    }), { numRuns: 60 });
  });

  it('a change recomputes one leaf-to-root path, not the tree; telling the same version again changes nothing', () => {
    const tree = new MerkleTree({ fanout: 16, depth: 4 });
    for (let i = 0; i < 5_000; i++) tree.change(key(i), undefined, version(0));
    const before = tree.root();
    const work = tree.hashesComputed;
    tree.change(key(17), version(0), version(0));
    assert.ok(tree.root().equals(before));
    assert.equal(tree.hashesComputed, work);
    tree.change(key(17), version(0), version(1));
    assert.ok(!tree.root().equals(before));
    assert.equal(tree.hashesComputed - work, tree.depth);
    tree.change(key(17), version(1), undefined);
    tree.change(key(18), version(0), undefined); // two paths under one stale root
    tree.root();
    // Both paths are recomputed once, however often they were marked stale.
    const paths = new Set([17, 18].flatMap((i) => Array.from({ length: tree.depth }, (_, l) => `${l}:${Math.floor(tree.bucketOf(key(i)) / tree.fanout ** (tree.depth - l))}`)));
    assert.equal(tree.hashesComputed - work, tree.depth + paths.size);
    assert.equal(tree.size, 4_998);
  });

  it('100,000 keys, 10 differing: the diff finds exactly their buckets with hashes proportional to 10, then converges', async function () {
    this.timeout(180_000); // the shared test machine can be very slow
    const a = new Replica();
    const b = new Replica();
    for (let i = 0; i < 100_000; i++) {
      a.set(key(i), version(0));
      b.set(key(i), version(0));
    }
    const changed = [5, 12_345, 40_000, 77_777, 99_999];
    const missingOnB = [1, 50_000, 60_001];
    const onlyOnB = [100_001, 100_002];
    for (const i of changed) b.set(key(i), version(1));
    for (const i of missingOnB) b.set(key(i), undefined);
    for (const i of onlyOnB) b.set(key(i), version(0));
    const differing = [...changed, ...missingOnB, ...onlyOnB];

    const { buckets, stats } = await diffTrees(a, b);
    assert.deepEqual(buckets, [...new Set(differing.map((i) => a.bucketOf(key(i))))].sort((x, y) => x - y));
    const bound = 1 + differing.length * a.depth * a.fanout;
    assert.ok(stats.hashesExchanged <= bound, `${stats.hashesExchanged} hashes exchanged, bound ${bound}`);
    assert.ok(stats.bytesExchanged <= bound * 24, `${stats.bytesExchanged} bytes`);
    assert.ok(stats.hashesExchanged < 100_000 / 100, 'a hundredth of one hash per key would already be too many');
    assert.equal(stats.rounds, a.depth + 1);

    const mine = a.bucketEntries(buckets);
    const theirs = b.bucketEntries(buckets);
    const keys = buckets.flatMap((_, i) => diffEntries(mine[i], theirs[i]));
    assert.deepEqual(keys.map((d) => d.key.toString()).sort(), differing.map((i) => key(i).toString()).sort());
    // The whole round, entries included, against a peer that only answers what it is asked.
    const peer: MerklePeer = { fanout: b.fanout, depth: b.depth, hashes: (l, ix) => b.hashes(l, ix), bucketEntries: (bs) => b.bucketEntries(bs) };
    const round = await findDivergentKeys(a, peer);
    assert.deepEqual(round.keys, keys);
    assert.equal(round.stats.keysDiffering, 10);
    const fullCopy = 100_000 * (4 + key(99_999).length + 20);
    assert.ok(round.stats.bytesExchanged < fullCopy / 100, `${round.stats.bytesExchanged} bytes vs ${fullCopy} for a full copy`);
    for (const d of keys) b.set(d.key, d.local); // here a's side wins; the consistency mode decides in the node
    assert.ok(a.root().equals(b.root()));
    assert.deepEqual((await diffTrees(a, b)).stats.hashesExchanged, 1, 'converged trees exchange one hash');
    assert.deepEqual((await findDivergentKeys(a, peer)).keys, []);
  });

  it('diffEntries names keys missing on either side and keys with other versions', () => {
    const e = (k: string, v: number) => ({ key: Buffer.from(k), versionHash: version(v) });
    const d = diffEntries([e('a', 0), e('b', 0), e('c', 0)], [e('b', 0), e('c', 1), e('d', 0)]);
    assert.deepEqual(d.map((x) => [x.key.toString(), x.local !== undefined, x.remote !== undefined]), [['a', true, false], ['c', true, true], ['d', false, true]]);
  });

  it('rejects bad shapes, nodes and mismatched peers', async () => {
    assert.throws(() => new MerkleTree({ fanout: 1 }), /fanout is an integer from 2 to 256/);
    assert.throws(() => new MerkleTree({ fanout: 16, depth: 6 }), /at most 2\^20 leaves/);
    const t = new MerkleTree({ fanout: 4, depth: 2 });
    assert.throws(() => t.hashAt(1, 4), /from 0 to 3, got 4/);
    assert.throws(() => t.hashAt(3, 0), /level is an integer from 0 to 2/);
    await assert.rejects(diffTrees(t, new MerkleTree({ fanout: 4, depth: 3 })), (err: unknown) => err instanceof MerkleError && /different shapes/.test(err.message));
  });
});
