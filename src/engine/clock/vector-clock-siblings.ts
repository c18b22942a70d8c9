// Sibling sets for the `vector` consistency mode: concurrent writes to a key are all kept, and a
// write that names the clock it read (Riak's causal context) replaces exactly what it read.
//
// Each version carries a *dot* — the (node, counter) event that created it — and the causal
// context the writer had read. Plain vector clocks alone would be wrong here: a blind write at
// node A after an earlier blind write at A gets the clock {A:2}, which "dominates" {A:1} although
// the writer never saw that value, and the first write would be silently lost. With dots
// (dotted version vectors, Preguiça et al. 2012) a version is superseded only when another
// version's *context* covers its dot, i.e. when that writer really read it.
//
// The clock shown to users is context + dot; it orders versions exactly as vector clocks do for
// every write that read before writing.

import { VectorClock, VectorClockError } from './vector-clock';

/** The event that created a version: the coordinating node and its per-node counter. */
export interface Dot {
  readonly node: string;
  readonly counter: number;
}

export interface Version<V> {
  readonly value: V;
  readonly dot: Dot;
  /** What the writer had read when it wrote: every version whose dot this covers is replaced. */
  readonly context: VectorClock;
}

/** A value in the `vector` mode: bytes, or null for a delete (a tombstone sibling). */
export type StoredValue = Buffer | null;

const FORMAT_VERSION = 1;

/** The version's clock: its context plus its own dot. */
export function versionClock<V>(version: Version<V>): VectorClock {
  const { node, counter } = version.dot;
  return version.context.get(node) >= counter ? version.context : version.context.with(node, counter);
}

function covers(clock: VectorClock, dot: Dot): boolean {
  return clock.get(dot.node) >= dot.counter;
}

function sameDot(a: Dot, b: Dot): boolean {
  return a.node === b.node && a.counter === b.counter;
}

/** True when `a` was written by someone who had read `b`, so `b` is obsolete once `a` is known. */
export function supersedes<V>(a: Version<V>, b: Version<V>): boolean {
  return !sameDot(a.dot, b.dot) && covers(a.context, b.dot);
}

function byDot<V>(a: Version<V>, b: Version<V>): number {
  if (a.dot.node !== b.dot.node) return a.dot.node < b.dot.node ? -1 : 1;
  return a.dot.counter - b.dot.counter;
}

/**
 * Adds a version (a local write, a replicated op, a repair or a handoff) to a sibling set:
 * ignored when already present or superseded by a sibling; otherwise it replaces the siblings it
 * supersedes and joins the concurrent ones. Returns a new array, sorted by dot, so equal sets are
 * equal arrays on every replica.
 */
export function addVersion<V>(siblings: readonly Version<V>[], incoming: Version<V>): Version<V>[] {
  if (siblings.some((s) => sameDot(s.dot, incoming.dot) || supersedes(s, incoming))) return [...siblings];
  return [...siblings.filter((s) => !supersedes(incoming, s)), incoming].sort(byDot);
}

/** Merges two replicas' sibling sets; commutative, associative and idempotent. */
export function mergeSiblings<V>(a: readonly Version<V>[], b: readonly Version<V>[]): Version<V>[] {
  return b.reduce<Version<V>[]>((acc, v) => addVersion(acc, v), [...a].sort(byDot));
}

/** The causal context a read hands to the client: the merge of every sibling's clock. */
export function causalContext<V>(siblings: readonly Version<V>[]): VectorClock {
  return siblings.reduce((clock, v) => clock.merge(versionClock(v)), VectorClock.EMPTY);
}

/**
 * A new write coordinated by `node`. `context` is the causal context the client read (empty for
 * a blind write). The dot counter is above every counter of `node` this replica has seen, so the
 * new dot is unique as long as `node` coordinates from its own sibling sets.
 * Returns the new version and the resulting sibling set.
 */
export function writeVersion<V>(
  siblings: readonly Version<V>[],
  node: string,
  value: V,
  context: VectorClock = VectorClock.EMPTY,
): { version: Version<V>; siblings: Version<V>[] } {
  if (typeof node !== 'string' || node.length === 0) {
    throw new VectorClockError(`writeVersion: node is a non-empty string, got ${JSON.stringify(node)}`);
  }
  const seen = causalContext(siblings).merge(context).get(node);
  const version: Version<V> = { value, dot: { node, counter: seen + 1 }, context };
  return { version, siblings: addVersion(siblings, version) };
}

/**
 * Binary form of a sibling set of byte values (the `vector` mode's stored value): version byte,
 * count, then per sibling its dot, its context clock, and its value (flag 0 = tombstone).
 */
export function encodeSiblings(siblings: readonly Version<StoredValue>[]): Buffer {
  const parts: Buffer[] = [Buffer.from([FORMAT_VERSION]), u32(siblings.length)];
  for (const v of [...siblings].sort(byDot)) {
    const node = Buffer.from(v.dot.node, 'utf8');
    const head = Buffer.alloc(2 + node.length + 8);
    head.writeUInt16BE(node.length, 0);
    node.copy(head, 2);
    head.writeBigUInt64BE(BigInt(v.dot.counter), 2 + node.length);
    parts.push(head, v.context.encode());
    if (v.value === null) parts.push(Buffer.from([0]));
    else parts.push(Buffer.from([1]), u32(v.value.length), v.value);
  }
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** Reads a sibling set written by encodeSiblings; throws VectorClockError naming the byte offset. */
export function decodeSiblings(bytes: Buffer): Version<StoredValue>[] {
  const need = (n: number, at: number, what: string): void => {
    if (at + n > bytes.length) throw new VectorClockError(`sibling set truncated at byte ${at}: ${what} needs ${n} bytes`);
  };
  need(5, 0, 'the header');
  if (bytes[0] !== FORMAT_VERSION) {
    throw new VectorClockError(`sibling set format version ${bytes[0]}; this build reads version ${FORMAT_VERSION}`);
  }
  const count = bytes.readUInt32BE(1);
  let at = 5;
  const out: Version<StoredValue>[] = [];
  for (let i = 0; i < count; i++) {
    need(2, at, `sibling ${i}`);
    const len = bytes.readUInt16BE(at);
    need(len + 8, at + 2, `sibling ${i}'s dot`);
    const node = bytes.toString('utf8', at + 2, at + 2 + len);
    const counter = Number(bytes.readBigUInt64BE(at + 2 + len));
    if (node.length === 0 || !Number.isSafeInteger(counter) || counter < 1) {
      throw new VectorClockError(`sibling ${i} at byte ${at}: a dot is a non-empty node id and a counter from 1 to 2^53-1`);
    }
    at += 2 + len + 8;
    const { clock, bytesRead } = VectorClock.decode(bytes, at);
    at += bytesRead;
    need(1, at, `sibling ${i}'s value flag`);
    const flag = bytes[at++];
    let value: StoredValue = null;
    if (flag === 1) {
      need(4, at, `sibling ${i}'s value length`);
      const size = bytes.readUInt32BE(at);
      need(size, at + 4, `sibling ${i}'s value`);
      value = Buffer.from(bytes.subarray(at + 4, at + 4 + size));
      at += 4 + size;
    } else if (flag !== 0) {
      throw new VectorClockError(`sibling ${i} value flag ${flag} at byte ${at - 1}; accepted: 0 (tombstone) or 1 (value)`);
    }
    out.push({ value, dot: { node, counter }, context: clock });
  }
  if (at !== bytes.length) throw new VectorClockError(`sibling set has ${bytes.length - at} trailing bytes after byte ${at}`);
  return out;
}
