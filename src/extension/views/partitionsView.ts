// The Partitions view: one row per partition with its range, owner and replicas, ops and a hot
// marker, in ring order or grouped by owner. Filled once the engine reports its partition map
// (the partitioning layer).
import * as vscode from 'vscode';
import { byNodeId, compareNodeIds, formatShare, plural } from '../common/format';
import { Disposable } from '../common/lifecycle';
import type { ClusterModel } from '../model/clusterModel';
import { answersRequests, type NodeStatus, type PartitionView } from '../model/types';

/**
 * Owner first: a sidebar of the default width cuts a row off after about 40 characters, and a
 * hash range's two tokens alone take more than that.
 */
export function partitionDescription(p: PartitionView, notUp: readonly string[] = [], underOwner = false): string {
  // Under its owner's row the owner goes: repeated on every row it took width the range needed.
  const parts = underOwner ? [] : [p.owner];
  // What a person scanning 128 rows for trouble looks for first: replicas that cannot answer.
  if (notUp.length === p.replicas.length && notUp.length > 0) parts.push('no replica up');
  else if (notUp.length > 0) parts.push(`${byNodeId(notUp).join(', ')} not up`);
  if (p.share !== undefined) parts.push(formatShare(p.share));
  if (p.ops > 0) parts.push(plural(p.ops, 'op'));
  if (p.hot) parts.push('hot');
  parts.push(p.range);
  return parts.join(' · ');
}

export class PartitionItem extends vscode.TreeItem {
  /** `notUp`: its replicas that are not up (down, stopped, starting), which cannot answer for it now. `underOwner`: a child of its owner's row. */
  constructor(readonly partition: PartitionView, notUp: readonly string[] = [], underOwner = false) {
    super(partition.id, vscode.TreeItemCollapsibleState.None);
    this.id = `partition/${partition.id}`;
    this.contextValue = partition.hot ? 'partition.hot' : 'partition';
    const unserved = notUp.length > 0 && notUp.length === partition.replicas.length;
    this.iconPath = unserved ? new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'))
      : notUp.length > 0 ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
        : partition.hot ? new vscode.ThemeIcon('flame', new vscode.ThemeColor('list.warningForeground'))
          : new vscode.ThemeIcon('symbol-namespace');
    this.description = partitionDescription(partition, notUp, underOwner);
    this.tooltip = new vscode.MarkdownString([
      `**partition ${partition.id}**${partition.hot ? ' (hot)' : ''}`,
      '',
      `- range: \`${partition.range}\``,
      `- owner: ${partition.owner}`,
      ...(partition.share === undefined ? [] : [`- share of the hash ring: ${formatShare(partition.share)}`]),
      `- replicas: ${partition.replicas.join(', ') || '—'}`,
      ...(notUp.length ? [`- not up: ${byNodeId(notUp).join(', ')}${unserved ? ' (every replica: reads and writes of its keys go to hints, or fail)' : ''}`] : []),
      `- map version: ${partition.mapVersion}`,
      `- ops: ${partition.ops}`,
    ].join('\n'));
  }
}

