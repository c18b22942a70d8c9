// Validation of a cluster spec: every field is checked at the edge, and every problem is
// reported (not just the first) as "<field>: must be <what is accepted>, got <what was given>".
// Missing fields take their defaults; quorum defaults are capped by the node count.

import {
  CONSISTENCY_MODES, CRDT_TYPES, LOG_LEVELS, PARTITION_STRATEGIES, SPEC_LIMITS, SYNC_POLICIES,
  TOPOLOGY_PRESETS, nodeIdOf,
  type ClusterSpec, type ConsistencyMode, type CrdtType, type KeyRangeSpec, type RouterSpec, type StorageSpec, type TopologySpec,
} from './types';
import { DEFAULT_SPEC } from './defaults';
import { checkTopology, expandTopology } from './topology';
import { parseSpeculativeRetry, SPECULATIVE_RETRY_ACCEPTED } from './speculative-retry';

export interface SpecIssue {
  /** Dotted path of the field, e.g. "storage.sync" or "keyRanges[1].end"; "" for the whole spec. */
  field: string;
  message: string;
}

/** A spec that cannot be used. `issues` lists every problem found; the message joins them. */
export class ClusterSpecError extends Error {
  constructor(readonly issues: SpecIssue[]) {
    super(issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('\n'));
    this.name = 'ClusterSpecError';
  }
}

export type SpecCheck = { ok: true; spec: ClusterSpec } | { ok: false; issues: SpecIssue[] };

const TOP_FIELDS = [
  '$schema', 'nodes', 'dataDir', 'host', 'storage', 'topology', 'replicationFactor', 'writeQuorum',
  'readQuorum', 'partitionStrategy', 'partitionsPerNode', 'numPartitions', 'keyRanges',
  'enableForwarding', 'loadBalanceReads', 'speculativeRetry', 'consistencyMode', 'crdt', 'indexFields',
  'globalIndexFields', 'cacheSize', 'antiEntropyIntervalMs', 'merkleIntervalMs', 'heartbeatIntervalMs', 'replicationBacklogOps', 'logLevel', 'router',
];
const HOST_PATTERN = /^[A-Za-z0-9.:-]{1,253}$/;
const FIELD_NAME_MAX = 128;

