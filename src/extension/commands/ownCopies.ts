// What each node holds of a key in its own copy, for Get and Where Is Key: no quorum and no read
// repair (a quorum read coordinated by each node would show every node holding what any R hold,
// and repair what it looks at), every node of the cluster in a row, the ones that could not be
// asked saying why. A CRDT key's stored bytes are its state, so Get shows each node's merged
// value instead.
import { engineClient, loadedEngineClient, type Version } from '../engineClient';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import type { ClusterModel } from '../model/clusterModel';
import { clip, code, codeBlock, literal } from './markdown';
import { explain } from './run';
import { formatBytes } from '../common/format';

/** A hung node is shown as one after this, not waited for with the client's 10 s. */
const ASK_MS = 3_000;

export interface ReplicaAnswer {
  node: string;
  /** The node's state when it was not asked (down, starting, …); undefined when it was. */
  notAsked: string | undefined;
  found: boolean;
  deleted: boolean;
  version: Version | undefined;
  value: string | undefined;
  error: string | undefined;
  /** Vector mode: the node holds concurrent versions (siblings), so there is no one value. */
  siblings: boolean;
}

export interface GetSummary {
  key: string;
  found: boolean;
  value: string | undefined;
  /** The newest version among the answers (LWW: timestamp, then origin). */
  version: Version | undefined;
  replicas: ReplicaAnswer[];
  /** The key's replicas by the partition map, owner first; undefined without a map. */
  placement: string[] | undefined;
  /**
   * A key marked hot: its writes go to `buckets` salted variants in other partitions, so no
   * node's own copy of the plain key is its value; `via` read it, merging the variants.
   */
  salted?: { buckets: number; via: string };
  /** Each row's verdict, as \`ringdb where\` judges: ✓ newest, ✓ newest heard (a replica gave no answer), stale, missing, not a replica, or ''. */
  verdicts: string[];
}

const answered = (r: ReplicaAnswer): boolean => r.notAsked === undefined && r.error === undefined && !r.siblings;

/** Every node of the cluster: the ones up (or suspect) answer from their own copy, the others say why not. */
export async function askOwnCopies(session: ClusterSession, model: ClusterModel, k: string): Promise<ReplicaAnswer[]> {
  const nodes = model.snapshot.nodes;
  const askable = (status: string): boolean => status === 'up' || status === 'suspect';
  if (!nodes.some((n) => askable(n.status))) throw new UserError('No node is up to read from.', 'Restart a node or start the cluster.');
  const vector = model.snapshot.spec?.consistencyMode === 'vector';
  const none = { found: false, deleted: false, version: undefined, value: undefined, error: undefined, siblings: false };
  return Promise.all(nodes.map(async (n): Promise<ReplicaAnswer> => {
    if (!askable(n.status)) return { ...none, node: n.id, notAsked: n.status };
    try {
      const r = await (await session.nodeClient(n.id)).getOwnCopy(k, { timeoutMs: ASK_MS });
      return { ...none, node: n.id, notAsked: undefined, found: r.found, deleted: r.deleted, version: r.version, value: r.found ? r.value.toString('utf8') : undefined };
    } catch (err) {
      // Vector mode refuses a one-value read of a key with siblings; that is an answer, not a failure.
      const siblings = vector && err instanceof (loadedEngineClient()?.RingDbError ?? Error) && (err as { code?: string }).code === 'failed-precondition';
      return { ...none, node: n.id, notAsked: undefined, error: siblings ? undefined : explain(err).message, siblings };
    }
  }));
}

export async function summarize(key: string, replicas: ReplicaAnswer[], placement: string[] | undefined): Promise<GetSummary> {
  const { copyVerdicts } = await engineClient();
  const silent = replicas.some((r) => (!placement || placement.includes(r.node)) && !answered(r) && !r.siblings);
  const { newest, verdicts } = copyVerdicts(replicas.map(asCopy), !silent);
  const best = newest && replicas.find((r) => answered(r) && r.version?.opId === newest.opId && r.version.ts === newest.ts);
  const verdict = (r: ReplicaAnswer, i: number): string => {
    const v = verdicts[i];
    if (v === 'newest' || v === 'newest heard') return `✓ ${v}`;
    if (answered(r) && placement && !placement.includes(r.node)) return 'not a replica';
    return v;
  };
  return { key, found: !!best?.found, value: best?.found ? best.value : undefined, version: best?.version, replicas, placement, verdicts: replicas.map(verdict) };
}

const asCopy = (r: ReplicaAnswer) => ({ answered: answered(r), version: r.version });

/** The key's replicas (all nodes without a map) that gave no answer, with why. */
function unheard(s: GetSummary): ReplicaAnswer[] {
  return s.replicas.filter((r) => (!s.placement || s.placement.includes(r.node)) && !answered(r) && !r.siblings);
}

function holds(r: ReplicaAnswer): string {
  if (r.notAsked) return `(${r.notAsked}, not asked)`;
  if (r.error) return `error: ${escapeCell(r.error)}`;
  if (r.siblings) return 'siblings';
  return r.found ? 'value' : r.deleted ? 'tombstone' : 'nothing';
}

/** The table of every node's own copy, newest / stale / missing / not a replica. */
export function renderCopies(s: GetSummary): string[] {
  const rows = s.replicas.map((r, i) => `| ${r.node} | ${holds(r)} | ${r.version?.opId || '—'} | ${r.version?.ts ?? '—'} | ${s.verdicts[i] ?? ''} |`);
  return ['## Each node\'s own copy', '', '| node | holds | version | timestamp | verdict |', '| --- | --- | --- | --- | --- |', ...rows];
}

