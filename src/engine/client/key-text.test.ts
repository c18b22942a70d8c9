import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { keyText, utf8Text } from '../codec/bytes-text';
import { encodeCompositeKey } from '../codec/composite-key';
import { describeRange } from '../partitioning';
import { saltedKey, unsaltKey } from '../partitioning/salting';
import { getKeyOf, isSaltedStored, storedKeyText } from './key-text';

describe('storedKeyText', () => {
  it('shows rows as their two keys and salted variants with their bucket, plain keys as they are', () => {
    const b = (s: string) => Buffer.from(s);
    assert.equal(storedKeyText(b('user:1')), 'user:1');
    assert.equal(storedKeyText(encodeCompositeKey(b('o1'), b('c1'))), 'o1 / c1');
    assert.equal(storedKeyText(saltedKey(b('user:3'), 2)), 'user:3 (salt #2)');
    assert.equal(storedKeyText(encodeCompositeKey(saltedKey(b('o1'), 7), b('c1'))), 'o1 (salt #7) / c1');
    // A plain key holding a NUL that no encoder made is no row: its bytes, as any unprintable key.
    assert.equal(storedKeyText(b('a\u0000b')), '0x610062');
  });

  it('prints each component by the one key rule: printable UTF-8 as text, anything else as 0x and hex', () => {
    const b = (s: string) => Buffer.from(s);
    assert.equal(storedKeyText(b('café')), 'café');
    assert.equal(storedKeyText(b('\u0001sst')), '0x01737374', 'a control character');
    assert.equal(storedKeyText(Buffer.from([0xfe, 0x41])), '0xfe41', 'not UTF-8');
    assert.equal(storedKeyText(saltedKey(b('\u0001k'), 1)), '0x016b (salt #1)');
    assert.equal(storedKeyText(encodeCompositeKey(b('o1'), b('c\n1'))), 'o1 / 0x630a31');
  });

  it('reads a plain key as the CLI prints a key (keyText) and a range map its boundaries, whatever its bytes', () => {
    // The CLI's scan and the range boundaries of `ringdb ring` and the Partitions view print keys by
    // keyText, the log, SSTables, hints and `ringdb query` by storedKeyText: one rule, or a key reads
    // differently in each.
    const anyKey = fc.oneof(fc.string({ maxLength: 8 }).map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)))
      .filter((k) => k.indexOf(0) < 0 && !(k[0] === 0xff && k[1] === 0x53));
    fc.assert(fc.property(anyKey, (key) => {
      assert.equal(storedKeyText(key), keyText(key));
      const shown = keyText(key);
      const boundary = shown.startsWith('0x') && shown !== key.toString('utf8') ? shown : JSON.stringify(shown);
      assert.equal(describeRange('range', key, null), `[${boundary}, end)`);
    }), { numRuns: 500 });
  });

  it('names the key a Get reads: a salted variant\'s original key, nothing for a row', () => {
    const b = (s: string) => Buffer.from(s);
    assert.equal(getKeyOf(b('user:1')), 'user:1');
    assert.equal(getKeyOf(saltedKey(b('user:3'), 2)), 'user:3');
    assert.equal(getKeyOf(encodeCompositeKey(b('o1'), b('c1'))), undefined);
    assert.equal(getKeyOf(Buffer.alloc(0)), undefined, 'a skip has no key');
    assert.equal(getKeyOf(Buffer.from([0xff, 0xfe, 0x41])), undefined, 'Get takes text: a key that is not UTF-8 cannot be named');
    assert.equal(getKeyOf(saltedKey(Buffer.from([0xc3, 0x28]), 1)), undefined, 'nor can a salted variant of one');
  });

  it('names, for every plain key a Get can name, exactly that key', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 24 }).filter((k) => !k.includes(0)), (raw) => {
      const key = Buffer.from(raw);
      const named = getKeyOf(key);
      if (named !== undefined) assert.ok(Buffer.from(named, 'utf8').equals(unsaltKey(key)?.key ?? key), `${key.toString('hex')} named as ${JSON.stringify(named)}`);
      else assert.equal(utf8Text(unsaltKey(key)?.key ?? key), undefined, `${key.toString('hex')} is text, yet not named`);
    }), { numRuns: 1000 });
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