/** Shows a rejected value the way it was written, shortened so a huge input cannot flood a message. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

class Reader {
  readonly issues: SpecIssue[] = [];

  fail(field: string, accepted: string, got: unknown): void {
    this.issues.push({ field, message: `must be ${accepted}, got ${describeValue(got)}` });
  }

  note(field: string, message: string): void {
    this.issues.push({ field, message });
  }

  object(field: string, v: unknown, accepted: readonly string[]): Record<string, unknown> | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.fail(field || 'spec', 'a JSON object', v);
      return undefined;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!accepted.includes(k)) {
        this.note(field ? `${field}.${k}` : k, `unknown field; accepted fields are ${accepted.filter((a) => a !== '$schema').join(', ')}`);
      }
    }
    return o;
  }

  int(field: string, v: unknown, fallback: number, min: number, max: number): number {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `an integer from ${min} to ${max}`, v);
      return fallback;
    }
    return v;
  }

  bool(field: string, v: unknown, fallback: boolean): boolean {
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      this.fail(field, 'true or false', v);
      return fallback;
    }
    return v;
  }

  oneOf<T extends string>(field: string, v: unknown, fallback: T, options: readonly T[]): T {
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !options.includes(v as T)) {
      this.fail(field, `one of ${options.map((o) => `"${o}"`).join(', ')}`, v);
      return fallback;
    }
    return v as T;
  }

  string(field: string, v: unknown, fallback: string, accepted: string, ok: (s: string) => boolean): string {
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !ok(v)) {
      this.fail(field, accepted, v);
      return fallback;
    }
    return v;
  }

  names(field: string, v: unknown): string[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.fail(field, 'an array of field names', v);
      return [];
    }
    const out: string[] = [];
    v.forEach((name, i) => {
      if (typeof name !== 'string' || name.length === 0 || name.length > FIELD_NAME_MAX) {
        this.fail(`${field}[${i}]`, `a non-empty string of at most ${FIELD_NAME_MAX} characters`, name);
      } else if (name === '__proto__') {
        // A document's "__proto__" is its prototype to JavaScript, never a field an index could read.
        this.note(`${field}[${i}]`, '"__proto__" cannot be indexed; name a field of your JSON values');
      } else if (out.includes(name)) {
        this.note(`${field}[${i}]`, `"${name}" is listed twice; list each field once`);
      } else {
        out.push(name);
      }
    });
    return out;
  }
}

function readStorage(r: Reader, v: unknown): StorageSpec {
  const d = DEFAULT_SPEC.storage;
  if (v === undefined) return { ...d };
  const o = r.object('storage', v, ['sync', 'syncIntervalMs', 'memtableBytes', 'tombstoneGraceMs']);
  if (!o) return { ...d };
  const L = SPEC_LIMITS;
  return {
    sync: r.oneOf('storage.sync', o.sync, d.sync, SYNC_POLICIES),
    syncIntervalMs: r.int('storage.syncIntervalMs', o.syncIntervalMs, d.syncIntervalMs, L.syncIntervalMs.min, L.syncIntervalMs.max),
    memtableBytes: r.int('storage.memtableBytes', o.memtableBytes, d.memtableBytes, L.memtableBytes.min, L.memtableBytes.max),
    tombstoneGraceMs: r.int('storage.tombstoneGraceMs', o.tombstoneGraceMs, d.tombstoneGraceMs, L.tombstoneGraceMs.min, L.tombstoneGraceMs.max),
  };
}

function readTopology(r: Reader, v: unknown): TopologySpec {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') {
    return r.oneOf('topology', v, 'mesh', TOPOLOGY_PRESETS);
  }
  if (typeof v !== 'object' || Array.isArray(v)) {
    r.fail('topology', 'null, "mesh", "ring", "star" or an object mapping node ids to arrays of node ids', v);
    return null;
  }
  const out: Record<string, string[]> = {};
  for (const [from, to] of Object.entries(v as Record<string, unknown>)) {
    if (!Array.isArray(to) || !to.every((t) => typeof t === 'string')) {
      r.fail(`topology.${from}`, 'an array of node ids such as ["n2", "n3"]', to);
      continue;
    }
    out[from] = to as string[];
  }
  return out;
}

function readKeyRanges(r: Reader, v: unknown): KeyRangeSpec[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) {
    r.fail('keyRanges', 'null or an array of {"start", "end", "node"} ranges', v);
    return null;
  }
  const out: KeyRangeSpec[] = [];
  v.forEach((item, i) => {
    const f = `keyRanges[${i}]`;
    const o = r.object(f, item, ['start', 'end', 'node']);
    if (!o) return;
    const start = r.string(`${f}.start`, o.start, '', 'a string (the first key of the range, "" for the beginning)', () => true);
    let end: string | null = null;
    if (o.end !== null && o.end !== undefined) {
      end = r.string(`${f}.end`, o.end, '', 'a string (the first key after the range) or null for the end of the key space', () => true);
    }
    // An index into the node list (0 = n1), as src/engine/partitioning/README.md shows, or an id.
    const index = typeof o.node === 'number' && Number.isInteger(o.node) && o.node >= 0 && o.node < SPEC_LIMITS.nodes.max ? o.node : undefined;
    const node = index !== undefined ? nodeIdOf(index) : o.node;
    if (typeof node !== 'string') {
      r.fail(`${f}.node`, 'a node id such as "n1", or its index in the node list (0 for n1)', o.node);
      return;
    }
    const range = { start, end, node };
    if (index !== undefined) givenIndex.set(range, index);
    out.push(range);
  });
  return out;
}

/** Ranges whose node was given as an index into the node list, with that index. */
const givenIndex = new WeakMap<KeyRangeSpec, number>();

