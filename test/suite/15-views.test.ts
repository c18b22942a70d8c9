// What the Nodes and SSTables views show of a running cluster beyond the happy path: they stay
// still while nothing changes (a re-render closes the tooltip a person is reading), a node that is
// down shows its last report as such, backlogs are upper bounds, and a crash is announced.
import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { RingDbApi, ViewName } from '../../src/extension/api';
import type { StoreSnapshot } from '../../src/extension/engineClient';
import type { SSTableDetails } from '../../src/extension/commands/sstableCommands';
import { Commands } from '../../src/extension/common/commandIds';
import { label, note, recordUi, ringDb, waitFor } from './helpers';

const run = <T>(id: string, arg?: unknown): Thenable<T> => vscode.commands.executeCommand<T>(id, arg);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Re-renders of each view over `ms`. */
async function refreshesOver(api: RingDbApi, views: readonly ViewName[], ms: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(views.map((v) => [v, 0]));
  const subs = views.map((v) => api.treeRefreshes(v)(() => counts[v]++));
  await sleep(ms);
  for (const s of subs) s.dispose();
  return counts;
}

async function row(api: RingDbApi, view: ViewName, id: string, parent?: vscode.TreeItem): Promise<vscode.TreeItem | undefined> {
  return (await api.treeItems(view, parent)).find((i) => label(i) === id);
}

