import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { compareBytes, compareKeys, copyBytes } from './block-keys';

const sign = (n: number) => Math.sign(n);

describe('block key helpers', () => {
  it('order keys exactly as Buffer.compare, short and long, on sub-ranges too', () => {
    // Long shared prefixes take the native path; short ones the JS loop.
    const arbKey = fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ minLength: 90, maxLength: 200 }).map((b) => Uint8Array.from(b, () => 7)));
    fc.assert(
      fc.property(arbKey, arbKey, fc.nat(10), fc.nat(10), (ra, rb, cutA, cutB) => {
        const a = Buffer.from(ra);
        const b = Buffer.from(rb);
        assert.equal(sign(compareKeys(a, b)), sign(Buffer.compare(a, b)));
        const aStart = Math.min(cutA, a.length);
        const bStart = Math.min(cutB, b.length);
        assert.equal(sign(compareBytes(a, aStart, a.length, b, bStart, b.length)), sign(Buffer.compare(a.subarray(aStart), b.subarray(bStart))));
      }),
    );
  });

  it('copy short and long ranges to the given offset', () => {
    for (const n of [0, 5, 95, 96, 300]) {
      const src = Buffer.from(Array.from({ length: n + 4 }, (_, i) => i & 0xff));
      const dst = Buffer.alloc(n + 10, 0xee);
      copyBytes(src, 2, n + 2, dst, 3);
      assert.deepEqual(dst.subarray(3, 3 + n), src.subarray(2, n + 2));
      assert.equal(dst[2], 0xee);
      assert.equal(dst[3 + n], 0xee);
    }
  });
});
