// CRC-32C (Castagnoli), the checksum of every record and block on disk. Node 20 has no
// built-in CRC-32C, so this is the slicing-by-8 table method. The eight tables are one typed
// array read at fixed offsets: destructuring eight tables on every call made a 150-byte record
// (the usual op) cost about 40 % more, and recovery checks one per op.

const POLY = 0x82f63b78;
/** Table t (0-7) holds the CRC of a byte followed by t zero bytes, at t * 256. */
const T = (() => {
  const table = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    table[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = table[n];
    for (let t = 1; t < 8; t++) {
      c = table[c & 0xff] ^ (c >>> 8);
      table[t * 256 + n] = c >>> 0;
    }
  }
  return table;
})();

/** CRC-32C of `data[start..end)`, continuing from `crc` (0 to begin). Returns an unsigned 32-bit value. */
export function crc32c(data: Uint8Array, crc = 0, start = 0, end = data.length): number {
  let c = ~crc;
  let i = start;
  for (const last = end - 8; i <= last; i += 8) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    c =
      T[1792 + (c & 0xff)] ^
      T[1536 + ((c >>> 8) & 0xff)] ^
      T[1280 + ((c >>> 16) & 0xff)] ^
      T[1024 + (c >>> 24)] ^
      T[768 + data[i + 4]] ^
      T[512 + data[i + 5]] ^
      T[256 + data[i + 6]] ^
      T[data[i + 7]];
  }
  for (; i < end; i++) c = T[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
