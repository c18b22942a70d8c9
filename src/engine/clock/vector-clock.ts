// Vector clocks for the `vector` consistency mode and the MV-Register: one counter per node, so
// two versions can be ordered when one saw the other and recognised as concurrent when neither did
// (which a single Lamport timestamp cannot tell apart).
//
// Values are immutable: every operation returns a new clock, so a clock attached to a stored
// version can be shared without copying. Zero entries are never stored; a missing node reads 0,
// which keeps equal histories byte-identical when encoded.

export type ClockOrder = 'before' | 'after' | 'equal' | 'concurrent';

/** A clock that failed validation or decoding; the message names the entry and what is accepted. */
export class VectorClockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VectorClockError';
  }
}

const FORMAT_VERSION = 1;

function checkNode(node: string, where: string): void {
  if (typeof node !== 'string' || node.length === 0) {
    throw new VectorClockError(`${where}: a node id is a non-empty string, got ${JSON.stringify(node)}`);
  }
}

function checkCounter(counter: unknown, where: string): asserts counter is number {
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 0) {
    throw new VectorClockError(`${where}: a counter is a non-negative safe integer, got ${JSON.stringify(counter)}`);
  }
}

export class VectorClock {
  static readonly EMPTY = new VectorClock(new Map());

  private constructor(private readonly entries: ReadonlyMap<string, number>) {}

  /** Builds a clock from `{ node: counter }`, e.g. a decoded JSON field; zero counters are dropped. */
  static from(counters: Readonly<Record<string, number>> | Iterable<readonly [string, number]>): VectorClock {
    const pairs = Symbol.iterator in counters ? [...counters] : Object.entries(counters);
    const entries = new Map<string, number>();
    for (const [node, counter] of pairs) {
      checkNode(node, 'vector clock');
      checkCounter(counter, `vector clock entry ${JSON.stringify(node)}`);
      if (counter > 0) entries.set(node, counter);
    }
    return new VectorClock(entries);
  }

  /** The counter of `node`, 0 when the clock has never seen it. */
  get(node: string): number {
    return this.entries.get(node) ?? 0;
  }

  /** Nodes with a non-zero counter, sorted so iteration order never depends on history. */
  nodes(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** A clock one event later at `node`. */
  increment(node: string): VectorClock {
    checkNode(node, 'increment');
    return this.with(node, this.get(node) + 1);
  }

  /** A copy with `node` set to `counter` (used to attach a dot to a causal context). */
  with(node: string, counter: number): VectorClock {
    checkNode(node, 'with');
    checkCounter(counter, `counter for ${JSON.stringify(node)}`);
    const entries = new Map(this.entries);
    if (counter > 0) entries.set(node, counter);
    else entries.delete(node);
    return new VectorClock(entries);
  }

  /** The least upper bound: every node's counter is the larger of the two. */
  merge(other: VectorClock): VectorClock {
    const entries = new Map(this.entries);
    for (const [node, counter] of other.entries) {
      if (counter > (entries.get(node) ?? 0)) entries.set(node, counter);
    }
    return new VectorClock(entries);
  }

  /** How this clock relates to `other` in the happened-before partial order. */
  compare(other: VectorClock): ClockOrder {
    let less = false;
    let greater = false;
    for (const node of new Set([...this.entries.keys(), ...other.entries.keys()])) {
      const a = this.get(node);
      const b = other.get(node);
      if (a < b) less = true;
      else if (a > b) greater = true;
      if (less && greater) return 'concurrent';
    }
    if (less) return 'before';
    if (greater) return 'after';
    return 'equal';
  }

  /** True when this clock has seen everything `other` has (after or equal). */
  dominates(other: VectorClock): boolean {
    const order = this.compare(other);
    return order === 'after' || order === 'equal';
  }

  equals(other: VectorClock): boolean {
    return this.compare(other) === 'equal';
  }

  /** JSON-safe form: `{ node: counter }` with keys sorted. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const node of this.nodes()) out[node] = this.get(node);
    return out;
  }

  toString(): string {
    return `{${this.nodes().map((n) => `${n}:${this.get(n)}`).join(', ')}}`;
  }

  /**
   * Binary form: version byte, entry count, then per entry (sorted by node) a length-prefixed
   * UTF-8 node id and a 64-bit counter. Sorted entries make equal clocks encode identically,
   * which Merkle version hashes rely on.
   */
  encode(): Buffer {
    const nodes = this.nodes();
    const names = nodes.map((n) => Buffer.from(n, 'utf8'));
    const out = Buffer.alloc(1 + 4 + names.reduce((sum, b) => sum + 2 + b.length + 8, 0));
    let at = out.writeUInt8(FORMAT_VERSION, 0);
    at = out.writeUInt32BE(nodes.length, at);
    nodes.forEach((node, i) => {
      at = out.writeUInt16BE(names[i].length, at);
      at += names[i].copy(out, at);
      at = out.writeBigUInt64BE(BigInt(this.get(node)), at);
    });
    return out;
  }

  /** Reads a clock written by encode(); returns it and the number of bytes consumed. */
  static decode(bytes: Buffer, offset = 0): { clock: VectorClock; bytesRead: number } {
    const need = (n: number, at: number, what: string): void => {
      if (at + n > bytes.length) throw new VectorClockError(`vector clock truncated at byte ${at}: ${what} needs ${n} bytes`);
    };
    need(5, offset, 'the header');
    const version = bytes.readUInt8(offset);
    if (version !== FORMAT_VERSION) {
      throw new VectorClockError(`vector clock format version ${version} at byte ${offset}; this build reads version ${FORMAT_VERSION}`);
    }
    const count = bytes.readUInt32BE(offset + 1);
    let at = offset + 5;
    const entries = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      need(2, at, `entry ${i}`);
      const len = bytes.readUInt16BE(at);
      need(len + 8, at + 2, `entry ${i}`);
      const node = bytes.toString('utf8', at + 2, at + 2 + len);
      const counter = bytes.readBigUInt64BE(at + 2 + len);
      if (counter > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new VectorClockError(`vector clock entry ${JSON.stringify(node)} counter ${counter} exceeds the safe integer range`);
      }
      checkNode(node, `vector clock entry ${i}`);
      if (counter > 0n) entries.set(node, Number(counter));
      at += 2 + len + 8;
    }
    return { clock: new VectorClock(entries), bytesRead: at - offset };
  }
}
