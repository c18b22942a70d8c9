// What each replica of a key holds in its own copy (no quorum, no read repair), for `ringdb
// where`: the placement says where a key belongs, the copies show whether replication got there.

import { ConvergenceClient, copyVerdicts, HUNG_WORDS, RingDbError, type ClusterDescription, type ControllerClient, type Version, type VectorSibling } from '../client';
import { VectorClock } from '../clock/vector-clock';
import { mergeSiblings, type Version as SiblingVersion } from '../clock/vector-clock-siblings';
import { specModes } from './cluster-facts';
import { answersRequests, formatVersion, table } from './format';
import { stateNow } from './no-answer';

/** A replica's own copy only waits this long: a hung node is shown as such, not waited for. */
export const OWN_COPY_ASK_MS = 3_000;

export interface OwnCopy {
  node: string;
  /**
   * 'value' | 'tombstone' | 'nothing' | 'siblings' (vector mode: several), or why it was not read:
   * the node's state, 'suspect' for one that was asked but let the deadline pass, or 'error'.
   */
  holds: string;
  version: Version | undefined;
  /** What went wrong when holds is 'error', or which deadline a suspect node let pass. */
  error?: string;
  /** Vector mode: the replica's own siblings (a value, a tombstone, or concurrent versions), each with its clock. */
  siblings?: OwnSibling[];
  /** Holds the newest version any replica that answered has (vector mode: exactly the siblings no answer supersedes). */
  newest: boolean;
  /**
   * 'newest' | 'newest heard' (a replica did not answer) | 'stale' | 'missing', or '' when
   * versions say nothing (not read, no version anywhere, or a CRDT, whose states merge).
   */
  verdict: string;
}

export interface OwnSibling {
  /** null: a tombstone. */
  value: string | null;
  clock: Record<string, number>;
  /** The event that made it, "<node>:<counter>". */
  dot: string;
  /** What its writer had read: it supersedes the siblings whose dots this covers. */
  context: Record<string, number>;
}

export const clockText = (clock: Record<string, number>): string => `{${Object.keys(clock).sort().map((n) => `${n}:${clock[n]}`).join(', ')}}`;

export interface OwnCopies {
  copies: OwnCopy[];
  /** A CRDT key's replicas merge states: their LWW versions do not say which is ahead. */
  crdtType: string | undefined;
}

const ANSWERS = new Set(['value', 'tombstone', 'nothing']);

/** A hint some node keeps of the key, for a replica that was down when it was written. */
export interface KeyHint {
  holder: string;
  target: string;
  version: Version | undefined;
  deleted: boolean;
}

/**
 * The hints every node that answers (up or suspect) keeps of `key` (plain key bytes): where a write went that a
 * replica missed, until handoff gives it to that replica. Nodes that cannot be asked are skipped.
 */
export async function hintsOfKey(c: ControllerClient, described: ClusterDescription, key: string): Promise<KeyHint[]> {
  const wanted = Buffer.from(key, 'utf8');
  const up = described.nodes.filter((n) => answersRequests(n.state)).map((n) => n.id);
  const perNode = await Promise.all(up.map(async (holder): Promise<KeyHint[]> => {
    try {
      const client = await c.nodeClient(holder);
      try {
        // Asked by key, so the key's hints are found however many other hints a node keeps; the
        // filter stays for a node of an earlier build, which ignores the key and lists them all.
        const hints = await client.listHints({ key: wanted }, { timeoutMs: OWN_COPY_ASK_MS });
        return hints.filter((h) => h.key.equals(wanted)).map((h) => ({ holder, target: h.target, version: h.version, deleted: h.deleted }));
      } finally {
        client.close();
      }
    } catch {
      return [];
    }
  }));
  return perNode.flat();
}

/**
 * The nodes that are not up but held hints when last heard from: `hintsOfKey` cannot ask them,
 * so the key may have hints there that `where` does not list.
 */
