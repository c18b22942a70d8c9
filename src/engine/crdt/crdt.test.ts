import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { applyCrdtOp, CRDT_NAMES, CRDT_TYPES, crdtValue, emptyCrdtState, mergeCrdtStates, parseCrdtConfig } from './registry';
import { CrdtError, type CrdtName, type CrdtOp } from './types';

const REPLICAS = ['A', 'B', 'C'];
const elementArb = fc.constantFrom('x', 'y', 'z').map((s) => Buffer.from(s));

const opArb: Record<CrdtName, fc.Arbitrary<CrdtOp>> = {
  gcounter: fc.integer({ min: 1, max: 5 }).map((by) => ({ op: 'increment', by })),
  pncounter: fc.oneof(
    fc.integer({ min: 1, max: 5 }).map((by): CrdtOp => ({ op: 'increment', by })),
    fc.integer({ min: 1, max: 5 }).map((by): CrdtOp => ({ op: 'decrement', by })),
  ),
  orset: fc.oneof(
    elementArb.map((element): CrdtOp => ({ op: 'add', element })),
    elementArb.map((element): CrdtOp => ({ op: 'remove', element })),
  ),
  // Small timestamps so equal timestamps from different replicas (the tie-break) are common.
  lwwregister: fc.record({ v: elementArb, ts: fc.integer({ min: 1, max: 4 }) }).map(({ v, ts }) => ({ op: 'set', value: v, timestamp: ts })),
  mvregister: elementArb.map((value) => ({ op: 'set', value })),
};

/**
 * Three replicas' encoded states after a random run of local ops and one-way state merges,
 * i.e. states a real cluster can reach (a GCounter state where a replica's entry went down is not one).
 */
function statesArb(type: CrdtName): fc.Arbitrary<Buffer[]> {
  const step = fc.oneof(
    fc.record({ at: fc.nat(2), op: opArb[type] }),
    fc.record({ from: fc.nat(2), to: fc.nat(2) }),
  );
  return fc.array(step, { maxLength: 20 }).map((steps) => {
    const states = REPLICAS.map(() => emptyCrdtState(type));
    for (const s of steps) {
      if ('op' in s) states[s.at] = applyCrdtOp(type, states[s.at], s.op, REPLICAS[s.at]);
      else states[s.to] = mergeCrdtStates(type, states[s.to], states[s.from]);
    }
    return states;
  });
}

