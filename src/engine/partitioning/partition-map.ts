// The partition map: which node owns which range of the key space, at which version.
//
// Every node, the controller, the driver and the router hold one. It is an immutable value:
// topology changes (topology.ts) return a new map with version + 1, so a reader never sees a
// half-applied change, and "the newer version wins" is all a receiver needs to decide.
// Its JSON form (toJSON/fromJSON) is what UpdatePartitionMap carries and what `ringdb ring` prints.

import { InvalidArgumentError, InvalidMapError } from './errors';
import { comparePositions, describeRange, minPosition, positionOf, positionPrefix, type Strategy, STRATEGIES, TOKEN_BYTES, type VnodeToken } from './keyspace';
import { sha1Words, wordsToBytes } from './sha1';

export type { VnodeToken } from './keyspace';

export interface Partition {
  /** Stable id: survives moves; a split gives the upper half a new id, a merge keeps the lower id. */
  readonly id: number;
  /** First position (inclusive). */
  readonly start: Buffer;
  /** End position (exclusive); null = end of the key space. */
  readonly end: Buffer | null;
  readonly owner: string;
}

export interface PartitionMapFields {
  readonly version: number;
  readonly strategy: Strategy;
  /** N: how many distinct nodes hold each partition (capped by the node count when placing). */
  readonly replicationFactor: number;
  /** Vnode tokens per node (hash maps); 0 for range maps. */
  readonly tokensPerNode: number;
  /** Members, in join order; placement breaks ties by this order. */
  readonly nodes: readonly string[];
  /** Hash maps: every node's vnode tokens sorted by token. Range maps: empty. */
  readonly tokens: readonly VnodeToken[];
  /** Sorted by start, covering the whole space without gaps or overlaps. */
  readonly partitions: readonly Partition[];
  /** Id the next split will give its new partition. */
  readonly nextId: number;
  /** Hot keys spread over salted variants: partition key (hex) -> bucket count. */
  readonly saltedKeys: ReadonlyMap<string, number>;
}

/** The JSON-safe form: positions and keys as lowercase hex. */
export interface PartitionMapJson {
  version: number;
  strategy: Strategy;
  replicationFactor: number;
  tokensPerNode: number;
  nodes: string[];
  tokens: { token: string; node: string }[];
  partitions: { id: number; start: string; end: string | null; owner: string }[];
  nextId: number;
  saltedKeys: { key: string; buckets: number }[];
}

export const MAX_SALT_BUCKETS = 1024;

export class PartitionMap implements PartitionMapFields {
  readonly version: number;
  readonly strategy: Strategy;
  readonly replicationFactor: number;
  readonly tokensPerNode: number;
  readonly nodes: readonly string[];
  readonly tokens: readonly VnodeToken[];
  readonly partitions: readonly Partition[];
  readonly nextId: number;
  readonly saltedKeys: ReadonlyMap<string, number>;
  private readonly byId: ReadonlyMap<number, number>;
  /** positionPrefix of each partition's start: most lookups compare these numbers alone. */
  private readonly startPrefixes: Float64Array;

  private constructor(f: PartitionMapFields) {
    this.version = f.version;
    this.strategy = f.strategy;
    this.replicationFactor = f.replicationFactor;
    this.tokensPerNode = f.tokensPerNode;
    this.nodes = f.nodes;
    this.tokens = f.tokens;
    this.partitions = f.partitions;
    this.nextId = f.nextId;
    this.saltedKeys = f.saltedKeys;
    this.byId = new Map(f.partitions.map((p, i) => [p.id, i]));
    this.startPrefixes = Float64Array.from(f.partitions, (p) => positionPrefix(p.start));
    Object.freeze(this);
  }

  /** Builds a map after checking every invariant; throws InvalidMapError naming the field. */
  static of(fields: PartitionMapFields): PartitionMap {
    checkFields(fields);
    return new PartitionMap({
      ...fields,
      nodes: Object.freeze([...fields.nodes]),
      tokens: Object.freeze([...fields.tokens]),
      partitions: Object.freeze([...fields.partitions]),
      saltedKeys: new Map(fields.saltedKeys),
    });
  }

