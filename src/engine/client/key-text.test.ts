import { strict as assert } from 'node:assert';
import { encodeCompositeKey } from '../codec/composite-key';
import { saltedKey } from '../partitioning/salting';
import { getKeyOf, isSaltedStored, storedKeyText } from './key-text';

describe('storedKeyText', () => {
  it('shows rows as their two keys and salted variants with their bucket, plain keys as they are', () => {
    const b = (s: string) => Buffer.from(s);
    assert.equal(storedKeyText(b('user:1')), 'user:1');
    assert.equal(storedKeyText(encodeCompositeKey(b('o1'), b('c1'))), 'o1 / c1');
    assert.equal(storedKeyText(saltedKey(b('user:3'), 2)), 'user:3 (salt #2)');
    assert.equal(storedKeyText(encodeCompositeKey(saltedKey(b('o1'), 7), b('c1'))), 'o1 (salt #7) / c1');
    // A plain key holding a NUL that no encoder made stays as it is.
    assert.equal(storedKeyText(b('a\u0000b')), 'a\u0000b');
  });

  it('names the key a Get reads: a salted variant\'s original key, nothing for a row', () => {
    const b = (s: string) => Buffer.from(s);
    assert.equal(getKeyOf(b('user:1')), 'user:1');
    assert.equal(getKeyOf(saltedKey(b('user:3'), 2)), 'user:3');
    assert.equal(getKeyOf(encodeCompositeKey(b('o1'), b('c1'))), undefined);
    assert.equal(getKeyOf(Buffer.alloc(0)), undefined, 'a skip has no key');
  });

  it('tells a salted variant, or a row of one, from a plain key (variants sort after every plain key)', () => {
    const b = (s: string) => Buffer.from(s);
    assert.deepEqual(
      [b('user:1'), saltedKey(b('user:1'), 0), encodeCompositeKey(b('o1'), b('c1')), encodeCompositeKey(saltedKey(b('o1'), 7), b('c1'))].map(isSaltedStored),
      [false, true, false, true],
    );
    assert.ok(Buffer.compare(b('\u{10ffff}'), saltedKey(b(''), 0)) < 0, 'a plain text key sorts after a variant');
  });
});
