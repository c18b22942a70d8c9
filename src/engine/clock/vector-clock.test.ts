import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { VectorClock, VectorClockError } from './vector-clock';

// Few nodes and small counters so that equal, ordered and concurrent pairs all come up often.
const clockArb = fc
  .record({ a: fc.nat(3), b: fc.nat(3), c: fc.nat(3) }, { requiredKeys: [] })
  .map((r) => VectorClock.from(r as Record<string, number>));

const leq = (x: VectorClock, y: VectorClock): boolean => y.dominates(x);

describe('VectorClock', () => {
  it('compare is a partial order: reflexive, antisymmetric, transitive', () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (x, y, z) => {
        assert.equal(x.compare(x), 'equal');
        if (leq(x, y) && leq(y, x)) assert.ok(x.equals(y), `${x} and ${y} are mutually ≤ but not equal`);
        if (leq(x, y) && leq(y, z)) assert.ok(leq(x, z), `${x} ≤ ${y} ≤ ${z} but not ${x} ≤ ${z}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('compare is consistent in both directions', () => {
    const flip = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const;
    fc.assert(fc.property(clockArb, clockArb, (x, y) => assert.equal(y.compare(x), flip[x.compare(y)])), { numRuns: 1000 });
  });

  it('merge is the least upper bound: commutative, associative, idempotent, above both, below any other bound', () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (x, y, z) => {
        const m = x.merge(y);
        assert.ok(m.equals(y.merge(x)));
        assert.ok(x.merge(y).merge(z).equals(x.merge(y.merge(z))));
        assert.ok(x.merge(x).equals(x));
        assert.ok(leq(x, m) && leq(y, m));
        if (leq(x, z) && leq(y, z)) assert.ok(leq(m, z), `${z} bounds ${x} and ${y} but not their merge ${m}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('increment moves a clock strictly after itself and after everything it dominated', () => {
    fc.assert(
      fc.property(clockArb, clockArb, fc.constantFrom('a', 'b', 'c', 'd'), (x, y, node) => {
        const next = x.increment(node);
        assert.equal(next.compare(x), 'after');
        if (x.dominates(y)) assert.equal(next.compare(y), 'after');
      }),
    );
  });

  it('tells concurrent updates apart from ordered ones', () => {
    const base = VectorClock.EMPTY.increment('a');
    const left = base.increment('a');
    const right = base.increment('b');
    assert.equal(left.compare(right), 'concurrent');
    assert.equal(left.merge(right).increment('c').compare(left), 'after');
    assert.equal(base.compare(left), 'before');
  });

  it('round-trips through JSON and binary, equal clocks encoding identically', () => {
    fc.assert(
      fc.property(clockArb, (x) => {
        assert.ok(VectorClock.from(x.toJSON()).equals(x));
        const { clock, bytesRead } = VectorClock.decode(Buffer.concat([Buffer.from([9]), x.encode()]), 1);
        assert.ok(clock.equals(x));
        assert.equal(bytesRead, x.encode().length);
        assert.deepEqual(VectorClock.from(Object.entries(x.toJSON()).reverse()).encode(), x.encode());
      }),
    );
  });

  it('rejects bad counters, node ids and encodings with a message saying what is accepted', () => {
    assert.throws(() => VectorClock.from({ a: -1 }), /entry "a": a counter is a non-negative safe integer, got -1/);
    assert.throws(() => VectorClock.from({ a: 1.5 }), VectorClockError);
    assert.throws(() => VectorClock.from({ '': 1 }), /node id is a non-empty string/);
    assert.throws(() => VectorClock.decode(Buffer.from([2, 0, 0, 0, 0])), /format version 2.*reads version 1/);
    assert.throws(() => VectorClock.decode(VectorClock.from({ a: 1 }).encode().subarray(0, 8)), /truncated/);
  });
});
