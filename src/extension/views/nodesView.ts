// The Nodes view: one row per node (state, address), children for its peers and storage.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';
import { formatBytes, formatDuration, formatVector, plural } from '../common/format';
import type { ClusterModel } from '../model/clusterModel';
import type { NodeStatus, NodeView, PeerStatus, PeerView } from '../model/types';

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

export class NodeItem extends vscode.TreeItem {
  constructor(readonly node: NodeView, now: number) {
    super(node.id, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `node/${node.id}`;
    this.contextValue = `node.${node.status}`;
    this.iconPath = STATUS_ICON[node.status];
    const up = node.status === 'up' && node.startedAtUnixMs ? ` · up ${formatDuration(now - node.startedAtUnixMs)}` : '';
    this.description = `${node.status}${node.address ? ` · ${node.address}` : ''}${up}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${node.id}** — ${node.status}${node.reason ? ` (${node.reason})` : ''}\n\n`);
    md.appendMarkdown([
      `- address: \`${node.address || '—'}\``,
      `- pid: ${node.pid || '—'}`,
      `- Lamport clock: ${node.clock ?? '—'}`,
      `- version vector: ${formatVector(node.versionVector)}`,
      `- data: ${formatBytes(nodeDataBytes(node))}`,
      `- since: ${node.statusSinceUnixMs ? new Date(node.statusSinceUnixMs).toLocaleTimeString() : '—'}`,
      `- folder: \`${node.dataDir || '—'}\``,
    ].join('\n'));
    this.tooltip = md;
  }
}

export class PeerItem extends vscode.TreeItem {
  constructor(readonly nodeId: string, readonly peer: PeerView) {
    super(peer.id, vscode.TreeItemCollapsibleState.None);
    this.id = `node/${nodeId}/peer/${peer.id}`;
    this.contextValue = `peer.${peer.status}`;
    this.iconPath = STATUS_ICON[peer.status];
    const pending = peer.destination ? ` · ${plural(peer.pendingOps, 'op')} pending` : ' · not a destination';
    this.description = `${peer.status}${pending}`;
    this.tooltip = `${nodeId} sees ${peer.id} (${peer.address || 'no address'}) as ${peer.status}; `
      + `acknowledged up to log position ${peer.ackedLsn}`
      + (peer.lastHeardUnixMs ? `; last heard ${new Date(peer.lastHeardUnixMs).toLocaleTimeString()}` : '');
  }
}

export class StorageSummaryItem extends vscode.TreeItem {
  constructor(readonly node: NodeView) {
    super('storage', vscode.TreeItemCollapsibleState.None);
    this.id = `node/${node.id}/storage`;
    this.contextValue = 'node.storage';
    this.iconPath = new vscode.ThemeIcon('database');
    const s = node.store;
    this.description = s
      ? `${plural(s.sstables.length, 'SSTable')} · memtable ${formatBytes(s.memtableBytes)} · WAL ${formatBytes(s.walBytes)}`
      : 'no report yet';
    this.tooltip = s ? `${s.memtableEntries} memtable entries, ${s.flushes} flushes, ${s.compactions} compactions` : undefined;
  }
}

type NodesElement = NodeItem | PeerItem | StorageSummaryItem;

export class NodesProvider extends Disposable implements vscode.TreeDataProvider<NodesElement> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;

  constructor(private readonly model: ClusterModel) {
    super();
    this._register(model.onDidChange((c) => {
      if (c.kind === 'reset' || c.kind === 'nodes' || c.kind === 'store' || c.kind === 'phase') this._onDidChangeTreeData.fire();
    }));
  }

  getTreeItem(element: NodesElement): vscode.TreeItem {
    return element;
  }

  getChildren(element?: NodesElement): NodesElement[] {
    const now = Date.now();
    if (!element) return this.model.snapshot.nodes.map((n) => new NodeItem(n, now));
    if (element instanceof NodeItem) {
      const node = this.model.node(element.node.id) ?? element.node;
      return [...node.peers.map((p) => new PeerItem(node.id, p)), new StorageSummaryItem(node)];
    }
    return [];
  }

  getParent(element: NodesElement): NodesElement | undefined {
    if (element instanceof NodeItem) return undefined;
    const id = element instanceof PeerItem ? element.nodeId : element.node.id;
    const node = this.model.node(id);
    return node ? new NodeItem(node, Date.now()) : undefined;
  }
}
