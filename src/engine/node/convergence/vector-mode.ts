// `consistencyMode: "vector"` at the store: every key's stored value is a sibling set
// (clock/vector-clock-siblings.ts, encodeSiblings) instead of one value.
//
// - A write coordinated here becomes a one-version set (a *delta*): the new value, a dot (this
//   node, the next counter for the key) and the causal context the client read. The delta is
//   logged and replicated like any op.
// - Every version that reaches the store (local write, replicated op, pull sync, Merkle exchange,
//   read repair, hinted handoff, data move: all through ObservedStore) is resolved here first:
//   merged with the stored set (and earlier versions of the key in the same batch). A merge that
//   adds nothing is dropped; otherwise the merged set is stored under a version that beats the
//   stored one, so the store's Last-Write-Wins never discards a sibling. Merging is a join
//   (commutative, associative, idempotent), so any delivery order ends on the same set.
// - The Merkle tree records a digest of the set, so replicas with equal sets agree whatever
//   (ts, origin) they stored it under, and a divergent key is pushed and pulled and merged on
//   both sides.
//
// Dots must be unique: two writes coordinated here at the same time must not both take counter
// k+1 from the same stored set, so counters handed out but not yet stored are remembered until
// their write settles.

import { hash } from 'node:crypto';
import { VectorClock, VectorClockError } from '../../clock/vector-clock';
import {
  causalContext, decodeSiblings, encodeSiblings, mergeSiblings, type StoredValue, type Version,
} from '../../clock/vector-clock-siblings';
import { compareVersions, type Entry } from '../../storage/types';
import { encodeVersion, mergeableVersion } from './tree';

export type Sibling = Version<StoredValue>;

export interface VectorModeDeps {
  nodeId: string;
  /** The stored version of a key. */
  read(key: Buffer): Entry | undefined;
  /** The node's Lamport clock: a merged version must beat everything seen. */
  tick(): number;
}

/** The siblings a stored entry holds; a value that is not a sibling set (written before the mode changed) holds none. */
export function siblingsOf(e: Entry | undefined): Sibling[] {
  if (!e || e.value === null) return [];
  try {
    return decodeSiblings(e.value);
  } catch (err) {
    if (err instanceof VectorClockError) return [];
    throw err;
  }
}

export class VectorMode {
  /** Per key (latin1): the highest counter handed out here whose write has not settled yet. */
  private readonly issued = new Map<string, number>();

  constructor(private readonly deps: VectorModeDeps) {}

  get nodeId(): string {
    return this.deps.nodeId;
  }

  /** This node's sibling set of `key`. */
  siblings(key: Buffer): Sibling[] {
    return siblingsOf(this.deps.read(key));
  }

  /**
   * A new version of `key` coordinated by this node, as the encoded one-version set to write
   * (`value` null = a tombstone sibling). Call `settle` once its write is stored or has failed.
   */
  newVersion(key: Buffer, value: StoredValue, context: VectorClock): { version: Sibling; delta: Buffer } {
    const id = key.toString('latin1');
    const seen = Math.max(causalContext(this.siblings(key)).merge(context).get(this.deps.nodeId), this.issued.get(id) ?? 0);
    // The Lamport clock only grows (it is recovered from the log), so a counter drawn from it is
    // never handed out twice even when the stored siblings that `seen` reads were purged by a
    // data move; dots only need to grow per node, gaps are harmless.
    const counter = Math.max(seen + 1, this.deps.tick());
    const version: Sibling = { value, dot: { node: this.deps.nodeId, counter }, context };
    this.issued.set(id, counter);
    return { version, delta: encodeSiblings([version]) };
  }

  /** Forgets a handed-out counter once the stored set covers it (or its write failed: a gap in dots is harmless). */
  settle(key: Buffer, version: Sibling): void {
    const id = key.toString('latin1');
    if (this.issued.get(id) === version.dot.counter) this.issued.delete(id);
  }

  /**
   * Turns a batch about to be written into what must be stored: each sibling set merged with
   * the stored one (undefined = nothing new, drop it). A tombstone or a value that is not a
   * sibling set stays Last-Write-Wins (nothing in this mode writes one).
   */
  resolve(ops: readonly Entry[]): (Entry | undefined)[] {
    const latest = new Map<string, Entry>();
    return ops.map((op) => {
      if (op.value === null) return op;
      let incoming: Sibling[];
      try {
        incoming = decodeSiblings(op.value);
      } catch (err) {
        if (err instanceof VectorClockError) return op;
        throw err;
      }
      const id = op.key.toString('latin1');
      const base = latest.get(id) ?? this.deps.read(op.key);
      const merged = encodeSiblings(mergeSiblings(siblingsOf(base), incoming));
      if (base?.value && merged.equals(base.value)) return undefined;
      const out: Entry = !base || compareVersions(op, base) > 0
        ? { key: op.key, value: merged, ts: op.ts, origin: op.origin }
        : { key: op.key, value: merged, ts: this.deps.tick(), origin: this.deps.nodeId };
      latest.set(id, out);
      return out;
    });
  }

  /** The Merkle version of an entry: a digest of its sibling set (see the module comment). */
  versionOf(e: Entry): Buffer {
    if (e.value === null) return encodeVersion(e);
    return mergeableVersion(hash('sha1', e.value, 'buffer'));
  }
}
