// `ringdb repair [node]`: runs a Merkle anti-entropy round now on one node or on every node that
// is up, each against all its peers. `incr`, `decr`, `sadd`, `srem`, `set`: CRDT ops on one node
// (crdt mode); `put` refuses CRDT keys, so these are the only ways to change one.
// The controller only tells where the nodes are; the work is the nodes' own (ConvergenceService).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerClient, RingDbError, defaultClusterSpec, loadClusterSpecFile, type ClusterDescription } from '../client';
import { ConvergenceClient, type CrdtOperation, type CrdtReading, type RepairReport } from '../client/convergence-client';
import { base64IfNotUtf8 } from '../codec/bytes-text';
import { tryDecodeCompositeKey } from '../codec/composite-key';
import { storedKeyText } from '../client/key-text';
import { placementOf } from './cluster-facts';
import { answersRequests } from './format';
import { refuseHung, suspectPhrase, toldAs } from './no-answer';
import { UsageError, type CommandSpec, type Parsed } from './args';
import type { Io, Result } from './commands';

const EXIT_OK = 0;
const EXIT_FAILED = 1;

export const dirOption = { name: 'dir', kind: 'string', value: 'folder', help: 'data folder of the cluster (default: the spec\'s dataDir, .ringdb/data)' } as const;
const SPEC_FILE = join('.ringdb', 'cluster.json');

/** --dir, else the dataDir of this folder's spec, else the default one (as the other commands do). */
function dataDir(p: Parsed): string {
  const dir = p.options.get('dir');
  if (typeof dir === 'string') return dir;
  return (existsSync(SPEC_FILE) ? loadClusterSpecFile(SPEC_FILE) : defaultClusterSpec()).dataDir;
}

export const nodeOption = { name: 'node', kind: 'string', value: 'id', help: 'node to send the request to (default: the first node that is up)' } as const;
const crdtDetails = ['The key must be named in the cluster spec\'s "crdt" setting and consistencyMode must be "crdt".'];

export const CONVERGENCE_COMMANDS: CommandSpec[] = [
  {
    name: 'repair', args: ['node?'], summary: 'run Merkle anti-entropy now (on one node, or on every node that is up or suspect)', options: [dirOption],
    details: ['Each node compares its Merkle tree with every peer\'s and exchanges only the keys that differ.'],
  },
  {
    name: 'incr', args: ['key'], summary: 'increment a CRDT counter (gcounter, pncounter)',
    options: [{ name: 'by', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, value: 'n', help: 'amount (default 1)', takesStrayNumber: true }, nodeOption, dirOption],
    details: crdtDetails,
  },
  {
    name: 'decr', args: ['key'], summary: 'decrement a CRDT counter (pncounter)',
    options: [{ name: 'by', kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, value: 'n', help: 'amount (default 1)', takesStrayNumber: true }, nodeOption, dirOption],
    details: crdtDetails,
  },
  { name: 'set', args: ['key', 'value'], summary: 'set a CRDT register (lwwregister, mvregister)', options: [nodeOption, dirOption], details: crdtDetails },
  { name: 'sadd', args: ['key', 'element'], summary: 'add an element to a CRDT set (orset)', options: [nodeOption, dirOption], details: crdtDetails },
  { name: 'srem', args: ['key', 'element'], summary: 'remove an element from a CRDT set (orset)', options: [nodeOption, dirOption], details: crdtDetails },
  {
    name: 'query', args: ['field', 'value'], summary: 'keys whose JSON value has field = value (global or secondary index)', options: [nodeOption, dirOption],
    details: [
      'A field of the cluster spec\'s globalIndexFields is answered by its global index: one partition\'s replicas, every hit checked against the data.',
      'A field of indexFields is answered by every node\'s secondary index. Numbers and booleans match by their JSON text.',
    ],
  },
];

export function isConvergenceCommand(command: string): boolean {
  return CONVERGENCE_COMMANDS.some((c) => c.name === command);
}

/** What to say of a node the controller reports not up, instead of the transport's text about it. */
function notUpAdvice(id: string, state: string): string {
  return `${id} is ${state}; restart it with \`ringdb restart ${id}\``;
}

/** The cluster's nodes that are not up, by id, with their state. */
function nodesNotUp(cluster: ClusterDescription): Map<string, string> {
  return new Map(cluster.nodes.filter((n) => n.state !== 'up').map((n) => [n.id, n.state]));
}