  /** A copy with some fields replaced and the version bumped: every change is a new version. */
  next(changes: Partial<Omit<PartitionMapFields, 'version'>>): PartitionMap {
    return PartitionMap.of({ ...this.fields(), ...changes, version: this.version + 1 });
  }

  fields(): PartitionMapFields {
    const { version, strategy, replicationFactor, tokensPerNode, nodes, tokens, partitions, nextId, saltedKeys } = this;
    return { version, strategy, replicationFactor, tokensPerNode, nodes, tokens, partitions, nextId, saltedKeys };
  }

  /** The position a partition key is placed by (its token for hash maps, itself for range maps). */
  positionOf(partitionKey: Buffer): Buffer {
    return positionOf(this.strategy, partitionKey);
  }

  /** The partition holding a partition key. */
  locate(partitionKey: Buffer): Partition {
    if (this.strategy === 'range') return this.partitions[this.indexOfPosition(partitionKey)];
    // The token's prefix comes straight from the digest words, so the token itself is only built
    // on a prefix tie (about one key in 2^48 / partitions).
    const words = sha1Words(partitionKey);
    const prefix = (words[0] >>> 0) * 0x1_0000 + (words[1] >>> 16);
    const i = this.lastStartPrefixAtOrBelow(prefix);
    if (this.startPrefixes[i] < prefix) return this.partitions[i];
    return this.partitions[this.indexOfPositionBytewise(wordsToBytes(words, Buffer.allocUnsafe(TOKEN_BYTES)))];
  }

  /** Index in `partitions` of the partition covering a position: the last start <= position. */
  indexOfPosition(position: Buffer): number {
    const prefix = positionPrefix(position);
    const i = this.lastStartPrefixAtOrBelow(prefix);
    // A start whose prefix is below the position's is below the position, and the next start's
    // prefix is above it, so that start's partition covers it; only an equal prefix needs the bytes.
    return this.startPrefixes[i] < prefix ? i : this.indexOfPositionBytewise(position);
  }