/** A salted key's value as a node's coordinated read gives it: the newest of its variants. */
export async function readSalted(session: ClusterSession, k: string, buckets: number, via: string, placement: string[]): Promise<GetSummary> {
  const r = await (await session.nodeClient(via)).get(k);
  return { key: k, found: r.found, value: r.found ? r.value.toString('utf8') : undefined, version: r.version, replicas: [], placement, salted: { buckets, via }, verdicts: [] };
}

/** Why a salted key shows no per-node table: its value is spread over variants. */
export function saltedNote(k: string, buckets: number): string {
  return `${code(k)} is marked hot: salted over ${buckets} buckets, its writes go to ${buckets} variant keys in other partitions, `
    + 'and a read merges them (newest wins). No node\'s own copy of the plain key is its value, so no per-node copies are shown; '
    + `${code(`ringdb where ${k}`)} in a terminal lists the variants and their partitions.`;
}

export function renderGet(s: GetSummary): string {
  if (s.salted) {
    const head = s.found
      ? [codeBlock(s.value ?? ''), '', `- version: **${s.version?.opId || '—'}** (origin ${s.version?.origin}, timestamp ${s.version?.ts})`, `- read through ${s.salted.via}`]
      : [s.version ? `Deleted (tombstone, timestamp ${s.version.ts}; read through ${s.salted.via}).` : `Not found (read through ${s.salted.via}).`];
    return [`# ${code(s.key)}`, '', ...head, '', saltedNote(s.key, s.salted.buckets)].join('\n');
  }
  const missing = unheard(s);
  const unheardNote = missing.length
    ? [`Not heard from: ${missing.map((r) => `${r.node} (${r.notAsked ?? 'error'})`).join(', ')}; a newer version may be there.`]
    : [];
  const withSiblings = s.replicas.filter((r) => r.siblings).map((r) => r.node);
  let head: string[];
  if (withSiblings.length) {
    head = [`${code(s.key)} has concurrent versions (siblings) on ${withSiblings.join(', ')}: consistencyMode "vector" keeps each until a write that saw them resolves them.`,
      '', `Read them all with ${code(`ringdb siblings ${s.key}`)} in a terminal.`];
  } else if (s.found) {
    head = [codeBlock(s.value ?? ''), '', `- version: **${s.version?.opId}** (origin ${s.version?.origin})`,
      `- Lamport timestamp: ${s.version?.ts}`, `- size: ${formatBytes(Buffer.byteLength(s.value ?? '', 'utf8'))}`];
  } else if (s.version) {
    head = [`Deleted (tombstone **${s.version.opId}**, timestamp ${s.version.ts}).`];
  } else if (s.placement && s.placement.every((id) => missing.some((r) => r.node === id))) {
    head = [`None of the key's replicas (${s.placement.join(', ')}) answered, so whether it exists is not known here.`];
  } else {
    head = ['Not found on any node that answered.'];
  }
  return [`# ${code(s.key)}`, '', ...head, ...(unheardNote.length ? ['', ...unheardNote] : []), '', ...renderCopies(s)].join('\n');
}

/** The CRDT type of `k` when the running cluster's spec names it (consistencyMode "crdt"). */
export function crdtTypeOf(model: ClusterModel, k: string): string | undefined {
  const spec = model.snapshot.spec;
  if (spec?.consistencyMode !== 'crdt') return undefined;
  const types = spec.crdt;
  const type = types && typeof types === 'object' ? (types as Record<string, unknown>)[k] : undefined;
  return typeof type === 'string' ? type : undefined;
}

export interface CrdtAnswer {
  node: string;
  value: string | undefined;
  error: string | undefined;
}

/** Each node's merged value of a CRDT key (a counter's count, a set's or register's elements). */
export async function readCrdt(session: ClusterSession, model: ClusterModel, k: string, type: string): Promise<CrdtAnswer[]> {
  const { ConvergenceClient } = await engineClient();
  const up = model.snapshot.nodes.filter((n) => n.status === 'up' || n.status === 'suspect');
  if (!up.length) throw new UserError('No node is up to read from.', 'Restart a node or start the cluster.');
  return Promise.all(up.map(async (n): Promise<CrdtAnswer> => {
    const conv = new ConvergenceClient((await session.nodeClient(n.id)).target);
    try {
      const r = await conv.crdtGet(k, { timeoutMs: ASK_MS });
      const elements = r.elements.map((e) => e.toString('utf8'));
      const value = type.endsWith('counter') ? String(r.count) : type === 'orset' ? `{${elements.join(', ')}}` : elements.join(' | ') || '(unset)';
      return { node: n.id, value, error: undefined };
    } catch (err) {
      return { node: n.id, value: undefined, error: explain(err).message };
    } finally {
      conv.close();
    }
  }));
}

export function renderCrdt(k: string, type: string, answers: readonly CrdtAnswer[]): string {
  const rows = answers.map((a) => `| ${a.node} | ${a.error ? `error: ${escapeCell(a.error)}` : code(clip(a.value ?? ''), true)} |`);
  return [`# ${code(k)} (${type})`, '', 'A CRDT: each node merges what it has heard; the values agree once the nodes have exchanged their states.', '',
    '| node | merged value |', '| --- | --- |', ...rows].join('\n');
}

/** A message or value as literal text in a table cell, clipped. */
export function escapeCell(text: string): string {
  return literal(clip(text));
}