export function unreadHintHolders(described: ClusterDescription): string[] {
  const notUp = new Set(described.nodes.filter((n) => !answersRequests(n.state)).map((n) => n.id));
  const holders = (described.hints ?? []).filter((h) => h.count > 0 && notUp.has(h.holder)).map((h) => h.holder);
  return [...new Set(holders)].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

export function formatKeyHints(hints: readonly KeyHint[], unread: readonly string[]): string {
  const rows = hints.map((h) => [h.holder, h.target, h.version ? formatVersion(h.version) : '-', h.deleted ? 'tombstone' : 'value']);
  const listed = hints.length ? `\nhints of it (kept for a replica that was down, handed over when it is back):\n${table(['HOLDER', 'FOR', 'VERSION', 'HOLDS'], rows).replace(/^/gm, '  ')}` : '';
  if (unread.length === 0) return listed;
  const one = unread.length === 1;
  return `${listed}\nnot read: the hints kept by ${unread.join(', ')}, which ${one ? 'is' : 'are'} not up (they stay on ${one ? 'its' : 'their'} disk until back); ` +
    `this key may have some there: \`ringdb restart ${unread[0]}\`, then \`ringdb where\` again`;
}

export async function ownCopies(c: ControllerClient, described: ClusterDescription, key: string, replicas: readonly string[]): Promise<OwnCopies> {
  const states = new Map(described.nodes.map((n) => [n.id, n.state]));
  const spec = specModes(described);
  const crdtType = spec.crdtTypeOf(key);
  const copies = await Promise.all(replicas.map(async (node): Promise<OwnCopy> => {
    const state = states.get(node) ?? 'unknown';
    if (!answersRequests(state)) return { node, holds: state, version: undefined, newest: false, verdict: '' };
    if (spec.consistencyMode === 'vector') return ownSiblings(c, node, key);
    try {
      const client = await c.nodeClient(node);
      try {
        const r = await client.getOwnCopy(key, { timeoutMs: OWN_COPY_ASK_MS });
        return { node, holds: r.found ? 'value' : r.deleted ? 'tombstone' : 'nothing', version: r.version, newest: false, verdict: '' };
      } finally {
        client.close();
      }
    } catch (err) {
      return unread(c, node, err);
    }
  }));
  return judged({ copies, crdtType });
}

/**
 * A copy that could not be read. One whose node let OWN_COPY_ASK_MS pass is said with the state
 * the controller lists now (a hung node is suspect by then), not as the RPC's deadline.
 */
async function unread(c: ControllerClient, node: string, err: unknown): Promise<OwnCopy> {
  const none = { node, version: undefined, newest: false, verdict: '' };
  if (!(err instanceof RingDbError) || err.code !== 'deadline-exceeded') return { ...none, holds: 'error', error: (err as Error).message };
  const missed = `did not answer within ${OWN_COPY_ASK_MS / 1000} s`;
  const { state, words } = await stateNow(c, node);
  return state === 'suspect' ? { ...none, holds: 'suspect', error: `${missed}: ${HUNG_WORDS}` } : { ...none, holds: 'error', error: `${node} ${missed}; ${words}` };
}

/** A replica's own siblings (vector mode): a direct read of its store, no quorum. */
async function ownSiblings(c: ControllerClient, node: string, key: string): Promise<OwnCopy> {
  try {
    const client = await c.nodeClient(node);
    client.close();
    const conv = new ConvergenceClient(client.target);
    try {
      const read = await conv.siblings(key, { direct: true, timeoutMs: OWN_COPY_ASK_MS });
      const siblings = read.siblings.map(ownSibling);
      const holds = siblings.length === 0 ? 'nothing' : siblings.length > 1 ? 'siblings' : siblings[0].value === null ? 'tombstone' : 'value';
      return { node, holds, siblings, version: undefined, newest: false, verdict: '' };
    } finally {
      conv.close();
    }
  } catch (err) {
    return unread(c, node, err);
  }
}

const ownSibling = (s: VectorSibling): OwnSibling => ({
  value: s.value === null ? null : s.value.toString('utf8'), clock: s.clock, dot: `${s.dot.node}:${s.dot.counter}`, context: s.context,
});

/** A sibling as the store's merge takes it (only its dot and context decide what it supersedes). */
function asVersion(s: OwnSibling): SiblingVersion<string> {
  const at = s.dot.lastIndexOf(':');
  return { value: s.dot, dot: { node: s.dot.slice(0, at), counter: Number(s.dot.slice(at + 1)) }, context: VectorClock.from(s.context) };
}

/**
 * Vector mode: the current siblings are what the replicas' sets merge to, by the store's own
 * rule (a sibling goes when another's context covers its dot: two blind writes of one node both
 * stay, though the later clock is higher); a copy holding exactly them is newest.
 */
function judgedSiblings(copies: OwnCopy[]): void {
  const merged = copies.reduce<SiblingVersion<string>[]>((acc, c) => mergeSiblings(acc, (c.siblings ?? []).map(asVersion)), []);
  const current = merged.map((v) => v.value).sort().join();
  const allHeard = copies.every((c) => ANSWERS.has(c.holds) || c.holds === 'siblings');
  for (const c of copies) {
    if (!c.siblings || merged.length === 0) continue;
    c.newest = c.siblings.map((s) => s.dot).sort().join() === current;
    c.verdict = c.newest ? (allHeard ? 'newest' : 'newest heard') : c.siblings.length === 0 ? 'missing' : 'stale';
  }
}

/** Sets each copy's newest and verdict from the versions and answers of all of them. */
export function judged(own: OwnCopies): OwnCopies {
  const { copies, crdtType } = own;
  if (copies.some((c) => c.siblings)) {
    judgedSiblings(copies);
    return own;
  }
  const answers = copies.map((c) => ({ answered: ANSWERS.has(c.holds), version: c.version }));
  const { verdicts } = copyVerdicts(answers, answers.every((a) => a.answered));
  copies.forEach((copy, i) => {
    copy.newest = verdicts[i] === 'newest' || verdicts[i] === 'newest heard';
    // A CRDT's replicas merge states: their LWW versions do not say which is ahead.
    copy.verdict = crdtType === undefined ? verdicts[i] : '';
  });
  return own;
}

/**
 * The copies as rows under a heading; a replica behind the newest is marked stale, one without it
 * missing, and "newest" is only "newest heard" while a replica did not answer.
 */
/** A copy's siblings on one line: each value (or "tombstone") and its clock. */
function siblingsText(siblings: readonly OwnSibling[]): string {
  if (siblings.length === 0) return '-';
  const shown = (v: string | null): string => (v === null ? 'tombstone' : JSON.stringify(v.length > 24 ? `${v.slice(0, 23)}…` : v));
  return siblings.map((s) => `${shown(s.value)} ${clockText(s.clock)}`).join(', ');
}

export function formatOwnCopies(key: string, { copies, crdtType }: OwnCopies): string {
  const vector = copies.some((c) => c.siblings);
  if (vector && copies.every((c) => c.holds === 'nothing')) return `no replica holds ${JSON.stringify(key)} yet`;
  const anyVersion = copies.some((c) => c.newest);
  if (!anyVersion && copies.every((c) => c.holds === 'nothing')) {
    if (crdtType) return `no replica holds ${JSON.stringify(key)} yet (a CRDT: ${crdtType})`;
    return `no replica holds ${JSON.stringify(key)} as a plain key (rows written with --clustering live under it: \`ringdb scan ${key}\`)`;
  }
  const rows = copies.map((c) => [c.node, c.holds, c.siblings ? siblingsText(c.siblings) : c.version ? formatVersion(c.version) : '-', c.verdict]);
  // Under the table: a sentence in a cell would push the versions off the screen.
  const why = copies.filter((c) => c.error !== undefined).map((c) => `\n  ${c.node} ${c.holds}: ${c.error}`).join('');
  if (vector) {
    return `each replica's own siblings (no quorum, no read repair; consistencyMode "vector"):\n${table(['REPLICA', 'HOLDS', 'SIBLINGS (VALUE CLOCK)', ''], rows).replace(/^/gm, '  ')}${why}`
      + `\n  \`ringdb siblings ${key}\` merges R replicas' siblings and prints the context that replaces them`;
  }
  const note = crdtType
    ? `\n  ${key} is a CRDT (${crdtType}): replicas merge states, so their versions do not say which is ahead; \`ringdb get ${key} --node <id>\` reads a node's merged value`
    : '';
  return `each replica's own copy (no quorum, no read repair):\n${table(['REPLICA', 'HOLDS', 'VERSION', ''], rows).replace(/^/gm, '  ')}${why}${note}`;
}
