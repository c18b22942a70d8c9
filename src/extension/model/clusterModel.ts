// The one shared cluster state. Replaced whole on every update (readers never see a half-applied
// change) and announced through onDidChange; providers and the status bar only render it.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';
import { compareNodeIds } from '../common/format';
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
      nodes.sort((a, b) => compareNodeIds(a.id, b.id));
    } else {
      const old = nodes[i];
      const merged: NodeView = {
        ...node,
        clock: node.clock ?? old.clock,
        store: node.store ?? old.store,
        peers: node.peers.length ? node.peers : old.peers,
        versionVector: Object.keys(node.versionVector).length ? node.versionVector : old.versionVector,
      };
      nodes[i] = merged;
      this._snapshot = { ...this._snapshot, nodes };
      if (!sameShown(old, merged)) this._onDidChange.fire({ kind: 'nodes', nodeId: node.id });
      return;
    }
    this._snapshot = { ...this._snapshot, nodes };
    this._onDidChange.fire({ kind: 'nodes' });
  }

  /**
   * Applies a stats report to a known node; reports about unknown nodes are ignored. Every node
   * reports each second and a peer's last-heard time moves each time: the new report is kept (a
   * tooltip reads it when shown) but announced only when something a view renders changed, since
   * each announcement re-renders rows and closes the tooltip a person is reading.
   */
  updateNode(id: string, patch: Partial<Omit<NodeView, 'id'>>): void {
    const i = this._snapshot.nodes.findIndex((n) => n.id === id);
    if (i < 0) return;
    const old = this._snapshot.nodes[i];
    const next: NodeView = { ...old, ...patch };
    const nodes = [...this._snapshot.nodes];
    nodes[i] = next;
    this._snapshot = { ...this._snapshot, nodes };
    if (!sameShown(old, next)) this._onDidChange.fire({ kind: 'nodes', nodeId: id });
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

/**
 * Whether two reports of a node render alike. Peers' last-heard times are left out: they change
 * with every heartbeat and are only read when a tooltip is resolved.
 */
export function sameShown(a: NodeView, b: NodeView): boolean {
  return a === b || deepEqual(shownPart(a), shownPart(b));
}

function shownPart(n: NodeView): unknown {
  // Coordination counts are in the tooltip only, built when hovered from the model as it is then:
  // each poll that moved them (or the wait, which drifts as answers age out of its window) would
  // otherwise render the row, and every view that follows node changes, for nothing on screen.
  return { ...n, peers: n.peers.map((p) => ({ ...p, lastHeardUnixMs: 0 })), coordination: undefined };
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && deepEqual(ra[k], rb[k]));
}

