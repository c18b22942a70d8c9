import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { InvalidArgumentError } from './errors';
import { preferenceList, readCandidates, replicasOf, sloppyPreferenceList } from './placement';
import { createPartitionMap } from './settings';
import { removeNode } from './topology';

const nodes = (k: number): string[] => Array.from({ length: k }, (_, i) => `n${i}`);

describe('placement', () => {
  it('the preference list holds N distinct nodes, owner first, following the ring', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.nat(63), (k, n, i) => {
        const map = createPartitionMap({ numPartitions: 64, partitionsPerNode: 4, replicationFactor: Math.min(n, k) }, nodes(k));
        const p = map.partitions[i];
        const list = preferenceList(map, p.id);
        assert.equal(list.length, Math.min(n, k));
        assert.equal(new Set(list).size, list.length);
        assert.equal(list[0], p.owner);
        // The second replica is the first different owner clockwise (when one exists).
        const next = [...map.partitions.slice(i + 1), ...map.partitions.slice(0, i)].find((q) => q.owner !== p.owner);
        if (list.length > 1 && next) assert.equal(list[1], next.owner);
      }),
      { numRuns: 100 },
    );
  });

  it('uses nodes that own no partition too, and caps N by the node count', () => {
    const map = createPartitionMap({ partitionStrategy: 'range', keyRanges: [{ start: '', node: 0 }], replicationFactor: 3 }, nodes(3));
    assert.deepEqual(preferenceList(map, 0), ['n0', 'n1', 'n2']);
    const shrunk = removeNode(map, 'n2').map;
    assert.deepEqual(replicasOf(shrunk, Buffer.from('k')), ['n0', 'n1']);
    assert.throws(() => preferenceList(map, 5), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'pid');
  });

  it('sloppy quorum: up replicas stay, each down replica is replaced by the next healthy node tagged hintedFor', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.nat(31), fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }), (k, i, upFlags) => {
        const map = createPartitionMap({ numPartitions: 32, partitionsPerNode: 4, replicationFactor: Math.min(3, k) }, nodes(k));
        const isUp = (node: string): boolean => upFlags[Number(node.slice(1))];
        const pid = map.partitions[i].id;
        const intended = preferenceList(map, pid);
        const placed = sloppyPreferenceList(map, pid, isUp);
        const upCount = map.nodes.filter(isUp).length;
        assert.equal(placed.length, Math.min(intended.length, upCount));
        assert.equal(new Set(placed.map((p) => p.node)).size, placed.length, 'distinct nodes');
        for (const p of placed) {
          assert.ok(isUp(p.node));
          if (p.hintedFor === undefined) assert.ok(intended.includes(p.node));
          else assert.ok(!intended.includes(p.node) && intended.includes(p.hintedFor) && !isUp(p.hintedFor));
        }
        for (const node of intended) if (isUp(node)) assert.ok(placed.some((p) => p.node === node && p.hintedFor === undefined));
      }),
      { numRuns: 300 },
    );
  });

  it('a write with one of three replicas down lands on the next node with a hint (the 5-node scenario)', () => {
    const map = createPartitionMap({ replicationFactor: 3 }, nodes(5));
    const pid = map.locate(Buffer.from('user:42')).id;
    const [, second] = preferenceList(map, pid);
    const placed = sloppyPreferenceList(map, pid, (n) => n !== second);
    assert.equal(placed.length, 3);
    const hinted = placed.filter((p) => p.hintedFor !== undefined);
    assert.equal(hinted.length, 1);
    assert.equal(hinted[0].hintedFor, second);
    // A read asks the same healthy nodes first.
    assert.deepEqual(new Set(readCandidates(map, pid, (n) => n !== second).slice(0, 3)), new Set(placed.map((p) => p.node)));
  });
});
