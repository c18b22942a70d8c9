// Human-readable numbers for descriptions and tooltips.

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** "3 s", "4 min", "2 h 5 min", "3 d". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** A fraction of the hash ring as a percentage with two decimals, as `ringdb ring` shows it. */
export function formatShare(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

/** Node ids in the order a person counts them: n2 before n10. */
export function compareNodeIds(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}

export function byNodeId(ids: readonly string[]): string[] {
  return [...ids].sort(compareNodeIds);
}

/** "n2", "n2 and n3", "n1, n2 and n3": node ids in a sentence, in node order. */
export function listNodes(ids: readonly string[]): string {
  const sorted = byNodeId(ids);
  return sorted.length < 2 ? sorted.join('') : `${sorted.slice(0, -1).join(', ')} and ${sorted[sorted.length - 1]}`;
}

/** "n1:12, n2:9" in node order. */
export function formatVector(v: Readonly<Record<string, number>>): string {
  const parts = Object.entries(v).sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
  return parts.length ? parts.map(([k, n]) => `${k}:${n}`).join(', ') : '—';
}

/** A string shortened in the middle, for keys in descriptions. */
export function shorten(text: string, max = 24): string {
  if (text.length <= max) return text;
  // A stored key's note ("(salt #3)") says what the key is: cut the key, keep the note whole,
  // even a few characters past `max` (cut in the middle, "h:3 (…t #3)" said nothing).
  const note = /\s\([^()]{1,16}\)$/.exec(text)?.[0];
  if (note) return `${shorten(text.slice(0, -note.length), Math.max(5, max - note.length))}${note}`;
  const half = Math.floor((max - 1) / 2);
  return `${text.slice(0, half)}…${text.slice(text.length - half)}`;
}

/**
 * An SSTable's key range, each end shortened to `max`. A hot key's salted variants are stored
 * after every plain key, so a table from a plain key to a variant also holds every plain key after
 * its smallest: "k:1 … hot (salt #3)" read as if it stopped at "hot", though it may hold "z".
 */
export function keyRangeText(t: { minKey: string; maxKey: string; minKeySalted: boolean; maxKeySalted: boolean }, max = Infinity): string {
  const [min, top] = [t.minKey, t.maxKey].map((k) => shorten(k, max));
  return spansSalted(t) ? `${min} … + salted … ${top}` : `${min} … ${top}`;
}

/** Whether a table's keys run from plain keys into hot keys' salted variants (see keyRangeText). */
export function spansSalted(t: { minKeySalted: boolean; maxKeySalted: boolean }): boolean {
  return !t.minKeySalted && t.maxKeySalted;
}

/** Why a range that spans salted variants holds more than its two ends say. */
export const SALTED_ORDER = 'A hot key\'s salted variants are stored under the bytes 0xff 0x53, after every plain key';
