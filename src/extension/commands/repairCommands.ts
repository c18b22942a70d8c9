// Repair Now: a Merkle anti-entropy round at once (`ringdb repair`), on one node or on every node
// that answers requests (up, or suspect: only slow to answer the controller's pings), so a person
// can watch divergence found and mended instead of waiting for the periodic round. The result
// document says, per pair, what the trees compared and what moved.
import * as vscode from 'vscode';
import { engineClient, type RepairReport } from '../engineClient';
import { Commands } from '../common/commandIds';
import { formatBytes } from '../common/format';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import type { ClusterModel } from '../model/clusterModel';
import { answersRequests, HUNG_WORDS, type NodeView } from '../model/types';
import { argsOf, nodeArg } from './inputs';
import { escapeCell } from './ownCopies';
import type { ResultDocuments } from './resultDocuments';
import { cancellationArg, explain, runReported, withCancellableProgress } from './run';

/** What a node that runs but answers nothing is, and what to do: said of a hung source and of a suspect peer. */
const HUNG_ADVICE = `${HUNG_WORDS}. Repair again once it shows up, or restart it ("RingDB: Restart Node").`;

/** A node's round, or why it could not run there. */
export type NodeRepair = RepairReport & { failed?: string };

/** The nodes Repair Now runs on when none is named: a suspect one too, or a cluster of loaded nodes could not be repaired at all. */
export function repairSources(nodes: readonly NodeView[]): string[] {
  return nodes.filter((n) => answersRequests(n.status)).map((n) => n.id);
}

export function registerRepairCommands(session: ClusterSession, model: ClusterModel, log: Log, results: ResultDocuments): vscode.Disposable[] {
  const repair = (arg?: unknown): Promise<NodeRepair[] | undefined> => runReported(log, 'Repair Now', async () => {
    const named = nodeArg(arg);
    if (named !== undefined && !model.node(named)) throw new UserError(`There is no node "${named}".`, `Nodes are: ${model.snapshot.nodes.map((n) => n.id).join(', ')}.`);
    const ids = named !== undefined ? [named] : repairSources(model.snapshot.nodes);
    if (ids.length === 0) throw new UserError('No node is up to repair from.', 'Restart a node ("RingDB: Restart Node") and repair again.');
    const { ConvergenceClient, HUNG_PROBE_MS } = await engineClient();
    const reports = await withCancellableProgress(`Repairing (Merkle anti-entropy) from ${ids.join(', ')}…`, {
      state: 'A round under way on a node finishes there; what it exchanged stays exchanged.',
      also: cancellationArg(arg),
    }, async (progress) => {
      const out: NodeRepair[] = [];
      for (const id of ids) {
        progress.report({ message: `${id} compares its trees with its peers` });
        // One node failing (down since it was picked, say) must not drop the others' reports.
        let conv: InstanceType<typeof ConvergenceClient> | undefined;
        try {
          const node = await session.nodeClient(id);
          // A hung node would hold its round to the 120 s deadline with nothing said; a ping tells in seconds.
          if (await node.hung()) {
            out.push({ nodeId: id, peers: [], durationMs: 0, failed: `${id} did not answer a ping within ${HUNG_PROBE_MS / 1000} s: ${HUNG_ADVICE}` });
            continue;
          }
          conv = new ConvergenceClient(node.target);
          out.push(await conv.repair());
        } catch (err) {
          out.push({ nodeId: id, peers: [], durationMs: 0, failed: explain(err).message });
        } finally {
          conv?.close();
        }
      }
      return out;
    });
    const moved = reports.reduce((n, r) => n + r.peers.reduce((m, p) => m + p.keysSent + p.keysReceived, 0), 0);
    const failed = reports.flatMap((r) => (r.failed !== undefined ? [r.nodeId] : r.peers.filter((p) => !p.ok).map((p) => `${r.nodeId} ↔ ${p.peer}`)));
    log.info(`repair from ${ids.join(', ')}: ${moved} keys exchanged${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
    void vscode.window.setStatusBarMessage(`RingDB: repair ${moved ? `exchanged ${moved} keys` : 'found every pair in sync'}${failed.length ? `; ${failed.length} pair(s) failed` : ''}`, 5000);
    if (!argsOf(arg).quiet) await results.show('repair', renderRepair(reports, model));
    return reports;
  });
  return [vscode.commands.registerCommand(Commands.repair, repair)];
}

export function renderRepair(reports: readonly NodeRepair[], model: ClusterModel): string {
  const state = new Map(model.snapshot.nodes.map((n) => [n.id, n.status]));
  const sections = reports.map((r) => {
    if (r.failed !== undefined) return `## ${r.nodeId}\n\nThe round could not run: ${escapeCell(r.failed)}`;
    const rows = r.peers.map((p) => {
      const peerState = state.get(p.peer);
      const result = p.ok ? (p.rootsMatched ? 'in sync (roots match)' : 'repaired')
        : peerState && !answersRequests(peerState) ? `skipped: ${p.peer} is ${peerState}`
          // The transport's text ("Deadline exceeded after 30.000s,name resolution: …") says nothing a person can act on.
          : peerState === 'suspect' ? `failed: ${p.peer} is suspect: ${HUNG_ADVICE}` : `failed: ${escapeCell(p.error)}`;
      const differing = p.partitions.map((q) => q.partitionId).join(', ');
      return `| ${p.peer} | ${result} | ${p.ok ? `${p.partitionsDiffering} of ${p.partitionsCompared}${differing ? ` (${differing})` : ''}` : '—'} | ${p.ok ? p.bucketsCompared : '—'} | ${p.ok ? p.keysSent : '—'} | ${p.ok ? p.keysReceived : '—'} | ${p.ok ? formatBytes(p.bytesSent + p.bytesReceived) : '—'} |`;
    });
    return [`## ${r.nodeId} (${r.durationMs} ms)`, '', '| peer | result | partitions differing | buckets compared | keys sent | keys received | bytes |',
      '| --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
  });
  return ['# Repair (Merkle anti-entropy)', '',
    'Each node compares the Merkle tree of every partition it shares with each peer; where the roots differ it walks down to the differing buckets and the two exchange only those keys (newest version wins).',
    '', ...sections.flatMap((s) => [s, ''])].join('\n');
}
