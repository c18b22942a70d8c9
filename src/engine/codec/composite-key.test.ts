import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  CompositeKeyError,
  compositeKeyRange,
  decodeCompositeKey,
  encodeCompositeKey,
  inKeyRange,
  keyAfter,
  partitionKeyOf,
} from './composite-key';

// Small alphabets with 0x00, 0x01, 0xff and '|' make prefixes, escapes and collisions likely.
const byteArb = fc.constantFrom(0x00, 0x01, 0x02, 0x7c, 0xfe, 0xff);
const keyArb = fc.array(byteArb, { maxLength: 6 }).map((a) => Buffer.from(a));
const rowArb = fc.record({ pk: keyArb, ck: fc.option(keyArb, { nil: undefined }) });

/** Reference order: partition key bytewise, then no clustering key first, then clustering key bytewise. */
function compareRows(a: { pk: Buffer; ck?: Buffer }, b: { pk: Buffer; ck?: Buffer }): number {
  const byPk = Buffer.compare(a.pk, b.pk);
  if (byPk !== 0) return byPk;
  if (a.ck === undefined || b.ck === undefined) return (a.ck === undefined ? 0 : 1) - (b.ck === undefined ? 0 : 1);
  return Buffer.compare(a.ck, b.ck);
}

describe('composite keys', () => {
  it('round-trips any partition and clustering key, keeping "no clustering key" apart from an empty one', () => {
    fc.assert(
      fc.property(rowArb, ({ pk, ck }) => {
        const decoded = decodeCompositeKey(encodeCompositeKey(pk, ck));
        assert.deepEqual(decoded.partitionKey, pk);
        assert.deepEqual(decoded.clusteringKey, ck);
        assert.deepEqual(partitionKeyOf(encodeCompositeKey(pk, ck)), pk);
      }),
      { numRuns: 500 },
    );
    assert.notDeepEqual(encodeCompositeKey(Buffer.from('a')), encodeCompositeKey(Buffer.from('a'), Buffer.alloc(0)));
  });

  it('sorts encoded keys by partition key, then clustering key, bytewise', () => {
    fc.assert(
      fc.property(rowArb, rowArb, (a, b) => {
        const encoded = Math.sign(Buffer.compare(encodeCompositeKey(a.pk, a.ck), encodeCompositeKey(b.pk, b.ck)));
        assert.equal(encoded, Math.sign(compareRows(a, b)));
      }),
      { numRuns: 1000 },
    );
  });

  it('does not confuse keys containing "|" the way "partition|cluster" joining did', () => {
    const a = encodeCompositeKey(Buffer.from('a|b'), Buffer.from('c'));
    const b = encodeCompositeKey(Buffer.from('a'), Buffer.from('b|c'));
    assert.notDeepEqual(a, b);
    assert.deepEqual(decodeCompositeKey(a).partitionKey, Buffer.from('a|b'));
  });

  it('a partition range with a clustering range holds exactly the matching rows', () => {
    fc.assert(
      fc.property(
        fc.array(rowArb, { maxLength: 30 }),
        keyArb,
        fc.option(keyArb, { nil: undefined }),
        fc.option(keyArb, { nil: undefined }),
        (rows, pk, lo, hi) => {
          const range = compositeKeyRange(pk, lo, hi);
          for (const row of [...rows, { pk, ck: undefined }, { pk, ck: lo }, { pk, ck: hi }]) {
            const expected =
              row.pk.equals(pk) &&
              (lo === undefined || (row.ck !== undefined && Buffer.compare(row.ck, lo) >= 0)) &&
              (hi === undefined || row.ck === undefined || Buffer.compare(row.ck, hi) < 0);
            assert.equal(inKeyRange(range, encodeCompositeKey(row.pk, row.ck)), expected, JSON.stringify(row));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('paging with keyAfter(last) visits every row of a range exactly once, in order', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 25 }), keyArb, fc.integer({ min: 1, max: 4 }), (rows, pk, pageSize) => {
        const stored = [...new Set([...rows, { pk, ck: Buffer.from([1]) }].map((r) => encodeCompositeKey(r.pk, r.ck).toString('hex')))]
          .map((h) => Buffer.from(h, 'hex'))
          .sort(Buffer.compare);
        const range = compositeKeyRange(pk);
        const expected = stored.filter((k) => inKeyRange(range, k));
        const seen: Buffer[] = [];
        let from = range.start;
        for (;;) {
          const page = stored.filter((k) => inKeyRange({ start: from, end: range.end }, k)).slice(0, pageSize);
          seen.push(...page);
          if (page.length < pageSize) break;
          from = keyAfter(page[page.length - 1]);
        }
        assert.deepEqual(seen, expected);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects byte strings that no encoder produced, naming the offset', () => {
    assert.throws(() => decodeCompositeKey(Buffer.from([0x61])), (e: unknown) => e instanceof CompositeKeyError && e.offset === 1);
    assert.throws(() => decodeCompositeKey(Buffer.from([0x61, 0x00, 0x07])), /byte 1: 0x00 is followed by 0x07/);
    assert.throws(() => decodeCompositeKey(Buffer.from([0x61, 0x00])), /ends after a 0x00 byte/);
    const three = Buffer.concat([encodeCompositeKey(Buffer.from('a'), Buffer.from('b')), Buffer.from([0x63, 0, 1])]);
    assert.throws(() => decodeCompositeKey(three), /at most two components/);
  });
});
