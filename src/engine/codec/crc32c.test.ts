import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { crc32c } from './crc32c';

describe('crc32c', () => {
  it('matches the published check values', () => {
    // RFC 3720 B.4 and the standard "123456789" check value.
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
  });

  it('equals the bit-at-a-time definition on any bytes and any range of them', () => {
    const bitwise = (data: Uint8Array, start: number, end: number): number => {
      let c = 0xffffffff;
      for (let i = start; i < end; i++) {
        c ^= data[i];
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), fc.nat(300), (bytes, a, b) => {
        const start = Math.min(a, b, bytes.length);
        const end = Math.min(Math.max(a, b), bytes.length);
        assert.equal(crc32c(bytes, 0, start, end), bitwise(bytes, start, end));
      }),
      { numRuns: 500 },
    );
  });

  it('continues across chunks exactly as over the whole input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (bytes, cut) => {
        const at = Math.min(cut, bytes.length);
        const whole = crc32c(bytes);
        assert.equal(crc32c(bytes, crc32c(bytes, 0, 0, at), at), whole);
      }),
    );
  });

  it('detects every single-bit flip', () => {
    const data = Buffer.from('ringdb block payload with some bytes in it');
    const good = crc32c(data);
    for (let bit = 0; bit < data.length * 8; bit++) {
      const copy = Buffer.from(data);
      copy[bit >> 3] ^= 1 << (bit & 7);
      assert.notEqual(crc32c(copy), good);
    }
  });
});