describe('the views of a running cluster', function () {
  this.timeout(180_000);
  let api: RingDbApi;
  let ui: ReturnType<typeof recordUi>;

  before(async () => {
    api = await ringDb();
    ui = recordUi();
    const spec = { nodes: 3, dataDir: '.ringdb/data-views', replicationFactor: 3, writeQuorum: 1, readQuorum: 1 };
    assert.ok(await run(Commands.startCluster, { spec }), `Start Cluster failed: ${api.lastError()}`);
    await waitFor(api, 'three up nodes with their first stats', () =>
      (api.snapshot().nodes.filter((n) => n.status === 'up' && n.store && n.peers.length).length === 3 ? true : undefined));
  });

  after(async () => {
    ui.restore();
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  it('Nodes and SSTables do not re-render while the cluster is idle', async () => {
    assert.ok(await run(Commands.put, { key: 'views:1', value: 'v', node: 'n1' }), `Put failed: ${api.lastError()}`);
    await sleep(2_000); // the write's own reports (replication, acknowledgements) settle
    // Each node reports stats every second; before, each report re-rendered both whole trees.
    const idle = await refreshesOver(api, ['nodes', 'sstables'], 4_000);
    note(`re-renders over 4 idle seconds of a 3-node cluster: Nodes ${idle.nodes}, SSTables ${idle.sstables}`);
    assert.ok(idle.nodes <= 1 && idle.sstables <= 1, `re-renders over 4 idle seconds: ${JSON.stringify(idle)}`);
  });

  it('clicking an SSTable opens its details; a table compaction replaced meanwhile gets a message, not an error', async () => {
    // A key with a control character: the document must show it, not drop it.
    for (const k of ['\u0001sst', 'sst:b', 'sst:c']) assert.ok(await run(Commands.put, { key: k, value: 'v', node: 'n1' }), `Put failed: ${api.lastError()}`);
    const compacted = await run<StoreSnapshot>(Commands.compactNode, { node: 'n1' });
    assert.equal(compacted?.sstables.length, 1, `Compact Node: ${api.lastError()}`);
    const tableRow = await waitFor(api, 'the compacted SSTable\'s row under n1', async () => {
      const n1 = await row(api, 'sstables', 'n1');
      const levels = n1 ? (await api.treeItems('sstables', n1)).filter((i) => i.contextValue === 'storage.level') : [];
      for (const level of levels) {
        const found = (await api.treeItems('sstables', level)).find((i) => i.id === `sst/n1/table/${compacted.sstables[0].id}`);
        if (found) return found;
      }
      return undefined;
    });
    assert.equal(tableRow.command?.command, Commands.showSSTableDetails, 'a click on the row runs nothing');
    const click = (): Thenable<SSTableDetails | undefined> => vscode.commands.executeCommand(tableRow.command!.command, ...(tableRow.command!.arguments ?? []));
    const shown = await click();
    assert.ok(shown && 'table' in shown, `Show SSTable Details failed: ${api.lastError()}`);
    const doc = api.lastResult()?.markdown ?? '';
    const t = shown.table;
    assert.match(doc, new RegExp(`^# SSTable \`${label(tableRow)}\` of n1$`, 'm'), doc);
    assert.match(doc, /^- \*\*Node:\*\* n1 \(up\)\./m, doc);
    assert.match(doc, new RegExp(`^- \\*\\*Level:\\*\\* L${t.level}: `, 'm'), doc);
    assert.ok(doc.includes(`- **File:** \`${label(tableRow)}\` in \``), doc);
    assert.match(doc, /^- \*\*Size:\*\* [\d.]+ (B|KiB) \([\d,]+ bytes\)/m, doc);
    assert.match(doc, new RegExp(`^- \\*\\*Entries:\\*\\* ${t.entries}, of which \\d+ tombstones?\\.`, 'm'), doc);
    // As the CLI prints such a key (keyText): its bytes, not an invisible character or an escape of the extension's own.
    assert.ok(doc.includes('- **Key range:** `0x01737374` to `'), doc);
    assert.match(doc, /^- \*\*Versions:\*\* Lamport timestamps [1-9]\d* to [1-9]\d*\./m, doc);
    assert.match(doc, /^- \*\*Bloom filter:\*\* [\d,]+ bits, about [\d.]+ per key/m, doc);
    assert.match(doc, /^- \*\*Newest write:\*\* .*\d{4}-\d\d-\d\dT/m, doc);
    assert.match(doc, /^- \*\*File written:\*\* .*\d{4}-\d\d-\d\dT/m, doc);
    // A tab restored after a reload asks for a document this window never filled (same saved
    // state, another counter): it is rendered again from the node, table and file, not blank.
    const restoredUri = (uri: vscode.Uri): vscode.Uri => {
      const q = new URLSearchParams(uri.query);
      q.set('r', `restored-${Date.now()}`);
      return uri.with({ query: q.toString() });
    };
    const shownUri = api.lastResult()!.uri;
    const restored = (await vscode.workspace.openTextDocument(restoredUri(shownUri))).getText();
    assert.match(restored, new RegExp(`^# SSTable \`${label(tableRow)}\` of n1$`, 'm'), restored);
    assert.match(restored, /^- \*\*Node:\*\* n1 \(up\)\./m, restored);
    assert.match(restored, new RegExp(`^- \\*\\*Entries:\\*\\* ${t.entries}, `, 'm'), restored);
    // The context menu passes the row itself.
    const again = await run<SSTableDetails>(Commands.showSSTableDetails, tableRow);
    assert.ok(again && 'table' in again && again.table.id === t.id, JSON.stringify(again));

    // A new write and a compaction rewrite n1's tables: the row clicked before names a table that is gone.
    assert.ok(await run(Commands.put, { key: 'sst:d', value: 'v', node: 'n1' }), `Put failed: ${api.lastError()}`);
    assert.ok(await run(Commands.compactNode, { node: 'n1' }), `Compact Node failed: ${api.lastError()}`);
    const errorsBefore = ui.shown.filter((s) => s.kind === 'error').length;
    const gone = await click();
    assert.ok(gone && 'gone' in gone, JSON.stringify(gone));
    const info = ui.shown.filter((s) => s.kind === 'info').pop();
    assert.match(info?.text ?? '', new RegExp(`^RingDB: SSTable ${t.id} of n1 no longer exists: a compaction merged it into other tables after the view listed it\\. The SSTables view shows n1's tables as they are now`));
    assert.equal(ui.shown.filter((s) => s.kind === 'error').length, errorsBefore, 'an error was shown');
    // Restored after the compaction, the tab says the table is gone, as the command does.
    const after = (await vscode.workspace.openTextDocument(restoredUri(shownUri))).getText();
    assert.match(after, new RegExp(`SSTable ${t.id} of n1 no longer exists: a compaction merged it into other tables after the view listed it\\. The SSTables view shows n1's tables as they are now`), after);
    // Another result restored after a reload says it was not kept, instead of reading empty.
    const other = (await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: 'ringdb-result', path: '/get x.md', query: 'r=restored' }))).getText();
    assert.match(other, /^This result was shown before the window reloaded .*run its command again\.$/, other);
  });

  it('Kill Node re-renders; the node then shows its storage as its last report, no memtable and no peers', async () => {
    const killed = refreshesOver(api, ['nodes', 'sstables'], 3_000);
    await run(Commands.killNode, { node: 'n3' });
    const after = await killed;
    assert.ok(after.nodes >= 1 && after.sstables >= 1, `no re-render for a node going down: ${JSON.stringify(after)}`);
    await waitFor(api, 'n3 down', () => (api.snapshot().nodes.find((n) => n.id === 'n3')?.status === 'down' ? true : undefined));
    const sst = await row(api, 'sstables', 'n3');
    assert.ok(sst, 'n3 is not in the SSTables view');
    assert.match(String(sst.description), /last report/);
    const parts = await api.treeItems('sstables', sst);
    assert.ok(!parts.some((p) => p.contextValue === 'storage.memtable'), 'the memtable of a killed process is shown');
    const node = await row(api, 'nodes', 'n3');
    assert.ok(node, 'n3 is not in the Nodes view');
    const children = await api.treeItems('nodes', node);
    assert.deepEqual(children.filter((c) => String(c.contextValue).startsWith('peer.')).map(label), [], 'peers of a down node are shown as live');
    const storage = children.find((c) => label(c) === 'storage');
    assert.match(String(storage?.description), /last report/);
    assert.doesNotMatch(String(storage?.description), /memtable/);
  });

  it('a node killed from VS Code says so in its row, with no crash notification', async () => {
    const n3 = await row(api, 'nodes', 'n3');
    assert.match(String(n3?.description), /^down · killed \d\d:\d\d:\d\d$/);
    assert.deepEqual(ui.shown.filter((s) => s.kind === 'warning').map((s) => s.text), []);
  });

  it('the backlog a peer is owed reads as an upper bound', async () => {
    for (let i = 0; i < 3; i++) assert.ok(await run(Commands.put, { key: `views:pending:${i}`, value: 'v', node: 'n1' }), `Put failed: ${api.lastError()}`);
    const n1 = await row(api, 'nodes', 'n1');
    assert.ok(n1);
    const peer = await waitFor(api, 'n1 to report a backlog for n3', async () => {
      const p = await row(api, 'nodes', 'n3', n1);
      return p && /\d+ ops? pending/.test(String(p.description)) && !/ 0 ops pending/.test(String(p.description)) ? p : undefined;
    }, 15_000);
    assert.match(String(peer.description), /^down · up to [1-9]\d* ops? pending$/);
  });

  it('a node that crashes gets one warning with Restart Node and Show Node Logs, and its reason in its row', async () => {
    const n2 = api.snapshot().nodes.find((n) => n.id === 'n2');
    assert.ok(n2?.pid);
    process.kill(n2.pid, 'SIGKILL');
    const warning = await waitFor(api, 'a warning about n2', () => ui.shown.find((s) => s.kind === 'warning' && /\bn2\b/.test(s.text)), 15_000);
    assert.match(warning.text, /n2 exited unexpectedly \(killed by SIGKILL\)/);
    assert.deepEqual(warning.items, ['Restart Node', 'Show Node Logs']);
    const desc = String((await row(api, 'nodes', 'n2'))?.description);
    assert.match(desc, /^down · crashed \d\d:\d\d:\d\d$/);
    await sleep(3_000); // later stats, state and snapshot events must not repeat it
    assert.equal(ui.shown.filter((s) => s.kind === 'warning' && /\bn2\b/.test(s.text)).length, 1);
  });
});
