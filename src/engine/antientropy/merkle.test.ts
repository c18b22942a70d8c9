import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { MerkleError, MerkleTree } from './merkle';
import { diffEntries, diffTrees, findDivergentKeys, type MerklePeer } from './merkle-diff';

const version = (n: number): Buffer => createHash('sha1').update(`v${n}`).digest();
const key = (i: number): Buffer => Buffer.from(`user:${i}`);

describe('Merkle tree', () => {
  it('is maintained incrementally to exactly the tree built from the final contents, in any order', () => {
    const ops = fc.array(fc.record({ k: fc.nat(40), v: fc.option(fc.nat(3), { nil: undefined }) }), { maxLength: 80 });
    fc.assert(
      fc.property(ops, (steps) => {
        const live = new MerkleTree({ fanout: 4, depth: 3 });
        const final = new Map<number, number>();
        for (const { k, v } of steps) {
          if (v === undefined) {
            live.remove(key(k));
            final.delete(k);
          } else {
            live.update(key(k), version(v));
            final.set(k, v);
          }
          live.root(); // interleave reads so cached hashes must be invalidated correctly
        }
        const rebuilt = new MerkleTree({ fanout: 4, depth: 3 });
        for (const [k, v] of [...final].reverse()) rebuilt.update(key(k), version(v));
        assert.ok(live.root().equals(rebuilt.root()));
        assert.equal(live.size, final.size);
        if (final.size === 0) assert.ok(live.root().equals(new MerkleTree({ fanout: 4, depth: 3 }).root()));
      }),
      { numRuns: 200 },
    );
  });

  it('an update recomputes one leaf-to-root path, not the tree', () => {
    const tree = new MerkleTree({ fanout: 16, depth: 4 });
    for (let i = 0; i < 5_000; i++) tree.update(key(i), version(0));
    const before = tree.root();
    const work = tree.hashesComputed;
    tree.update(key(17), version(1));
    assert.ok(!tree.root().equals(before));
    assert.equal(tree.hashesComputed - work, tree.depth);
    tree.remove(key(17));
    tree.root();
    assert.equal(tree.hashesComputed - work, 2 * tree.depth);
  });

  it('100,000 keys, 10 differing: the diff finds exactly their buckets with hashes proportional to 10, then converges', async function () {
    this.timeout(180_000); // 200,000 SHA-1 updates; the shared test machine can be very slow
    const a = new MerkleTree();
    const b = new MerkleTree();
    for (let i = 0; i < 100_000; i++) {
      a.update(key(i), version(0));
      b.update(key(i), version(0));
    }
    const changed = [5, 12_345, 40_000, 77_777, 99_999];
    const missingOnB = [1, 50_000, 60_001];
    const onlyOnB = [100_001, 100_002];
    for (const i of changed) b.update(key(i), version(1));
    for (const i of missingOnB) b.remove(key(i));
    for (const i of onlyOnB) b.update(key(i), version(0));
    const differing = [...changed, ...missingOnB, ...onlyOnB];

    const { buckets, stats } = await diffTrees(a, b);
    assert.deepEqual(buckets, [...new Set(differing.map((i) => a.bucketOf(key(i))))].sort((x, y) => x - y));
    const bound = 1 + differing.length * a.depth * a.fanout;
    assert.ok(stats.hashesExchanged <= bound, `${stats.hashesExchanged} hashes exchanged, bound ${bound}`);
    assert.ok(stats.bytesExchanged <= bound * 24, `${stats.bytesExchanged} bytes`);
    assert.ok(stats.hashesExchanged < 100_000 / 100, 'a hundredth of one hash per key would already be too many');
    assert.equal(stats.rounds, a.depth + 1);

    const keys = buckets.flatMap((bucket) => diffEntries(a.bucketEntries(bucket), b.bucketEntries(bucket)));
    assert.deepEqual(keys.map((d) => d.key.toString()).sort(), differing.map((i) => key(i).toString()).sort());
    // The whole round, entries included, against a peer that only answers what it is asked.
    const peer: MerklePeer = { fanout: b.fanout, depth: b.depth, hashes: (l, ix) => b.hashes(l, ix), bucketEntries: (bs) => bs.map((x) => b.bucketEntries(x)) };
    const round = await findDivergentKeys(a, peer);
    assert.deepEqual(round.keys, keys);
    assert.equal(round.stats.keysDiffering, 10);
    const fullCopy = 100_000 * (4 + key(99_999).length + 20);
    assert.ok(round.stats.bytesExchanged < fullCopy / 100, `${round.stats.bytesExchanged} bytes vs ${fullCopy} for a full copy`);
    for (const d of keys) {
      if (d.local) b.update(d.key, d.local); // here a's side wins; the consistency mode decides in the node
      else b.remove(d.key);
    }
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
    assert.throws(() => new MerkleTree({ fanout: 16, depth: 7 }), /at most 2\^24 leaves/);
    const t = new MerkleTree({ fanout: 4, depth: 2 });
    assert.throws(() => t.hashAt(1, 4), /from 0 to 3, got 4/);
    assert.throws(() => t.hashAt(3, 0), /level is an integer from 0 to 2/);
    await assert.rejects(diffTrees(t, new MerkleTree({ fanout: 4, depth: 3 })), (err: unknown) => err instanceof MerkleError && /different shapes/.test(err.message));
  });
});
