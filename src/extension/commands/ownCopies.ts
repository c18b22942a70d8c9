// What each node holds of a key in its own copy, for Get and Where Is Key: no quorum and no read
// repair (a quorum read coordinated by each node would show every node holding what any R hold,
// and repair what it looks at), every node of the cluster in a row, the ones that could not be
// asked saying why. A CRDT key's stored bytes are its state, so Get shows each node's merged
// value instead.
import { engineClient, loadedEngineClient, type Version } from '../engineClient';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import type { ClusterModel } from '../model/clusterModel';
import { answersRequests, HUNG_WORDS } from '../model/types';
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
  /** The node was asked and let the deadline pass (the error says how it is listed since). */
  unanswered?: boolean;
  /** Vector mode: the node holds concurrent versions (siblings), so there is no one value. */
  siblings: boolean;
  /** Vector mode, when `siblings`: each of them as the node holds it (a direct read, no quorum). */
  siblingSet?: SiblingCopy[];
}

/** One concurrent version a node holds: its value (null: a tombstone), its clock and the event that made it. */
export interface SiblingCopy {
  value: string | null;
  clock: Record<string, number>;
  dot: string;
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
  salted?: { buckets: number; via: string; answeredBy: string[] };
  /** Each row's verdict, as \`ringdb where\` judges: ✓ newest, ✓ newest heard (a replica gave no answer), stale, missing, not a replica, or ''. */
  verdicts: string[];
  /** Hints of the key that nodes keep for replicas that were down (sloppy quorum), until handoff: newest first. */
  hints: HintGroup[];
  /** The cluster's R: with fewer replicas answering, a quorum read (\`ringdb get\`) fails. */
  readQuorum?: number;
  /** The window's read level when it is not the cluster's own ("ALL"), which set readQuorum. */
  readLevel?: string;
}

/** A hint of one key: `holder` keeps the write for `target`, a replica that was down. */
export interface KeyHint {
  holder: string;
  target: string;
  version: Version | undefined;
  deleted: boolean;
}

/**
 * A key's hints one node keeps for one replica: a hint is kept per write, so a key written many
 * times while its replica was down has many; the newest is what the replica ends up with.
 */
export interface HintGroup {
  newest: KeyHint;
  count: number;
}

const answered = (r: ReplicaAnswer): boolean => r.notAsked === undefined && r.error === undefined && !r.siblings;

/** Every node of the cluster: the ones up (or suspect) answer from their own copy, the others say why not. */
export async function askOwnCopies(session: ClusterSession, model: ClusterModel, k: string): Promise<ReplicaAnswer[]> {
  const nodes = model.snapshot.nodes;
  if (!nodes.some((n) => answersRequests(n.status))) throw new UserError('No node is up to read from.', 'Restart a node or start the cluster.');
  const vector = model.snapshot.spec?.consistencyMode === 'vector';
  const none = { found: false, deleted: false, version: undefined, value: undefined, error: undefined, siblings: false };
  return Promise.all(nodes.map(async (n): Promise<ReplicaAnswer> => {
    if (!answersRequests(n.status)) return { ...none, node: n.id, notAsked: n.status };
    try {
      const r = await (await session.nodeClient(n.id)).getOwnCopy(k, { timeoutMs: ASK_MS });
      return { ...none, node: n.id, notAsked: undefined, found: r.found, deleted: r.deleted, version: r.version, value: r.found ? r.value.toString('utf8') : undefined };
    } catch (err) {
      const code = err instanceof (loadedEngineClient()?.RingDbError ?? Error) ? (err as { code?: string }).code : undefined;
      if (code === 'deadline-exceeded') return { ...none, node: n.id, notAsked: undefined, error: silence(model, n.id), unanswered: true };
      // Vector mode refuses a one-value read of a key with siblings; that is an answer, not a failure.
      const siblings = vector && code === 'failed-precondition';
      if (!siblings) return { ...none, node: n.id, notAsked: undefined, error: explain(err).message, siblings };
      return { ...none, node: n.id, notAsked: undefined, siblings, siblingSet: await ownSiblings(session, n.id, k) };
    }
  }));
}

