// The node process's configuration file (written by the controller, passed as --config) and
// its validator. Every problem is reported at once, each naming the field and what is accepted.
//
// Partitioning settings (issue 4; all optional, filled by the controller from the cluster spec):
//   replicationFactor  N, used to cap W and R (placement itself uses the map's N)   default 3
//   writeQuorum        W: acknowledgements a coordinated write waits for              default 2
//   readQuorum         R: answers a coordinated read waits for                        default 2
//   enableForwarding   a node that does not replicate a key sends the request on
//                      (false: it answers FAILED_PRECONDITION with a NotOwner detail)  default true
//   loadBalanceReads   spread reads over the replicas instead of the owner first      default false
//   readBalancing      'round-robin' | 'least-recent' (with loadBalanceReads)         default 'round-robin'
//   speculativeRetry   when a point read asks a replica beside a slow one:
//                      'none', 'always', '<N>ms' or '<P>p' (speculative-retry.ts)     default '99p'
// W and R are capped by N and by the map's N; a request may lower or raise them up to N (w, r).

/** The one line a node prints on stdout once it serves: the prefix, then JSON {id, port, pid}. */
export const NODE_READY_PREFIX = 'RINGDB_NODE_READY ';
/** The node's log in its data folder: the controller writes the node's output there. */
export const NODE_LOG_FILE = 'node.log';

import { DEFAULT_SPEC, DEFAULT_SPECULATIVE_RETRY, parseSpeculativeRetry, SPEC_LIMITS, SPECULATIVE_RETRY_ACCEPTED } from '../spec';
import { checkConvergenceSettings, CONVERGENCE_FIELDS, type ConvergenceSettings } from './convergence/settings';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface PeerConfig {
  id: string;
  /** host:port */
  address: string;
}

export interface NodeConfig {
  id: string;
  dataDir: string;
  host: string;
  /** 0 = the OS picks; the real port is printed on the ready line. */
  port: number;
  tokenFile: string;
  peers: PeerConfig[];
  /** node id -> destinations; null = full mesh. */
  topology: Record<string, string[]> | null;
  /** tombstoneGraceMs absent: the spec's default (an hour). */
  storage: { sync: 'always' | 'batch' | 'none'; syncIntervalMs: number; memtableBytes: number; tombstoneGraceMs?: number };
  heartbeatIntervalMs: number;
  antiEntropyIntervalMs: number;
  /** Bound of the unacknowledged replication backlog before local writes wait (replication/backpressure.ts); 0 = off, default 1000. */
  replicationBacklogOps?: number;
  /** Periodic Merkle rounds; antiEntropyIntervalMs when absent. */
  merkleIntervalMs?: number;
  logLevel: LogLevel;
  replicationFactor?: number;
  writeQuorum?: number;
  readQuorum?: number;
  enableForwarding?: boolean;
  loadBalanceReads?: boolean;
  readBalancing?: 'round-robin' | 'least-recent';
  speculativeRetry?: string;
  /** Convergence settings (convergence/settings.ts). */
  consistencyMode?: ConvergenceSettings['consistencyMode'];
  crdt?: ConvergenceSettings['crdt'];
  cacheSize?: ConvergenceSettings['cacheSize'];
  indexFields?: ConvergenceSettings['indexFields'];
  globalIndexFields?: ConvergenceSettings['globalIndexFields'];
  /**
   * The id was never used in this cluster (a new cluster's nodes, AddNode): no peer can hold ops
   * of it, so an empty log needs no settling with the peers (replication/own-seq.ts). Absent or
   * false, a node that opens an empty log learns its taken seqs before its first write.
   */
  newMember?: boolean;
  /**
   * A controller sends the membership after the start (UpdateMembership): a node that may have
   * lost its folder and has no peers in this config waits for it before it writes. Without it the
   * peers in this config are all it will know.
   */
  awaitMembership?: boolean;
}

