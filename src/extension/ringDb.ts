// The one object activate() builds: owns the log, model, controller host, session, views,
// status bar, commands and the replication-log panel, and releases all of them on dispose.
import * as vscode from 'vscode';
import type { RingDbApi, ViewName } from './api';
import { Commands } from './common/commandIds';
import { readSettings, workspaceRoot } from './common/config';
import { Disposable, toDisposable } from './common/lifecycle';
import { Log } from './common/log';
import { registerClusterCommands, SPEC_RELATIVE_PATH } from './commands/clusterCommands';
import { Consistency, registerConsistencyCommand } from './commands/consistency';
import { registerDataCommands } from './commands/dataCommands';
import { registerIndexCommands } from './commands/indexCommands';
import { registerNodeCommands } from './commands/nodeCommands';
import { registerHotspotCommands } from './commands/hotspotCommands';
import { registerPartitionCommands } from './commands/partitionCommands';
import { registerRepairCommands } from './commands/repairCommands';
import { registerSSTableCommands } from './commands/sstableCommands';
import { ResultDocuments } from './commands/resultDocuments';
import { SpecDiagnostics } from './editor/specDiagnostics';
import { ClusterSession } from './controller/clusterSession';
import { ControllerHost } from './controller/controllerHost';
import { NodeLogFollower } from './controller/nodeLogFollower';
import { PartitionOpsRefresher } from './controller/partitionOps';
import { isStoppedWithWindow, STOPPED_WITH_WINDOW_KEY, StoppedWithWindowRecord, stoppedNote } from './controller/stoppedWithWindow';
import { ClusterModel } from './model/clusterModel';
import { ReplicationLogStore } from './model/replicationLog';
import { NodeDownNotifier } from './views/nodeDownNotifier';
import { ClusterViews } from './views/registerViews';
import { ClusterStatusBar } from './views/statusBar';
import { ReplicationLogPanel, VIEW_TYPE } from './webviews/replicationLog/replicationLogPanel';

export class RingDb extends Disposable {
  readonly log: Log;
  readonly model: ClusterModel;
  readonly replicationLog: ReplicationLogStore;
  private readonly host: ControllerHost;
  private readonly session: ClusterSession;
  private readonly views: ClusterViews;
  private readonly statusBar: ClusterStatusBar;
  private readonly results: ResultDocuments;
  private shuttingDown: Promise<void> | undefined;
  /** Set before anything stops: what stops from here on stops with the window. */
  private closing = false;

