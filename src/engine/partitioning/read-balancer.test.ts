import { strict as assert } from 'node:assert';
import { ReadBalancer } from './read-balancer';

describe('read balancing', () => {
  it('round-robin cycles through the up replicas of each replica set', () => {
    const balancer = new ReadBalancer('round-robin');
    const picks = Array.from({ length: 6 }, () => balancer.pick(['a', 'b', 'c']));
    assert.deepEqual(picks, ['a', 'b', 'c', 'a', 'b', 'c']);
    const skipDown = Array.from({ length: 4 }, () => balancer.pick(['a', 'b', 'c'], (n) => n !== 'b'));
    assert.ok(skipDown.every((n) => n !== 'b'));
    assert.deepEqual(new Set(skipDown), new Set(['a', 'c']));
  });

  it('least-recent evens out load across partitions that share nodes', () => {
    const balancer = new ReadBalancer('least-recent');
    const load = new Map<string, number>();
    const sets = [['a', 'b', 'c'], ['b', 'c', 'd'], ['c', 'd', 'a'], ['d', 'a', 'b']];
    for (let i = 0; i < 400; i++) {
      const node = balancer.pick(sets[i % 4]) as string;
      load.set(node, (load.get(node) ?? 0) + 1);
    }
    assert.deepEqual([...load.values()], [100, 100, 100, 100]);
  });

  it('returns undefined when no replica is up and rejects unknown strategies', () => {
    assert.equal(new ReadBalancer().pick(['a'], () => false), undefined);
    assert.throws(() => new ReadBalancer('random' as never), /accepted: round-robin, least-recent/);
  });
});
