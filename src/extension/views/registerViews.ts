// Creates the four tree views of the RingDB container over the one shared model, keeps their
// messages current, and mirrors the cluster phase into the when-clause context keys.
import * as vscode from 'vscode';
import { Commands, ContextKeys, Views } from '../common/commandIds';
import { Disposable } from '../common/lifecycle';
import { Ticker } from '../common/ticker';
import type { ClusterModel } from '../model/clusterModel';
import { HintHolderItem, HintItem, HintsProvider, type HeldHintsSource } from './hintsView';
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
  readonly hintsView: vscode.TreeView<unknown>;

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
    this.hintsView = hintsView;
    // A key row's click runs Get with its key as the argument, which VS Code keeps only until the
    // row is rendered again: rendering every second for the ages made a click land on a dropped
    // command ("Actual command not found"). So while a group's keys are open, the ages wait.
    // Registered before the ticker, which reads them on the same events.
    const openGroups = new Set<string>();
    this._register(hintsView.onDidExpandElement((e) => { if (e.element instanceof HintItem && e.element.id) openGroups.add(e.element.id); }));
    this._register(hintsView.onDidCollapseElement((e) => {
      if (e.element instanceof HintItem && e.element.id) openGroups.delete(e.element.id);
      // A holder's row closed hides its groups, which send no collapse of their own.
      if (e.element instanceof HintHolderItem) for (const id of openGroups) if (id.startsWith(`${e.element.id ?? ''}/`)) openGroups.delete(id);
    }));
    this._register(model.onDidChange(() => {
      // A group delivered (or its holder gone) sends no collapse.
      const live = new Set(model.snapshot.hints.filter((h) => h.count > 0).map((h) => HintItem.idOf(h)));
      for (const id of openGroups) if (!live.has(id)) openGroups.delete(id);
    }));
    // Hint ages ("oldest 12 s") grow with no event from the controller: re-rendered each second while shown.
    this._register(new Ticker(HINT_AGE_TICK_MS, () => hintsView.visible && this.hints.showsAges && openGroups.size === 0, () => this.hints.refresh(),
      [hintsView.onDidChangeVisibility, model.onDidChange, hintsView.onDidExpandElement, hintsView.onDidCollapseElement]));
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
