// Unsigned LEB128 varints (7 bits per byte, low group first), as LevelDB and protobuf use them.
// Values up to Number.MAX_SAFE_INTEGER (53 bits, 8 bytes) because Lamport timestamps and file
// offsets are JS numbers: above 2^31 the bit operators would truncate, so the high groups are
// handled with arithmetic.

/** Longest encoding of a safe integer: ceil(53 / 7). */
export const MAX_VARINT_BYTES = 8;

/** Bytes are missing or malformed at `position`; the storage layer turns this into a CorruptionError. */
export class DecodeError extends Error {
  constructor(
    readonly position: number,
    detail: string,
  ) {
    super(`${detail} at byte ${position}`);
    this.name = 'DecodeError';
  }
}

/** Encoded length of `value`. */
export function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/**
 * Writes `value` at `buf[pos..]` and returns the position after it. The caller guarantees room
 * (MAX_VARINT_BYTES) and a non-negative safe integer; hot paths call this per entry, so it does not check.
 */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[pos++] = value;
  return pos;
}

/** Throws a RangeError naming the field unless `value` can be encoded. */
export function checkVarintValue(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${field} must be a non-negative safe integer (0..${Number.MAX_SAFE_INTEGER}), got ${value}`);
  }
}

/**
 * A cursor over bytes that decodes varints and length-prefixed fields. One instance is reused per
 * block so decoding allocates nothing; every read checks `end` so bad bytes give a DecodeError,
 * never a value read past the region.
 */
export class ByteReader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  reset(buf: Uint8Array, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end) {
      const b = buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (pos >= this.end) throw new DecodeError(pos, 'truncated varint');
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) break;
        this.pos = pos;
        return result;
      }
      scale *= 128;
    }
    throw new DecodeError(this.pos, 'varint longer than a safe integer');
  }

  byte(): number {
    if (this.pos >= this.end) throw new DecodeError(this.pos, 'truncated byte');
    return this.buf[this.pos++];
  }

  /** Skips `length` bytes and returns where they started. */
  skip(length: number): number {
    const start = this.pos;
    if (length > this.end - start) throw new DecodeError(start, `field of ${length} bytes runs past the end`);
    this.pos = start + length;
    return start;
  }

  /** A length-prefixed byte string, as a view (no copy). */
  bytes(): Buffer {
    const length = this.varint();
    const start = this.skip(length);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, length);
  }
}