/**
 * A node that let ASK_MS pass, with its status now: the heartbeats find a hung node suspect in
 * about 2 s, so by then the Nodes view says so, where the RPC's own words only name a deadline.
 */
function silence(model: ClusterModel, id: string): string {
  const status = model.snapshot.nodes.find((n) => n.id === id)?.status;
  const missed = `no answer within ${ASK_MS / 1000} s`;
  if (status === 'suspect') return `${missed}; ${id} is suspect: ${HUNG_WORDS}`;
  return `${missed}; ${id} is ${status ?? 'not in the cluster now'}${status === 'up' ? ' (busy, or hung since its last heartbeat)' : ''}`;
}

/** The hints of `k` every node that answers requests keeps (nodes that cannot be asked are left out, as by \`ringdb where\`). */
export async function askHints(session: ClusterSession, model: ClusterModel, k: string): Promise<KeyHint[]> {
  const wanted = Buffer.from(k, 'utf8');
  const up = model.snapshot.nodes.filter((n) => answersRequests(n.status));
  const perNode = await Promise.all(up.map(async (n): Promise<KeyHint[]> => {
    try {
      // By key: found however many other hints the node keeps (the filter is for a node of an earlier build, which lists them all).
      const hints = await (await session.nodeClient(n.id)).listHints({ key: wanted }, { timeoutMs: ASK_MS });
      return hints.filter((h) => h.key.equals(wanted)).map((h) => ({ holder: n.id, target: h.target, version: h.version, deleted: h.deleted }));
    } catch {
      return [];
    }
  }));
  return perNode.flat();
}

/** A node's own siblings of `k` (a direct read of its store); undefined when it cannot be read now. */
async function ownSiblings(session: ClusterSession, node: string, k: string): Promise<SiblingCopy[] | undefined> {
  const { ConvergenceClient } = await engineClient();
  let conv: InstanceType<typeof ConvergenceClient> | undefined;
  try {
    conv = new ConvergenceClient((await session.nodeClient(node)).target);
    const read = await conv.siblings(k, { direct: true, timeoutMs: ASK_MS });
    return read.siblings.map((x) => ({ value: x.value === null ? null : x.value.toString('utf8'), clock: x.clock, dot: `${x.dot.node}:${x.dot.counter}` }));
  } catch {
    return undefined;
  } finally {
    conv?.close();
  }
}

/**
 * The key's value by its replicas' own copies, and each row's verdict. Only replicas are judged:
 * a node outside the placement may hold the write as a hint for a replica that was down, which
 * makes it no replica, however new the version.
 */
export async function summarize(key: string, replicas: ReplicaAnswer[], placement: string[] | undefined, hints: KeyHint[] = [], crdt = false): Promise<GetSummary> {
  const { compareVersions, copyVerdicts } = await engineClient();
  const newer = (a: KeyHint, b: KeyHint): number => (a.version && b.version ? compareVersions(a.version, b.version) : a.version ? 1 : b.version ? -1 : 0);
  const groups = new Map<string, HintGroup>();
  for (const h of hints) {
    const g = groups.get(`${h.holder}\u0000${h.target}`);
    if (!g) groups.set(`${h.holder}\u0000${h.target}`, { newest: h, count: 1 });
    else {
      g.count++;
      if (newer(h, g.newest) > 0) g.newest = h;
    }
  }
  const hintGroups = [...groups.values()].sort((a, b) => newer(b.newest, a.newest));
  const isReplica = (r: ReplicaAnswer): boolean => !placement || placement.includes(r.node);
  const silent = replicas.some((r) => isReplica(r) && !answered(r) && !r.siblings);
  const { newest, verdicts } = copyVerdicts(replicas.map((r) => ({ answered: isReplica(r) && answered(r), version: r.version })), !silent);
  const best = newest && replicas.find((r) => isReplica(r) && answered(r) && r.version?.opId === newest.opId && r.version.ts === newest.ts);
  const verdict = (r: ReplicaAnswer, i: number): string => {
    if (!isReplica(r)) {
      if (!answered(r)) return '';
      const kept = hintGroups.filter((g) => g.newest.holder === r.node).map((g) => g.newest.target);
      return kept.length ? `not a replica; hint for ${kept.join(', ')}` : 'not a replica';
    }
    // A CRDT's replicas merge states: their LWW versions do not say which is ahead (as \`ringdb where\`).
    const v = crdt ? '' : verdicts[i];
    return v === 'newest' || v === 'newest heard' ? `✓ ${v}` : v;
  };
  return {
    key, found: !!best?.found, value: best?.found ? best.value : undefined, version: best?.version, replicas, placement, verdicts: replicas.map(verdict), hints: hintGroups,
  };
}

