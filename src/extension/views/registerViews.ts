// Creates the four tree views of the RingDB container over the one shared model, keeps their
// messages current, and mirrors the cluster phase into the when-clause context keys.
import * as vscode from 'vscode';
import { Commands, ContextKeys, Views } from '../common/commandIds';
import { Disposable } from '../common/lifecycle';
import { Ticker } from '../common/ticker';
import type { ClusterModel } from '../model/clusterModel';
import { HintsProvider, type HeldHintsSource } from './hintsView';
import { NodesProvider } from './nodesView';
import { PartitionsProvider, type PartitionsGrouping } from './partitionsView';
import { SSTablesProvider } from './sstablesView';

const HINT_AGE_TICK_MS = 1_000;
/** Workspace state: how the Partitions view was last arranged, kept across windows. */
const PARTITIONS_GROUPING_KEY = 'ringdb.partitionsGrouping';

export class ClusterViews extends Disposable {
  readonly nodes: NodesProvider;
  readonly partitions: PartitionsProvider;
  readonly sstables: SSTablesProvider;
  readonly hints: HintsProvider;
  readonly nodesView: vscode.TreeView<unknown>;
  readonly partitionsView: vscode.TreeView<unknown>;

  constructor(model: ClusterModel, state: vscode.Memento, heldHints: HeldHintsSource) {
    super();
    this.nodes = this._register(new NodesProvider(model));
    this.partitions = this._register(new PartitionsProvider(model));
    this.sstables = this._register(new SSTablesProvider(model));
    this.hints = this._register(new HintsProvider(model, heldHints));
    this.nodesView = this._register(vscode.window.createTreeView(Views.nodes, { treeDataProvider: this.nodes, showCollapseAll: true }));
    this._register(vscode.window.createTreeView(Views.sstables, { treeDataProvider: this.sstables, showCollapseAll: true }));
    const partitionsView = this._register(vscode.window.createTreeView(Views.partitions, { treeDataProvider: this.partitions }));
    this.partitionsView = partitionsView;
    const hintsView = this._register(vscode.window.createTreeView(Views.hints, { treeDataProvider: this.hints }));
    // Hint ages ("oldest 12 s") grow with no event from the controller: re-rendered each second while shown.
    this._register(new Ticker(HINT_AGE_TICK_MS, () => hintsView.visible && this.hints.showsAges, () => this.hints.refresh(), [hintsView.onDidChangeVisibility, model.onDidChange]));
    const context = new Map<string, boolean>();
    const setContext = (key: string, value: boolean): void => {
      if (context.get(key) === value) return;
      context.set(key, value);
      void vscode.commands.executeCommand('setContext', key, value);
    };
    const sync = (): void => {
      partitionsView.message = this.partitions.message;
      partitionsView.description = this.partitions.summary;
      hintsView.message = this.hints.message;
      const s = model.snapshot;
      const down = s.nodes.filter((n) => n.status === 'down').length;
      this.nodesView.badge = s.phase === 'running' && down ? { value: down, tooltip: `${down} node(s) down` } : undefined;
      setContext(ContextKeys.clusterRunning, s.phase === 'running');
      setContext(ContextKeys.clusterStarting, s.phase === 'starting' || s.phase === 'stopping');
    };
    this._register(model.onDidChange(sync));
    sync();
    const group = (g: PartitionsGrouping): void => {
      this.partitions.grouping = g;
      setContext(ContextKeys.partitionsByOwner, g === 'owner');
      void state.update(PARTITIONS_GROUPING_KEY, g);
    };
    group(state.get<PartitionsGrouping>(PARTITIONS_GROUPING_KEY) === 'owner' ? 'owner' : 'ring');
    this._register(vscode.commands.registerCommand(Commands.groupPartitionsByOwner, () => group('owner')));
    this._register(vscode.commands.registerCommand(Commands.showPartitionsInRingOrder, () => group('ring')));
  }
}