function readCrdt(r: Reader, v: unknown): Record<string, CrdtType> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    r.fail('crdt', `an object mapping keys to a CRDT type (${CRDT_TYPES.join(', ')})`, v);
    return {};
  }
  const out: Record<string, CrdtType> = {};
  for (const [key, type] of Object.entries(v as Record<string, unknown>)) {
    if (key.length === 0) {
      r.note('crdt', 'a CRDT key must not be empty');
      continue;
    }
    out[key] = r.oneOf(`crdt.${key}`, type, 'gcounter', CRDT_TYPES);
  }
  return out;
}

function readRouter(r: Reader, v: unknown): RouterSpec | null {
  if (v === undefined || v === null) return null;
  const o = r.object('router', v, ['port']);
  if (!o) return null;
  return { port: r.int('router.port', o.port, 0, SPEC_LIMITS.port.min, SPEC_LIMITS.port.max) };
}

/** Range strategy: the ranges must tile the key space exactly, each on a node of the cluster. */
function checkKeyRanges(r: Reader, ranges: KeyRangeSpec[], nodeIds: string[]): void {
  if (ranges.length === 0) {
    r.note('keyRanges', 'must list at least one range when partitionStrategy is "range"');
    return;
  }
  // A range that could not be read is missing from `ranges`: judging the tiling without it would
  // add errors that are not there (a first range that "does not start at ''").
  if (r.issues.some((issue) => issue.field.startsWith('keyRanges['))) return;
  // Keys are placed by their UTF-8 bytes, not by JavaScript's UTF-16 string order.
  const order = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  ranges.forEach((kr, i) => {
    if (!nodeIds.includes(kr.node)) {
      const index = givenIndex.get(kr);
      // An index is what the person wrote: name it, and the id it stands for.
      if (index === undefined) r.fail(`keyRanges[${i}].node`, `a node of this cluster (${nodeIds.join(', ')})`, kr.node);
      else r.note(`keyRanges[${i}].node`, `must be a node of this cluster (${nodeIds.join(', ')}, or their indexes 0 to ${nodeIds.length - 1}), got ${index} (index ${index} is "${kr.node}")`);
    }
    if (kr.end !== null && order(kr.end, kr.start) <= 0) r.note(`keyRanges[${i}]`, `end ${describeValue(kr.end)} must sort after start ${describeValue(kr.start)} (by UTF-8 bytes)`);
  });
  const sorted = ranges.map((kr, i) => ({ ...kr, i })).sort((a, b) => order(a.start, b.start));
  if (sorted[0].start !== '') r.note(`keyRanges[${sorted[0].i}].start`, 'the first range must start at "" so every key has an owner');
  for (let k = 1; k < sorted.length; k++) {
    const prev = sorted[k - 1];
    const cur = sorted[k];
    if (prev.end === null || order(prev.end, cur.start) > 0) {
      r.note(`keyRanges[${cur.i}]`, `overlaps keyRanges[${prev.i}]; ranges must not overlap`);
    } else if (order(prev.end, cur.start) < 0) {
      r.note(`keyRanges[${cur.i}]`, `leaves a gap after keyRanges[${prev.i}] (${describeValue(prev.end)} to ${describeValue(cur.start)}); ranges must cover every key`);
    }
  }
  const last = sorted[sorted.length - 1];
  if (last.end !== null) r.note(`keyRanges[${last.i}].end`, 'the last range must end at null so every key has an owner');
}

