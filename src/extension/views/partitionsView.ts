// The Partitions view: one row per partition with its range, owner and replicas, ops and a hot
// marker. Filled once the engine reports its partition map (the partitioning layer).
import * as vscode from 'vscode';
import { formatShare, plural } from '../common/format';
import { Disposable } from '../common/lifecycle';
import type { ClusterModel } from '../model/clusterModel';
import type { PartitionView } from '../model/types';

/**
 * Owner first: a sidebar of the default width cuts a row off after about 40 characters, and a
 * hash range's two tokens alone take more than that.
 */
export function partitionDescription(p: PartitionView): string {
  const parts = [p.owner];
  if (p.share !== undefined) parts.push(formatShare(p.share));
  if (p.ops > 0) parts.push(plural(p.ops, 'op'));
  if (p.hot) parts.push('hot');
  parts.push(p.range);
  return parts.join(' · ');
}

export class PartitionItem extends vscode.TreeItem {
  constructor(readonly partition: PartitionView) {
    super(partition.id, vscode.TreeItemCollapsibleState.None);
    this.id = `partition/${partition.id}`;
    this.contextValue = partition.hot ? 'partition.hot' : 'partition';
    this.iconPath = partition.hot
      ? new vscode.ThemeIcon('flame', new vscode.ThemeColor('list.warningForeground'))
      : new vscode.ThemeIcon('symbol-namespace');
    this.description = partitionDescription(partition);
    this.tooltip = new vscode.MarkdownString([
      `**partition ${partition.id}**${partition.hot ? ' (hot)' : ''}`,
      '',
      `- range: \`${partition.range}\``,
      `- owner: ${partition.owner}`,
      ...(partition.share === undefined ? [] : [`- share of the hash ring: ${formatShare(partition.share)}`]),
      `- replicas: ${partition.replicas.join(', ') || '—'}`,
      `- map version: ${partition.mapVersion}`,
      `- ops: ${partition.ops}`,
    ].join('\n'));
  }
}

export class PartitionsProvider extends Disposable implements vscode.TreeDataProvider<PartitionItem> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;

  constructor(private readonly model: ClusterModel) {
    super();
    this._register(model.onDidChange((c) => {
      if (c.kind === 'reset' || c.kind === 'partitions') this._onDidChangeTreeData.fire();
    }));
  }

  /** Shown above the tree when the running engine has no partition map to report. */
  get message(): string | undefined {
    const s = this.model.snapshot;
    if (s.phase !== 'running' || s.reportsPartitions) return undefined;
    return 'This cluster reports no partition map: every node holds every key (full replication).';
  }

  getTreeItem(element: PartitionItem): vscode.TreeItem {
    return element;
  }

  getChildren(element?: PartitionItem): PartitionItem[] {
    if (element) return [];
    // In the map's order, which is the ring's: a split's new partition sits beside its parent, and neighbours merge.
    return this.model.snapshot.partitions.map((p) => new PartitionItem(p));
  }
}