/** `notUp`: nodes the controller reports not up, whose failures say so instead of the transport's text. */
function describeReport(r: RepairReport, notUp: ReadonlyMap<string, string>): string {
  const lines = r.peers.map((p) => {
    const state = notUp.get(p.peer);
    // The transport's text ("Deadline exceeded after 30.000s,name resolution: …") says nothing a person can act on; --json keeps it.
    if (!p.ok && state === 'suspect') {
      return `  ${r.nodeId} <-> ${p.peer}: failed: ${suspectPhrase(p.peer)}; repair again once \`ringdb status\` shows ${p.peer} up, or restart it (\`ringdb restart ${p.peer}\`)`;
    }
    if (!p.ok && state) return `  ${r.nodeId} <-> ${p.peer}: skipped: ${notUpAdvice(p.peer, state)} and repair again`;
    if (!p.ok) return `  ${r.nodeId} <-> ${p.peer}: failed: ${p.error}`;
    if (p.rootsMatched) return `  ${r.nodeId} <-> ${p.peer}: in sync (roots match)`;
    const differing = p.partitions.map((q) => q.partitionId).join(', ');
    return `  ${r.nodeId} <-> ${p.peer}: sent ${p.keysSent}, received ${p.keysReceived} keys; ${p.partitionsDiffering} of ${p.partitionsCompared} partitions differed (${differing}); `
      + `${p.bucketsCompared} buckets compared; ${p.bytesSent + p.bytesReceived} bytes`;
  });
  return [`${r.nodeId}: ${r.peers.length} peer${r.peers.length === 1 ? '' : 's'} in ${r.durationMs} ms`, ...lines].join('\n');
}

/** `id`'s ConvergenceService, once the node has answered a ping: a hung one would hold the call to its 120 s deadline. */
async function convergenceOf(controller: ControllerClient, id: string, what: string): Promise<ConvergenceClient> {
  const node = await controller.nodeClient(id);
  try {
    await refuseHung(controller, node, id, what);
  } finally {
    node.close();
  }
  return new ConvergenceClient(node.target);
}

async function repairOn(controller: ControllerClient, id: string): Promise<RepairReport> {
  const what = `repair on ${id}`;
  const conv = await convergenceOf(controller, id, what);
  try {
    return await toldAs(controller, id, what, () => conv.repair());
  } finally {
    conv.close();
  }
}

async function repair(p: Parsed, io: Pick<Io, 'progress'>): Promise<Result> {
  const controller = ControllerClient.fromDataDir(dataDir(p));
  try {
    const cluster = await controller.describe();
    const wanted = p.args[0];
    // A suspect node is running, only slow to answer the controller: leaving it out left a cluster under load unrepaired.
    const ids = wanted ? [wanted] : cluster.nodes.filter((n) => answersRequests(n.state)).map((n) => n.id);
    if (ids.length === 0) throw new RingDbError('unavailable', 'no node is up or suspect; restart one with `ringdb restart <node>`');
    const reports: RepairReport[] = [];
    // One node that does not answer must not throw away the rounds the others ran.
    const noRound: { nodeId: string; error: string }[] = [];
    for (const [i, id] of ids.entries()) {
      // A round waits for every peer, and a hung one holds it to the deadline: say whose round runs.
      if (ids.length > 1) io.progress(`repairing from ${id} (${i + 1} of ${ids.length}) ...`);
      try {
        reports.push(await repairOn(controller, id));
      } catch (err) {
        if (wanted) throw err;
        noRound.push({ nodeId: id, error: err instanceof Error ? err.message : String(err) });
      }
    }
    const failed = noRound.length > 0 || reports.some((r) => r.peers.some((x) => !x.ok));
    // As the controller sees the nodes now: a peer that hung during the rounds was up when they began.
    const notUp = nodesNotUp(await controller.describe().catch(() => cluster));
    const human = [...reports.map((r) => describeReport(r, notUp)), ...noRound.map((f) => `${f.nodeId}: no round: ${f.error}`)].join('\n');
    return { code: failed ? EXIT_FAILED : EXIT_OK, human, json: { reports, noRound } };
  } finally {
    controller.close();
  }
}

/**
 * The node named by --node, else the first one up among `key`'s replicas (a CRDT op or read on
 * a node that is not one works on that node's own partial state), else the first one up.
 */
async function pickNode(controller: ControllerClient, p: Parsed, key?: string): Promise<string> {
  const wanted = p.options.get('node');
  if (typeof wanted === 'string') return wanted;
  // Up nodes first: a suspect one answers too, but its missed pings say it may be slow.
  const described = (await controller.describe()).nodes;
  const nodes = [...described.filter((n) => n.state === 'up'), ...described.filter((n) => n.state === 'suspect')];
  const replicas = key === undefined ? undefined : (await placementOf(controller, key))?.replicas;
  const up = (replicas && nodes.find((n) => replicas.includes(n.id))) ?? nodes[0];
  if (!up) throw new RingDbError('unavailable', 'no node is up or suspect; restart one with `ringdb restart <node>`');
  return up.id;
}

/** Runs `work` against the ConvergenceService of --node (or a node up, a replica of `key` if given). */
export async function onNode(p: Parsed, work: (conv: ConvergenceClient, nodeId: string, controller: ControllerClient) => Promise<Result>, key?: string): Promise<Result> {
  const controller = ControllerClient.fromDataDir(dataDir(p));
  try {
    const nodeId = await pickNode(controller, p, key);
    const conv = await convergenceOf(controller, nodeId, `${p.command} on ${nodeId}`);
    try {
      return await work(conv, nodeId, controller);
    } finally {
      conv.close();
    }
  } finally {
    controller.close();
  }
}

