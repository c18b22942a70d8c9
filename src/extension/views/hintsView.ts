// The Hints view: per node, the hints it holds for each down target (count, oldest age), and
// under each such group the keys they are for, newest first, asked of the holder when expanded.
// Empties as the hints are delivered; when empty, its message says why (and names down nodes).
import * as vscode from 'vscode';
import { Commands } from '../common/commandIds';
import { Disposable } from '../common/lifecycle';
import { formatDuration, listNodes, plural } from '../common/format';
import type { ClusterModel } from '../model/clusterModel';
import { answersRequests, type ClusterSnapshot, type HeldHintView, type HintView, type NodeStatus } from '../model/types';

/** Key rows listed under a hint group; the rest are counted in a last row. */
export const HINT_KEYS_SHOWN = 50;

/** The newest `limit` hints a holder keeps for a target, newest first, asked of the node itself (the controller reports counts only). */
export type HeldHintsSource = (holder: string, target: string, limit: number) => Promise<readonly HeldHintView[]>;

/** What a holder that is not up does with its hints: it keeps them; they are not lost. */
const keptWhileDown = (holder: string, status: NodeStatus | undefined): string =>
  `${holder} is ${status ?? 'not running'}: its hints wait on its disk and are delivered once it is back up.${status === 'starting' ? '' : ' Restart it ("RingDB: Restart Node").'}`;

export class HintHolderItem extends vscode.TreeItem {
  /** `status`: the holder's; one that is not up keeps its hints on its disk, and cannot be asked for their keys. */
  constructor(readonly holder: string, readonly hints: readonly HintView[], readonly status: NodeStatus | undefined) {
    super(holder, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `hints/${holder}`;
    this.contextValue = 'hints.holder';
    const held = `${plural(hints.reduce((n, h) => n + h.count, 0), 'hint')} held`;
    if (answersRequests(status)) {
      this.iconPath = new vscode.ThemeIcon('server-process');
      this.description = held;
    } else {
      this.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('list.warningForeground'));
      this.description = `${held} · ${status ?? 'not running'}, kept on its disk`;
      this.tooltip = keptWhileDown(holder, status);
    }
  }
}

export class HintItem extends vscode.TreeItem {
  static idOf(hint: Pick<HintView, 'holder' | 'target'>): string {
    return `hints/${hint.holder}/${hint.target}`;
  }

  constructor(readonly hint: HintView, now: number) {
    super(`for ${hint.target}`, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = HintItem.idOf(hint);
    this.contextValue = 'hints.target';
    this.iconPath = new vscode.ThemeIcon('mail');
    const age = hint.oldestUnixMs ? ` · oldest ${formatDuration(now - hint.oldestUnixMs)}` : '';
    this.description = `${plural(hint.count, 'hint')}${age}`;
    this.tooltip = `${hint.holder} keeps ${plural(hint.count, 'write')} for ${hint.target} until it is reachable again; expand to ${hint.count === 1 ? 'see its key' : 'list their keys'}`;
  }
}

/** One hinted write: its key, op and whether it is a delete; clicking it runs Get on the key. */
export class HintKeyItem extends vscode.TreeItem {
  /** What Get names (treeKeyArg reads it); undefined for a row, which Get cannot name by one key. */
  readonly getKey: string | undefined;

