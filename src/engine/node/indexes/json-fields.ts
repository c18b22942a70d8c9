// The fields an index reads from a stored value: only a JSON object's own fields whose value is a
// string, number or boolean are indexed (numbers and booleans by their JSON text, so "42" finds
// {"n": 42}). Anything else — a value that is not JSON, an array, a nested object — is stored and
// simply not indexed. Shared by the secondary (per node) and the global indexes.
//
// Nor is a value no query could name: one longer than a query's value may be (an entry nobody can
// find), or a number JSON has no text for (1e400 parses as Infinity, whose JSON text is "null").

/** The longest value, in UTF-16 code units as JavaScript counts a string, that is indexed and that a query may ask for. */
export const MAX_INDEXED_VALUE_CHARS = 4096;

/** Cheap pre-check before JSON.parse: the first non-blank byte is '{'. */
function looksLikeObject(v: Buffer): boolean {
  for (const c of v) {
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x7b;
  }
  return false;
}

/** The indexed form of a field's value: strings as they are, numbers and booleans as JSON. */
function indexable(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length <= MAX_INDEXED_VALUE_CHARS ? v : undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : undefined;
  if (typeof v === 'boolean') return JSON.stringify(v);
  return undefined;
}

/** field -> indexed value, for the `fields` that `value` (null = a delete) has; empty when none. */
export function indexedValues(value: Buffer | null, fields: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  if (value === null || !looksLikeObject(value)) return out;
  let doc: unknown;
  try {
    doc = JSON.parse(value.toString('utf8'));
  } catch {
    return out;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return out;
  for (const field of fields) {
    if (!Object.hasOwn(doc, field)) continue;
    const v = indexable((doc as Record<string, unknown>)[field]);
    if (v !== undefined) out.set(field, v);
  }
  return out;
}
