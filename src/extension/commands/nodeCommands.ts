// Node commands: Add, Remove, Kill (a real SIGKILL), Restart, Flush, Compact, Show Node Logs. Each takes
// a node from the selected tree item or an argument, else asks.
import * as vscode from 'vscode';
import type { FlushedSnapshot, NodeInfo, StoreSnapshot } from '../engineClient';
import { Commands } from '../common/commandIds';
import { formatBytes, plural } from '../common/format';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import type { ClusterModel } from '../model/clusterModel';
import { ANSWERING } from '../model/types';
import { argsOf, nodeArg, pickNode } from './inputs';
import { cancellationArg, runReported, withCancellableProgress } from './run';

export function registerNodeCommands(session: ClusterSession, model: ClusterModel, log: Log): vscode.Disposable[] {
  const addNode = (arg?: unknown): Promise<NodeInfo | undefined> => runReported(log, 'Add Node', async () => {
    const node = await withCancellableProgress('Adding a node…', {
      state: 'The controller goes on adding the node and moving its partitions to it; the Nodes view shows it when it is up (Remove Node undoes it).',
      also: cancellationArg(arg),
    }, () => session.client.addNode());
    log.info(`added ${node.id} at ${node.address}`);
    void vscode.window.setStatusBarMessage(`RingDB: added ${node.id} at ${node.address}`, 5000);
    return node;
  });

  const removeNode = (arg?: unknown): Promise<string | undefined> => runReported(log, 'Remove Node', async () => {
    const id = await pickNode(model, arg, 'Remove Node');
    if (!id) return undefined;
    // A node that is down cannot hand its data over: removing it as dead (a failed machine)
    // rebuilds its partitions from their other replicas, and loses what only it held.
    const status = model.snapshot.nodes.find((n) => n.id === id)?.status;
    const dead = status === 'down' || status === 'stopped';
    if (dead) {
      const REMOVE = 'Remove as Dead';
      const answer = argsOf(arg).dead === true ? REMOVE : await vscode.window.showWarningMessage(
        `${id} is ${status}, so it cannot hand its data over. Remove it as dead? The nodes that take its partitions copy them from their other replicas; writes only ${id} held are lost.`,
        { modal: true }, REMOVE);
      if (answer !== REMOVE) return undefined;
    } else if (nodeArg(arg) === undefined || arg instanceof vscode.TreeItem) {
      // Picked from a menu or the palette, not named by a script: removing is not undone by a click.
      const REMOVE = 'Remove';
      const answer = await vscode.window.showWarningMessage(
        `Remove ${id} from the cluster? It hands its data over to the nodes that take its partitions, then stops; its folder is kept. Add Node adds a new node, not ${id} back.`,
        { modal: true }, REMOVE);
      if (answer !== REMOVE) return undefined;
    }
    const r = await withCancellableProgress(dead ? `Removing ${id} (rebuilding its partitions from their other replicas)…` : `Removing ${id} (handing its data over)…`, {
      state: `The controller goes on ${dead ? 'rebuilding' : `handing ${id}'s data over`} and removing it; the Nodes view shows when it is gone.`,
      also: cancellationArg(arg),
    }, () => session.client.removeNode(id, { dead }));
    log.info(`removed ${r.nodeId}${dead ? ' as dead' : ''}; ${r.moves?.entries ?? r.handedOverOps} entries copied`);
    void vscode.window.setStatusBarMessage(`RingDB: removed ${r.nodeId}${dead ? ' as dead' : ''}; ${r.moves?.entries ?? r.handedOverOps} entries copied`, 5000);
    return r.nodeId;
  });

  const killNode = (arg?: unknown): Promise<NodeInfo | undefined> => runReported(log, 'Kill Node', async () => {
    const id = await pickNode(model, arg, 'Kill Node', ['up', 'suspect', 'starting']);
    if (!id) return undefined;
    const node = await session.client.killNode(id);
    log.info(`killed ${id} (SIGKILL): ${node.reason || node.state}`);
    void vscode.window.setStatusBarMessage(`RingDB: killed ${id} (SIGKILL, nothing flushed)`, 5000);
    return node;
  });

  // One restart per node at a time: two would each start a process for the same node.
  const restarting = new Set<string>();
  const restartNode = (arg?: unknown): Promise<NodeInfo | undefined> => runReported(log, 'Restart Node', async () => {
    const id = await pickNode(model, arg, 'Restart Node', ['down', 'stopped', 'suspect', 'up']);
    if (!id) return undefined;
    if (restarting.has(id)) throw new UserError(`${id} is already being restarted.`, 'Wait for it; the Nodes view shows it up when its recovery ends.');
    restarting.add(id);
    // Cancelling stops the wait, not the restart: the guard lasts as long as the controller's call.
    let sent = false;
    try {
      const node = await withCancellableProgress(`Restarting ${id} (recovering from its WAL and SSTables)…`, {
        state: `${id} goes on recovering; the Nodes view shows it up when its recovery ends.`,
        also: cancellationArg(arg),
      }, () => {
        const call = session.client.restartNode(id);
        sent = true;
        return call.finally(() => restarting.delete(id));
      });
      log.info(`restarted ${id}: pid ${node.pid} at ${node.address}`);
      void vscode.window.setStatusBarMessage(`RingDB: restarted ${id} (pid ${node.pid})`, 5000);
      if (node.warning) {
        log.warn(`${id} restarted, but ${node.warning}`);
        void vscode.window.showWarningMessage(`RingDB: ${id} restarted, but ${node.warning}.`);
      }
      return node;
    } finally {
      if (!sent) restarting.delete(id);
    }
  });

  const compactNode = (arg?: unknown): Promise<StoreSnapshot | undefined> => runReported(log, 'Compact Node', async () => {
    const id = await pickNode(model, arg, 'Compact Node', ANSWERING);
    if (!id) return undefined;
    const snap = await withCancellableProgress(`Compacting ${id}…`, {
      state: `The compaction goes on inside ${id} (it cannot be stopped half-way); the SSTables view refreshes when it ends.`,
      also: cancellationArg(arg),
    }, () => session.client.compactNode(id));
    const bytes = snap.sstables.reduce((n, t) => n + t.sizeBytes, 0);
    log.info(`compacted ${id}: ${plural(snap.sstables.length, 'SSTable')}, ${formatBytes(bytes)}`);
    void vscode.window.setStatusBarMessage(`RingDB: compacted ${id} to ${plural(snap.sstables.length, 'SSTable')}, ${formatBytes(bytes)}`, 5000);
    return snap;
  });

  /** The memtable out as a new L0 SSTable, without compaction: an LSM's first step, to watch on its own. */
  const flushNode = (arg?: unknown): Promise<FlushedSnapshot | undefined> => runReported(log, 'Flush Memtable', async () => {
    const id = await pickNode(model, arg, 'Flush Memtable', ANSWERING);
    if (!id) return undefined;
    const snap = await withCancellableProgress(`Flushing ${id}'s memtable…`, {
      state: `The flush goes on inside ${id}; the SSTables view shows what it wrote when it ends.`,
      also: cancellationArg(arg),
    }, () => session.client.flushNode(id));
    // The flush names what it wrote: a diff of the tables would count a compaction that ended meanwhile.
    const { written } = snap;
    const now = new Set(snap.sstables.map((t) => t.file));
    const what = written.length
      ? `wrote ${written.map((t) => `${t.file.split('/').pop()} (L${t.level}, ${plural(t.entries, 'entry', 'entries')}${now.has(t.file) ? '' : '; since merged by a compaction'})`).join(', ')}`
      : 'found its memtable empty: nothing written';
    log.info(`flushed ${id}: ${what}; ${plural(snap.sstables.length, 'SSTable')}`);
    void vscode.window.setStatusBarMessage(`RingDB: ${id} ${what}`, 5000);
    return snap;
  });

  const showNodeLogs = (arg?: unknown): Promise<number | undefined> => runReported(log, 'Show Node Logs', async () => {
    const id = await pickNode(model, arg, 'Show Node Logs');
    if (!id) return undefined;
    const lines = await session.client.nodeLogs(id, 200);
    log.channel.appendLine(`──── last ${lines.length} lines of ${id}'s log ────`);
    for (const line of lines) log.channel.appendLine(`[${id}] ${line}`);
    log.show();
    return lines.length;
  });

  return [
    vscode.commands.registerCommand(Commands.addNode, addNode),
    vscode.commands.registerCommand(Commands.removeNode, removeNode),
    vscode.commands.registerCommand(Commands.killNode, killNode),
    vscode.commands.registerCommand(Commands.restartNode, restartNode),
    vscode.commands.registerCommand(Commands.flushNode, flushNode),
    vscode.commands.registerCommand(Commands.compactNode, compactNode),
    vscode.commands.registerCommand(Commands.showNodeLogs, showNodeLogs),
  ];
}
