// The per-table bloom filter, as LevelDB builds it: one 32-bit hash per key and k probes by
// double hashing (h, h + delta, h + 2*delta ...), which performs like k independent hashes
// (Kirsch & Mitzenmacher) at the cost of one. At 10 bits per key and k = 7 the false-positive
// rate is about 0.8%, so a get skips nearly every table that lacks its key without reading a block.
//
// Filter bytes: the bit array, then one byte holding k. An empty filter (0 bits per key) matches
// every key, so a table built without a filter is still read correctly.

/** LevelDB's murmur-like hash over `key[start..end)`. */
export function bloomHash(key: Uint8Array, start = 0, end = key.length): number {
  const m = 0xc6a4a793;
  const seed = 0xbc9f1d34;
  let h = (seed ^ Math.imul(end - start, m)) >>> 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const w = key[i] | (key[i + 1] << 8) | (key[i + 2] << 16) | (key[i + 3] << 24);
    h = (h + w) >>> 0;
    h = Math.imul(h, m) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  const rest = end - i;
  if (rest > 0) {
    if (rest === 3) h = (h + (key[i + 2] << 16)) >>> 0;
    if (rest >= 2) h = (h + (key[i + 1] << 8)) >>> 0;
    h = (h + key[i]) >>> 0;
    h = Math.imul(h, m) >>> 0;
    h = (h ^ (h >>> 24)) >>> 0;
  }
  return h;
}

/** Probes per key for a bits-per-key budget: ln 2 * bits/key minimises false positives. */
export function probesFor(bitsPerKey: number): number {
  return Math.min(30, Math.max(1, Math.round(bitsPerKey * 0.69)));
}

/** Collects key hashes while a table is written, then lays out the filter once the count is known. */
export class BloomBuilder {
  private hashes: Uint32Array = new Uint32Array(1024);
  private count = 0;

  constructor(readonly bitsPerKey: number) {
    if (!Number.isInteger(bitsPerKey) || bitsPerKey < 0 || bitsPerKey > 64) {
      throw new RangeError(`bloomBitsPerKey must be an integer from 0 (no filter) to 64, got ${bitsPerKey}`);
    }
  }

  addKey(key: Uint8Array): void {
    if (this.bitsPerKey === 0) return;
    if (this.count === this.hashes.length) {
      const grown = new Uint32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[this.count++] = bloomHash(key);
  }

  /** The filter bytes, and how many bits it has (0 when there is no filter). */
  finish(): { bytes: Buffer; bits: number } {
    if (this.bitsPerKey === 0 || this.count === 0) return { bytes: Buffer.alloc(0), bits: 0 };
    // A floor of 64 bits keeps tiny tables from having a uselessly dense filter.
    const bytesLength = Math.ceil(Math.max(64, this.count * this.bitsPerKey) / 8);
    const bits = bytesLength * 8;
    const k = probesFor(this.bitsPerKey);
    const out = Buffer.alloc(bytesLength + 1);
    for (let i = 0; i < this.count; i++) {
      let h = this.hashes[i];
      const delta = ((h >>> 17) | (h << 15)) >>> 0;
      for (let j = 0; j < k; j++) {
        const bit = h % bits;
        out[bit >>> 3] |= 1 << (bit & 7);
        h = (h + delta) >>> 0;
      }
    }
    out[bytesLength] = k;
    return { bytes: out, bits };
  }
}

/** A filter as read from a table. */
export class BloomFilter {
  private readonly bits: number;
  private readonly k: number;

  /** `bytes` as BloomBuilder.finish wrote them (the caller verified their checksum). */
  constructor(private readonly bytes: Buffer) {
    if (bytes.length <= 1) {
      this.bits = 0;
      this.k = 0;
    } else {
      this.bits = (bytes.length - 1) * 8;
      this.k = bytes[bytes.length - 1];
    }
  }

  /** Whether the filter has bits (a table written with 0 bits per key has none). */
  get present(): boolean {
    return this.bits > 0;
  }

  get bitCount(): number {
    return this.bits;
  }

  /** False means the key is certainly absent; true means it may be present. */
  mayContain(key: Uint8Array): boolean {
    const bits = this.bits;
    // k above 30 is reserved by LevelDB for future encodings; treat as "may contain" like it does.
    if (bits === 0 || this.k > 30) return true;
    let h = bloomHash(key);
    const delta = ((h >>> 17) | (h << 15)) >>> 0;
    const bytes = this.bytes;
    for (let j = 0; j < this.k; j++) {
      const bit = h % bits;
      if ((bytes[bit >>> 3] & (1 << (bit & 7))) === 0) return false;
      h = (h + delta) >>> 0;
    }
    return true;
  }
}