/** The hints of the key, one row per holder and replica, newest first. */
export function renderHints(groups: readonly HintGroup[]): string[] {
  if (groups.length === 0) return [];
  const rows = groups.map(({ newest: h, count }) =>
    `| ${h.holder} | ${h.target} | ${h.version?.opId || '—'} | ${h.version?.ts ?? '—'} | ${h.deleted ? 'tombstone' : 'value'} | ${count} |`);
  return ['', '## Hints of it', '', 'Kept for a replica that was down; handed over when it is back.', '',
    '| held by | for | newest version | timestamp | holds | hints |', '| --- | --- | --- | --- | --- | --- |', ...rows];
}

/** Each node's siblings: one row per sibling, its value, clock and dot. */
function renderSiblings(replicas: readonly ReplicaAnswer[]): string[] {
  const rows = replicas.filter((r) => r.siblingSet).flatMap((r) => (r.siblingSet ?? []).map((x) =>
    `| ${r.node} | ${x.value === null ? '*(tombstone)*' : code(clip(x.value), true)} | ${code(`{${Object.keys(x.clock).sort().map((id) => `${id}:${x.clock[id]}`).join(', ')}}`, true)} | ${x.dot} |`));
  return rows.length ? ['| node | sibling | clock | made by |', '| --- | --- | --- | --- |', ...rows] : [];
}

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

/** A salted key's value as a node's coordinated read with R `r` (the cluster's when undefined) gives it: the newest of its variants. */
export async function readSalted(session: ClusterSession, k: string, buckets: number, via: string, placement: string[], r?: number): Promise<GetSummary> {
  const got = await (await session.nodeClient(via)).get(k, { r });
  return {
    key: k, found: got.found, value: got.found ? got.value.toString('utf8') : undefined, version: got.version, replicas: [], placement, salted: { buckets, via, answeredBy: got.replicas },
    verdicts: [], hints: [], readQuorum: r,
  };
}

/**
 * Why a salted key shows no per-node table: its value is spread over variants. `fromGet`: Get's
 * result, which points to Where Is Key (offered on the notification Get shows beside it).
 */
export function saltedNote(k: string, buckets: number, fromGet = false): string {
  return `${code(k)} is marked hot: salted over ${buckets} buckets, its writes go to ${buckets} variant keys in other partitions, `
    + 'and a read merges them (newest wins). No node\'s own copy of the plain key is its value, so no per-node copies are shown'
    + (fromGet ? '; "RingDB: Where Is Key" (the button on the notification beside this result) lists the variants and their partitions.' : '.');
}

