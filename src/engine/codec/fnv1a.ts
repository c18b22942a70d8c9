// 32-bit FNV-1a: a cheap, allocation-free hash of a key's bytes for in-memory tables and buckets
// that need spread, not collision resistance (partition-id cache, hotspot counters, Merkle
// buckets). Returns a signed 32-bit integer; mask or `>>> 0` as the caller needs.

export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h;
}
