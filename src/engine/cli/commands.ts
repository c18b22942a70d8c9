// The `ringdb` commands. Each one talks to the cluster only through the client API, returns what
// to print (human text and a JSON value) and its exit code; main.ts does the printing.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ControllerClient, ConvergenceClient, NoClusterError, RingDbError, defaultClusterSpec, findController, launchController, loadClusterSpecFile,
  stopController, validateClusterSpec, type ClusterDescription, type ClusterSpec, type GetResult, type RestartedNode, type SSTableInfo, type StartedCluster, type Version,
} from '../client';
import { MEMBERS_FILE, readMembers } from '../cluster/members-file';
import { readRecordedSpec, recordedSpecSummary, replicationFactorChange } from '../cluster/spec-record';
import { tailLines } from '../cluster/logs';
import { NODE_LOG_FILE } from '../node/config';
import { NODE_ID_PATTERN } from '../spec/types';
import { UsageError, type CommandSpec, type Parsed } from './args';
import { answersRequests, formatFlushed, readValue, formatNotFoundInOwnCopy, formatReadCache, formatStatus, formatWrite, type ReadCacheAnswer } from './format';
import { placementOf, specModes } from './cluster-facts';
import { refuseHung, toldAs } from './no-answer';
import { OWN_COPY_ASK_MS } from './own-copies';
import { clusteringOption, driverData, runTopologyCommand, TOPOLOGY_COMMANDS } from './topology-commands';
import { crdtRead } from './convergence-commands';

export const EXIT = { ok: 0, failed: 1, usage: 2, noCluster: 3 } as const;

export interface Result {
  code: number;
  human: string;
  json: unknown;
  /** A line for stderr in the human output only, about how the result came (the JSON says it in its fields). */
  notice?: string;
}

export interface Io {
  /** Progress lines for long work; they go to stderr so stdout stays parseable. */
  progress(line: string): void;
  /** Lines streamed as they come (logs --follow). */
  line(text: string, json: unknown): void;
  /** Resolves when the user interrupts (Ctrl-C). */
  interrupted: Promise<void>;
}

const DEFAULT_SPEC_FILE = join('.ringdb', 'cluster.json');
const dirOption = { name: 'dir', kind: 'string', value: 'folder', help: 'data folder of the cluster (default: the spec\'s dataDir, .ringdb/data)' } as const;
const nodeOption = { name: 'node', kind: 'string', value: 'id', help: 'node to send the request to (default: a replica of the key, by the partition map)' } as const;

const localOption = { name: 'local', kind: 'flag', help: 'with --node: that node\'s own copy only, without a quorum' } as const;
// The cluster judges --w and --r (1 to its N), so 0 and N+1 get the same words: no range here.
const writeQuorumOption = { name: 'w', kind: 'int', value: 'n', help: 'replicas that must acknowledge this write, 1..N (default: the cluster\'s writeQuorum)' } as const;
const readQuorumOption = { name: 'r', kind: 'int', value: 'n', help: 'replicas that must answer this read, 1..N (default: the cluster\'s readQuorum)' } as const;
const quorumDetails = 'W + R > N makes a read see the newest acknowledged write; --w 1 or --r 1 trades that for availability while replicas are down.';

