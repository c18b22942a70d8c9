import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeCompositeKey, inKeyRange } from '../../codec/composite-key';
import { decodeIndexEntryKey, indexEntryKey, indexEntryRange, isReservedKey } from './global-keys';

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
});