/** A node's partitions, when the view groups by owner: what a node carries, and whether it is up. */
export class OwnerItem extends vscode.TreeItem {
  constructor(readonly nodeId: string, readonly owned: readonly PartitionView[], replicaOnly: number, state: NodeStatus | undefined) {
    super(nodeId, owned.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    this.id = `owner/${nodeId}`;
    this.contextValue = 'partitionOwner';
    const up = answersRequests(state);
    this.iconPath = new vscode.ThemeIcon(up ? 'server' : 'debug-disconnect', up ? undefined : new vscode.ThemeColor('list.warningForeground'));
    const ops = owned.reduce((n, p) => n + p.ops, 0);
    const hot = owned.filter((p) => p.hot).length;
    // Hash maps only: a range map's ranges have no size to add up.
    const share = owned.every((p) => p.share !== undefined) && owned.length ? formatShare(owned.reduce((n, p) => n + (p.share ?? 0), 0)) : undefined;
    const parts = [owned.length ? `owns ${plural(owned.length, 'partition')}` : 'owns no partition'];
    if (!up) parts.push(state ?? 'not a running node');
    if (share) parts.push(`${share} of the ring`);
    if (ops > 0) parts.push(plural(ops, 'op'));
    if (hot) parts.push(`${hot} hot`);
    this.description = parts.join(' · ');
    this.tooltip = new vscode.MarkdownString([
      `**${nodeId}**${up ? '' : ` (${state ?? 'not a running node'})`}`,
      '',
      `- owner (first replica) of ${plural(owned.length, 'partition')}${share ? `, ${share} of the hash ring` : ''}`,
      `- replica, not owner, of ${plural(replicaOnly, 'more partition')}`,
      `- ops of its partitions since the last reset: ${ops}${hot ? ` (${hot} hot)` : ''}`,
    ].join('\n'));
  }
}

/** What the header cuts off: the map version, each kind of problem, and the nodes causing them. */
export interface PartitionsHealth {
  readonly count: number;
  readonly mapVersion: number;
  /** Partitions none of whose replicas is up. */
  readonly unserved: number;
  /** Partitions with some, not all, replicas not up. */
  readonly degraded: number;
  readonly notUp: readonly { readonly id: string; readonly status: NodeStatus; readonly replicaOf: number; readonly owns: number }[];
}

/** The first row while a partition lacks a replica: what the header has no room for. */
export class PartitionsSummaryItem extends vscode.TreeItem {
  constructor(readonly health: PartitionsHealth) {
    const h = health;
    // "12 of 128 partitions degraded": the label alone says how many of how many.
    super(`${h.unserved || h.degraded} of ${plural(h.count, 'partition')} ${h.unserved ? 'down' : 'degraded'}`, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = 'partitions/summary';
    this.contextValue = 'partitions.summary';
    this.iconPath = new vscode.ThemeIcon(h.unserved ? 'error' : 'warning', new vscode.ThemeColor(h.unserved ? 'list.errorForeground' : 'list.warningForeground'));
    const who = h.notUp.map((n) => n.id).join(', ');
    this.description = [...(h.unserved && h.degraded ? [`${h.degraded} degraded`] : []), `map v${h.mapVersion}`, ...(who ? [`${who} not up`] : [])].join(' · ');
    this.tooltip = new vscode.MarkdownString([
      `**${plural(h.count, 'partition')}**, map version ${h.mapVersion}`,
      '',
      ...(h.unserved ? [`- ${h.unserved} with no replica up: reads of their keys fail, writes go to hints or fail`] : []),
      ...(h.degraded ? [`- ${h.degraded} with a replica not up: writes reach fewer replicas, or go to hints`] : []),
      ...h.notUp.map((n) => `- ${n.id} is ${n.status}: replica of ${plural(n.replicaOf, 'partition')}, owner of ${n.owns}`),
      '',
      'Restart the nodes that are not up ("RingDB: Restart Node"); expand this row to list them.',
    ].join('\n'));
  }
}

/** A node that is not up, under the summary row: which partitions it leaves short. */
export class NotUpItem extends vscode.TreeItem {
  constructor(n: PartitionsHealth['notUp'][number]) {
    super(n.id, vscode.TreeItemCollapsibleState.None);
    this.id = `partitions/summary/${n.id}`;
    this.contextValue = 'partitions.notUp';
    this.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('list.warningForeground'));
    this.description = `${n.status} · replica of ${plural(n.replicaOf, 'partition')}, owner of ${n.owns}`;
    this.tooltip = `${n.id} is ${n.status}: ${plural(n.replicaOf, 'partition')} it replicates have a replica fewer. Restart it with "RingDB: Restart Node".`;
  }
}

type PartitionsElement = PartitionItem | OwnerItem | PartitionsSummaryItem | NotUpItem;

export type PartitionsGrouping = 'ring' | 'owner';

export class PartitionsProvider extends Disposable implements vscode.TreeDataProvider<PartitionsElement> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private _grouping: PartitionsGrouping = 'ring';

