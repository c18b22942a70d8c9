// Bytewise key comparison and copying for the read path. Buffer.compare and Buffer.copy cross
// into C++ on every call, which costs more than the work itself for the short keys a store
// holds (a get makes dozens of comparisons), so short ranges are handled in plain JS and only
// long ones go native.

/** Beyond this many bytes the native call's fixed cost is worth paying. */
const NATIVE_FROM = 96;

/** Buffer.compare(a[aStart..aEnd), b[bStart..bEnd)) without the native call for short keys. */
export function compareBytes(a: Buffer, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  const n = aLength < bLength ? aLength : bLength;
  if (n >= NATIVE_FROM) return a.compare(b, bStart, bEnd, aStart, aEnd);
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i] - b[bStart + i];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return aLength === bLength ? 0 : aLength < bLength ? -1 : 1;
}

/** Buffer.compare(a, b) with the short-key fast path. */
export function compareKeys(a: Buffer, b: Buffer): number {
  return compareBytes(a, 0, a.length, b, 0, b.length);
}

/** Copies src[start..end) to dst[at..]; the caller guarantees room. */
export function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, at: number): void {
  if (end - start >= NATIVE_FROM) {
    src.copy(dst, at, start, end);
    return;
  }
  for (let i = start; i < end; i++) dst[at++] = src[i];
}