  /** The last index whose start prefix is <= `prefix` (0 at least: the first start is the minimum). */
  private lastStartPrefixAtOrBelow(prefix: number): number {
    const starts = this.startPrefixes;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= prefix) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private indexOfPositionBytewise(position: Buffer): number {
    let lo = 0;
    let hi = this.partitions.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Buffer.compare(this.partitions[mid].start, position) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index in `partitions` of a partition id, or -1. */
  indexOf(pid: number): number {
    return this.byId.get(pid) ?? -1;
  }

  /** The partition with an id; throws InvalidArgumentError naming `argument` when there is none. */
  partition(pid: number, argument = 'pid'): Partition {
    const i = this.indexOf(pid);
    if (i < 0) {
      const ids = this.partitions.map((p) => p.id).sort((a, b) => a - b);
      throw new InvalidArgumentError(argument, `no partition ${pid}; the map (version ${this.version}) has partitions ${summarizeIds(ids)}`);
    }
    return this.partitions[i];
  }

  partitionsOf(node: string): Partition[] {
    return this.partitions.filter((p) => p.owner === node);
  }

  /** Partitions owned per node, including nodes that own none. */
  ownershipCounts(): Map<string, number> {
    const counts = new Map(this.nodes.map((n) => [n, 0]));
    for (const p of this.partitions) counts.set(p.owner, (counts.get(p.owner) ?? 0) + 1);
    return counts;
  }

  describe(p: Partition): string {
    return `partition ${p.id} ${describeRange(this.strategy, p.start, p.end)}`;
  }

  /** True when this map should replace `other`: a higher version always wins. */
  isNewerThan(other: PartitionMap | undefined): boolean {
    return other === undefined || this.version > other.version;
  }

  toJSON(): PartitionMapJson {
    return {
      version: this.version,
      strategy: this.strategy,
      replicationFactor: this.replicationFactor,
      tokensPerNode: this.tokensPerNode,
      nodes: [...this.nodes],
      tokens: this.tokens.map((t) => ({ token: t.token.toString('hex'), node: t.node })),
      partitions: this.partitions.map((p) => ({ id: p.id, start: p.start.toString('hex'), end: p.end?.toString('hex') ?? null, owner: p.owner })),
      nextId: this.nextId,
      saltedKeys: [...this.saltedKeys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, buckets]) => ({ key, buckets })),
    };
  }

  /** Parses and checks a map received as JSON (a peer's UpdatePartitionMap, a state file). */
  static fromJSON(raw: unknown): PartitionMap {
    const o = record(raw, 'map');
    const strategy = o.strategy;
    if (typeof strategy !== 'string' || !(STRATEGIES as readonly string[]).includes(strategy)) {
      throw new InvalidMapError('strategy', `${JSON.stringify(strategy)} is not a strategy; accepted: ${STRATEGIES.join(', ')}`);
    }
    return PartitionMap.of({
      version: int(o.version, 'version'),
      strategy: strategy as Strategy,
      replicationFactor: int(o.replicationFactor, 'replicationFactor'),
      tokensPerNode: int(o.tokensPerNode, 'tokensPerNode'),
      nodes: array(o.nodes, 'nodes').map((n, i) => str(n, `nodes[${i}]`)),
      tokens: array(o.tokens, 'tokens').map((t, i) => {
        const r = record(t, `tokens[${i}]`);
        return { token: hex(r.token, `tokens[${i}].token`), node: str(r.node, `tokens[${i}].node`) };
      }),
      partitions: array(o.partitions, 'partitions').map((p, i) => {
        const r = record(p, `partitions[${i}]`);
        return {
          id: int(r.id, `partitions[${i}].id`),
          start: hex(r.start, `partitions[${i}].start`),
          end: r.end === null ? null : hex(r.end, `partitions[${i}].end`),
          owner: str(r.owner, `partitions[${i}].owner`),
        };
      }),
      nextId: int(o.nextId, 'nextId'),
      saltedKeys: new Map(
        array(o.saltedKeys, 'saltedKeys').map((s, i) => {
          const r = record(s, `saltedKeys[${i}]`);
          return [hex(r.key, `saltedKeys[${i}].key`).toString('hex'), int(r.buckets, `saltedKeys[${i}].buckets`)] as const;
        }),
      ),
    });
  }
}

function summarizeIds(ids: number[]): string {
  return ids.length <= 12 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')}, … (${ids.length} in all)`;
}

