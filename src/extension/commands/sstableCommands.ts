// Show SSTable Details: what one table of a node's store holds, read from the node at the moment
// of the click (ListSSTables), since the view's row may be a second old and compaction replaces
// tables at any time. A node that is not up is described by its last report, said as such.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Commands } from '../common/commandIds';
import { formatBytes, plural, SALTED_ORDER, spansSalted } from '../common/format';
import type { Log } from '../common/log';
import { UserError, type ClusterSession } from '../controller/clusterSession';
import { sstableView } from '../controller/eventMapper';
import type { ClusterModel } from '../model/clusterModel';
import { answersRequests, type NodeView, type SSTableView } from '../model/types';
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

/** A table as the node reports it now (or last reported it, when it is not up), or why there is none. */
type Lookup =
  | { readonly node: NodeView; readonly table: SSTableView; readonly live: boolean; readonly written: number | undefined }
  | { readonly node: NodeView; readonly gone: string };

async function lookUp(session: ClusterSession, node: NodeView, id: number): Promise<Lookup> {
  const live = answersRequests(node.status);
  const tables = live
    ? (await (await session.nodeClient(node.id)).listSSTables()).map(sstableView)
    : node.store?.sstables ?? [];
  const table = tables.find((t) => t.id === id);
  // Its file may be deleted between the listing and the stat too: a compaction that just ended.
  const written = table && await vscode.workspace.fs.stat(vscode.Uri.file(table.file)).then((s) => s.mtime, () => undefined);
  if (!table || (live && written === undefined)) {
    const gone = live
      ? `SSTable ${id} of ${node.id} no longer exists: a compaction merged it into other tables after the view listed it.`
      : `SSTable ${id} is not in what ${node.id} last reported.`;
    return { node, gone };
  }
  return { node, table, live, written };
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
    const found = await lookUp(session, node, id);
    if ('gone' in found) {
      log.info(`Show SSTable Details: ${found.gone}`);
      void vscode.window.showInformationMessage(`RingDB: ${found.gone} The SSTables view shows ${nodeId}'s tables as they are now; click one of those.`);
      return { node: nodeId, gone: found.gone };
    }
    const { table, live, written } = found;
    await results.show(`sstable ${nodeId} ${path.basename(table.file)}`, renderSSTable(node, table, live ? undefined : lastReportNote(node), written),
      { kind: SAVED_KIND, node: nodeId, table: String(id), file: table.file });
    return { node: nodeId, table, lastReport: !live };
  });

  // A details tab restored after a reload asks for its document again: rendered from the node,
  // table and file its URI saved, as the command would; until then it names what it waits for.
  const restored = new Set<string>();
  const restore = async (saved: URLSearchParams, uri: vscode.Uri): Promise<string> => {
    const nodeId = saved.get('node') ?? '';
    const id = Number(saved.get('table'));
    const file = saved.get('file') ?? '';
    const name = path.basename(file) || `table ${id}`;
    const head = `# SSTable ${code(name)} of ${nodeId}

`;
    const node = model.node(nodeId);
    if (node && model.snapshot.phase === 'running' && node.status !== 'starting') {
      restored.delete(uri.toString());
      const found = await lookUp(session, node, id).catch((err: unknown) => ({ node, gone: `${nodeId} could not be asked for its tables: ${err instanceof Error ? err.message : String(err)}.` }));
      if ('gone' in found) return `${head}${found.gone} The SSTables view shows ${nodeId}'s tables as they are now; click one of those.`;
      return renderSSTable(node, found.table, found.live ? undefined : lastReportNote(node), found.written);
    }
    // Asked again once a cluster runs (the window stopped its cluster when it reloaded).
    restored.add(uri.toString());
    const onDisk = await vscode.workspace.fs.stat(vscode.Uri.file(file)).then(() => true, () => false);
    if (!onDisk) return `${head}SSTable ${code(name)} of ${nodeId} no longer exists: a compaction merged it into other tables since this tab was opened.`;
    return `${head}No cluster with ${nodeId} runs in this window now, so ${nodeId} cannot be asked about this table; its file is still on disk (${code(file)}). `
      + 'Start the cluster ("RingDB: Start Cluster") and this tab shows the table again.';
  };

  return [
    vscode.commands.registerCommand(Commands.showSSTableDetails, show),
    results.registerRestorer(SAVED_KIND, restore),
    model.onDidChange((c) => {
      if ((c.kind === 'phase' || c.kind === 'reset' || c.kind === 'nodes') && model.snapshot.phase === 'running') for (const u of restored) results.refresh(vscode.Uri.parse(u));
    }),
  ];
}

/** The kind of result a restored SSTable-details tab names in its URI. */
const SAVED_KIND = 'sstable';

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
    spansSalted(t)
      ? `- **Key range:** plain keys from ${code(t.minKey)} on, then salted variants up to ${code(t.maxKey)}. ${SALTED_ORDER}, so this table may hold any plain key after its smallest; a read of a key outside the range skips this table.`
      : `- **Key range:** ${code(t.minKey)} to ${code(t.maxKey)}. The smallest and largest key it holds; a read of a key outside the range skips this table.`,
    `- **Versions:** Lamport timestamps ${t.minTs} to ${t.maxTs}. The \`ts\` of its oldest and newest writes, as Get and the replication log show them; the newer \`ts\` wins.`,
    `- **Bloom filter:** ${bloom}`,
    `- **Newest write:** ${t.newestWriteUnixMs ? time(t.newestWriteUnixMs) : 'not recorded'}. ${node.id} had accepted every entry in it by then (its flush, or the newest input of the compaction that made it); a tombstone's grace period counts from it.`,
    `- **File written:** ${fileWrittenMs ? time(fileWrittenMs) : 'unknown (the file could not be read)'}. When ${node.id} wrote this file; a table is never changed after, only replaced.`,
  ].join('\n');
}