export const COMMANDS: CommandSpec[] = [
  {
    name: 'start', args: [], summary: 'start a local cluster in the background',
    options: [
      { name: 'nodes', kind: 'int', min: 1, max: 32, value: 'n', help: 'number of nodes (overrides the spec)' },
      dirOption,
      { name: 'spec', kind: 'string', value: 'file', help: 'cluster spec (default: .ringdb/cluster.json if present, else defaults)' },
      { name: 'resume', kind: 'flag', help: 'after a controller that crashed: nodes killed on purpose (`ringdb kill`) stay down, as they were' },
    ],
    details: [
      'The controller keeps running after this command returns; `ringdb stop` ends it and every node.',
      'Without --resume every member starts, also a node killed with `ringdb kill` before the controller ended; the output names such nodes.',
    ],
  },
  { name: 'status', args: [], summary: 'show the cluster\'s nodes and their state', options: [dirOption] },
  { name: 'put', args: ['key', 'value'], summary: 'write a key', options: [clusteringOption, nodeOption, writeQuorumOption, dirOption], details: [quorumDetails] },
  {
    name: 'get', args: ['key'], summary: 'read a key (exit code 1 when it does not exist)', options: [clusteringOption, nodeOption, readQuorumOption, localOption, dirOption],
    details: ['With --local --node n2, n2 answers from its own copy alone (no quorum, no read repair): replicas may differ until replication and repair catch up.', quorumDetails],
  },
  { name: 'delete', args: ['key'], summary: 'delete a key (a tombstone that replicates)', options: [clusteringOption, nodeOption, writeQuorumOption, dirOption], details: [quorumDetails] },
  { name: 'kill', args: ['node'], summary: 'SIGKILL a node: a real crash, for fault injection', options: [dirOption] },
  { name: 'restart', args: ['node'], summary: 'start a killed or stopped node again (same data and port)', options: [dirOption] },
  {
    name: 'logs', args: ['node'], summary: 'print a node\'s log (from its file when no cluster runs)',
    options: [
      { name: 'lines', kind: 'int', min: 1, max: 10_000, value: 'n', help: 'last lines to print (default 100)' },
      { name: 'follow', kind: 'flag', help: 'keep printing new lines until interrupted' },
      dirOption,
    ],
  },
  { name: 'add-node', args: [], summary: 'start one more node and add it to the cluster', options: [dirOption] },
  {
    name: 'remove-node', args: ['node'], summary: 'hand a node\'s data over to the others, then stop and remove it',
    options: [{ name: 'dead', kind: 'flag', help: 'the node is down for good: rebuild its partitions from their other replicas (writes only it held are lost)' }, dirOption],
    details: [
      'The node must be up, so that its data can be handed over; its folder is kept as <id>.removed-<time>.',
      'With --dead (a failed machine, as Cassandra\'s removenode): the node must be down; the nodes that take its partitions copy them from the other replicas.',
    ],
  },
  { name: 'flush', args: ['node'], summary: 'write a node\'s memtable out as a new L0 SSTable (no compaction)', options: [dirOption] },
  { name: 'compact', args: ['node'], summary: 'flush a node\'s memtable and compact its SSTables', options: [dirOption] },
  ...TOPOLOGY_COMMANDS,
  { name: 'stop', args: [], summary: 'stop every node and the controller', options: [dirOption] },
];