function checkFields(f: PartitionMapFields): void {
  if (!Number.isSafeInteger(f.version) || f.version < 1) throw new InvalidMapError('version', `a positive integer, got ${f.version}`);
  if (!Number.isSafeInteger(f.replicationFactor) || f.replicationFactor < 1) {
    throw new InvalidMapError('replicationFactor', `a positive integer, got ${f.replicationFactor}`);
  }
  if (f.nodes.length === 0) throw new InvalidMapError('nodes', 'a map needs at least one node');
  const members = new Set<string>();
  f.nodes.forEach((n, i) => {
    if (typeof n !== 'string' || n.length === 0) throw new InvalidMapError(`nodes[${i}]`, 'a node id is a non-empty string');
    if (members.has(n)) throw new InvalidMapError(`nodes[${i}]`, `node "${n}" is listed twice`);
    members.add(n);
  });
  checkTokens(f, members);
  if (f.partitions.length === 0) throw new InvalidMapError('partitions', 'a map needs at least one partition');
  const ids = new Set<number>();
  f.partitions.forEach((p, i) => {
    const at = `partitions[${i}]`;
    if (!Number.isSafeInteger(p.id) || p.id < 0 || p.id >= f.nextId) {
      throw new InvalidMapError(`${at}.id`, `an integer from 0 to nextId - 1 (${f.nextId - 1}), got ${p.id}`);
    }
    if (ids.has(p.id)) throw new InvalidMapError(`${at}.id`, `partition id ${p.id} is used twice`);
    ids.add(p.id);
    if (!members.has(p.owner)) throw new InvalidMapError(`${at}.owner`, `"${p.owner}" is not one of the map's nodes (${f.nodes.join(', ')})`);
    if (f.strategy === 'hash' && (p.start.length !== TOKEN_BYTES || (p.end !== null && p.end.length !== TOKEN_BYTES))) {
      throw new InvalidMapError(at, `hash partitions are bounded by ${TOKEN_BYTES}-byte tokens`);
    }
    const expectedStart = i === 0 ? minPosition(f.strategy) : f.partitions[i - 1].end;
    if (expectedStart === null || !p.start.equals(expectedStart)) {
      throw new InvalidMapError(`${at}.start`, i === 0 ? 'the first partition starts at the beginning of the key space' : `leaves a gap or overlap: partitions[${i - 1}] ends elsewhere`);
    }
    if (comparePositions(p.start, p.end) >= 0) throw new InvalidMapError(`${at}.end`, 'a partition ends after it starts');
    if (i === f.partitions.length - 1 && p.end !== null) throw new InvalidMapError(`${at}.end`, 'the last partition runs to the end of the key space (null)');
  });
  if (!Number.isSafeInteger(f.tokensPerNode) || f.tokensPerNode < 0) throw new InvalidMapError('tokensPerNode', `a non-negative integer, got ${f.tokensPerNode}`);
  for (const [key, buckets] of f.saltedKeys) {
    if (!Number.isSafeInteger(buckets) || buckets < 2 || buckets > MAX_SALT_BUCKETS) {
      throw new InvalidMapError(`saltedKeys[${key}]`, `buckets is an integer from 2 to ${MAX_SALT_BUCKETS}, got ${buckets}`);
    }
  }
}

function checkTokens(f: PartitionMapFields, members: Set<string>): void {
  if (f.strategy === 'range') {
    if (f.tokens.length > 0) throw new InvalidMapError('tokens', 'range maps have no vnode tokens');
    return;
  }
  if (!Number.isSafeInteger(f.tokensPerNode) || f.tokensPerNode < 1) {
    throw new InvalidMapError('tokensPerNode', `hash maps give every node at least one vnode token, got ${f.tokensPerNode}`);
  }
  if (f.tokens.length !== f.nodes.length * f.tokensPerNode) {
    throw new InvalidMapError('tokens', `expected ${f.tokensPerNode} tokens for each of the ${f.nodes.length} nodes, got ${f.tokens.length}`);
  }
  f.tokens.forEach((t, i) => {
    if (t.token.length !== TOKEN_BYTES) throw new InvalidMapError(`tokens[${i}].token`, `a token is ${TOKEN_BYTES} bytes`);
    if (!members.has(t.node)) throw new InvalidMapError(`tokens[${i}].node`, `"${t.node}" is not one of the map's nodes`);
    if (i > 0 && Buffer.compare(f.tokens[i - 1].token, t.token) > 0) throw new InvalidMapError(`tokens[${i}]`, 'tokens are sorted ascending');
  });
}

type Json = Record<string, unknown>;

function record(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidMapError(field, 'expected an object');
  return v as Json;
}

function array(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new InvalidMapError(field, 'expected an array');
  return v;
}

function int(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new InvalidMapError(field, `expected an integer, got ${JSON.stringify(v)}`);
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new InvalidMapError(field, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function hex(v: unknown, field: string): Buffer {
  if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-f]*$/.test(v)) {
    throw new InvalidMapError(field, `expected lowercase hex bytes, got ${JSON.stringify(v)}`);
  }
  return Buffer.from(v, 'hex');
}
