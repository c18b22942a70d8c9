import { strict as assert } from 'node:assert';
import { hash } from 'node:crypto';
import fc from 'fast-check';
import { sha1Words, wordsToBytes } from './sha1';

const digest = (data: Uint8Array): Buffer => wordsToBytes(sha1Words(data), Buffer.alloc(20));

describe('sha1', () => {
  it('equals node:crypto SHA-1 for any bytes, across the one-, two- and many-block paddings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (data) => {
        assert.deepEqual(digest(data), hash('sha1', data, 'buffer'));
      }),
      { numRuns: 500 },
    );
    // Where the padding spills into one more block: 55/56 and 119/120 bytes.
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1015, 1016, 5000]) {
      const data = Buffer.alloc(length, length & 0xff);
      assert.deepEqual(digest(data), hash('sha1', data, 'buffer'), `${length} bytes`);
    }
  });

  it('leaves nothing behind from a longer message hashed before', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 100, maxLength: 1100 }), fc.uint8Array({ maxLength: 60 }), (long, short) => {
        digest(long);
        assert.deepEqual(digest(short), hash('sha1', short, 'buffer'));
      }),
    );
  });
});
