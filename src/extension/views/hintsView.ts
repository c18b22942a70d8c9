// The Hints view: per node, the hints it holds for each down target (count, oldest age).
// Empties as the hints are delivered; when empty, its message says why (and names down nodes).
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';
import { formatDuration, plural } from '../common/format';
import type { ClusterModel } from '../model/clusterModel';
import type { ClusterSnapshot, HintView } from '../model/types';

export class HintHolderItem extends vscode.TreeItem {
  constructor(readonly holder: string, readonly hints: readonly HintView[]) {
    super(holder, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `hints/${holder}`;
    this.contextValue = 'hints.holder';
    this.iconPath = new vscode.ThemeIcon('server-process');
    this.description = `${plural(hints.reduce((n, h) => n + h.count, 0), 'hint')} held`;
  }
}

export class HintItem extends vscode.TreeItem {
  constructor(readonly hint: HintView, now: number) {
    super(`for ${hint.target}`, vscode.TreeItemCollapsibleState.None);
    this.id = `hints/${hint.holder}/${hint.target}`;
    this.contextValue = 'hints.target';
    this.iconPath = new vscode.ThemeIcon('mail');
    const age = hint.oldestUnixMs ? ` · oldest ${formatDuration(now - hint.oldestUnixMs)}` : '';
    this.description = `${plural(hint.count, 'hint')}${age}`;
    this.tooltip = `${hint.holder} keeps ${plural(hint.count, 'write')} for ${hint.target} until it is reachable again`;
  }
}

type HintsElement = HintHolderItem | HintItem;

const names = (ids: readonly string[]): string => (ids.length > 1 ? `${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}` : ids[0]);

/**
 * Why the view is empty. A write is hinted only when a replica of its key is down and a healthy
 * node outside the key's replicas takes its place (sloppy quorum); with as many replicas as
 * nodes (or no partition map) there is no such node, and a down node catches up from its peers.
 */
export function noHintsMessage(s: ClusterSnapshot): string {
  const down = s.nodes.filter((n) => n.status !== 'up' && n.status !== 'starting').map((n) => n.id);
  if (!down.length) return 'No hints held: every node is up.';
  const one = down.length === 1;
  const who = `${names(down)} ${one ? 'is' : 'are'} ${one ? s.nodes.find((n) => n.id === down[0])?.status : 'not up'}`;
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

export class HintsProvider extends Disposable implements vscode.TreeDataProvider<HintsElement> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;

  constructor(private readonly model: ClusterModel) {
    super();
    this._register(model.onDidChange((c) => {
      if (c.kind === 'reset' || c.kind === 'hints') this._onDidChangeTreeData.fire();
    }));
  }

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

  getChildren(element?: HintsElement): HintsElement[] {
    const hints = this.model.snapshot.hints.filter((h) => h.count > 0);
    if (!element) {
      const holders = [...new Set(hints.map((h) => h.holder))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      return holders.map((h) => new HintHolderItem(h, hints.filter((x) => x.holder === h)));
    }
    if (element instanceof HintHolderItem) {
      const now = Date.now();
      return hints.filter((h) => h.holder === element.holder).map((h) => new HintItem(h, now));
    }
    return [];
  }
}