  constructor(group: HintView, h: HeldHintView, index: number) {
    super(h.key, vscode.TreeItemCollapsibleState.None);
    // An op id names one hint per target; the index keeps ids unique whatever the node sends.
    this.id = `hints/${group.holder}/${group.target}/${h.opId}/${index}`;
    this.getKey = h.getKey;
    this.contextValue = h.getKey !== undefined ? 'hints.key' : 'hints.row';
    this.iconPath = new vscode.ThemeIcon(h.deleted ? 'trash' : 'key');
    const ts = h.ts !== undefined ? ` · ts ${h.ts}` : '';
    this.description = `${h.deleted ? 'delete' : 'put'} · ${h.opId}${ts}`;
    this.tooltip = `${h.deleted ? 'A delete' : 'A write'} of ${h.key} (op ${h.opId}${ts}) that ${group.holder} keeps for ${group.target}; `
      + `held ${formatDuration(h.ageMs)} when listed. `
      + (h.getKey !== undefined ? 'Click to Get the key from every node.'
        // storedKeyText writes a row as "partition / clustering"; a plain key Get cannot name is not UTF-8.
        : h.key.includes(' / ') ? 'A row: Get reads a key, not a row.' : 'A key that is not UTF-8 text: Get takes its key as text, so it cannot name this one.');
    if (h.getKey !== undefined) this.command = { command: Commands.get, title: 'Get', arguments: [{ key: h.getKey }] };
  }
}

/** The last row of a group listed in part, or why its keys are not listed. */
export class HintNoteItem extends vscode.TreeItem {
  constructor(id: string, text: string, icon: string, tooltip: string) {
    super(text, vscode.TreeItemCollapsibleState.None);
    this.id = id;
    this.contextValue = 'hints.note';
    this.iconPath = new vscode.ThemeIcon(icon);
    this.tooltip = tooltip;
  }
}

type HintsElement = HintHolderItem | HintItem | HintKeyItem | HintNoteItem;

/**
 * Why the view is empty. A write is hinted only when a replica of its key is down and a healthy
 * node outside the key's replicas takes its place (sloppy quorum); with as many replicas as
 * nodes (or no partition map) there is no such node, and a down node catches up from its peers.
 */
export function noHintsMessage(s: ClusterSnapshot): string {
  // A suspect node still acknowledges writes, so none is hinted for it and it counts toward a quorum.
  const down = s.nodes.filter((n) => !answersRequests(n.status) && n.status !== 'starting').map((n) => n.id);
  if (!down.length) return `No hints held: every node is up${s.nodes.some((n) => n.status === 'suspect') ? ' or suspect (slow to answer pings, still answering requests)' : ''}.`;
  const one = down.length === 1;
  const who = `${listNodes(down)} ${one ? 'is' : 'are'} ${one ? s.nodes.find((n) => n.id === down[0])?.status : 'not up'}`;
  const n = typeof s.spec?.replicationFactor === 'number' ? s.spec.replicationFactor : undefined;
  const w = typeof s.spec?.writeQuorum === 'number' ? s.spec.writeQuorum : undefined;
  const up = s.nodes.length - down.length;
  const quorum = w !== undefined && up < w ? ` With ${up} of ${s.nodes.length} nodes up a write cannot get the ${w} acknowledgements it needs (writeQuorum), so it fails.` : '';
  const everywhere = !s.reportsPartitions || (n !== undefined && n >= s.nodes.length);
  if (everywhere) {
    const why = s.reportsPartitions ? `replicationFactor ${n} on ${s.nodes.length} nodes makes every node a replica of every key` : 'without a partition map every node holds every key';
    return `No hints held. ${who}, but ${why}: no node outside the replicas can stand in, so no write is hinted; ${one ? 'it catches' : 'they catch'} up from ${one ? 'its' : 'their'} peers when back.${quorum}`;
  }
  return `No hints held. ${who}: a write to a key ${one ? 'it replicates' : 'they replicate'} is hinted to a healthy node outside that key's replicas, once the coordinator's heartbeats see ${one ? 'it' : 'them'} down; none has been so far.${quorum}`;
}

/** Each hint holder's status, in one string: the view renders again when it differs from the one last shown. */
export function hintHolderStates(s: ClusterSnapshot): string {
  const holders = [...new Set(s.hints.filter((h) => h.count > 0).map((h) => h.holder))].sort();
  return holders.map((id) => `${id}:${s.nodes.find((n) => n.id === id)?.status ?? 'none'}`).join(',');
}

export class HintsProvider extends Disposable implements vscode.TreeDataProvider<HintsElement> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;

  /**
   * Each group's hints as last asked, with the count and holder's changes they were asked at: the
   * age ticker renders the tree every second, and a holder is asked again only when either moved.
   */
  private readonly listed = new Map<string, { readonly stamp: string; readonly hints: Promise<readonly HeldHintView[]> }>();

  constructor(private readonly model: ClusterModel, private readonly heldHints: HeldHintsSource) {
    super();
    this._register(model.onDidChange((c) => {
      if (c.kind === 'reset') this.listed.clear();
      // A holder going down (or back) sends no hints event, and its row and keys read differently then.
      const holdersMoved = c.kind === 'nodes' && hintHolderStates(this.model.snapshot) !== this.shownHolderStates;
      if (c.kind === 'reset' || c.kind === 'hints' || holdersMoved) this._onDidChangeTreeData.fire();
    }));
  }

  /** Each holder's status as of the last render of the holders. */
  private shownHolderStates = '';