describe('CRDTs', () => {
  for (const type of CRDT_NAMES) {
    describe(type, () => {
      const merge = (a: Buffer, b: Buffer): Buffer => mergeCrdtStates(type, a, b);

      it('merge is commutative, associative and idempotent', () => {
        fc.assert(
          fc.property(statesArb(type), ([x, y, z]) => {
            assert.deepEqual(merge(x, y), merge(y, x));
            assert.deepEqual(merge(merge(x, y), z), merge(x, merge(y, z)));
            assert.deepEqual(merge(x, x), x);
          }),
          { numRuns: 150 },
        );
      });

      it('replicas that exchange states in any order converge to the same value', () => {
        fc.assert(
          fc.property(statesArb(type), ([x, y, z]) => {
            const a = merge(merge(x, y), z);
            const c = merge(z, merge(y, x));
            assert.deepEqual(crdtValue(type, a), crdtValue(type, c));
          }),
          { numRuns: 100 },
        );
      });

      it('encoding round-trips and rejects a state of another type', () => {
        fc.assert(
          fc.property(statesArb(type), ([x]) => {
            const t = CRDT_TYPES[type];
            assert.deepEqual(t.encode(t.decode(x)), x);
          }),
          { numRuns: 50 },
        );
        const other = CRDT_NAMES.find((n) => n !== type) as CrdtName;
        assert.throws(() => crdtValue(type, emptyCrdtState(other)), /configured with another CRDT type/);
        assert.throws(() => crdtValue(type, Buffer.from([9, CRDT_TYPES[type].tag])), /format version 9/);
      });
    });
  }

  it('the seed example: A increments 1, B increments 2, both merge and read 3', () => {
    const a = applyCrdtOp('gcounter', undefined, { op: 'increment', by: 1 }, 'A');
    const b = applyCrdtOp('gcounter', undefined, { op: 'increment', by: 2 }, 'B');
    assert.equal(crdtValue('gcounter', mergeCrdtStates('gcounter', a, b)), 3);
    assert.equal(crdtValue('gcounter', mergeCrdtStates('gcounter', b, a)), 3);
    assert.equal(crdtValue('gcounter', mergeCrdtStates('gcounter', mergeCrdtStates('gcounter', a, b), b)), 3, 're-delivery counts once');
  });

  it('pncounter counts down as well as up', () => {
    let s = applyCrdtOp('pncounter', undefined, { op: 'increment', by: 5 }, 'A');
    s = applyCrdtOp('pncounter', s, { op: 'decrement', by: 7 }, 'B');
    assert.equal(crdtValue('pncounter', s), -2);
  });

  it('orset: a remove drops what it observed, a concurrent add wins', () => {
    const x = Buffer.from('x');
    const base = applyCrdtOp('orset', undefined, { op: 'add', element: x }, 'A');
    const removedAtB = applyCrdtOp('orset', base, { op: 'remove', element: x }, 'B');
    assert.deepEqual(crdtValue('orset', removedAtB), []);
    const readdedAtA = applyCrdtOp('orset', base, { op: 'add', element: x }, 'A');
    assert.deepEqual(crdtValue('orset', mergeCrdtStates('orset', removedAtB, readdedAtA)), [x]);
    assert.deepEqual(crdtValue('orset', mergeCrdtStates('orset', removedAtB, base)), [], 'a stale add does not resurrect');
  });

  it('lwwregister: the highest timestamp wins, ties go to the larger origin on every replica', () => {
    const at = (ts: number, who: string, v: string): Buffer => applyCrdtOp('lwwregister', undefined, { op: 'set', value: Buffer.from(v), timestamp: ts }, who);
    assert.deepEqual(crdtValue('lwwregister', mergeCrdtStates('lwwregister', at(2, 'A', 'old'), at(3, 'A', 'new'))), Buffer.from('new'));
    assert.deepEqual(crdtValue('lwwregister', mergeCrdtStates('lwwregister', at(3, 'B', 'b'), at(3, 'A', 'a'))), Buffer.from('b'));
    assert.equal(crdtValue('lwwregister', undefined), null);
    assert.throws(() => applyCrdtOp('lwwregister', undefined, { op: 'set', value: Buffer.from('v') }, 'A'), /needs a timestamp/);
  });

  it('mvregister: concurrent sets are all visible; a later set at a replica that saw them replaces them', () => {
    const a = applyCrdtOp('mvregister', undefined, { op: 'set', value: Buffer.from('a') }, 'A');
    const b = applyCrdtOp('mvregister', undefined, { op: 'set', value: Buffer.from('b') }, 'B');
    const both = mergeCrdtStates('mvregister', a, b);
    assert.deepEqual(crdtValue('mvregister', both), [Buffer.from('a'), Buffer.from('b')]);
    const resolved = applyCrdtOp('mvregister', both, { op: 'set', value: Buffer.from('c') }, 'C');
    assert.deepEqual(crdtValue('mvregister', mergeCrdtStates('mvregister', resolved, a)), [Buffer.from('c')]);
  });

  it('rejects unsupported ops and bad amounts, naming what is accepted', () => {
    assert.throws(() => applyCrdtOp('gcounter', undefined, { op: 'decrement' }, 'A'), /gcounter does not support "decrement" \(ringdb decr\); accepted: increment \(ringdb incr\)$/);
    assert.throws(() => applyCrdtOp('gcounter', undefined, { op: 'increment', by: 0 }, 'A'), /positive safe integer/);
    assert.throws(() => applyCrdtOp('orset', undefined, { op: 'set', value: Buffer.from('v') }, 'A'), /accepted: add \(ringdb sadd\), remove \(ringdb srem\)$/);
    assert.throws(() => applyCrdtOp('gcounter', undefined, { op: 'increment' }, ''), /replica id is a non-empty string/);
  });

  it('validates the crdt setting, naming the entry and the accepted types', () => {
    assert.deepEqual([...parseCrdtConfig({ likes: 'gcounter', tags: 'orset' })], [['likes', 'gcounter'], ['tags', 'orset']]);
    assert.equal(parseCrdtConfig(null).size, 0);
    assert.throws(() => parseCrdtConfig({ likes: 'gcountr' }), (e: unknown) => e instanceof CrdtError && /crdt\.likes: "gcountr" is not a CRDT type; accepted: gcounter, pncounter, orset, lwwregister, mvregister/.test(e.message));
    assert.throws(() => parseCrdtConfig(['gcounter']), /crdt: expected an object/);
  });
});
