import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { VectorClock } from './vector-clock';
import {
  addVersion,
  causalContext,
  decodeSiblings,
  encodeSiblings,
  mergeSiblings,
  type StoredValue,
  type Version,
  versionClock,
  writeVersion,
} from './vector-clock-siblings';

type Sibs = Version<StoredValue>[];
const NODES = ['a', 'b', 'c'];

/**
 * A random history over three replicas: writes (blind or with the context of the local read) and
 * pairwise syncs. Returns every version ever written and each replica's final sibling set, so
 * properties run on states that real executions produce.
 */
const historyArb = fc
  .array(
    fc.oneof(
      fc.record({ kind: fc.constant('write' as const), at: fc.nat(2), blind: fc.boolean(), value: fc.nat(9) }),
      fc.record({ kind: fc.constant('sync' as const), from: fc.nat(2), to: fc.nat(2) }),
    ),
    { maxLength: 25 },
  )
  .map((steps) => {
    const replicas: Sibs[] = [[], [], []];
    for (const step of steps) {
      if (step.kind === 'write') {
        const local = replicas[step.at];
        const context = step.blind ? VectorClock.EMPTY : causalContext(local);
        replicas[step.at] = writeVersion(local, NODES[step.at], Buffer.from([step.value]), context).siblings;
      } else {
        replicas[step.to] = mergeSiblings(replicas[step.to], replicas[step.from]);
      }
    }
    return replicas;
  });

const key = (s: Sibs): string => JSON.stringify(s.map((v) => [v.dot, v.context.toJSON(), v.value?.toString('hex')]));

describe('sibling sets (vector mode)', () => {
  it('merge is commutative, associative and idempotent on reachable states', () => {
    fc.assert(
      fc.property(historyArb, ([x, y, z]) => {
        assert.equal(key(mergeSiblings(x, y)), key(mergeSiblings(y, x)));
        assert.equal(key(mergeSiblings(mergeSiblings(x, y), z)), key(mergeSiblings(x, mergeSiblings(y, z))));
        assert.equal(key(mergeSiblings(x, x)), key(mergeSiblings([], x)));
      }),
      { numRuns: 300 },
    );
  });

  it('a write carrying the context of a read supersedes everything that read returned', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(2), ([x, y, z], at) => {
        const all = mergeSiblings(mergeSiblings(x, y), z);
        const { siblings } = writeVersion(all, NODES[at], Buffer.from('new'), causalContext(all));
        assert.equal(siblings.length, 1);
        assert.deepEqual(siblings[0].value, Buffer.from('new'));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps concurrent writes as siblings, even two blind writes at the same node', () => {
    let sibs: Sibs = [];
    sibs = writeVersion(sibs, 'a', Buffer.from('x')).siblings;
    sibs = writeVersion(sibs, 'a', Buffer.from('y')).siblings;
    const remote = writeVersion([], 'b', Buffer.from('z')).siblings;
    sibs = mergeSiblings(sibs, remote);
    assert.deepEqual(sibs.map((v) => v.value?.toString()).sort(), ['x', 'y', 'z']);
    assert.equal(versionClock(sibs[0]).compare(versionClock(sibs[2])), 'concurrent');
    // Riak's causal context: reading all three and writing once resolves them.
    const resolved = writeVersion(sibs, 'c', Buffer.from('merged'), causalContext(sibs)).siblings;
    assert.deepEqual(resolved.map((v) => v.value?.toString()), ['merged']);
    assert.deepEqual(versionClock(resolved[0]).toJSON(), { a: 2, b: 1, c: 1 });
  });

  it('a superseded version arriving late (replication, handoff) does not come back', () => {
    const first = writeVersion([], 'a', Buffer.from('old'));
    const second = writeVersion(first.siblings, 'a', Buffer.from('new'), causalContext(first.siblings));
    const late = addVersion(second.siblings, first.version);
    assert.deepEqual(late.map((v) => v.value?.toString()), ['new']);
    assert.deepEqual(addVersion(late, second.version), late, 'a duplicate delivery changes nothing');
  });

  it('replicas that exchange everything converge to the same siblings', () => {
    fc.assert(
      fc.property(historyArb, ([x, y, z]) => {
        const all = [x, y, z].reduce((acc, s) => mergeSiblings(acc, s), []);
        const fromEach = [x, y, z].map((own) => mergeSiblings(own, mergeSiblings(y, mergeSiblings(z, x))));
        for (const s of fromEach) assert.equal(key(s), key(all));
        // No sibling of a converged set supersedes another.
        for (const p of all) for (const q of all) if (p !== q) assert.ok(!(q.context.get(p.dot.node) >= p.dot.counter));
      }),
      { numRuns: 200 },
    );
  });

  it('encodes and decodes sibling sets including tombstones', () => {
    fc.assert(
      fc.property(historyArb, ([x, y]) => {
        let sibs = mergeSiblings(x, y);
        sibs = writeVersion(sibs, 'c', null).siblings;
        assert.equal(key(decodeSiblings(encodeSiblings(sibs))), key(sibs));
      }),
      { numRuns: 100 },
    );
    assert.throws(() => decodeSiblings(Buffer.from([7, 0, 0, 0, 0])), /format version 7/);
    const good = encodeSiblings(writeVersion([], 'a', Buffer.from('v')).siblings);
    assert.throws(() => decodeSiblings(good.subarray(0, good.length - 1)), /truncated/);
    assert.throws(() => decodeSiblings(Buffer.concat([good, Buffer.from([0])])), /trailing bytes/);
  });
});