  constructor(private readonly context: vscode.ExtensionContext) {
    super();
    const settings = readSettings();
    this.log = this._register(new Log(settings.logLevel));
    this.model = this._register(new ClusterModel());
    this.replicationLog = this._register(new ReplicationLogStore());
    this.host = this._register(new ControllerHost(context.asAbsolutePath('dist/engine/controller.js'), this.log));
    this.session = this._register(new ClusterSession(this.host, this.model, this.replicationLog, this.log));
    this._register(new NodeLogFollower(this.model, () => this.host.current?.client, this.log));
    this.views = this._register(new ClusterViews(this.model, context.workspaceState, (holder, target, limit) => this.session.heldHints(holder, target, limit)));
    this._register(new PartitionOpsRefresher(this.model, () => this.host.current?.client, this.views.partitionsView, this.log));
    const consistency = this._register(new Consistency(context.workspaceState));
    this.statusBar = this._register(new ClusterStatusBar(this.model, consistency));
    this._register(new NodeDownNotifier(this.model));
    this.results = this._register(new ResultDocuments());
    this._register(new SpecDiagnostics(this.log));
    this._register(new StoppedWithWindowRecord(context.workspaceState, this.model, () => this.host.current?.launched === true, () => this.closing, this.log));
    for (const d of [
      ...registerClusterCommands(this.session, this.model, this.log),
      ...registerNodeCommands(this.session, this.model, this.log),
      ...registerDataCommands(this.session, this.model, this.log, this.results, consistency),
      ...registerConsistencyCommand(consistency, this.model, this.log),
      ...registerIndexCommands(this.session, this.model, this.log, this.results),
      ...registerPartitionCommands(this.session, this.model, this.log),
      ...registerHotspotCommands(this.session, this.model, this.log, this.results),
      ...registerRepairCommands(this.session, this.model, this.log, this.results),
      ...registerSSTableCommands(this.session, this.model, this.log, this.results),
      vscode.commands.registerCommand(Commands.openReplicationLog, () => this.openReplicationLog()),
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => {
          ReplicationLogPanel.revive(panel, context.extensionUri, this.replicationLog, this.model);
        },
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('ringdb.logLevel')) this.log.setLevel(readSettings().logLevel);
      }),
      toDisposable(() => ReplicationLogPanel.current?.dispose()),
    ]) this._register(d);
  }

  /**
   * Once the window is up (never during activate): shows the cluster `ringdb start` runs in the
   * workspace's data folder if there is one, else with ringdb.autoStart starts the workspace's.
   */
  maybeAutoStart(): void {
    const stopped = this.context.workspaceState.get<unknown>(STOPPED_WITH_WINDOW_KEY);
    if (stopped !== undefined) void this.context.workspaceState.update(STOPPED_WITH_WINDOW_KEY, undefined);
    void (async () => {
      if (await vscode.commands.executeCommand(Commands.showRunningCluster, { ifRunning: true })) return;
      const root = workspaceRoot();
      const autoStart = readSettings().autoStart && root !== undefined
        && await vscode.workspace.fs.stat(vscode.Uri.file(`${root}/${SPEC_RELATIVE_PATH}`)).then(() => true, () => false);
      if (autoStart) {
        await vscode.commands.executeCommand(Commands.startCluster);
        return;
      }
      if (!isStoppedWithWindow(stopped)) return;
      const START = 'Start Cluster';
      if (await vscode.window.showInformationMessage(stoppedNote(stopped), START) === START) await vscode.commands.executeCommand(Commands.startCluster);
    })();
  }

  private openReplicationLog(): ReplicationLogPanel {
    return ReplicationLogPanel.show(this.context.extensionUri, this.replicationLog, this.model);
  }

  /** Stops the cluster and the controller this window started (one it attached to keeps running), then disposes everything; what deactivate awaits. */
  shutdown(): Promise<void> {
    this.closing = true;
    this.shuttingDown ??= (async () => {
      try {
        await this.host.shutdown();
      } catch (err) {
        this.log.error('stopping the controller failed', err);
      }
      this.dispose();
    })();
    return this.shuttingDown;
  }

  api(activationMs: number): RingDbApi {
    const providers = { nodes: this.views.nodes, partitions: this.views.partitions, sstables: this.views.sstables, hints: this.views.hints };
    return {
      snapshot: () => this.model.snapshot,
      onDidChange: this.model.onDidChange,
      treeItems: async (view: ViewName, parent?: vscode.TreeItem) => {
        const provider = providers[view] as vscode.TreeDataProvider<vscode.TreeItem>;
        return (await provider.getChildren(parent)) ?? [];
      },
      tooltipOf: async (view: ViewName, item: vscode.TreeItem) => {
        const provider = providers[view] as vscode.TreeDataProvider<vscode.TreeItem>;
        const cancel = new vscode.CancellationTokenSource();
        try {
          const tip = ((await provider.resolveTreeItem?.(item, item, cancel.token)) ?? item).tooltip;
          return tip instanceof vscode.MarkdownString ? tip.value : tip;
        } finally {
          cancel.dispose();
        }
      },
      treeRefreshes: (view: ViewName): vscode.Event<unknown> => providers[view].onDidChangeTreeData,
      revealInTree: async (_view: 'hints', item: vscode.TreeItem, options: { expand: boolean }) => {
        // reveal resolves when the window has expanded the row, but the expand event reaches the
        // extension on a message of its own, which a loaded machine delays by seconds: wait for it
        // (bounded, as a row that was open already sends none).
        let heard: vscode.Disposable | undefined;
        const expanded = new Promise<void>((resolve) => {
          heard = this.views.hintsView.onDidExpandElement((e) => { if (e.element === item || (e.element instanceof vscode.TreeItem && e.element.id === item.id)) resolve(); });
        });
        try {
          await this.views.hintsView.reveal(item, { expand: options.expand, select: false, focus: false });
          if (options.expand) await Promise.race([expanded, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        } finally {
          heard?.dispose();
        }
      },
      viewMessage: (view: 'partitions' | 'hints') => providers[view].message,
      viewDescription: () => this.views.partitionsView.description,
      statusBarText: () => this.statusBar.text,
      lastResult: () => this.results.last,
      replicationLog: () => this.replicationLog.all(),
      replicationLogPanel: () => ReplicationLogPanel.current,
      processIds: () => ({
        controller: this.host.current?.pid,
        nodes: this.model.snapshot.nodes.map((n) => n.pid).filter((p) => p > 0),
      }),
      lastError: () => this.log.lastError,
      outputLines: () => this.log.recentLines(),
      shutdown: () => this.shutdown(),
      stoppedWithWindow: () => this.context.workspaceState.get<unknown>(STOPPED_WITH_WINDOW_KEY),
      activationMs,
    };
  }
}
