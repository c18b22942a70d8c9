// The SSTables view: per node, its memtable and WAL, then its SSTables grouped by level.
// Refreshes on store events (flush, compaction), not on timers.
import * as vscode from 'vscode';
import { Commands } from '../common/commandIds';
import { Disposable } from '../common/lifecycle';
import { formatBytes, keyRangeText, plural, SALTED_ORDER, spansSalted } from '../common/format';
import type { ClusterModel } from '../model/clusterModel';
import { reportsAreHistory } from './nodesView';
import { answersRequests, type NodeView, type SSTableView, type StoreView } from '../model/types';
import { NodeRows } from './nodeRows';

export class StorageNodeItem extends vscode.TreeItem {
  node: NodeView;

  constructor(node: NodeView) {
    super(node.id, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `sst/${node.id}`;
    this.node = node;
    this.render(node);
  }

  /** Re-renders this same object: a refresh of one row must name an element the tree already holds. */
  render(node: NodeView): void {
    this.node = node;
    this.contextValue = answersRequests(node.status) ? 'storage.node' : 'storage.node.offline';
    const s = node.store;
    const history = reportsAreHistory(node);
    this.iconPath = history
      ? new vscode.ThemeIcon('history', new vscode.ThemeColor('disabledForeground'))
      : new vscode.ThemeIcon('server-process');
    const files = s ? `${plural(s.sstables.length, 'SSTable')} · ${formatBytes(s.sstables.reduce((n, t) => n + t.sizeBytes, 0))}` : '';
    this.description = s
      ? history ? `${node.status} · last report: ${files}` : files
      : node.status === 'up' ? 'waiting for the first report' : node.status;
    this.tooltip = s
      ? history
        ? `What ${node.id} last reported before it went ${node.status}: its SSTable files and WAL are on disk as listed then; `
          + `its memtable ended with the process (its replication log and WAL rebuild it at restart).`
        : `${s.flushes} flushes, ${s.compactions} compactions since start`
      : undefined;
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
  constructor(readonly nodeId: string, store: StoreView, lastReport: boolean) {
    super('WAL', vscode.TreeItemCollapsibleState.None);
    this.id = `sst/${nodeId}/wal`;
    this.contextValue = 'storage.wal';
    this.iconPath = new vscode.ThemeIcon('history');
    this.description = `${formatBytes(store.walBytes)}${lastReport ? ' (last report)' : ''}`;
    // On a cluster node most writes never reach this file: the replication log is their WAL.
    this.tooltip = 'The store\'s own write-ahead log, for writes that are not in the replication log (data moves, repairs) until they are in an SSTable. '
      + 'Puts and replicated writes are logged once, in the node\'s replication log, which rebuilds the memtable at restart; so this often reads 0 B while the memtable holds entries.';
  }
}

export class LevelItem extends vscode.TreeItem {
  constructor(readonly nodeId: string, readonly level: number, readonly tables: readonly SSTableView[], readonly lastReport: boolean) {
    super(`L${level}`, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `sst/${nodeId}/L${level}`;
    this.contextValue = 'storage.level';
    this.iconPath = new vscode.ThemeIcon('layers');
    this.description = `${plural(tables.length, 'file')} · ${formatBytes(tables.reduce((n, t) => n + t.sizeBytes, 0))}${lastReport ? ' (last report)' : ''}`;
  }
}

export class SSTableItem extends vscode.TreeItem {
  constructor(readonly nodeId: string, readonly table: SSTableView, lastReport: boolean) {
    super(table.file.split('/').pop() ?? table.file, vscode.TreeItemCollapsibleState.None);
    this.id = `sst/${nodeId}/table/${table.id}`;
    this.contextValue = 'storage.sstable';
    this.iconPath = new vscode.ThemeIcon('file-binary');
    this.command = { command: Commands.showSSTableDetails, title: 'Show SSTable Details', arguments: [{ node: nodeId, table: table.id }] };
    const tomb = table.tombstones ? ` · ${plural(table.tombstones, 'tombstone')}` : '';
    this.description = `${keyRangeText(table, 12)} · ${plural(table.entries, 'entry', 'entries')}${tomb} · ${formatBytes(table.sizeBytes)}`;
    this.tooltip = new vscode.MarkdownString([
      `**${table.file}** (level ${table.level})`,
      '',
      spansSalted(table)
        ? `- keys: plain keys from \`${table.minKey}\` on, then salted variants up to \`${table.maxKey}\` (${SALTED_ORDER})`
        : `- keys: \`${table.minKey}\` … \`${table.maxKey}\``,
      `- entries: ${table.entries}, tombstones: ${table.tombstones}`,
      `- size: ${formatBytes(table.sizeBytes)}`,
      ...(lastReport ? ['', `As ${nodeId} last reported it before it went down; the file stays on disk.`] : []),
    ].join('\n'));
  }
}

type SSTablesElement = StorageNodeItem | MemtableItem | WalItem | LevelItem | SSTableItem;

export class SSTablesProvider extends Disposable implements vscode.TreeDataProvider<SSTablesElement> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<SSTablesElement | undefined>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  /** The root rows as the tree holds them, with what each was rendered from. */
  private readonly items = new NodeRows((n) => new StorageNodeItem(n));

  constructor(private readonly model: ClusterModel) {
    super();
    this._register(model.onDidChange((c) => {
      // Stats events also carry store snapshots ('nodes' with the node), 'store' flush/compaction.
      if ((c.kind === 'nodes' || c.kind === 'store') && c.nodeId !== undefined) this.refreshNode(c.nodeId);
      else if (c.kind === 'reset' || c.kind === 'nodes') this._onDidChangeTreeData.fire(undefined);
    }));
  }

  /** Refreshes one node's rows if what they show changed (a node's other fields change too: peers, clock). */
  private refreshNode(id: string): void {
    const item = this.items.get(id);
    const node = this.model.node(id);
    if (!item || !node) {
      this._onDidChangeTreeData.fire(undefined);
      return;
    }
    const shown = item.node;
    item.node = node;
    if (shown.status === node.status && !storeChanged(shown.store, node.store)) return;
    item.render(node);
    this._onDidChangeTreeData.fire(item);
  }

  getTreeItem(element: SSTablesElement): vscode.TreeItem {
    return element;
  }

  getChildren(element?: SSTablesElement): SSTablesElement[] {
    if (!element) {
      return this.items.rows(this.model.snapshot.nodes);
    }
    if (element instanceof StorageNodeItem) {
      const node = this.model.node(element.node.id);
      const store = node?.store;
      if (!node || !store) return [];
      const history = reportsAreHistory(node);
      const levels = new Map<number, SSTableView[]>();
      for (const t of store.sstables) levels.set(t.level, [...(levels.get(t.level) ?? []), t]);
      return [
        // The memtable of a process that is gone is not anywhere any more.
        ...(history ? [] : [new MemtableItem(node.id, store)]),
        new WalItem(node.id, store, history),
        ...[...levels.keys()].sort((a, b) => a - b).map((l) => new LevelItem(node.id, l, levels.get(l) ?? [], history)),
      ];
    }
    if (element instanceof LevelItem) {
      // Salted variants after plain keys, as the node stores them.
      return [...element.tables].sort((a, b) => Number(a.minKeySalted) - Number(b.minKeySalted) || a.minKey.localeCompare(b.minKey)).map((t) => new SSTableItem(element.nodeId, t, element.lastReport));
    }
    return [];
  }
}

function storeChanged(a: StoreView | undefined, b: StoreView | undefined): boolean {
  return a !== b && JSON.stringify(a) !== JSON.stringify(b);
}
