// The Nodes view: one row per node (state, address), children for its peers and storage.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';
import { formatBytes, formatVector, plural } from '../common/format';
import type { ClusterModel } from '../model/clusterModel';
import { answersRequests, type CoordinationView, type NodeStatus, type NodeView, type PeerStatus, type PeerView } from '../model/types';
import { NodeRows } from './nodeRows';

const STATUS_ICON: Record<NodeStatus | PeerStatus, vscode.ThemeIcon> = {
  up: new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed')),
  suspect: new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')),
  down: new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground')),
  stopped: new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground')),
  starting: new vscode.ThemeIcon('loading~spin'),
  unknown: new vscode.ThemeIcon('question'),
};

/** Total bytes a node keeps on disk and in memory (memtables, WAL, SSTables). */
export function nodeDataBytes(n: NodeView): number {
  if (!n.store) return 0;
  return n.store.memtableBytes + n.store.walBytes + n.store.sstables.reduce((s, t) => s + t.sizeBytes, 0);
}

/**
 * The reason of a node that is not up without the advice after the ';' ("exited unexpectedly
 * (killed by SIGKILL)", "killed by KillNode at 2026-11-28T04:31:07Z"): that advice is for the CLI, and VS Code
 * offers Restart Node instead.
 */
export function shortReason(node: NodeView, max: number): string {
  if (node.status === 'up' || !node.reason) return '';
  const first = node.reason.split(';')[0].trim();
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

/** The controller's reasons (cluster/cluster.ts) by their first words, as a word or two for a row. */
const ROW_WORDS: readonly (readonly [RegExp, string])[] = [
  [/^killed by KillNode/, 'killed'],
  [/^exited unexpectedly/, 'crashed'],
  [/^stopped on request/, 'on request'],
  [/^not answering/, 'not answering'],
];

/**
 * A few words and a local clock time for the row of a node that is not up ("killed 04:31:07"; with
 * the day when not today): a narrow sidebar cut the whole reason off mid-word, and the tooltip has
 * it. The time is the kill's, which the reason gives in UTC (it may be from before a controller
 * restart), else when the node took its state.
 */
export function rowReason(node: NodeView, now = Date.now()): string {
  if (node.status === 'up' || !node.reason) return '';
  const words = ROW_WORDS.find(([pattern]) => pattern.test(node.reason))?.[1] ?? shortReason(node, 24);
  const killedAt = / at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)/.exec(node.reason)?.[1];
  const atMs = killedAt !== undefined ? Date.parse(killedAt) : node.statusSinceUnixMs;
  return atMs ? `${words} ${clockTime(atMs, now)}` : words;
}

/** HH:MM:SS in local time, after the day ("Nov 27") when that is not today's. */
function clockTime(atMs: number, now: number): string {
  const at = new Date(atMs);
  const time = at.toTimeString().slice(0, 8);
  return at.toDateString() === new Date(now).toDateString() ? time : `${at.toLocaleDateString('en-US', { month: 'short', day: 'numeric' })} ${time}`;
}

/** A node whose process is not known to run: what it reported last is history, not its state. */
export function reportsAreHistory(node: NodeView): boolean {
  return !answersRequests(node.status);
}

export class NodeItem extends vscode.TreeItem {
  node: NodeView;

  constructor(node: NodeView) {
    super(node.id, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `node/${node.id}`;
    this.node = node;
    this.render(node);
  }

  /**
   * Re-renders this same object: a refresh of one row must name an element the tree already
   * holds. No time-dependent text here (an uptime would need a re-render every second).
   */
  render(node: NodeView): void {
    this.node = node;
    this.contextValue = `node.${node.status}`;
    this.iconPath = STATUS_ICON[node.status];
    const why = rowReason(node);
    this.description = node.status === 'up'
      ? `up${node.address ? ` · ${node.address}` : ''}`
      : `${node.status}${why ? ` · ${why}` : node.address ? ` · ${node.address}` : ''}`;
    // Built when shown (resolveTreeItem). VS Code resolves an element once until it is refreshed,
    // and an idle node's row is not: times are clock times, which a later hover does not make wrong.
    this.tooltip = undefined;
  }

  tooltipNow(): vscode.MarkdownString {
    const node = this.node;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${node.id}** — ${node.status}\n\n`);
    // Whole, as the row shows only a few words of it; a paragraph of its own, as it can run long.
    if (node.reason) md.appendMarkdown(`${node.reason}\n\n`);
    const since = node.statusSinceUnixMs ? new Date(node.statusSinceUnixMs).toLocaleTimeString() : '—';
    md.appendMarkdown([
      `- address: \`${node.address || '—'}\``,
      `- pid: ${node.pid || '—'}`,
      ...(node.status === 'up' && node.startedAtUnixMs ? [`- process started: ${new Date(node.startedAtUnixMs).toLocaleTimeString()}`] : []),
      `- Lamport clock: ${node.clock ?? '—'}`,
      `- version vector: ${formatVector(node.versionVector)}`,
      `- data: ${formatBytes(nodeDataBytes(node))}${reportsAreHistory(node) && node.store ? ' (last report)' : ''}`,
      ...(node.coordination && !reportsAreHistory(node) ? coordinationLines(node.coordination) : []),
      `- ${node.status} since: ${since}`,
      `- folder: \`${node.dataDir || '—'}\``,
    ].join('\n'));
    if (reportsAreHistory(node)) md.appendMarkdown(`\n\nIts peers are not listed: what ${node.id} saw of them ended with its process.`);
    return md;
  }
}

