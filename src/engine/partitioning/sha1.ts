// SHA-1 (FIPS 180-4) in plain JavaScript, for placing keys. The ring positions are SHA-1 tokens
// (keyspace.ts), and a node places every op it applies several times over; node:crypto's one-shot
// hash costs about 1 us per short key (the call into C++ and a new Buffer), this about a quarter
// of that. It writes into scratch arrays and allocates nothing for keys up to about 1 KiB (a
// longer one gets a temporary copy), so placement makes no garbage.
// Tested against node:crypto (sha1.test.ts).

const SCHEDULE = new Int32Array(80);
const H = new Int32Array(5);
/** The message plus its padding, for keys up to 1 KiB; a longer one gets a temporary copy. */
const padded = new Uint8Array(1024);

/**
 * The SHA-1 digest of `data` as five big-endian 32-bit words (signed; `>>> 0` for the unsigned
 * value). The returned array is shared scratch, overwritten by the next call.
 */
export function sha1Words(data: Uint8Array): Int32Array {
  const length = data.length;
  // The message, 0x80, zeros, then the bit length in the last 8 bytes of the last 64-byte block.
  const total = (((length + 8) >> 6) + 1) << 6;
  const m = total <= padded.length ? padded : new Uint8Array(total);
  // A local binding: V8 compiled the rounds below a third slower reading the module-level one.
  const W = SCHEDULE;
  for (let i = 0; i < length; i++) m[i] = data[i];
  m[length] = 0x80;
  for (let i = length + 1; i < total - 8; i++) m[i] = 0;
  const bits = length * 8;
  const high = Math.floor(bits / 0x1_0000_0000);
  m[total - 8] = high >>> 24;
  m[total - 7] = high >>> 16;
  m[total - 6] = high >>> 8;
  m[total - 5] = high;
  m[total - 4] = bits >>> 24;
  m[total - 3] = bits >>> 16;
  m[total - 2] = bits >>> 8;
  m[total - 1] = bits;

  let h0 = 0x67452301;
  let h1 = 0xefcdab89 | 0;
  let h2 = 0x98badcfe | 0;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;
  for (let block = 0; block < total; block += 64) {
    for (let t = 0; t < 16; t++) {
      const j = block + t * 4;
      W[t] = (m[j] << 24) | (m[j + 1] << 16) | (m[j + 2] << 8) | m[j + 3];
    }
    for (let t = 16; t < 80; t++) {
      const x = W[t - 3] ^ W[t - 8] ^ W[t - 14] ^ W[t - 16];
      W[t] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    // Four loops of 20 rounds, one per round function, so none branches per round.
    for (let t = 0; t < 20; t++) {
      const temp = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + W[t]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    for (let t = 20; t < 40; t++) {
      const temp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + W[t]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    for (let t = 40; t < 60; t++) {
      const temp = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + (0x8f1bbcdc | 0) + W[t]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    for (let t = 60; t < 80; t++) {
      const temp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + (0xca62c1d6 | 0) + W[t]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  H[0] = h0;
  H[1] = h1;
  H[2] = h2;
  H[3] = h3;
  H[4] = h4;
  return H;
}

/** Writes the 20-byte digest held in `words` (from sha1Words) to `out`. */
export function wordsToBytes(words: Int32Array, out: Buffer): Buffer {
  for (let i = 0; i < 5; i++) out.writeInt32BE(words[i], i * 4);
  return out;
}