export function renderGet(s: GetSummary): string {
  if (s.salted) {
    const quorum = s.readLevel ? `R=${s.readLevel} (${s.readQuorum})` : 'the cluster\'s R';
    const answered = s.salted.answeredBy.length ? `, answered by ${s.salted.answeredBy.join(', ')}` : '';
    const head = s.found
      ? [codeBlock(s.value ?? ''), '', `- version: **${s.version?.opId || '—'}** (origin ${s.version?.origin}, timestamp ${s.version?.ts})`, `- read through ${s.salted.via} with ${quorum}${answered}`]
      : [s.version ? `Deleted (tombstone, timestamp ${s.version.ts}; read through ${s.salted.via} with ${quorum}${answered}).` : `Not found (read through ${s.salted.via} with ${quorum}${answered}).`];
    return [`# ${code(s.key)}`, '', ...head, '', saltedNote(s.key, s.salted.buckets, true)].join('\n');
  }
  const missing = unheard(s);
  const unheardNote = missing.length
    ? [`Not heard from: ${missing.map((r) => `${r.node} (${r.notAsked ?? (r.unanswered ? 'no answer' : 'error')})`).join(', ')}; a newer version may be there.`]
    : [];
  const withSiblings = s.replicas.filter((r) => r.siblings).map((r) => r.node);
  let head: string[];
  if (withSiblings.length) {
    head = [`${code(s.key)} has concurrent versions (siblings) on ${withSiblings.join(', ')}: consistencyMode "vector" keeps each until a write that saw them resolves them.`,
      '', ...renderSiblings(s.replicas),
      '', `${code(`ringdb siblings ${s.key}`)} in a terminal merges R replicas' siblings and prints the context a write needs to replace them (${code('ringdb vput')}).`];
  } else if (s.found) {
    head = [codeBlock(s.value ?? ''), '', `- version: **${s.version?.opId}** (origin ${s.version?.origin})`,
      `- Lamport timestamp: ${s.version?.ts}`, `- size: ${formatBytes(Buffer.byteLength(s.value ?? '', 'utf8'))}`];
  } else if (s.version) {
    head = [`Deleted (tombstone **${s.version.opId}**, timestamp ${s.version.ts}).`];
  } else if (s.hints.length > 0) {
    const targets = [...new Set(s.hints.map((g) => g.newest.target))];
    const what = s.hints[0].newest.deleted ? 'its newest write, a delete, is' : 'it is';
    head = [`No replica that answered holds it: ${what} kept as hints for ${targets.join(', ')} (below), handed over once ${targets.length === 1 ? 'that replica is' : 'they are'} back.`];
  } else if (s.placement && s.placement.every((id) => missing.some((r) => r.node === id))) {
    head = [`None of the key's replicas (${s.placement.join(', ')}) answered, so whether it exists is not known here.`];
  } else {
    head = ['Not found on any node that answered.'];
  }
  return [`# ${code(s.key)}`, '', ...head, ...(unheardNote.length ? ['', ...unheardNote] : []), ...quorumNote(s), '', ...renderCopies(s), ...renderHints(s.hints)].join('\n');
}

/**
 * These are each node's own copies, not a quorum read: say when a quorum read would fail now. A
 * coordinator asks the nodes that are up, replicas first, until R answer (non-replicas count,
 * answering from hints or with nothing), so it fails when fewer than R nodes answer; with no
 * replica answering and no hint it cannot say whether the key exists, which the head says.
 */
function quorumNote(s: GetSummary): string[] {
  const short = quorumShortfall(s);
  if (!short) return [];
  const { r, heard } = short;
  const cli = s.readLevel ? `ringdb get ${s.key} --r ${r}` : `ringdb get ${s.key}`;
  return ['', `A quorum read (R=${r}${s.readLevel ? `, ${s.readLevel}` : ''}) would fail now: only ${heard} node${heard === 1 ? '' : 's'} answered (${code(cli)} reads with a quorum).`];
}

/** The R a quorum read of the key needs and how many nodes answered, when fewer than R did; undefined when R is met or not known. */
export function quorumShortfall(s: GetSummary): { r: number; heard: number } | undefined {
  if (s.readQuorum === undefined) return undefined;
  const r = Math.min(s.readQuorum, s.placement?.length ?? s.replicas.length);
  const heard = s.replicas.filter((x) => answered(x) || x.siblings).length;
  return heard < r ? { r, heard } : undefined;
}

/** The nodes that did not answer because they are not running: what Restart Node brings back. */
export function notRunning(s: GetSummary): string[] {
  return s.replicas.filter((x) => x.notAsked === 'down' || x.notAsked === 'stopped').map((x) => x.node);
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
  const up = model.snapshot.nodes.filter((n) => answersRequests(n.status));
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