/** The partitioning settings with their defaults applied (see the top of this file). */
export function quorumSettings(c: NodeConfig): Required<Pick<NodeConfig, 'replicationFactor' | 'writeQuorum' | 'readQuorum' | 'enableForwarding' | 'loadBalanceReads' | 'readBalancing' | 'speculativeRetry'>> {
  const replicationFactor = c.replicationFactor ?? 3;
  return {
    replicationFactor,
    writeQuorum: Math.min(c.writeQuorum ?? 2, replicationFactor),
    readQuorum: Math.min(c.readQuorum ?? 2, replicationFactor),
    enableForwarding: c.enableForwarding ?? true,
    loadBalanceReads: c.loadBalanceReads ?? false,
    readBalancing: c.readBalancing ?? 'round-robin',
    speculativeRetry: c.speculativeRetry ?? DEFAULT_SPECULATIVE_RETRY,
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid node config: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Node ids travel in op ids ("<node>:<seq>") and file names: letters, digits, '-', '_', '.'. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ADDRESS_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function isNodeId(v: unknown): v is string {
  return typeof v === 'string' && NODE_ID_PATTERN.test(v);
}

export function isAddress(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const m = ADDRESS_PATTERN.exec(v);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function intIn(problems: string[], field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    problems.push(`${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
}

function nonEmptyString(problems: string[], field: string, v: unknown): void {
  if (typeof v !== 'string' || v.length === 0) problems.push(`${field} must be a non-empty string, got ${JSON.stringify(v)}`);
}

/** Checks a topology map against the known node ids; problems are appended. */
export function checkTopology(problems: string[], field: string, topology: unknown, known: ReadonlySet<string>): void {
  if (topology === null) return;
  if (!isObject(topology)) {
    problems.push(`${field} must be null (full mesh) or an object mapping node id to an array of destination ids`);
    return;
  }
  for (const [from, dests] of Object.entries(topology)) {
    if (!known.has(from)) problems.push(`${field}: unknown node ${JSON.stringify(from)}; known: ${[...known].join(', ')}`);
    if (!Array.isArray(dests)) {
      problems.push(`${field}.${from} must be an array of node ids`);
      continue;
    }
    for (const d of dests) {
      if (typeof d !== 'string' || !known.has(d)) problems.push(`${field}.${from}: unknown destination ${JSON.stringify(d)}; known: ${[...known].join(', ')}`);
      else if (d === from) problems.push(`${field}.${from}: a node cannot replicate to itself`);
    }
  }
}

/** Validates parsed JSON as a NodeConfig; throws ConfigError listing every problem. */
export function validateNodeConfig(raw: unknown): NodeConfig {
  const problems: string[] = [];
  if (!isObject(raw)) throw new ConfigError(['the config must be a JSON object']);
  const allowed = new Set(['id', 'dataDir', 'host', 'port', 'tokenFile', 'peers', 'topology', 'storage', 'heartbeatIntervalMs', 'antiEntropyIntervalMs', 'merkleIntervalMs', 'replicationBacklogOps', 'logLevel',
    'replicationFactor', 'writeQuorum', 'readQuorum', 'enableForwarding', 'loadBalanceReads', 'readBalancing', 'speculativeRetry', 'newMember', 'awaitMembership', ...CONVERGENCE_FIELDS]);
  for (const k of Object.keys(raw)) if (!allowed.has(k)) problems.push(`unknown field ${JSON.stringify(k)}; accepted: ${[...allowed].join(', ')}`);
  if (!isNodeId(raw.id)) problems.push(`id must match ${NODE_ID_PATTERN} (letters, digits, '_', '.', '-'; at most 64), got ${JSON.stringify(raw.id)}`);
  nonEmptyString(problems, 'dataDir', raw.dataDir);
  nonEmptyString(problems, 'host', raw.host);
  intIn(problems, 'port', raw.port, 0, 65535);
  nonEmptyString(problems, 'tokenFile', raw.tokenFile);
  const known = new Set<string>(isNodeId(raw.id) ? [raw.id] : []);
  if (!Array.isArray(raw.peers)) problems.push('peers must be an array of {id, address}');
  else {
    raw.peers.forEach((p: unknown, i: number) => {
      if (!isObject(p)) return void problems.push(`peers[${i}] must be an object {id, address}`);
      if (!isNodeId(p.id)) problems.push(`peers[${i}].id must match ${NODE_ID_PATTERN}, got ${JSON.stringify(p.id)}`);
      else if (known.has(p.id)) problems.push(`peers[${i}].id ${JSON.stringify(p.id)} is listed twice (or is this node's id)`);
      else known.add(p.id);
      if (!isAddress(p.address)) problems.push(`peers[${i}].address must be host:port, got ${JSON.stringify(p.address)}`);
    });
  }
  checkTopology(problems, 'topology', raw.topology === undefined ? null : raw.topology, known);
  if (!isObject(raw.storage)) problems.push('storage must be an object {sync, syncIntervalMs, memtableBytes}');
  else {
    const s = raw.storage;
    if (s.sync !== 'always' && s.sync !== 'batch' && s.sync !== 'none') problems.push(`storage.sync must be 'always', 'batch' or 'none', got ${JSON.stringify(s.sync)}`);
    intIn(problems, 'storage.syncIntervalMs', s.syncIntervalMs, 0, 60_000);
    intIn(problems, 'storage.memtableBytes', s.memtableBytes, 1024, 1024 * 1024 * 1024);
    if (s.tombstoneGraceMs !== undefined) intIn(problems, 'storage.tombstoneGraceMs', s.tombstoneGraceMs, SPEC_LIMITS.tombstoneGraceMs.min, SPEC_LIMITS.tombstoneGraceMs.max);
  }
  intIn(problems, 'heartbeatIntervalMs', raw.heartbeatIntervalMs, 10, 60_000);
  intIn(problems, 'antiEntropyIntervalMs', raw.antiEntropyIntervalMs, 50, 3_600_000);
  if (raw.merkleIntervalMs !== undefined) intIn(problems, 'merkleIntervalMs', raw.merkleIntervalMs, 50, 86_400_000);
  if (raw.replicationBacklogOps !== undefined) intIn(problems, 'replicationBacklogOps', raw.replicationBacklogOps, 0, 10_000_000);
  if (!['debug', 'info', 'warn', 'error'].includes(raw.logLevel as string)) {
    problems.push(`logLevel must be 'debug', 'info', 'warn' or 'error', got ${JSON.stringify(raw.logLevel)}`);
  }
  checkPartitioning(problems, raw);
  checkConvergenceSettings(problems, raw);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...(raw as unknown as NodeConfig),
    topology: (raw.topology ?? null) as NodeConfig['topology'],
  };
}

function checkPartitioning(problems: string[], raw: Record<string, unknown>): void {
  for (const f of ['replicationFactor', 'writeQuorum', 'readQuorum'] as const) if (raw[f] !== undefined) intIn(problems, f, raw[f], 1, 64);
  const n = typeof raw.replicationFactor === 'number' ? raw.replicationFactor : 3;
  for (const f of ['writeQuorum', 'readQuorum'] as const) {
    if (typeof raw[f] === 'number' && (raw[f] as number) > n) problems.push(`${f} must be at most replicationFactor (${n}), got ${raw[f] as number}`);
  }
  for (const f of ['enableForwarding', 'loadBalanceReads', 'newMember', 'awaitMembership'] as const) {
    if (raw[f] !== undefined && typeof raw[f] !== 'boolean') problems.push(`${f} must be true or false, got ${JSON.stringify(raw[f])}`);
  }
  if (raw.readBalancing !== undefined && raw.readBalancing !== 'round-robin' && raw.readBalancing !== 'least-recent') {
    problems.push(`readBalancing must be 'round-robin' or 'least-recent', got ${JSON.stringify(raw.readBalancing)}`);
  }
  if (raw.speculativeRetry !== undefined && (typeof raw.speculativeRetry !== 'string' || !parseSpeculativeRetry(raw.speculativeRetry))) {
    problems.push(`speculativeRetry must be ${SPECULATIVE_RETRY_ACCEPTED}, got ${JSON.stringify(raw.speculativeRetry)}`);
  }
}

/** The tombstone grace a node runs with: its config's, else the cluster spec's default. */
export function tombstoneGraceOf(config: Pick<NodeConfig, 'storage'>): number {
  return config.storage.tombstoneGraceMs ?? DEFAULT_SPEC.storage.tombstoneGraceMs;
}