function str(p: Parsed, name: string): string | undefined {
  const v = p.options.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** The spec of this folder: --spec, else .ringdb/cluster.json when present, else the defaults. */
function loadSpec(p: Parsed): ClusterSpec {
  return withNodes(p, specFile(p));
}

function specFile(p: Parsed): string | undefined {
  return str(p, 'spec') ?? (existsSync(DEFAULT_SPEC_FILE) ? DEFAULT_SPEC_FILE : undefined);
}

/** The spec's file (or the defaults), with --nodes applied. */
function withNodes(p: Parsed, file: string | undefined): ClusterSpec {
  const spec = file ? loadClusterSpecFile(file) : defaultClusterSpec();
  const nodes = p.options.get('nodes');
  // Re-validated so that --nodes is held to the same rules as the spec (quorums, topology).
  return typeof nodes === 'number' ? validateClusterSpec({ ...spec, nodes, ...quorumsFor(spec, nodes, file !== undefined) }) : spec;
}

/**
 * The spec `dir` last started with. A damaged record stops a start that would use it, saying how
 * to go on; a start with a spec of its own only reads it for the note on a changed N, and goes on.
 */
function recordedSpec(dir: string, specGiven: boolean): ClusterSpec | undefined {
  try {
    return readRecordedSpec(resolve(dir));
  } catch (err) {
    if (specGiven) return undefined;
    throw new RingDbError('failed-precondition', `${(err as Error).message}. It records the spec this folder last started with: `
      + 'restore it, or start with a spec of your own (--spec, or .ringdb/cluster.json), which replaces it');
  }
}

/** With --nodes below the spec's N, default quorums shrink with it as they would in a fresh spec. */
function quorumsFor(spec: ClusterSpec, nodes: number, fromFile: boolean): Partial<ClusterSpec> {
  if (fromFile && spec.replicationFactor <= nodes) return {};
  const n = Math.min(spec.replicationFactor, nodes);
  return { replicationFactor: n, writeQuorum: Math.min(spec.writeQuorum, n), readQuorum: Math.min(spec.readQuorum, n) };
}

function dataDir(p: Parsed): string {
  return str(p, 'dir') ?? loadSpec(p).dataDir;
}

function connect(p: Parsed): ControllerClient {
  return ControllerClient.fromDataDir(dataDir(p));
}

async function withController<T>(p: Parsed, run: (c: ControllerClient) => Promise<T>): Promise<T> {
  const c = connect(p);
  try {
    return await run(c);
  } finally {
    c.close();
  }
}

const versionJson = (v: Version | undefined): unknown => v ?? null;

/**
 * A start on a folder whose cluster runs changes nothing. A node that is down there is what a
 * person usually wanted started, and `ringdb restart` does that without stopping the others; after
 * --resume, whose way back is already done, "stop it" was the wrong next step.
 */
function alreadyRunning(dir: string, state: ClusterDescription, resume: boolean): string {
  const down = state.nodes.filter((n) => n.state === 'down' || n.state === 'stopped').map((n) => n.id);
  const head = `a cluster is already running in ${dir} (controller pid ${state.controllerPid})${resume ? ', so there is nothing to resume' : ''}`;
  const restart = down.length ? `; ${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} not up: \`ringdb restart ${down[0]}\` starts ${down.length === 1 ? 'it' : 'one'}` : '';
  const stop = resume ? '; `ringdb status` shows its nodes' : '; to start it afresh, stop it first with `ringdb stop`';
  return `${head}${restart}${stop}`;
}

async function start(p: Parsed, io: Io): Promise<Result> {
  const file = specFile(p);
  const given = withNodes(p, file);
  const dir = str(p, 'dir') ?? given.dataDir;
  const resume = p.options.get('resume') === true;
  // A controller left serving this folder without a running cluster (e.g. after a failed start) is reused.
  let client: ControllerClient | undefined;
  try {
    client = ControllerClient.fromDataDir(dir);
  } catch (err) {
    if (!(err instanceof NoClusterError)) throw err;
  }
  if (client) {
    const state = await client.describe();
    if (state.phase === 'running' || state.phase === 'starting') {
      client.close();
      return { code: EXIT.failed, human: alreadyRunning(dir, state, resume), json: { error: 'already-running', cluster: state } };
    }
  }
  // Without a spec of its own, a folder starts again as it last ran, not with the defaults; its
  // members decide its size, so --nodes changes nothing there (it would only shrink N and W).
  const recorded = recordedSpec(dir, file !== undefined);
  const spec = !file && recorded ? recorded : given;
  if (!file && recorded) io.progress(`using the spec ${dir} last started with (${recordedSpecSummary(recorded)}); --spec to start it with another`);
  const changedN = file && recorded ? replicationFactorChange(recorded, spec) : undefined;
  // The validator makes every node a replica under a ring, star or map (forwarding needs it): say so, the default N is 3.
  const topologyN = spec.topology !== null && spec.topology !== 'mesh'
    ? `topology ${typeof spec.topology === 'string' ? `"${spec.topology}"` : 'map'}: every node holds every key, so replicationFactor is ${spec.replicationFactor} (the node count)`
    : undefined;
  let launched: Awaited<ReturnType<typeof launchController>> | undefined;
  if (!client) {
    io.progress(`starting the controller for ${dir} ...`);
    launched = await launchController({ dataDir: dir, detached: true });
    client = launched.client;
  }
  // A folder that has run a cluster starts the members it recorded, whatever the spec's count.
  io.progress(existsSync(join(dir, MEMBERS_FILE)) ? 'starting the nodes this folder holds ...' : `starting ${spec.nodes} node${spec.nodes === 1 ? '' : 's'} ...`);
  let cluster: StartedCluster;
  try {
    cluster = await client.startCluster(spec, { resume });
  } catch (err) {
    await launched?.stop(5000);
    throw err;
  } finally {
    client.close();
  }
  // The folder's recorded members came back; --nodes / the spec's count is for a new folder.
  // A count the person gave (--nodes, a spec file) that the folder's members override is said so; the recorded spec's is not theirs.
  const nodesOption = p.options.get('nodes');
  const asked = typeof nodesOption === 'number' ? nodesOption : file || !recorded ? spec.nodes : undefined;
  const resumed = asked === undefined || cluster.nodes.length === asked ? ''
    : ` (the members this folder holds; ${asked} node${asked === 1 ? '' : 's'} is the size of a new cluster: grow this one with \`ringdb add-node\`, or use another --dir)`;
  const notes = [changedN, topologyN, cluster.note || undefined].filter((n) => n !== undefined).map((n) => `\nnote: ${n}`).join('');
  // A resume leaves the nodes killed on purpose down (the note names them): they were not started.
  const kept = cluster.nodes.filter((n) => n.downOnPurpose).length;
  const count = kept ? `${cluster.nodes.length - kept} of ${cluster.nodes.length} nodes` : `${cluster.nodes.length} node${cluster.nodes.length === 1 ? '' : 's'}`;
  return { code: EXIT.ok, human: `started ${count} in ${dir}${resumed}${notes}\n${formatStatus(cluster)}`, json: cluster };
}

async function stop(p: Parsed, io: Io): Promise<Result> {
  const dir = resolve(dataDir(p));
  findController(dir); // no cluster there: say so before the progress line
  io.progress('stopping every node ...');
  const { stopped, notRunning, controllerPid } = await stopController(dir);
  const already = notRunning.length ? `; ${notRunning.join(', ')} ${notRunning.length === 1 ? 'was' : 'were'} not running` : '';
  return { code: EXIT.ok, human: `stopped ${stopped.length ? stopped.join(', ') : 'no running nodes'} and the controller${already}`, json: { stopped, notRunning, controllerPid } };
}

/** Whether the running cluster's spec names `key` as a CRDT (consistencyMode "crdt"). */
async function isCrdtKey(c: ControllerClient, key: string): Promise<boolean> {
  return specModes(await c.describe()).crdtTypeOf(key) !== undefined;
}

/**
 * A vector-mode key with siblings has no one value to get: the engine says so generically; the
 * person is told which key, and the commands that show its siblings (with --local, that node's own).
 */
function siblingsRefusal(p: Parsed, err: unknown): unknown {
  const count = err instanceof RingDbError && err.code === 'failed-precondition' ? /^key has (\d+) siblings \(concurrent writes/.exec(err.message)?.[1] : undefined;
  if (p.command !== 'get' || count === undefined) return err;
  const key = p.args[0];
  const node = str(p, 'node');
  const own = p.options.get('local') === true && node ? `; \`ringdb siblings ${key} --node ${node} --local\` shows ${node}'s own` : '';
  return new RingDbError('failed-precondition', `${JSON.stringify(key)} has ${count} siblings (concurrent writes, consistencyMode "vector"), so no one value: `
    + `\`ringdb siblings ${key}\` reads them all, with the context that resolves them (\`ringdb vput ${key} <value> --context <token>\`)${own}`);
}

async function data(p: Parsed): Promise<Result> {
  return withController(p, async (c) => {
    const result = await dataOp(p, c).catch((err: unknown) => {
      throw siblingsRefusal(p, err);
    });
    if (p.command === 'get' || result.code !== EXIT.ok || str(p, 'clustering') !== undefined) return result;
    // A put or delete without context in vector mode is one more sibling, not the end of the others.
    if (specModes(await c.describe()).consistencyMode !== 'vector') return result;
    const key = p.args[0];
    const note = p.command === 'delete'
      ? `without a context this adds a tombstone beside the key's other siblings; \`ringdb siblings ${key}\` shows them, \`ringdb vput ${key} --delete --context <token>\` replaces them`
      : `without a context this adds a sibling beside any the key has (concurrent writes are all kept); \`ringdb siblings ${key}\` shows them, \`ringdb vput ${key} <value> --context <token>\` replaces them`;
    return { ...result, human: `${result.human}\n(consistencyMode "vector": ${note})` };
  });
}

async function dataOp(p: Parsed, c: ControllerClient): Promise<Result> {
  if (p.options.get('local') === true) return ownCopy(p, c);
  // A CRDT key's stored value is its encoded state: `get` prints the merged value instead.
  if (p.command === 'get' && str(p, 'clustering') === undefined && (await isCrdtKey(c, p.args[0]))) {
    // One node's merged state is the answer; an R would be silently ignored.
    if (p.options.has('r')) throw new UsageError(`--r does not apply to ${JSON.stringify(p.args[0])}, a CRDT key: \`ringdb get ${p.args[0]}\` prints one node's merged value (replicas converge by merging, not by a read quorum)`, p.command);
    return crdtRead(p);
  }
  // Without --node the topology-aware driver picks a replica; reads, rows (--clustering) and a W
  // of this request's own always go through it (with --node as the node to send to): a read sent
  // to a node that hangs is then asked of another beside it after 500 ms (the hedge of a driver
  // that has timed no Gets yet),
  // where sent straight to the node it waited out the 10 s deadline and failed.
  const via = str(p, 'node');
  if (via === undefined || p.command === 'get' || str(p, 'clustering') !== undefined || p.options.has('w')) {
    return driverData(p, c);
  }
  const nodeId = via;
  const node = await c.nodeClient(nodeId);
  try {
    const key = p.args[0];
    const w = p.command === 'put' ? await node.putAcked(key, p.args[1]) : await node.deleteAcked(key);
    const human = formatWrite(p.command === 'put' ? 'OK' : `deleted ${JSON.stringify(key)}`, w);
    return { code: EXIT.ok, human, json: { key, node: nodeId, version: w.version, replicas: w.replicas, hinted: w.hinted } };
  } finally {
    node.close();
  }
}

/** `get --local`'s answer: one node's own copy of `key`, found or not. */
function ownCopyResult(key: string, nodeId: string, r: GetResult): Result {
  const { human, value, valueBase64 } = readValue(r.found, r.value);
  const json = { key, node: nodeId, replicas: r.replicas, found: r.found, deleted: r.deleted, value, valueBase64, version: versionJson(r.version), ownCopy: true };
  if (!r.found) return { code: EXIT.failed, human: formatNotFoundInOwnCopy(JSON.stringify(key), nodeId, r), json };
  return { code: EXIT.ok, human, json };
}

/** `get --local`: one node's own copy, to see how replicas differ before they converge. */
async function ownCopy(p: Parsed, c: ControllerClient): Promise<Result> {
  const key = p.args[0];
  const nodeId = str(p, 'node');
  if (nodeId === undefined) throw new UsageError('--local reads one node\'s own copy: name the node with --node <id>', p.command);
  if (str(p, 'clustering') !== undefined) throw new UsageError('--local reads a plain key; a row (--clustering) is read through its partition\'s replicas', p.command);
  if (p.options.has('r')) throw new UsageError(`--local reads one node's own copy, without a quorum, so it takes no --r; drop --local to read with R=${String(p.options.get('r'))}`, p.command);
  if (await isCrdtKey(c, key)) {
    throw new UsageError(`--local reads plain keys; ${JSON.stringify(key)} is a CRDT key: \`ringdb get ${key} --node ${str(p, 'node')}\` prints that node's merged value`, p.command);
  }
  const placed = await placementOf(c, key);
  if (placed?.saltBuckets) {
    throw new UsageError(`--local reads a plain key's own copy; ${JSON.stringify(key)} is salted over ${placed.saltBuckets} buckets, whose values live under its variants: \`ringdb get ${key}\` reads them`, p.command);
  }
  const node = await c.nodeClient(nodeId);
  try {
    const own = ownCopyResult(key, nodeId, await toldAs(c, nodeId, `get --local on ${nodeId}`, () => node.getOwnCopy(key, { timeoutMs: OWN_COPY_ASK_MS })));
    const replica = !placed || placed.replicas.includes(nodeId);
    const result = { ...own, json: { ...(own.json as object), replica } };
    if (!placed || replica) return result;
    // Not a replica: what it holds is a hint for a replica that was down, or nothing it will ever converge on.
    const outside = `${nodeId} is not a replica of ${JSON.stringify(key)} (replicas ${placed.replicas.join(', ')})`;
    return result.code === EXIT.ok
      ? { ...result, human: `${result.human}\n(${outside}: this is a hint it holds for a replica that was down)` }
      : { ...result, human: `${JSON.stringify(key)} not in ${nodeId}'s own copy: ${outside}` };
  } finally {
    node.close();
  }
}

async function nodeOp(p: Parsed, io: Io): Promise<Result> {
  return withController(p, async (c) => {
    const id = p.args[0];
    let node: RestartedNode;
    if (p.command === 'kill') node = await c.killNode(id);
    else {
      await c.member(id); // an unknown id fails before the progress line, not after it
      io.progress(`restarting ${id} ...`);
      node = await c.restartNode(id);
    }
    const human = p.command === 'kill' ? `killed ${id} (it is now ${node.state})` : `restarted ${id}: ${node.state} on ${node.address} (pid ${node.pid})`;
    // The node runs: exit 0, with what did not follow the restart said beside it.
    return { code: EXIT.ok, human: node.warning ? `${human}\nwarning: ${node.warning}` : human, json: node };
  });
}

/**
 * A node's log read from its file: after `ringdb stop`, or a controller that died, is when a log is
 * most wanted, and no controller is there to serve it. Undefined when the file is not there.
 */
function logFromDisk(p: Parsed, io: Io): Result | undefined {
  const id = p.args[0];
  const file = join(dataDir(p), id, NODE_LOG_FILE);
  if (!NODE_ID_PATTERN.test(id) || !existsSync(file)) {
    // A stopped cluster's folder names its nodes: an id it does not hold is bad input, not "no cluster".
    const members = readMembers(resolve(dataDir(p)));
    if (members && !members.includes(id)) {
      throw new RingDbError('invalid-argument', `no node ${JSON.stringify(id)} in ${dataDir(p)} (no cluster is running there); its nodes are ${members.join(', ')}`);
    }
    return undefined;
  }
  const tail = p.options.get('lines');
  const lines = tailLines(file, typeof tail === 'number' ? tail : 100);
  io.progress(`no cluster is running in ${dataDir(p)}; ${id}'s log as its file holds it (${file})${p.options.get('follow') === true ? ', so there is nothing to follow' : ''}`);
  for (const line of lines) io.line(line, { node: id, line });
  return { code: EXIT.ok, human: '', json: { node: id, lines: lines.length, file } };
}

async function logs(p: Parsed, io: Io): Promise<Result> {
  try {
    return await followLogs(p, io);
  } catch (err) {
    const fromDisk = err instanceof NoClusterError ? logFromDisk(p, io) : undefined;
    if (fromDisk) return fromDisk;
    throw err;
  }
}

async function followLogs(p: Parsed, io: Io): Promise<Result> {
  return withController(p, async (c) => {
    const tail = p.options.get('lines');
    const lines = c.followNodeLogs(p.args[0], typeof tail === 'number' ? tail : 100, p.options.get('follow') === true);
    void io.interrupted.then(() => lines.close());
    let count = 0;
    for await (const line of lines) {
      io.line(line, { node: p.args[0], line });
      count++;
    }
    return { code: EXIT.ok, human: '', json: { node: p.args[0], lines: count } };
  });
}

async function maintenance(p: Parsed, io: Io): Promise<Result> {
  return withController(p, async (c) => {
    if (p.command === 'add-node') {
      io.progress('starting a new node ...');
      const { node, moves } = await c.addNodeWithMoves();
      const took = `took ${moves.movedPartitions} partitions, ${moves.entries} entries copied`;
      return { code: EXIT.ok, human: `added ${node.id}: ${node.state} on ${node.address} (pid ${node.pid}); ${took}`, json: node };
    }
    const id = p.args[0];
    if (p.command === 'remove-node') {
      await c.member(id); // an unknown id fails before the progress line, not after it
      const dead = p.options.get('dead') === true;
      io.progress(dead ? `rebuilding ${id}'s partitions from their other replicas and removing it ...` : `handing ${id}'s data over and removing it ...`);
      const r = await c.removeNode(id, { dead });
      const moved = r.moves ? `${r.moves.movedPartitions} partitions moved, ${r.moves.entries} entries copied` : `${r.handedOverOps} entries copied`;
      return { code: EXIT.ok, human: `removed ${r.nodeId} (${moved} to the nodes that took over${dead ? ', from the other replicas' : ''})`, json: r };
    }
    // Asked of the node itself (the controller's last report may be a second old); an unknown id is refused naming the members.
    const node = await c.nodeClient(id);
    const what = `${p.command} ${id}`;
    let before: SSTableInfo[];
    try {
      await refuseHung(c, node, id, what);
      before = await toldAs(c, id, what, () => node.listSSTables());
    } finally {
      node.close();
    }
    // The flush names the tables it wrote: a diff of the tables would count a compaction that ended meanwhile.
    const { written, ...s } = await toldAs(c, id, what, async () => (p.command === 'flush' ? c.flushNode(id) : { ...await c.compactNode(id), written: undefined }));
    const levels = [...new Set(s.sstables.map((t) => t.level))].sort((a, b) => a - b)
      .map((l) => `L${l}: ${s.sstables.filter((t) => t.level === l).length}`).join(', ');
    const tables = `${before.length} -> ${s.sstables.length} SSTables${levels ? ` (${levels})` : ''}`;
    const human = written === undefined ? `compacted ${id}: ${tables}`
      : written.length === 0 ? `flushed ${id}: the memtable was empty, nothing written; ${tables}`
        : `flushed ${id}: ${formatFlushed(written, s.sstables)} written; ${tables}`;
    return { code: EXIT.ok, human, json: { node: id, snapshot: s, ...(written ? { written: written.map((t) => t.file) } : {}) } };
  });
}

/** How long status waits for a node's counters: a new process's first call also opens the channel. */
const READ_CACHE_ASK_MS = 3_000;

/** Each running node's read-cache counters (up or suspect), when the spec turns the cache on (a node that does not answer at once says so). */
async function readCacheOf(c: ControllerClient, cluster: ClusterDescription): Promise<Record<string, ReadCacheAnswer> | undefined> {
  if (specModes(cluster).cacheSize <= 0) return undefined;
  const out: Record<string, ReadCacheAnswer> = {};
  await Promise.all(cluster.nodes.filter((n) => answersRequests(n.state)).map(async (n) => {
    const node = await c.nodeClient(n.id);
    node.close();
    const conv = new ConvergenceClient(node.target);
    try {
      const s = await conv.stats({ timeoutMs: READ_CACHE_ASK_MS });
      out[n.id] = { hits: s.cacheHits, misses: s.cacheMisses, entries: s.cacheEntries };
    } catch (err) {
      // Status must not wait on a hung node; it says which node stayed silent, and why, not "no node".
      out[n.id] = { unanswered: `no counters: ${err instanceof Error ? err.message : String(err)} (a busy or hung node; \`ringdb status\` asks again)` };
    } finally {
      conv.close();
    }
  }));
  return out;
}

export async function runCommand(p: Parsed, io: Io): Promise<Result> {
  switch (p.command) {
    case 'start': return start(p, io);
    case 'stop': return stop(p, io);
    case 'status': return withController(p, async (c) => {
      const cluster = await c.describe();
      const readCache = await readCacheOf(c, cluster);
      return {
        code: EXIT.ok,
        human: `${formatStatus(cluster)}${readCache ? `\n${formatReadCache(specModes(cluster).cacheSize, readCache)}` : ''}`,
        json: readCache ? { ...cluster, readCache } : cluster,
      };
    });
    case 'put': case 'get': case 'delete': return data(p);
    case 'kill': case 'restart': return nodeOp(p, io);
    case 'logs': return logs(p, io);
    case 'add-node': case 'remove-node': case 'flush': case 'compact': return maintenance(p, io);
    default:
      if (TOPOLOGY_COMMANDS.some((t) => t.name === p.command)) return withController(p, (c) => runTopologyCommand(p, c));
      throw new UsageError(`unknown command ${JSON.stringify(p.command)}`);
  }
}