/** Checks `obj` and fills defaults. Never throws; see `validateClusterSpec` for the throwing form. */
export function checkClusterSpec(obj: unknown): SpecCheck {
  const r = new Reader();
  const o = r.object('', obj, TOP_FIELDS);
  if (!o) return { ok: false, issues: r.issues };
  const d = DEFAULT_SPEC;
  const L = SPEC_LIMITS;
  if (o.$schema !== undefined && typeof o.$schema !== 'string') r.fail('$schema', 'a string', o.$schema);

  const nodes = r.int('nodes', o.nodes, d.nodes, L.nodes.min, L.nodes.max);
  const nodeIds = Array.from({ length: nodes }, (_, i) => nodeIdOf(i));
  const topology = readTopology(r, o.topology);
  // Ops travel a ring or star hop by hop, and a hop that is not a replica of a key forwards only a
  // skip: every node must hold every key, so N defaults to the node count there.
  const forwarded = topology !== null && topology !== 'mesh';
  const n = forwarded ? nodes : Math.min(d.replicationFactor, nodes);
  const replicationFactor = r.int('replicationFactor', o.replicationFactor, n, 1, L.nodes.max);
  const q = Math.min(d.writeQuorum, replicationFactor);
  const spec: ClusterSpec = {
    nodes,
    dataDir: r.string('dataDir', o.dataDir, d.dataDir, 'a non-empty folder path', (s) => s.trim().length > 0 && !s.includes('\0')),
    host: r.string('host', o.host, d.host, 'a host name or IP address such as "127.0.0.1"', (s) => HOST_PATTERN.test(s)),
    storage: readStorage(r, o.storage),
    topology,
    replicationFactor,
    writeQuorum: r.int('writeQuorum', o.writeQuorum, q, 1, L.nodes.max),
    readQuorum: r.int('readQuorum', o.readQuorum, q, 1, L.nodes.max),
    partitionStrategy: r.oneOf('partitionStrategy', o.partitionStrategy, d.partitionStrategy, PARTITION_STRATEGIES),
    partitionsPerNode: r.int('partitionsPerNode', o.partitionsPerNode, d.partitionsPerNode, L.partitionsPerNode.min, L.partitionsPerNode.max),
    numPartitions: r.int('numPartitions', o.numPartitions, d.numPartitions, L.numPartitions.min, L.numPartitions.max),
    keyRanges: readKeyRanges(r, o.keyRanges),
    enableForwarding: r.bool('enableForwarding', o.enableForwarding, d.enableForwarding),
    loadBalanceReads: r.bool('loadBalanceReads', o.loadBalanceReads, d.loadBalanceReads),
    speculativeRetry: r.string('speculativeRetry', o.speculativeRetry, d.speculativeRetry, SPECULATIVE_RETRY_ACCEPTED, (s) => parseSpeculativeRetry(s) !== undefined),
    consistencyMode: r.oneOf('consistencyMode', o.consistencyMode, d.consistencyMode, CONSISTENCY_MODES),
    crdt: readCrdt(r, o.crdt),
    indexFields: r.names('indexFields', o.indexFields),
    globalIndexFields: r.names('globalIndexFields', o.globalIndexFields),
    cacheSize: r.int('cacheSize', o.cacheSize, d.cacheSize, L.cacheSize.min, L.cacheSize.max),
    antiEntropyIntervalMs: r.int('antiEntropyIntervalMs', o.antiEntropyIntervalMs, d.antiEntropyIntervalMs, L.antiEntropyIntervalMs.min, L.antiEntropyIntervalMs.max),
    merkleIntervalMs: r.int('merkleIntervalMs', o.merkleIntervalMs, d.merkleIntervalMs, L.merkleIntervalMs.min, L.merkleIntervalMs.max),
    heartbeatIntervalMs: r.int('heartbeatIntervalMs', o.heartbeatIntervalMs, d.heartbeatIntervalMs, L.heartbeatIntervalMs.min, L.heartbeatIntervalMs.max),
    replicationBacklogOps: r.int('replicationBacklogOps', o.replicationBacklogOps, d.replicationBacklogOps, L.replicationBacklogOps.min, L.replicationBacklogOps.max),
    logLevel: r.oneOf('logLevel', o.logLevel, d.logLevel, LOG_LEVELS),
    router: readRouter(r, o.router),
  };

  // Cross-field rules, checked only when the fields they relate were themselves valid.
  if (spec.replicationFactor > nodes && o.replicationFactor !== undefined) {
    r.note('replicationFactor', `must be at most nodes (${nodes}), got ${spec.replicationFactor}`);
  }
  if (spec.writeQuorum > spec.replicationFactor) r.note('writeQuorum', `must be at most replicationFactor (${spec.replicationFactor}), got ${spec.writeQuorum}`);
  if (spec.readQuorum > spec.replicationFactor) r.note('readQuorum', `must be at most replicationFactor (${spec.replicationFactor}), got ${spec.readQuorum}`);
  const topologyProblems = typeof spec.topology === 'object' && spec.topology !== null ? checkTopology(spec.topology, nodeIds) : [];
  for (const problem of topologyProblems) r.note(problem.field, problem.message);
  if (forwarded && nodes > 1) checkForwardedQuorums(r, spec, nodeIds, topologyProblems.length > 0);
  if (spec.partitionStrategy === 'range') {
    if (spec.keyRanges === null) r.note('keyRanges', 'must list the key ranges when partitionStrategy is "range", e.g. [{"start": "", "end": null, "node": "n1"}]');
    else checkKeyRanges(r, spec.keyRanges, nodeIds);
  } else if (spec.keyRanges !== null) {
    r.note('keyRanges', 'is only used with partitionStrategy "range"; set it to null or change the strategy');
  }
  // A setting another mode would silently ignore is refused: the cluster would start and never use it.
  if (o.consistencyMode === undefined || CONSISTENCY_MODES.includes(o.consistencyMode as ConsistencyMode)) {
    if (spec.consistencyMode === 'vector') {
      for (const field of ['indexFields', 'globalIndexFields'] as const) {
        if (spec[field].length > 0) {
          r.note(field, `must be empty in consistencyMode "vector": its values are sibling sets, not JSON, so no index can read them (a query would find nothing); use consistencyMode "lww" or "crdt" to index, or remove ${field}`);
        }
      }
    }
    const crdtKeys = Object.keys(spec.crdt);
    if (spec.consistencyMode !== 'crdt' && crdtKeys.length > 0) {
      r.note('crdt', `names CRDT keys (${crdtKeys.join(', ')}) but consistencyMode is "${spec.consistencyMode}", where they would be plain keys; set consistencyMode to "crdt", or remove crdt`);
    }
  }
  return r.issues.length ? { ok: false, issues: r.issues } : { ok: true, spec };
}

