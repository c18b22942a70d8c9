// The SSTables view: per node, its memtable and WAL, then its SSTables grouped by level.
// Refreshes on store events (flush, compaction), not on timers.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';
import { formatBytes, plural, shorten } from '../common/format';
import type { ClusterModel } from '../model/clusterModel';
import type { NodeView, SSTableView, StoreView } from '../model/types';

export class StorageNodeItem extends vscode.TreeItem {
  constructor(readonly node: NodeView) {
    super(node.id, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `sst/${node.id}`;
    this.contextValue = node.status === 'up' ? 'storage.node' : 'storage.node.offline';
    this.iconPath = new vscode.ThemeIcon('server-process');
    const s = node.store;
    this.description = s
      ? `${plural(s.sstables.length, 'SSTable')} · ${formatBytes(s.sstables.reduce((n, t) => n + t.sizeBytes, 0))}`
      : node.status === 'up' ? 'waiting for the first report' : node.status;
    this.tooltip = s ? `${s.flushes} flushes, ${s.compactions} compactions since start` : undefined;
  }
}

export class MemtableItem extends vscode.TreeItem {
  constructor(readonly nodeId: string, store: StoreView) {
    super('memtable', vscode.TreeItemCollapsibleState.None);
    this.id = `sst/${nodeId}/memtable`;
    this.contextValue = 'storage.memtable';
    this.iconPath = new vscode.ThemeIcon('pulse');
    const frozen = store.immutableMemtables ? ` · ${store.immutableMemtables} flushing` : '';
    this.description = `${formatBytes(store.memtableBytes)} · ${plural(store.memtableEntries, 'entry', 'entries')}${frozen}`;
  }
}

export class WalItem extends vscode.TreeItem {
  constructor(readonly nodeId: string, store: StoreView) {
    super('WAL', vscode.TreeItemCollapsibleState.None);
    this.id = `sst/${nodeId}/wal`;
    this.contextValue = 'storage.wal';
    this.iconPath = new vscode.ThemeIcon('history');
    this.description = formatBytes(store.walBytes);
    this.tooltip = 'Write-ahead log: writes not yet flushed to an SSTable';
  }
}

export class LevelItem extends vscode.TreeItem {
  constructor(readonly nodeId: string, readonly level: number, readonly tables: readonly SSTableView[]) {
    super(`L${level}`, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `sst/${nodeId}/L${level}`;
    this.contextValue = 'storage.level';
    this.iconPath = new vscode.ThemeIcon('layers');
    this.description = `${plural(tables.length, 'file')} · ${formatBytes(tables.reduce((n, t) => n + t.sizeBytes, 0))}`;
  }
}

export class SSTableItem extends vscode.TreeItem {
  constructor(readonly nodeId: string, readonly table: SSTableView) {
    super(table.file.split('/').pop() ?? table.file, vscode.TreeItemCollapsibleState.None);
    this.id = `sst/${nodeId}/table/${table.id}`;
    this.contextValue = 'storage.sstable';
    this.iconPath = new vscode.ThemeIcon('file-binary');
    const tomb = table.tombstones ? ` · ${plural(table.tombstones, 'tombstone')}` : '';
    this.description = `${shorten(table.minKey, 12)} … ${shorten(table.maxKey, 12)} · ${plural(table.entries, 'entry', 'entries')}${tomb} · ${formatBytes(table.sizeBytes)}`;
    this.tooltip = new vscode.MarkdownString([
      `**${table.file}** (level ${table.level})`,
      '',
      `- keys: \`${table.minKey}\` … \`${table.maxKey}\``,
      `- entries: ${table.entries}, tombstones: ${table.tombstones}`,
      `- size: ${formatBytes(table.sizeBytes)}`,
    ].join('\n'));
  }
}

type SSTablesElement = StorageNodeItem | MemtableItem | WalItem | LevelItem | SSTableItem;

export class SSTablesProvider extends Disposable implements vscode.TreeDataProvider<SSTablesElement> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;

  constructor(private readonly model: ClusterModel) {
    super();
    this._register(model.onDidChange((c) => {
      // Stats events also carry store snapshots; 'nodes' covers those, 'store' flush/compaction.
      if (c.kind === 'reset' || c.kind === 'store' || c.kind === 'nodes') this._onDidChangeTreeData.fire();
    }));
  }

  getTreeItem(element: SSTablesElement): vscode.TreeItem {
    return element;
  }

  getChildren(element?: SSTablesElement): SSTablesElement[] {
    if (!element) return this.model.snapshot.nodes.map((n) => new StorageNodeItem(n));
    if (element instanceof StorageNodeItem) {
      const node = this.model.node(element.node.id);
      const store = node?.store;
      if (!node || !store) return [];
      const levels = new Map<number, SSTableView[]>();
      for (const t of store.sstables) levels.set(t.level, [...(levels.get(t.level) ?? []), t]);
      return [
        new MemtableItem(node.id, store),
        new WalItem(node.id, store),
        ...[...levels.keys()].sort((a, b) => a - b).map((l) => new LevelItem(node.id, l, levels.get(l) ?? [])),
      ];
    }
    if (element instanceof LevelItem) {
      return [...element.tables].sort((a, b) => a.minKey.localeCompare(b.minKey)).map((t) => new SSTableItem(element.nodeId, t));
    }
    return [];
  }
}