/** A query's unreachable entries ("n3: UNAVAILABLE: ..."), those of nodes that are not up said as repair says them. */
async function explainUnreachable(controller: ControllerClient, unreachable: readonly string[]): Promise<string[]> {
  const notUp = nodesNotUp(await controller.describe());
  return unreachable.map((u) => {
    const id = /^(n\d+): /.exec(u)?.[1];
    const state = id === undefined ? undefined : notUp.get(id);
    return id !== undefined && state !== undefined ? notUpAdvice(id, state) : u;
  });
}

async function query(p: Parsed): Promise<Result> {
  return onNode(p, async (conv, nodeId, controller) => {
    const [field, value] = p.args;
    const r = await conv.queryIndex(field, value);
    // A row's key is stored composite-encoded (NUL-separated components): shown as its two keys.
    const rows = r.keys.map((k) => tryDecodeCompositeKey(k));
    const keys = r.keys.map(storedKeyText);
    // `keys` stays a list of strings for scripts; the rows among them also come as their two keys,
    // each with its bytes in base64 when it is not UTF-8 (its text would not give them back).
    const rowsJson = rows.flatMap((row) => (row ? [{
      partitionKey: row.partitionKey.toString('utf8'), partitionKeyBase64: base64IfNotUtf8(row.partitionKey),
      clusteringKey: row.clusteringKey?.toString('utf8') ?? null, clusteringKeyBase64: row.clusteringKey ? base64IfNotUtf8(row.clusteringKey) : null,
    }] : []));
    const source = r.kind === 'global'
      ? `(global index: partition ${r.partitionId}, read from ${r.nodes.join(', ')}${r.staleDropped ? `; ${r.staleDropped} stale entries removed` : ''})`
      : `(secondary index: ${r.nodes.join(', ')})`;
    const missing = r.unreachable.length ? `\n(missing: ${(await explainUnreachable(controller, r.unreachable)).join('; ')})` : '';
    return {
      code: EXIT_OK, human: `${keys.length ? keys.join('\n') : '(no keys)'}\n${source}${missing}`,
      json: { field, value, node: nodeId, index: r.kind, keys, rows: rowsJson, nodes: r.nodes, unreachable: r.unreachable, ...(r.kind === 'global' ? { partitionId: r.partitionId, staleDropped: r.staleDropped } : {}) },
    };
  });
}

function crdtResult(key: string, nodeId: string, r: CrdtReading): Result {
  const isCounter = r.type === 'gcounter' || r.type === 'pncounter';
  const elements = r.elements.map((e) => e.toString('utf8')).sort();
  const human = isCounter ? String(r.count) : elements.length ? elements.join('\n') : '(empty)';
  return { code: EXIT_OK, human, json: { key, node: nodeId, type: r.type, ...(isCounter ? { count: r.count } : { elements }) } };
}

const SET_OPS: Record<string, CrdtOperation> = { sadd: 'add', srem: 'remove', set: 'set' };

async function crdtOp(p: Parsed): Promise<Result> {
  const [key, element] = p.args;
  return onNode(p, async (conv, nodeId, controller) => {
    // On a node that is not a replica the op reached the replicas, but the value printed was that
    // node's own copy, which their later updates never reach: a count that stays behind.
    const replicas = (await placementOf(controller, key))?.replicas;
    if (replicas && !replicas.includes(nodeId)) {
      throw new UsageError(`${nodeId} is not a replica of ${JSON.stringify(key)} (replicas ${replicas.join(', ')}): its own copy would not follow the replicas' updates; `
        + `use --node ${replicas[0]}, or leave --node out (a replica is picked)`, p.command);
    }
    const by = p.options.get('by');
    const r = p.command === 'incr' || p.command === 'decr'
      ? await conv.crdtUpdate(key, p.command === 'incr' ? 'increment' : 'decrement', { by: typeof by === 'number' ? by : undefined })
      : await conv.crdtUpdate(key, SET_OPS[p.command], { element });
    return crdtResult(key, nodeId, r);
  }, key);
}

/**
 * `ringdb get` of a key the spec names as a CRDT: its merged value on one node (the stored bytes
 * are the CRDT's encoded state). A node named with --node that is not a replica is said to be one.
 */
export function crdtRead(p: Parsed): Promise<Result> {
  const key = p.args[0];
  return onNode(p, async (conv, nodeId, controller) => {
    const result = crdtResult(key, nodeId, await conv.crdtGet(key));
    const replicas = (await placementOf(controller, key))?.replicas;
    if (!replicas || replicas.includes(nodeId)) return result;
    return { ...result, human: `${result.human}\n(${nodeId} is not a replica of ${JSON.stringify(key)} (replicas ${replicas.join(', ')}): this is only what it holds itself)` };
  }, key);
}

export function runConvergenceCommand(p: Parsed, io: Pick<Io, 'progress'>): Promise<Result> {
  if (p.command === 'repair') return repair(p, io);
  return p.command === 'query' ? query(p) : crdtOp(p);
}