  constructor(private readonly model: ClusterModel) {
    super();
    this._register(model.onDidChange((c) => {
      if (c.kind === 'reset' || c.kind === 'partitions') this._onDidChangeTreeData.fire();
      // A node's state marks its partitions' rows; the model announces a node only when that changed.
      else if (c.kind === 'nodes' && this.upNodes() !== this.lastUp) this._onDidChangeTreeData.fire();
    }));
  }

  /** Shown above the tree when the running engine has no partition map to report. */
  get message(): string | undefined {
    const s = this.model.snapshot;
    if (s.phase !== 'running' || s.reportsPartitions) return undefined;
    return 'This cluster reports no partition map: every node holds every key (full replication).';
  }

  getTreeItem(element: PartitionsElement): vscode.TreeItem {
    return element;
  }

  get grouping(): PartitionsGrouping {
    return this._grouping;
  }

  set grouping(g: PartitionsGrouping) {
    if (g === this._grouping) return;
    this._grouping = g;
    this._onDidChangeTreeData.fire();
  }

  /**
   * The view's header: the count, then the worst problem. A narrow sidebar cuts the header off
   * after about 20 characters; the rest (map version, every problem, the nodes) is in the
   * summary row, which shows while there is a problem.
   */
  get summary(): string | undefined {
    const h = this.health();
    if (!h) return undefined;
    if (h.unserved) return `${h.count} · ${h.unserved} down`;
    if (h.degraded) return `${h.count} · ${h.degraded} degraded`;
    return String(h.count);
  }

  private health(): PartitionsHealth | undefined {
    const parts = this.model.snapshot.partitions;
    if (parts.length === 0) return undefined;
    const up = new Set(this.upNodes().split(','));
    const notUp = this.model.snapshot.nodes.filter((n) => !up.has(n.id)).sort((a, b) => compareNodeIds(a.id, b.id));
    const missing = (p: PartitionView): number => p.replicas.filter((r) => !up.has(r)).length;
    return {
      count: parts.length,
      mapVersion: parts[0].mapVersion,
      unserved: parts.filter((p) => p.replicas.length > 0 && missing(p) === p.replicas.length).length,
      degraded: parts.filter((p) => missing(p) > 0 && missing(p) < p.replicas.length).length,
      notUp: notUp.map((n) => ({ id: n.id, status: n.status, replicaOf: parts.filter((p) => p.replicas.includes(n.id)).length, owns: parts.filter((p) => p.owner === n.id).length })),
    };
  }

  getChildren(element?: PartitionsElement): PartitionsElement[] {
    if (element instanceof PartitionItem || element instanceof NotUpItem) return [];
    if (element instanceof PartitionsSummaryItem) return element.health.notUp.map((n) => new NotUpItem(n));
    this.lastUp = this.upNodes();
    const h = element ? undefined : this.health();
    const summary = h && (h.unserved || h.degraded) ? [new PartitionsSummaryItem(h)] : [];
    const up = new Set(this.lastUp.split(','));
    const row = (p: PartitionView): PartitionItem => new PartitionItem(p, p.replicas.filter((r) => !up.has(r)), element !== undefined);
    // In the map's order, which is the ring's: a split's new partition sits beside its parent, and neighbours merge.
    if (element) return element.owned.map(row);
    const partitions = this.model.snapshot.partitions;
    if (this._grouping === 'ring') return [...summary, ...partitions.map(row)];
    // Every member, owning something or not (a node just added owns nothing until a rebalance), then any other owner the map names.
    const states = new Map(this.model.snapshot.nodes.map((n) => [n.id, n.status]));
    const ids = [...states.keys(), ...new Set(partitions.map((p) => p.owner).filter((o) => !states.has(o)))];
    return [...summary, ...ids.map((id) => new OwnerItem(id, partitions.filter((p) => p.owner === id), partitions.filter((p) => p.owner !== id && p.replicas.includes(id)).length, states.get(id)))];
  }

  private lastUp = '';

  /** The nodes that are up (or suspect: still answering), as one comparable string. */
  private upNodes(): string {
    return this.model.snapshot.nodes.filter((n) => answersRequests(n.status)).map((n) => n.id).join(',');
  }
}
