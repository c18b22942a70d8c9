import { strict as assert } from 'node:assert';
import { indexedValues, MAX_INDEXED_VALUE_CHARS } from './json-fields';

const of = (doc: string, ...fields: string[]) => Object.fromEntries(indexedValues(Buffer.from(doc), fields));

describe('indexed JSON fields (json-fields)', () => {
  it('indexes strings, finite numbers and booleans by their JSON text', () => {
    assert.deepEqual(of('{"s":"red","n":42,"f":1.5,"b":true,"o":{},"a":[1]}', 's', 'n', 'f', 'b', 'o', 'a', 'missing'), { s: 'red', n: '42', f: '1.5', b: 'true' });
  });

  it('does not index a number JSON has no text for: 1e400 is Infinity, whose JSON text is "null"', () => {
    assert.deepEqual(of('{"size":1e400,"low":-1e400,"c":"x"}', 'size', 'low', 'c'), { c: 'x' });
  });

  it('does not index a value longer than a query may ask for, and indexes one exactly that long', () => {
    const longest = 'x'.repeat(MAX_INDEXED_VALUE_CHARS);
    assert.deepEqual(of(JSON.stringify({ a: longest, b: `${longest}y` }), 'a', 'b'), { a: longest });
  });
});
