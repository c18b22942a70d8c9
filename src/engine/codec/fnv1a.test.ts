import { strict as assert } from 'node:assert';
import { fnv1a } from './fnv1a';

describe('fnv1a', () => {
  it('matches the published 32-bit FNV-1a test vectors', () => {
    // From the FNV reference (Fowler, Noll, Vo): offset basis for "", then "a" and "foobar".
    assert.equal(fnv1a(Buffer.alloc(0)) >>> 0, 0x811c9dc5);
    assert.equal(fnv1a(Buffer.from('a')) >>> 0, 0xe40c292c);
    assert.equal(fnv1a(Buffer.from('foobar')) >>> 0, 0xbf9cf968);
  });
});
