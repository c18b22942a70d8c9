// The status-bar item: "RingDB 3/3 up", warning colours while a node is down; opens the explorer.
import * as vscode from 'vscode';
import { Commands } from '../common/commandIds';
import { Disposable } from '../common/lifecycle';
import type { Consistency } from '../commands/consistency';
import type { ClusterModel } from '../model/clusterModel';
import { byNodeId } from '../common/format';
import { upCount } from '../model/types';

export class ClusterStatusBar extends Disposable {
  private readonly item = this._register(vscode.window.createStatusBarItem('ringdb.status', vscode.StatusBarAlignment.Left, 10));

  constructor(private readonly model: ClusterModel, private readonly consistency: Consistency) {
    super();
    this.item.name = 'RingDB cluster';
    this.item.command = Commands.showExplorer;
    this._register(model.onDidChange(() => this.update()));
    this._register(consistency.onDidChange(() => this.update()));
    this.update();
  }

  /** The text shown, for tests and the README. */
  get text(): string {
    return this.item.text;
  }

  private update(): void {
    const s = this.model.snapshot;
    const { up, total } = upCount(s);
    let warning = false;
    switch (s.phase) {
      case 'none':
      case 'stopped':
        this.item.text = '$(database) RingDB: stopped';
        this.item.tooltip = s.phaseReason || 'No cluster runs in this window. Click to open the RingDB explorer.';
        break;
      case 'starting':
        this.item.text = '$(loading~spin) RingDB: starting';
        this.item.tooltip = s.phaseReason || 'Starting the cluster…';
        break;
      case 'stopping':
        this.item.text = '$(loading~spin) RingDB: stopping';
        this.item.tooltip = 'Stopping the cluster…';
        break;
      case 'running': {
        warning = up < total;
        // Levels other than the cluster's own change what every Put, Delete and Get does: always in sight.
        const levels = this.consistency.shortLabel;
        this.item.text = `${warning ? '$(warning)' : '$(database)'} RingDB ${up}/${total} up${levels ? ` · ${levels}` : ''}`;
        const down = s.nodes.filter((n) => n.status !== 'up').map((n) => `${n.id} ${n.status}`);
        this.item.tooltip = `${up} of ${total} nodes up${down.length ? ` (${byNodeId(down).join(', ')})` : ''}.${levels ? ` This workspace's requests: ${levels} ("RingDB: Set Consistency Level" changes it).` : ''} Click to open the RingDB explorer.`;
        break;
      }
    }
    this.item.backgroundColor = warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }
}
