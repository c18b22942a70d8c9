// Show SSTable Details: what one table of a node's store holds, read from the node at the moment
// of the click (ListSSTables), since the view's row may be a second old and compaction replaces
// tables at any time. A node that is not up is described by its last report, said as such.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Commands } from '../common/commandIds';
import { formatBytes, plural, readableKey } from '../common/format';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import { sstableView } from '../controller/eventMapper';
import type { ClusterModel } from '../model/clusterModel';
import type { NodeView, SSTableView } from '../model/types';
import { nodeArg } from './inputs';
import { code, literal } from './markdown';
import type { ResultDocuments } from './resultDocuments';
import { runReported } from './run';

/** What the command returns (scripts and tests): the table as read, or why there is none. */
export type SSTableDetails =
  | { readonly node: string; readonly table: SSTableView; readonly lastReport: boolean }
  | { readonly node: string; readonly gone: string };

/** The table an argument names: a row of the SSTables view, or `{ node, table: id }`. */
function tableArg(arg: unknown): number | undefined {
  const t = (arg as { table?: unknown } | undefined)?.table;
  if (typeof t === 'number') return t;
  if (t && typeof t === 'object' && typeof (t as { id?: unknown }).id === 'number') return (t as { id: number }).id;
  return undefined;
}

export function registerSSTableCommands(session: ClusterSession, model: ClusterModel, log: Log, results: ResultDocuments): vscode.Disposable[] {
  const show = (arg?: unknown): Promise<SSTableDetails | undefined> => runReported(log, 'Show SSTable Details', async () => {
    const nodeId = nodeArg(arg);
    const id = tableArg(arg);
    if (nodeId === undefined || id === undefined) {
      throw new UserError('No SSTable was named.', 'Click a table in the SSTables view (under a node and its level).');
    }
    const node = model.node(nodeId);
    if (!node) throw new UserError(`There is no node "${nodeId}" in the running cluster.`, 'The SSTables view lists the nodes and their tables.');
    const live = node.status === 'up' || node.status === 'suspect';
    const tables = live
      ? (await (await session.nodeClient(nodeId)).listSSTables()).map(sstableView)
      : node.store?.sstables ?? [];
    const table = tables.find((t) => t.id === id);
    // Its file may be deleted between the listing and the stat too: a compaction that just ended.
    const written = table && await vscode.workspace.fs.stat(vscode.Uri.file(table.file)).then((s) => s.mtime, () => undefined);
    if (!table || (live && written === undefined)) {
      const gone = live
        ? `SSTable ${id} of ${nodeId} no longer exists: a compaction merged it into other tables after the view listed it.`
        : `SSTable ${id} is not in what ${nodeId} last reported.`;
      log.info(`Show SSTable Details: ${gone}`);
      void vscode.window.showInformationMessage(`RingDB: ${gone} The SSTables view shows ${nodeId}'s tables as they are now; click one of those.`);
      return { node: nodeId, gone };
    }
    await results.show(`sstable ${nodeId} ${path.basename(table.file)}`, renderSSTable(node, table, live ? undefined : lastReportNote(node), written));
    return { node: nodeId, table, lastReport: !live };
  });

  return [vscode.commands.registerCommand(Commands.showSSTableDetails, show)];
}

function lastReportNote(node: NodeView): string {
  return `${node.id} is ${node.status}: this is the table as it last reported it, and the file stays on disk as it was.`;
}

/** About the false-positive rate of a filter of `bits` for `keys` keys with the probes the engine picks for that density. */
function falsePositiveRate(bits: number, keys: number): number {
  const perKey = bits / keys;
  const k = Math.min(30, Math.max(1, Math.round(perKey * 0.69)));
  return (1 - Math.exp(-k / perKey)) ** k;
}

function percent(p: number): string {
  return p >= 0.001 ? `about ${(p * 100).toFixed(1)}%` : 'under 0.1%';
}

export function renderSSTable(node: NodeView, t: SSTableView, note: string | undefined, fileWrittenMs: number | undefined): string {
  const name = path.basename(t.file);
  const time = (ms: number): string => `${new Date(ms).toLocaleString()} (${new Date(ms).toISOString()})`;
  const level = t.level === 0
    ? 'a memtable flushed to disk; L0 tables may overlap in keys, so a read checks each of them.'
    : `made by compaction; the tables of L${t.level} never overlap in keys, so a read checks at most one of them.`;
  const bloom = t.bloomBits > 0
    ? `${t.bloomBits.toLocaleString('en-US')} bits, about ${(t.bloomBits / Math.max(1, t.entries)).toFixed(1)} per key, ${percent(falsePositiveRate(t.bloomBits, Math.max(1, t.entries)))} false positives. `
      + 'A read of a key the table lacks skips it without reading a block, unless the filter wrongly answers "maybe".'
    : 'none: a read of a key inside the key range reads a block of this table to find out.';
  return [
    `# SSTable ${code(name)} of ${node.id}`,
    '',
    ...(note ? [`*${literal(note)}*`, ''] : []),
    `- **Node:** ${node.id} (${node.status}). Each replica keeps its own tables; another node's copy of these keys is in other files.`,
    `- **Level:** L${t.level}: ${level}`,
    `- **File:** ${code(name)} in ${code(path.dirname(t.file))} (table number ${t.id}).`,
    `- **Size:** ${formatBytes(t.sizeBytes)} (${t.sizeBytes.toLocaleString('en-US')} bytes): data blocks, index, bloom filter and properties.`,
    `- **Entries:** ${t.entries.toLocaleString('en-US')}, of which ${plural(t.tombstones, 'tombstone')}. One entry per key, its newest version here; a tombstone is a delete kept so older copies stay deleted, until a compaction drops it.`,
    `- **Key range:** ${code(readableKey(t.minKey))} to ${code(readableKey(t.maxKey))}. The smallest and largest key it holds; a read of a key outside the range skips this table.`,
    `- **Versions:** Lamport timestamps ${t.minTs} to ${t.maxTs}. The \`ts\` of its oldest and newest writes, as Get and the replication log show them; the newer \`ts\` wins.`,
    `- **Bloom filter:** ${bloom}`,
    `- **Newest write:** ${t.newestWriteUnixMs ? time(t.newestWriteUnixMs) : 'not recorded'}. ${node.id} had accepted every entry in it by then (its flush, or the newest input of the compaction that made it); a tombstone's grace period counts from it.`,
    `- **File written:** ${fileWrittenMs ? time(fileWrittenMs) : 'unknown (the file could not be read)'}. When ${node.id} wrote this file; a table is never changed after, only replaced.`,
  ].join('\n');
}
