import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { ByteReader, DecodeError, MAX_VARINT_BYTES, varintLength, writeVarint } from './varint';

describe('varint', () => {
  it('round-trips every safe integer with the length varintLength predicts', () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeNat(), { maxLength: 20 }), (values) => {
        const buf = Buffer.alloc(values.length * MAX_VARINT_BYTES);
        let pos = 0;
        for (const v of values) {
          const end = writeVarint(buf, pos, v);
          assert.equal(end - pos, varintLength(v));
          pos = end;
        }
        const r = new ByteReader(buf, 0, pos);
        for (const v of values) assert.equal(r.varint(), v);
        assert.equal(r.pos, pos);
      }),
    );
  });

  it('encodes the boundaries as LEB128 does', () => {
    const enc = (v: number) => {
      const b = Buffer.alloc(MAX_VARINT_BYTES);
      return b.subarray(0, writeVarint(b, 0, v)).toString('hex');
    };
    assert.equal(enc(0), '00');
    assert.equal(enc(127), '7f');
    assert.equal(enc(128), '8001');
    assert.equal(enc(300), 'ac02');
    assert.equal(enc(2 ** 32), '8080808010');
    assert.equal(enc(Number.MAX_SAFE_INTEGER), 'ffffffffffffff0f');
  });

  it('reports a truncated varint with its position instead of reading past the end', () => {
    const r = new ByteReader(Buffer.from([0x01, 0x80, 0x80]), 0);
    assert.equal(r.varint(), 1);
    assert.throws(() => r.varint(), (e: unknown) => e instanceof DecodeError && e.position === 3);
  });

  it('rejects encodings longer than a safe integer', () => {
    assert.throws(() => new ByteReader(Buffer.alloc(9, 0xff)).varint(), DecodeError);
    // 2^53 itself: eight bytes but above MAX_SAFE_INTEGER.
    assert.throws(() => new ByteReader(Buffer.from('80808080808080' + '10', 'hex')).varint(), DecodeError);
  });

  it('checks length-prefixed fields against the end of the region', () => {
    const r = new ByteReader(Buffer.from([5, 1, 2, 3]));
    assert.throws(() => r.bytes(), /runs past the end/);
    const ok = new ByteReader(Buffer.from([2, 7, 8, 9]));
    assert.deepEqual([...ok.bytes()], [7, 8]);
    assert.equal(ok.byte(), 9);
    assert.throws(() => ok.byte(), DecodeError);
  });
});
