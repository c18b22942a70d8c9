import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeCompositeKey, inKeyRange } from '../../codec/composite-key';
import { decodeIndexEntryKey, indexEntryKey, indexEntryRange, isReservedKey, scanAroundReserved } from './global-keys';

describe('global index keys', () => {
  it('round-trip (field, value, primary key), stay inside their own range and in the reserved namespace', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (field, value, pk) => {
      const key = indexEntryKey(field, value, Buffer.from(pk));
      assert.ok(isReservedKey(key));
      assert.deepEqual(decodeIndexEntryKey(key), { field, value, primaryKey: Buffer.from(pk) });
      assert.ok(inKeyRange(indexEntryRange(field, value), key));
    }));
  });

  it('keep different (field, value) pairs in disjoint ranges, also when their concatenations are equal', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 6 }), fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 6 }), fc.uint8Array({ maxLength: 8 }),
      (f1, v1, f2, v2, pk) => {
        fc.pre(f1 !== f2 || v1 !== v2);
        assert.ok(!inKeyRange(indexEntryRange(f2, v2), indexEntryKey(f1, v1, Buffer.from(pk))));
      }));
    assert.ok(!inKeyRange(indexEntryRange('a', 'bc'), indexEntryKey('ab', 'c', Buffer.from('k'))));
  });

  it('never collide with a text key, raw or composite', () => {
    fc.assert(fc.property(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), (pk, ck) => {
      assert.ok(!isReservedKey(Buffer.from(pk)));
      assert.ok(!isReservedKey(encodeCompositeKey(Buffer.from(pk), Buffer.from(ck))));
      assert.equal(decodeIndexEntryKey(Buffer.from(pk)), undefined);
    }));
  });

  it('a client scan pages through every other key in [start, end) in order and never returns a reserved one', () => {
    const keyArb = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 4 }).map((a) => Buffer.from(a)),
      fc.uint8Array({ maxLength: 3 }).map((a) => Buffer.concat([Buffer.from([0xff, 0x49]), Buffer.from(a)])),
      fc.uint8Array({ maxLength: 2 }).map((a) => Buffer.concat([Buffer.from([0xff, 0x4a]), Buffer.from(a)])),
    );
    const boundArb = fc.option(keyArb, { nil: undefined });
    fc.assert(fc.property(fc.uniqueArray(keyArb, { selector: (k) => k.toString('hex'), maxLength: 40 }), boundArb, boundArb, fc.integer({ min: 1, max: 7 }), (keys, start, end, limit) => {
      const stored = [...keys].sort(Buffer.compare);
      // The store's scan: [from, to), at most n rows, `more` when rows were left.
      const scan = (from: Buffer | undefined, to: Buffer | undefined, n: number) => {
        const rows = stored.filter((k) => (!from || Buffer.compare(k, from) >= 0) && (!to || Buffer.compare(k, to) < 0)).map((key) => ({ key }));
        return { entries: rows.slice(0, n), more: rows.length > n };
      };
      const expected = stored.filter((k) => !isReservedKey(k) && (!start || Buffer.compare(k, start) >= 0) && (!end || Buffer.compare(k, end) < 0));
      const got: Buffer[] = [];
      let from = start;
      for (let pages = 0; pages < 100; pages++) {
        const page = scanAroundReserved(from, end, limit, scan);
        assert.ok(page.entries.length <= limit);
        got.push(...page.entries.map((e) => e.key));
        if (!page.more) break;
        from = Buffer.concat([page.entries[page.entries.length - 1].key, Buffer.from([0])]);
      }
      assert.deepEqual(got.map((k) => k.toString('hex')), expected.map((k) => k.toString('hex')));
    }), { numRuns: 1000 });
  });
});
