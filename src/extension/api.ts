// What activate() returns: a small read-mostly API for the extension's tests (and for other
// extensions that want to observe the cluster). State is read, never changed, through it.
import type * as vscode from 'vscode';
import type { ShownResult } from './commands/resultDocuments';
import type { ClusterChange, ClusterSnapshot, ReplicationEntryView } from './model/types';

export type ViewName = 'nodes' | 'partitions' | 'sstables' | 'hints';

export interface RingDbApi {
  /** The cluster model's current snapshot. */
  snapshot(): ClusterSnapshot;
  readonly onDidChange: vscode.Event<ClusterChange>;
  /** Rows of a tree view as its provider renders them (children of `parent` when given). */
  treeItems(view: ViewName, parent?: vscode.TreeItem): Promise<vscode.TreeItem[]>;
  /** A row's tooltip as a hover shows it (built then, by the provider's resolveTreeItem where it has one), as text. */
  tooltipOf(view: ViewName, item: vscode.TreeItem): Promise<string | undefined>;
  /**
   * Fires each time a tree view's rows are rendered again (on model changes, and on its own timer
   * if it has one), with the row refreshed (it and its children), or undefined for the whole tree.
   */
  treeRefreshes(view: ViewName): vscode.Event<unknown>;
  /**
   * Shows a row of the Hints view, expanded if asked, as a person's click does (the one call that
   * changes something: what the view shows, never the cluster). With `expand`, resolves once the
   * view's expand event has reached the extension (at most 10 s after the row was shown).
   */
  revealInTree(view: 'hints', item: vscode.TreeItem, options: { expand: boolean }): Promise<void>;
  /** The message the Partitions or Hints view shows above its rows (why it is empty), if any. */
  viewMessage(view: 'partitions' | 'hints'): string | undefined;
  /** The Partitions view's header text beside its title (what a narrow sidebar shows of it). */
  viewDescription(view: 'partitions'): string | undefined;
  statusBarText(): string;
  /** The last result Get, Where Is Key, Scan, Query Index or Show SSTable Details showed (rendered, so not readable from an editor). */
  lastResult(): ShownResult | undefined;
  replicationLog(): readonly ReplicationEntryView[];
  /** The replication-log panel's last report from its webview, if the panel is open. */
  replicationLogPanel(): { readonly lastRender: { total: number; shown: number }; readonly onDidRender: vscode.Event<{ total: number; shown: number }> } | undefined;
  /** The controller process and every node process the extension knows of. */
  processIds(): { controller: number | undefined; nodes: number[] };
  lastError(): string | undefined;
  /** The RingDB output channel's last lines (up to 5,000). */
  outputLines(): readonly string[];
  /** Exactly what deactivate() does: stop the cluster and the controller, dispose everything. */
  shutdown(): Promise<void>;
  /** What the next window is told of the cluster shutdown() stopped (workspace state), if any. */
  stoppedWithWindow(): unknown;
  /** Milliseconds activate() took. */
  readonly activationMs: number;
}