/** Checks `obj` and fills defaults; throws ClusterSpecError naming every bad field. */
export function validateClusterSpec(obj: unknown): ClusterSpec {
  const c = checkClusterSpec(obj);
  if (!c.ok) throw new ClusterSpecError(c.issues);
  return c.spec;
}

/**
 * A ring, star or map forwards ops hop by hop: a node that is not a replica of a key forwards only
 * a skip, so every node must replicate every key (acknowledged writes were missing from their
 * replicas for up to a Merkle round); and a write is acknowledged by its node and the node's own
 * destinations only, so W above that could never be met (every write failed on a healthy ring).
 */
function checkForwardedQuorums(r: Reader, spec: ClusterSpec, nodeIds: readonly string[], mapInvalid: boolean): void {
  const what = typeof spec.topology === 'string' ? `topology "${spec.topology}"` : 'a topology map';
  if (spec.replicationFactor < spec.nodes) {
    r.note('replicationFactor', `must be nodes (${spec.nodes}) with ${what}: a node that is not a replica of a key forwards only a skip of it, so the replicas past it would miss the write; use topology null (the full mesh) to partition, got ${spec.replicationFactor}`);
  }
  if (mapInvalid) return;
  const expanded = expandTopology(spec.topology, nodeIds) ?? {};
  let fewest = Number.POSITIVE_INFINITY;
  let where = '';
  for (const [id, to] of Object.entries(expanded)) {
    if (to.length < fewest) [fewest, where] = [to.length, id];
  }
  const maxW = 1 + fewest;
  if (spec.writeQuorum > maxW) {
    r.note('writeQuorum', `must be at most ${maxW} with ${what}: a write is acknowledged by its node and that node's destinations only (${where} forwards to ${fewest}), got ${spec.writeQuorum}`);
  }
}
