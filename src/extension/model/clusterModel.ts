// The one shared cluster state. Replaced whole on every update (readers never see a half-applied
// change) and announced through onDidChange; providers and the status bar only render it.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';
import {
  EMPTY_SNAPSHOT, type ClusterChange, type ClusterPhase, type ClusterSnapshot, type HintView, type NodeView,
  type PartitionView, type StoreView,
} from './types';

export class ClusterModel extends Disposable {
  private _snapshot: ClusterSnapshot = EMPTY_SNAPSHOT;
  private readonly _onDidChange = this._register(new vscode.EventEmitter<ClusterChange>());
  readonly onDidChange = this._onDidChange.event;

  get snapshot(): ClusterSnapshot {
    return this._snapshot;
  }

  get isRunning(): boolean {
    return this._snapshot.phase === 'running';
  }

  node(id: string): NodeView | undefined {
    return this._snapshot.nodes.find((n) => n.id === id);
  }

  /** The whole state, as the first event of every Watch stream carries it. */
  replaceAll(next: ClusterSnapshot): void {
    this._snapshot = next;
    this._onDidChange.fire({ kind: 'reset' });
  }

  /** Back to "no cluster": the controller is gone or the cluster was stopped. */
  clear(reason = ''): void {
    this._snapshot = { ...EMPTY_SNAPSHOT, phaseReason: reason };
    this._onDidChange.fire({ kind: 'reset' });
  }

  /**
   * The spec the cluster runs with. Watch's first snapshot comes before StartCluster has a spec to
   * report, and no later event carries it: the start's answer does.
   */
  setSpec(spec: ClusterSnapshot['spec']): void {
    this._snapshot = { ...this._snapshot, spec };
    this._onDidChange.fire({ kind: 'phase' });
  }

  setPhase(phase: ClusterPhase, reason: string): void {
    if (phase === this._snapshot.phase && reason === this._snapshot.phaseReason) return;
    this._snapshot = { ...this._snapshot, phase, phaseReason: reason };
    this._onDidChange.fire({ kind: 'phase' });
  }

  /** Inserts or replaces one node, keeping the stats and store it had when `node` lacks them. */
  upsertNode(node: NodeView): void {
    const nodes = [...this._snapshot.nodes];
    const i = nodes.findIndex((n) => n.id === node.id);
    if (i < 0) {
      nodes.push(node);
      nodes.sort(byNodeId);
    } else {
      const old = nodes[i];
      nodes[i] = {
        ...node,
        clock: node.clock ?? old.clock,
        store: node.store ?? old.store,
        peers: node.peers.length ? node.peers : old.peers,
        versionVector: Object.keys(node.versionVector).length ? node.versionVector : old.versionVector,
      };
    }
    this._snapshot = { ...this._snapshot, nodes };
    this._onDidChange.fire({ kind: 'nodes' });
  }

  /** Applies a stats report to a known node; reports about unknown nodes are ignored. */
  updateNode(id: string, patch: Partial<Omit<NodeView, 'id'>>): void {
    const nodes = this._snapshot.nodes.map((n) => (n.id === id ? { ...n, ...patch } : n));
    if (nodes.every((n, i) => n === this._snapshot.nodes[i])) return;
    this._snapshot = { ...this._snapshot, nodes };
    this._onDidChange.fire({ kind: 'nodes' });
  }

  setStore(id: string, store: StoreView): void {
    const nodes = this._snapshot.nodes.map((n) => (n.id === id ? { ...n, store } : n));
    this._snapshot = { ...this._snapshot, nodes };
    this._onDidChange.fire({ kind: 'store', nodeId: id });
  }

  /** Keeps only the listed nodes (membership changed: a node was removed). */
  retainNodes(ids: readonly string[]): void {
    const keep = new Set(ids);
    const nodes = this._snapshot.nodes.filter((n) => keep.has(n.id));
    if (nodes.length === this._snapshot.nodes.length) return;
    this._snapshot = { ...this._snapshot, nodes };
    this._onDidChange.fire({ kind: 'nodes' });
  }

  setPartitions(partitions: readonly PartitionView[]): void {
    this._snapshot = { ...this._snapshot, partitions, reportsPartitions: true };
    this._onDidChange.fire({ kind: 'partitions' });
  }

  /** Replaces the hints one node holds (a `hints` event reports one holder at a time). */
  setHintsOf(holder: string, hints: readonly HintView[]): void {
    this.setHints([...this._snapshot.hints.filter((h) => h.holder !== holder), ...hints.filter((h) => h.holder === holder)]);
  }

  setHints(hints: readonly HintView[]): void {
    this._snapshot = { ...this._snapshot, hints, reportsHints: true };
    this._onDidChange.fire({ kind: 'hints' });
  }
}

const byNodeId = (a: NodeView, b: NodeView): number =>
  a.id.localeCompare(b.id, undefined, { numeric: true });
