// A warning when a node goes down without anyone asking (a crash, an OOM kill, `kill -9` of its
// pid), with the two things to do next. The status bar alone turned yellow, easy to miss. A node
// killed or stopped on request (Kill Node, Stop, `ringdb kill`) is not announced: its reason says
// so ("killed by KillNode", "stopped on request"), unlike the engine's "exited unexpectedly".
import * as vscode from 'vscode';
import { Commands } from '../common/commandIds';
import { Disposable } from '../common/lifecycle';
import type { ClusterModel } from '../model/clusterModel';
import { answersRequests, type NodeStatus, type NodeView } from '../model/types';
import { shortReason } from './nodesView';

const RESTART = 'Restart Node';
const SHOW_LOGS = 'Show Node Logs';

export function wentDownUnexpectedly(node: NodeView): boolean {
  return node.status === 'down' && /^exited unexpectedly\b/.test(node.reason);
}

export class NodeDownNotifier extends Disposable {
  /** Each node's status as last seen, so only a transition is announced. */
  private readonly seen = new Map<string, NodeStatus>();
  /** Down transitions already announced (node and the time it went down): a re-sent snapshot repeats them. */
  private readonly announced = new Set<string>();

  constructor(private readonly model: ClusterModel) {
    super();
    this._register(model.onDidChange((c) => {
      if (c.kind === 'reset' || c.kind === 'nodes') this.check();
    }));
    this.check();
  }

  private check(): void {
    const nodes = this.model.snapshot.nodes;
    for (const n of nodes) {
      const before = this.seen.get(n.id);
      this.seen.set(n.id, n.status);
      // Only a node that was serving: one first seen already down (a window attaching) is no
      // news, and one that ends while starting fails the Start Cluster or Restart Node that
      // started it, which says so itself.
      if (!answersRequests(before) || !wentDownUnexpectedly(n)) continue;
      const key = `${n.id}@${n.statusSinceUnixMs}`;
      if (this.announced.has(key)) continue;
      this.announced.add(key);
      void this.announce(n);
    }
    const ids = new Set(nodes.map((n) => n.id));
    for (const id of this.seen.keys()) if (!ids.has(id)) this.seen.delete(id);
  }

  private async announce(node: NodeView): Promise<void> {
    const answer = await vscode.window.showWarningMessage(
      `RingDB: node ${node.id} ${shortReason(node, 400)}. Restart it to recover from its WAL and SSTables; its log may say why it ended.`,
      RESTART, SHOW_LOGS);
    if (answer === RESTART) await vscode.commands.executeCommand(Commands.restartNode, { node: node.id });
    else if (answer === SHOW_LOGS) await vscode.commands.executeCommand(Commands.showNodeLogs, { node: node.id });
  }
}