  /** Whether a row shows an age, which goes stale as time passes. */
  get showsAges(): boolean {
    const s = this.model.snapshot;
    return s.phase === 'running' && s.hints.some((h) => h.count > 0 && h.oldestUnixMs > 0);
  }

  /** Renders the rows again (their ages from now). */
  refresh(): void {
    this._onDidChangeTreeData.fire();
  }

  get message(): string | undefined {
    const s = this.model.snapshot;
    if (s.phase !== 'running') return undefined;
    if (!s.reportsHints) return 'This cluster does not use hinted handoff: a node that was down catches up through anti-entropy.';
    return s.hints.some((h) => h.count > 0) ? undefined : noHintsMessage(s);
  }

  getTreeItem(element: HintsElement): vscode.TreeItem {
    return element;
  }

  /** Reveal needs it: a group's row is under its holder's (holder rows are the roots). */
  getParent(element: HintsElement): HintsElement | undefined {
    if (!(element instanceof HintItem)) return undefined;
    const holder = element.hint.holder;
    return new HintHolderItem(holder, this.model.snapshot.hints.filter((h) => h.holder === holder && h.count > 0), this.model.node(holder)?.status);
  }

  async getChildren(element?: HintsElement): Promise<HintsElement[]> {
    const hints = this.model.snapshot.hints.filter((h) => h.count > 0);
    if (!element) {
      this.shownHolderStates = hintHolderStates(this.model.snapshot);
      const holders = [...new Set(hints.map((h) => h.holder))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      return holders.map((h) => new HintHolderItem(h, hints.filter((x) => x.holder === h), this.model.node(h)?.status));
    }
    if (element instanceof HintHolderItem) {
      const now = Date.now();
      return hints.filter((h) => h.holder === element.holder).map((h) => new HintItem(h, now));
    }
    if (element instanceof HintItem) return this.keyRows(element.hint);
    return [];
  }

  /** The group's keys, newest first, at most HINT_KEYS_SHOWN, then a row counting the rest. */
  private async keyRows(group: HintView): Promise<HintsElement[]> {
    const base = `hints/${group.holder}/${group.target}`;
    const status = this.model.node(group.holder)?.status;
    // Not asked: "Node n4 is down." as the reason keys are not listed read as if the hints were gone.
    if (!answersRequests(status)) {
      return [new HintNoteItem(`${base}/down`, `${group.holder} is ${status ?? 'not running'}: they wait on its disk; ${status === 'starting' ? 'listed once it is up' : 'restart it to list them'}`, 'debug-disconnect', keptWhileDown(group.holder, status))];
    }
    let newest: readonly HeldHintView[];
    try {
      newest = await this.listedBy(group);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return [new HintNoteItem(`${base}/error`, `keys not listed: ${why}`, 'warning', `${group.holder} could not be asked for its hints: ${why}`)];
    }
    if (!newest.length) {
      return [new HintNoteItem(`${base}/none`, `none held now`, 'info', `${group.holder} holds no hint for ${group.target} any more: they were delivered (or dropped) since the count was reported.`)];
    }
    const shown = newest.slice(0, HINT_KEYS_SHOWN);
    const rows: HintsElement[] = shown.map((h, i) => new HintKeyItem(group, h, i));
    const more = Math.max(group.count, newest.length) - shown.length;
    if (more > 0) {
      rows.push(new HintNoteItem(`${base}/more`, `… and ${more} more`, 'ellipsis',
        `${group.holder} keeps ${plural(Math.max(group.count, newest.length), 'hint')} for ${group.target}; the newest ${shown.length} are listed. Get reads any key by name.`));
    }
    return rows;
  }

  private listedBy(group: HintView): Promise<readonly HeldHintView[]> {
    const id = `${group.holder}/${group.target}`;
    // Not the oldest hint's time: the controller works it out again from an age on every listing.
    const stamp = `${group.count}:${group.changes}`;
    const cached = this.listed.get(id);
    if (cached?.stamp === stamp) return cached.hints;
    const hints = this.heldHints(group.holder, group.target, HINT_KEYS_SHOWN);
    const entry = { stamp, hints };
    this.listed.set(id, entry);
    // A failure (the holder went down) is not kept: the next render asks again.
    hints.catch(() => { if (this.listed.get(id) === entry) this.listed.delete(id); });
    return hints;
  }
}
