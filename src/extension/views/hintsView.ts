// The Hints view: per node, the hints it holds for each down target (count, oldest age).
// Empties as the hints are delivered.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';
import { formatDuration, plural } from '../common/format';
import type { ClusterModel } from '../model/clusterModel';
import type { HintView } from '../model/types';

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

export class HintsProvider extends Disposable implements vscode.TreeDataProvider<HintsElement> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;

  constructor(private readonly model: ClusterModel) {
    super();
    this._register(model.onDidChange((c) => {
      if (c.kind === 'reset' || c.kind === 'hints') this._onDidChangeTreeData.fire();
    }));
  }

  get message(): string | undefined {
    const s = this.model.snapshot;
    if (s.phase !== 'running') return undefined;
    if (!s.reportsHints) return 'This cluster does not use hinted handoff: a node that was down catches up through anti-entropy.';
    return s.hints.length ? undefined : 'No hints: every node is reachable.';
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
