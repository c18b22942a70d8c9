// Composite keys: (partition key, optional clustering key) packed into one byte string that the
// storage engine can sort and range-scan bytewise.
//
// Each component is escaped so that 0x00 becomes 0x00 0xFF, then terminated with 0x00 0x01.
// Why this works:
//  - unambiguous: inside a component 0x00 is always followed by 0xFF, so the first 0x00 0x01 is
//    the terminator, whatever bytes ('|' included) the keys contain;
//  - order preserving: if component x is a proper prefix of y, x's terminator 0x00 0x01 sorts
//    below whatever y continues with (a byte > 0x00, or an escaped 0x00 0xFF), so
//    enc(x) < enc(y) exactly when x < y bytewise, and the next component only matters on a tie;
//  - a partition's rows share the prefix esc(pk) 0x00 0x01, and nothing else starts with it, so
//    [prefix, prefix with its last byte + 1) covers exactly that partition.
// A key without a clustering component ends after the partition terminator, so it sorts before
// every row of its partition, including one whose clustering key is empty.

/** A composite key that could not be decoded; `offset` is the byte where decoding failed. */
export class CompositeKeyError extends Error {
  constructor(
    readonly offset: number,
    detail: string,
  ) {
    super(`invalid composite key at byte ${offset}: ${detail}`);
    this.name = 'CompositeKeyError';
  }
}

export interface CompositeKey {
  readonly partitionKey: Buffer;
  /** Absent for a row addressed by its partition key alone; distinct from an empty clustering key. */
  readonly clusteringKey?: Buffer;
}

/** A half-open byte range [start, end) of encoded keys. */
export interface KeyRange {
  readonly start: Buffer;
  readonly end: Buffer;
}

const ESCAPE = 0xff;
const TERMINATOR = 0x01;

function escapedLength(component: Buffer): number {
  let zeros = 0;
  for (const b of component) if (b === 0) zeros++;
  return component.length + zeros + 2;
}

function writeComponent(out: Buffer, at: number, component: Buffer): number {
  for (const b of component) {
    out[at++] = b;
    if (b === 0) out[at++] = ESCAPE;
  }
  out[at++] = 0x00;
  out[at++] = TERMINATOR;
  return at;
}

/** Encodes a partition key and an optional clustering key into one sortable byte key. */
export function encodeCompositeKey(partitionKey: Buffer, clusteringKey?: Buffer): Buffer {
  const size = escapedLength(partitionKey) + (clusteringKey ? escapedLength(clusteringKey) : 0);
  const out = Buffer.allocUnsafe(size);
  const at = writeComponent(out, 0, partitionKey);
  if (clusteringKey) writeComponent(out, at, clusteringKey);
  return out;
}

interface Component {
  component: Buffer;
  next: number;
}

interface Malformed {
  offset: number;
  detail: string;
}

/**
 * Reads one escaped component starting at `from`: the component and the offset after its
 * terminator, or where and why the bytes are not one. Not throwing matters: placement asks this
 * of every raw (non-composite) key a node stores, and an exception per key costs more than the
 * whole write.
 */
function readComponent(key: Buffer, from: number): Component | Malformed {
  // Whole runs between 0x00 bytes are copied at once.
  const chunks: Buffer[] = [];
  let i = from;
  for (;;) {
    const zero = key.indexOf(0, i);
    if (zero < 0) return { offset: key.length, detail: 'the component has no 0x00 0x01 terminator' };
    const marker = key[zero + 1];
    if (marker === TERMINATOR) {
      chunks.push(key.subarray(i, zero));
      return { component: chunks.length === 1 ? Buffer.from(chunks[0]) : Buffer.concat(chunks), next: zero + 2 };
    }
    if (marker !== ESCAPE) {
      return {
        offset: zero,
        detail: marker === undefined
          ? 'the key ends after a 0x00 byte; expected 0x00 0xFF (escaped zero) or 0x00 0x01 (terminator)'
          : `0x00 is followed by 0x${marker.toString(16).padStart(2, '0')}; expected 0xff (escaped zero) or 0x01 (terminator)`,
      };
    }
    chunks.push(key.subarray(i, zero + 1));
    i = zero + 2;
  }
}

function parse(key: Buffer): CompositeKey | Malformed {
  const first = readComponent(key, 0);
  if (!('component' in first)) return first;
  if (first.next === key.length) return { partitionKey: first.component };
  const second = readComponent(key, first.next);
  if (!('component' in second)) return second;
  if (second.next !== key.length) {
    return { offset: second.next, detail: `${key.length - second.next} bytes follow the clustering key; a key has at most two components` };
  }
  return { partitionKey: first.component, clusteringKey: second.component };
}

/** Decodes a key made by encodeCompositeKey; throws CompositeKeyError for anything else. */
export function decodeCompositeKey(key: Buffer): CompositeKey {
  const r = parse(key);
  if ('offset' in r) throw new CompositeKeyError(r.offset, r.detail);
  return r;
}

/** Like decodeCompositeKey, but undefined for bytes that no encoder produced. */
export function tryDecodeCompositeKey(key: Buffer): CompositeKey | undefined {
  const r = parse(key);
  return 'offset' in r ? undefined : r;
}

/** The partition key of an encoded key: what placement hashes, without decoding the rest. */
export function partitionKeyOf(key: Buffer): Buffer {
  const r = readComponent(key, 0);
  if (!('component' in r)) throw new CompositeKeyError(r.offset, r.detail);
  return r.component;
}

/** The smallest encoded key of a partition: its prefix esc(pk) 0x00 0x01. */
function partitionPrefix(partitionKey: Buffer): Buffer {
  const out = Buffer.allocUnsafe(escapedLength(partitionKey));
  writeComponent(out, 0, partitionKey);
  return out;
}

/**
 * The encoded-key range holding the rows of one partition whose clustering key lies in
 * [clusteringStart, clusteringEnd); an absent bound is open. With both bounds absent the range
 * is the whole partition, including the row without a clustering key.
 */
export function compositeKeyRange(partitionKey: Buffer, clusteringStart?: Buffer, clusteringEnd?: Buffer): KeyRange {
  const prefix = partitionPrefix(partitionKey);
  // The prefix ends in 0x01; every key of the partition continues it, so bumping that last byte
  // to 0x02 gives the first byte string above all of them and below every later partition.
  const afterPartition = Buffer.from(prefix);
  afterPartition[afterPartition.length - 1] = TERMINATOR + 1;
  const start = clusteringStart ? encodeCompositeKey(partitionKey, clusteringStart) : prefix;
  const end = clusteringEnd ? encodeCompositeKey(partitionKey, clusteringEnd) : afterPartition;
  return { start, end };
}

/**
 * The smallest byte string above `key` (key + 0x00): where a paged Scan resumes after the last
 * key it returned, so a continuation token is just that key and no row is skipped or repeated.
 */
export function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

/** True when `key` falls in the half-open range. */
export function inKeyRange(range: KeyRange, key: Buffer): boolean {
  return Buffer.compare(range.start, key) <= 0 && Buffer.compare(key, range.end) < 0;
}