/** What the node coordinated since it started, and when its reads ask a second replica. */
function coordinationLines(k: CoordinationView): string[] {
  const refused = k.speculationsRefused > 0 ? `, ${k.speculationsRefused} refused by the retry budget` : '';
  const when = k.speculativeRetry === 'none' ? 'off (speculativeRetry "none")'
    : k.speculativeRetry === 'always' ? `${k.speculativeReads}${refused}; a read asks one more replica at once (speculativeRetry "always")`
      : `${k.speculativeReads}${refused}; a read waits ${k.speculateAfterMs} ms on a replica before asking another`;
  return [
    `- coordinated: ${plural(k.reads, 'read')}, ${plural(k.writes, 'write')}, ${plural(k.readRepairs, 'read repair')}`,
    `- speculative reads: ${when}`,
  ];
}

export class PeerItem extends vscode.TreeItem {
  constructor(readonly nodeId: string, readonly peer: PeerView) {
    super(peer.id, vscode.TreeItemCollapsibleState.None);
    this.id = `node/${nodeId}/peer/${peer.id}`;
    this.contextValue = `peer.${peer.status}`;
    this.iconPath = STATUS_ICON[peer.status];
    // The engine counts log entries from the peer's cursor to the log's end, some of which are not
    // for the peer (its own writes, for one): an upper bound, as `ringdb status` says.
    const pending = !peer.destination ? ' · not a destination'
      : peer.pendingOps ? ` · up to ${plural(peer.pendingOps, 'op')} pending` : ' · nothing pending';
    this.description = `${peer.status}${pending}`;
  }

  tooltipNow(current: PeerView): string {
    const p = current;
    return `${this.nodeId} sees ${p.id} (${p.address || 'no address'}) as ${p.status}; `
      + `acknowledged up to log position ${p.ackedLsn}`
      + (p.destination ? `; up to ${plural(p.pendingOps, 'logged op')} not acknowledged yet (some may not be for ${p.id})` : '')
      + (p.lastHeardUnixMs ? `; last heard at ${new Date(p.lastHeardUnixMs).toLocaleTimeString()} (when this tooltip was made)` : '');
  }
}

export class StorageSummaryItem extends vscode.TreeItem {
  constructor(readonly node: NodeView) {
    super('storage', vscode.TreeItemCollapsibleState.None);
    this.id = `node/${node.id}/storage`;
    const s = node.store;
    if (s && reportsAreHistory(node)) {
      // The SSTables and the WAL are files and outlive the process; the memtable died with it
      // (the WAL rebuilds it at restart), so it is left out rather than shown as held.
      this.contextValue = 'node.storage.lastReport';
      this.iconPath = new vscode.ThemeIcon('history', new vscode.ThemeColor('disabledForeground'));
      this.description = `last report: ${plural(s.sstables.length, 'SSTable')} · WAL ${formatBytes(s.walBytes)}`;
      this.tooltip = `As ${node.id} last reported it before it went ${node.status}: its SSTable files and WAL stay on disk; `
        + `its memtable ended with the process and is rebuilt from the WAL when it restarts.`;
      return;
    }
    this.contextValue = 'node.storage';
    this.iconPath = new vscode.ThemeIcon('database');
    this.description = s
      ? `${plural(s.sstables.length, 'SSTable')} · memtable ${formatBytes(s.memtableBytes)} · WAL ${formatBytes(s.walBytes)}`
      : 'no report yet';
    this.tooltip = s ? `${s.memtableEntries} memtable entries, ${s.flushes} flushes, ${s.compactions} compactions` : undefined;
  }
}

type NodesElement = NodeItem | PeerItem | StorageSummaryItem;

export class NodesProvider extends Disposable implements vscode.TreeDataProvider<NodesElement> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<NodesElement | undefined>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  /** The root rows as the tree holds them, so one node's change refreshes that row alone. */
  private readonly items = new NodeRows((n) => new NodeItem(n));

  constructor(private readonly model: ClusterModel) {
    super();
    this._register(model.onDidChange((c) => {
      if ((c.kind === 'nodes' || c.kind === 'store') && c.nodeId !== undefined) this.refreshNode(c.nodeId);
      else if (c.kind === 'reset' || c.kind === 'nodes' || c.kind === 'phase') this._onDidChangeTreeData.fire(undefined);
    }));
  }

  private refreshNode(id: string): void {
    const item = this.items.get(id);
    const node = this.model.node(id);
    if (!item || !node) {
      this._onDidChangeTreeData.fire(undefined);
      return;
    }
    item.render(node);
    this._onDidChangeTreeData.fire(item);
  }

  getTreeItem(element: NodesElement): vscode.TreeItem {
    return element;
  }

  resolveTreeItem(item: vscode.TreeItem, element: NodesElement): vscode.TreeItem {
    if (element instanceof NodeItem) {
      element.render(this.model.node(element.node.id) ?? element.node);
      item.tooltip = element.tooltipNow();
    } else if (element instanceof PeerItem) {
      const current = this.model.node(element.nodeId)?.peers.find((p) => p.id === element.peer.id) ?? element.peer;
      item.tooltip = element.tooltipNow(current);
    }
    return item;
  }

  getChildren(element?: NodesElement): NodesElement[] {
    if (!element) {
      return this.items.rows(this.model.snapshot.nodes);
    }
    if (element instanceof NodeItem) {
      const node = this.model.node(element.node.id) ?? element.node;
      const peers = reportsAreHistory(node) ? [] : node.peers.map((p) => new PeerItem(node.id, p));
      return [...peers, new StorageSummaryItem(node)];
    }
    return [];
  }

  getParent(element: NodesElement): NodesElement | undefined {
    if (element instanceof NodeItem) return undefined;
    const id = element instanceof PeerItem ? element.nodeId : element.node.id;
    return this.items.get(id);
  }
}
