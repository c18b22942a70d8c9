// The cluster lifecycle through the extension's commands, against real controller and node
// processes on loopback ports, with the data in the test workspace's .ringdb/data.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';
import { Commands } from '../../src/extension/common/commandIds';
import type { GetSummary } from '../../src/extension/commands/dataCommands';
import type { StartResult } from '../../src/extension/commands/clusterCommands';
import { EXTENSION_ID, isAlive, label, note, recordUi, ringDb, waitFor } from './helpers';

const run = <T>(id: string, arg?: unknown): Thenable<T> => vscode.commands.executeCommand<T>(id, arg);

async function nodeRows(api: RingDbApi): Promise<Map<string, vscode.TreeItem>> {
  return new Map((await api.treeItems('nodes')).map((i) => [label(i), i]));
}

/** SSTable rows of a node in the SSTables view (node -> levels -> files). */
async function sstableRows(api: RingDbApi, node: string): Promise<string[]> {
  const nodeItem = (await api.treeItems('sstables')).find((i) => label(i) === node);
  if (!nodeItem) return [];
  const files: string[] = [];
  for (const child of await api.treeItems('sstables', nodeItem)) {
    if (child.contextValue !== 'storage.level') continue;
    for (const t of await api.treeItems('sstables', child)) files.push(`${label(child)}/${label(t)}`);
  }
  return files;
}

describe('a 3-node cluster driven through the commands', function () {
  this.timeout(120_000);
  let api: RingDbApi;

  before(async () => {
    api = await ringDb();
  });

  after(async () => {
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  it('Start Cluster starts 3 nodes and the Nodes view lists them up', async () => {
    const t0 = performance.now();
    const started = await run<StartResult>(Commands.startCluster, { nodes: 3 });
    const t1 = performance.now();
    assert.ok(started, `Start Cluster failed: ${api.lastError()}`);
    assert.deepEqual(started.nodes, ['n1', 'n2', 'n3']);
    assert.ok(started.dataDir.startsWith(vscode.workspace.workspaceFolders![0].uri.fsPath), `data went to ${started.dataDir}, outside the workspace`);
    const rows = await waitFor(api, 'three up nodes in the Nodes view', async () => {
      const r = await nodeRows(api);
      return r.size === 3 && [...r.values()].every((i) => i.contextValue === 'node.up') ? r : undefined;
    });
    const t2 = performance.now();
    note(`Start Cluster: cluster up in ${(t1 - t0).toFixed(0)} ms (controller + 3 node processes); Nodes view showed 3 up nodes ${(t2 - t1).toFixed(0)} ms later (${(t2 - t0).toFixed(0)} ms in all)`);
    for (const [id, item] of rows) {
      assert.match(String(item.description), /^up · 127\.0\.0\.1:\d+/, `${id}: ${item.description}`);
      const peers = await api.treeItems('nodes', item);
      assert.ok(peers.some((p) => p.contextValue === 'node.storage'), `${id} has no storage summary row`);
    }
    assert.equal(api.statusBarText(), '$(database) RingDB 3/3 up');
    const pids = api.processIds();
    assert.ok(pids.controller && isAlive(pids.controller));
    assert.equal(pids.nodes.length, 3);
    for (const pid of pids.nodes) assert.ok(isAlive(pid), `node pid ${pid} is not running`);
  });

  it('Put then Get returns the value with its version, and every replica converges on it', async () => {
    const put = await run<{ node: string; version: { opId: string; ts: number } }>(Commands.put, { key: 'user:1', value: '{"name":"Ada"}', node: 'n1' });
    assert.ok(put, `Put failed: ${api.lastError()}`);
    assert.match(put.version.opId, /^n1:\d+$/);
    const got = await run<GetSummary>(Commands.get, { key: 'user:1', quiet: true });
    assert.ok(got?.found, `Get failed: ${api.lastError()}`);
    assert.equal(got.value, '{"name":"Ada"}');
    assert.equal(got.version?.opId, put.version.opId);
    // Replication is asynchronous: each replica reports the same version once it applied the op.
    await waitFor(api, 'all three replicas to hold the write', async () => {
      const g = await run<GetSummary>(Commands.get, { key: 'user:1', quiet: true });
      return g && g.replicas.length === 3 && g.replicas.every((r) => r.version?.opId === put.version.opId) ? g : undefined;
    });
    const missing = await run<GetSummary>(Commands.get, { key: 'no-such-key', quiet: true });
    assert.equal(missing?.found, false);
    // n1 coordinated the Put (Get reads each node's own copy, coordinating nothing); the count reaches its row's tooltip with its next Stats report.
    const tip = await waitFor(api, 'n1\'s tooltip to count the write it coordinated', async () => {
      const row = (await nodeRows(api)).get('n1');
      const t = row && await api.tooltipOf('nodes', row);
      return t && /\n- coordinated: \d+ reads?, [1-9]\d* writes?, \d+ read repairs?\n/.test(t) ? t : undefined;
    });
    assert.match(tip, /\n- speculative reads: \d+(, \d+ refused by the retry budget)?; a read waits \d+ ms on a replica before asking another/, tip);
  });

  it('Put from a node\'s context menu writes on that node', async () => {
    const menu = (vscode.extensions.getExtension(EXTENSION_ID)?.packageJSON as { contributes: { menus: Record<string, { command: string; when: string }[]> } }).contributes.menus['view/item/context'];
    for (const command of [Commands.put, Commands.delete]) {
      assert.ok(menu.some((m) => m.command === command && m.when === 'view == ringdb.nodes && viewItem =~ /^node\\.(up|suspect)$/'), `${command} in an up or suspect node's context menu`);
    }
    const n2 = (await api.treeItems('nodes')).find((i) => label(i) === 'n2');
    assert.ok(n2);
    const ui = recordUi((s) => (s.kind !== 'inputBox' ? undefined : s.text.startsWith('Key') ? 'from-menu' : 'on n2'));
    try {
      // A tree item as argument, as VS Code passes it from the menu: key and value are asked for.
      const put = await run<{ node: string; version: { opId: string; origin: string } }>(Commands.put, n2);
      assert.ok(put, `Put failed: ${api.lastError()}`);
      assert.equal(put.node, 'n2');
      assert.equal(put.version.origin, 'n2', 'every node replicates every key here, so n2 coordinates it');
      assert.deepEqual(ui.shown.filter((s) => s.kind === 'inputBox').map((s) => s.text), ['Key to write', 'Value for "from-menu"']);
    } finally {
      ui.restore();
    }
  });

  it('Remove Node of a running node picked from its menu asks first, and a dismissed question removes nothing', async () => {
    const n3 = (await api.treeItems('nodes')).find((i) => label(i) === 'n3');
    assert.ok(n3);
    const ui = recordUi((s) => (s.kind === 'warning' ? 'Cancel' : undefined));
    try {
      assert.equal(await run(Commands.removeNode, n3), undefined);
      const asked = ui.shown.filter((s) => s.kind === 'warning');
      assert.equal(asked.length, 1, JSON.stringify(ui.shown));
      assert.match(asked[0].text, /^Remove n3 from the cluster\? It hands its data over to the nodes that take its partitions, then stops/);
      assert.deepEqual(asked[0].items, ['Remove']);
    } finally {
      ui.restore();
    }
    assert.deepEqual(api.snapshot().nodes.map((n) => [n.id, n.status]), [['n1', 'up'], ['n2', 'up'], ['n3', 'up']]);
  });

  it('Repair Now runs a Merkle round on every node that answers requests, or on the node picked, and reports each pair', async () => {
    type Report = { nodeId: string; peers: { peer: string; ok: boolean; rootsMatched: boolean; partitionsCompared: number }[] };
    const all = await run<Report[]>(Commands.repair);
    assert.ok(all, `Repair Now failed: ${api.lastError()}`);
    assert.deepEqual(all.map((r) => r.nodeId), ['n1', 'n2', 'n3']);
    for (const r of all) {
      assert.deepEqual(r.peers.map((p) => p.peer).sort(), ['n1', 'n2', 'n3'].filter((id) => id !== r.nodeId));
      assert.ok(r.peers.every((p) => p.ok && p.partitionsCompared > 0), JSON.stringify(r));
    }
    const doc = api.lastResult()?.markdown ?? '';
    assert.match(doc, /^# Repair \(Merkle anti-entropy\)/);
    assert.match(doc, /## n2 \(\d+ ms\)[^]*\| n1 \| (in sync \(roots match\)|repaired) \| \d+ of \d+/);
    const one = await run<Report[]>(Commands.repair, { node: 'n2', quiet: true });
    assert.deepEqual(one?.map((r) => r.nodeId), ['n2']);

    // A node that stays hung (stopped): said within seconds by a ping, where the round waited out its 120 s deadline.
    const n3 = api.snapshot().nodes.find((n) => n.id === 'n3');
    assert.ok(n3);
    process.kill(n3.pid, 'SIGSTOP');
    try {
      const hung = await run<(Report & { failed?: string })[]>(Commands.repair, { node: 'n3', quiet: true });
      assert.deepEqual(hung?.map((r) => [r.nodeId, r.peers.length]), [['n3', 0]]);
      assert.match(hung[0].failed ?? '', /^n3 did not answer a ping within 5 s: its process runs but has stopped answering \(hung, paused or overloaded\)/);
      // Get's row for it says so too, by then suspect in the Nodes view, not the Get RPC's deadline.
      const got = await run<GetSummary>(Commands.get, { key: 'user:1' });
      assert.ok(got?.found, `Get failed: ${api.lastError()}`);
      const n3Row = got.replicas.find((r) => r.node === 'n3');
      assert.equal(n3Row?.error, 'no answer within 3 s; n3 is suspect: its process runs but has stopped answering (hung, paused or overloaded)', JSON.stringify(n3Row));
      assert.match(api.lastResult()?.markdown ?? '', /\| n3 \| error: no answer within 3 s; n3 is suspect: /);
      assert.match(api.lastResult()?.markdown ?? '', /Not heard from: n3 \(no answer\); a newer version may be there\./);
    } finally {
      process.kill(n3.pid, 'SIGCONT');
    }
    await waitFor(api, 'n3 up again', () => (api.snapshot().nodes.find((n) => n.id === 'n3')?.status === 'up' ? true : undefined));
  });

  it('rejects a bad key argument with a message that says what is accepted', async () => {
    const r = await run(Commands.put, { key: '', value: 'x' });
    assert.equal(r, undefined);
    assert.match(api.lastError() ?? '', /Invalid key: A key is required \(1 to 64 KiB of text\)/);
  });

  it('Flush Memtable writes the memtable out as a new L0 SSTable, which the SSTables view shows', async () => {
    const before = await sstableRows(api, 'n2');
    for (let i = 0; i < 5; i++) await run(Commands.put, { key: `flush:${i}`, value: 'v', node: 'n2' });
    const snap = await run<{ sstables: { file: string }[]; written: { file: string; level: number; entries: number; minKey: string; maxKey: string }[] }>(Commands.flushNode, { node: 'n2' });
    assert.ok(snap, `Flush Memtable failed: ${api.lastError()}`);
    // The flush itself names the one table it wrote, not a diff of the tables: the five puts and
    // whatever earlier tests left in n2's memtable.
    assert.equal(snap.written.length, 1, JSON.stringify(snap.written));
    const [table] = snap.written;
    assert.ok(table.level === 0 && table.entries >= 5 && table.minKey <= 'flush:0' && table.maxKey >= 'flush:4', JSON.stringify(table));
    const rows = await waitFor(api, 'the flushed L0 table in the SSTables view', async () => {
      const r = await sstableRows(api, 'n2');
      return r.some((x) => /^L0\//.test(x) && !before.includes(x)) ? r : undefined;
    });
    assert.equal(rows.length, before.length + 1, `one table more, none compacted away: ${before.join(', ')} -> ${rows.join(', ')}`);
  });

  it('Compact Node changes the SSTables view', async () => {
    const before = await sstableRows(api, 'n2');
    for (let i = 0; i < 20; i++) await run(Commands.put, { key: `item:${String(i).padStart(3, '0')}`, value: `value ${i}`, node: 'n2' });
    await run(Commands.compactNode, { node: 'n2' });
    const after = await waitFor(api, 'the SSTables view to show the compacted tables of n2', async () => {
      const rows = await sstableRows(api, 'n2');
      return rows.length > 0 && rows.join() !== before.join() ? rows : undefined;
    });
    assert.ok(after.every((r) => /^L\d+\//.test(r)), `unexpected rows ${after.join(', ')}`);
  });

  it('Kill Node shows the node down in the Nodes view and the status bar', async () => {
    const victim = api.snapshot().nodes.find((n) => n.id === 'n3')!;
    await run(Commands.killNode, { node: 'n3' });
    await waitFor(api, 'n3 to be shown down', async () => ((await nodeRows(api)).get('n3')?.contextValue === 'node.down' ? true : undefined));
    assert.equal(isAlive(victim.pid), false, 'the killed node process still runs');
    assert.equal(api.statusBarText(), '$(warning) RingDB 2/3 up');
    // The output channel says so when it happens (it used to come with the restart, its lines replayed).
    await waitFor(api, 'the kill in the output channel', () =>
      (api.outputLines().some((l) => new RegExp(`\\[n3\\] \\[controller\\] node n3 \\(pid ${victim.pid}\\) ended, killed by SIGKILL`).test(l)) ? true : undefined), 10_000);
    // A write while n3 is down: n3 must get it after its restart.
    const w = await run(Commands.put, { key: 'while-down', value: 'missed by n3', node: 'n1' });
    assert.ok(w, `Put failed: ${api.lastError()}`);
  });

  it('Set Consistency Level: with n3 down, W=ALL fails, W=ONE writes, R=ALL says a read would fail, and the status bar shows the levels', async () => {
    // Picked as a person does: writes first, then reads.
    const ui = recordUi((s) => (s.kind === 'quickPick' ? 'ALL' : undefined));
    try {
      assert.deepEqual(await run(Commands.setConsistency), { write: 'all', read: 'all' }, api.lastError());
    } finally {
      ui.restore();
    }
    const picks = ui.shown.filter((s) => s.kind === 'quickPick');
    assert.deepEqual(picks.map((p) => p.text), ['RingDB: Consistency Level for writes (W)', 'RingDB: Consistency Level for reads (R)']);
    assert.deepEqual(picks[0].items, ['cluster default', 'ONE', 'QUORUM', 'ALL']);
    try {
      assert.equal(api.statusBarText(), '$(warning) RingDB 2/3 up · W=ALL R=ALL');
      const errors = recordUi(() => undefined);
      try {
        assert.equal(await run(Commands.put, { key: 'at-all', value: 'v', node: 'n1' }), undefined, 'W=3 with a replica down must fail');
      } finally {
        errors.restore();
      }
      // The refusal is the window's level: the message says so and offers to change it, instead of calling a node unreachable.
      const shown = errors.shown.find((s) => s.kind === 'error');
      assert.match(shown?.text ?? '', /This workspace writes with W=ALL \(3 acknowledgements\): restart the nodes that are down, or lower the level with "RingDB: Set Consistency Level"\.$/);
      assert.doesNotMatch(shown?.text ?? '', /not reachable/);
      assert.deepEqual(shown?.items, ['Set Consistency Level', 'Show Output']);
      // Refused before writing once n1 has marked n3 down; until then, written on two and not acknowledged by three.
      assert.match(api.lastError() ?? '', /^Put failed: w: (3 acknowledgements needed but only 2 of the nodes for partition \d+ are up \(n1, n2\); nothing was written|only 2 of 3 nodes acknowledged)/);
      assert.deepEqual(await run(Commands.setConsistency, { write: 'one' }), { write: 'one', read: 'all' });
      assert.ok(await run(Commands.put, { key: 'at-one', value: 'v', node: 'n1' }), `W=1 with a replica down failed: ${api.lastError()}`);
      await run(Commands.get, { key: 'at-one' });
      assert.match(api.lastResult()?.markdown ?? '', /A quorum read \(R=3, ALL\) would fail now: only 2 nodes answered \(`ringdb get at-one --r 3` reads with a quorum\)/);
    } finally {
      await run(Commands.setConsistency, { write: 'default', read: 'default' });
    }
    assert.equal(api.statusBarText(), '$(warning) RingDB 2/3 up');
    assert.equal(await run(Commands.setConsistency, { write: 'most' }), undefined);
    assert.equal(api.lastError(), 'Set Consistency Level failed: Invalid write level "most".');
  });

  it('Get at R=ALL with n3 down shows the copies found and offers the next steps a refusal does: Set Consistency Level, Restart n3', async () => {
    await run(Commands.setConsistency, { read: 'all' });
    const ui = recordUi(() => undefined);
    try {
      const got = await run<GetSummary>(Commands.get, { key: 'while-down' });
      assert.ok(got, `Get failed: ${api.lastError()}`);
      assert.match(api.lastResult()?.markdown ?? '', /A quorum read \(R=3, ALL\) would fail now: only 2 nodes answered/);
      const offer = ui.shown.find((s) => s.kind === 'warning' && /quorum read/.test(s.text));
      assert.equal(offer?.text, 'RingDB Get: a quorum read of "while-down" at R=ALL (3) would fail now: only 2 nodes answered; the result shows their copies. '
        + 'Restart n3, or lower the level with "RingDB: Set Consistency Level".');
      assert.deepEqual(offer.items, ['Set Consistency Level', 'Restart n3']);
    } finally {
      ui.restore();
      await run(Commands.setConsistency, { write: 'default', read: 'default' });
    }
  });

  it('Get of a key marked hot reads with the workspace\'s R: R=ALL with n3 down is refused naming the level, R=ONE reads', async () => {
    assert.ok(api.snapshot().reportsPartitions, 'the cluster reports no partition map: no key can be marked hot');
    assert.ok(await run(Commands.markHotKey, { key: 'hot-read', buckets: 2 }), `Mark Hot Key failed: ${api.lastError()}`);
    assert.ok(await run(Commands.put, { key: 'hot-read', value: 'salted', node: 'n1' }), `Put failed: ${api.lastError()}`);
    await run(Commands.setConsistency, { read: 'all' });
    try {
      const errors = recordUi(() => undefined);
      try {
        assert.equal(await run(Commands.get, { key: 'hot-read', node: 'n1' }), undefined, 'R=3 with a replica down must fail, as the node judges it');
      } finally {
        errors.restore();
      }
      const shown = errors.shown.find((s) => s.kind === 'error');
      assert.match(shown?.text ?? '', /This workspace reads with R=ALL \(3 answers\): restart the nodes that are down, or lower the level with "RingDB: Set Consistency Level"\.$/);
      assert.deepEqual(shown?.items, ['Set Consistency Level', 'Show Output']);
      await run(Commands.setConsistency, { read: 'one' });
      const got = await run<GetSummary>(Commands.get, { key: 'hot-read', node: 'n1' });
      assert.equal(got?.value, 'salted', `Get at R=ONE failed: ${api.lastError()}`);
      assert.match(api.lastResult()?.markdown ?? '', /- read through n1 with R=ONE \(1\), answered by n\d/);
    } finally {
      await run(Commands.setConsistency, { write: 'default', read: 'default' });
    }
  });

  it('Get of a key marked hot offers Where Is Key, which lists its variants', async () => {
    const ui = recordUi((s) => (s.kind === 'info' && s.items.includes('Where Is Key') ? 'Where Is Key' : undefined));
    try {
      assert.equal((await run<GetSummary>(Commands.get, { key: 'hot-read', node: 'n1' }))?.value, 'salted', `Get failed: ${api.lastError()}`);
      const got = api.lastResult()?.markdown ?? '';
      assert.doesNotMatch(got, /ringdb where/);
      assert.match(got, /"RingDB: Where Is Key" \(the button on the notification beside this result\) lists the variants/);
      const offer = ui.shown.find((s) => s.kind === 'info' && s.items.includes('Where Is Key'));
      assert.equal(offer?.text, 'RingDB: "hot-read" is marked hot: its value is merged from 2 variant keys in other partitions.');
      const where = await waitFor(api, 'Where Is Key to show the variants', () => {
        const m = api.lastResult()?.markdown ?? '';
        return m.startsWith('# Where is `hot-read`') ? m : undefined;
      }, 10_000);
      assert.match(where, /Its variants live in partitions? \d+/);
    } finally {
      ui.restore();
    }
  });

  it('the Partitions view\'s header, with n3 down, gives the count and the worst problem; its first row has the rest', async () => {
    const count = api.snapshot().partitions.length;
    assert.ok(count > 0, 'no partitions reported');
    const header = await waitFor(api, 'the header to count the partitions n3 leaves short', () => {
      const d = api.viewDescription('partitions');
      return d && d !== String(count) ? d : undefined;
    }, 10_000);
    const degraded = new RegExp(`^${count} · (\\d+) degraded$`).exec(header);
    assert.ok(degraded, `header "${header}"`);
    assert.ok(header.length <= 20, `"${header}" is cut off in a narrow sidebar`);
    const [top] = await api.treeItems('partitions');
    assert.equal(top.contextValue, 'partitions.summary');
    assert.equal(label(top), `${degraded[1]} of ${count} partitions degraded`);
    assert.match(String(top.description), /^map v\d+ · n3 not up$/, 'the count is said once, in the label');
    const tip = top.tooltip instanceof vscode.MarkdownString ? top.tooltip.value : String(top.tooltip);
    assert.match(tip, new RegExp(`^\\*\\*${count} partitions\\*\\*, map version \\d+`));
    assert.match(tip, new RegExp(`- ${degraded[1]} with a replica not up: `));
    assert.match(tip, /- n3 is down: replica of \d+ partitions?, owner of \d+/);
    const nodes = await api.treeItems('partitions', top);
    assert.deepEqual(nodes.map(label), ['n3']);
    assert.match(String(nodes[0].description), /^down · replica of \d+ partitions?, owner of \d+$/);
  });

  it('Restart Node brings the node back with what it missed', async () => {
    await run(Commands.restartNode, { node: 'n3' });
    await waitFor(api, 'n3 to be up again', async () => ((await nodeRows(api)).get('n3')?.contextValue === 'node.up' ? true : undefined));
    await waitFor(api, 'n3 to catch up on the write it missed', async () => {
      const g = await run<GetSummary>(Commands.get, { key: 'while-down', quiet: true });
      return g?.replicas.find((r) => r.node === 'n3')?.value === 'missed by n3' ? true : undefined;
    });
    assert.equal(api.statusBarText(), '$(database) RingDB 3/3 up');
    // With every replica up the header is the count alone, and the summary row goes.
    const count = api.snapshot().partitions.length;
    await waitFor(api, 'the Partitions header to be the count alone', () => (api.viewDescription('partitions') === String(count) ? true : undefined), 10_000);
    assert.notEqual((await api.treeItems('partitions'))[0]?.contextValue, 'partitions.summary');
    // Each line of n3's log is in the channel once, under the time n3 wrote it.
    const n3 = api.outputLines().filter((l) => / \[n3\] /.test(l));
    const repeated = n3.filter((l, i) => n3.indexOf(l) !== i);
    assert.deepEqual(repeated, [], 'lines of n3 shown twice');
    assert.equal(n3.filter((l) => /\[controller\] node n3 \(pid \d+\) ended, killed by SIGKILL/.test(l)).length, 1);
  });

  it('two Restart Node at once on one node: one restarts it, the other says it is under way', async () => {
    await run(Commands.killNode, { node: 'n3' });
    await waitFor(api, 'n3 to be down', async () => ((await nodeRows(api)).get('n3')?.contextValue === 'node.down' ? true : undefined));
    const answers = await Promise.all([run<{ pid: number }>(Commands.restartNode, { node: 'n3' }), run<{ pid: number }>(Commands.restartNode, { node: 'n3' })]);
    assert.equal(answers.filter((a) => a).length, 1, `both restarts ran: pids ${answers.map((a) => a?.pid).join(', ')}`);
    assert.equal(api.lastError(), 'Restart Node failed: n3 is already being restarted.');
    await waitFor(api, 'n3 to be up again', async () => ((await nodeRows(api)).get('n3')?.contextValue === 'node.up' ? true : undefined));
  });

  it('the replication-log webview receives the log entries', async () => {
    await run(Commands.openReplicationLog);
    const panel = api.replicationLogPanel();
    assert.ok(panel, 'the panel did not open');
    const first = await waitFor(api, 'the webview to render the log', () => (panel.lastRender.total > 0 ? panel.lastRender.total : undefined));
    await run(Commands.put, { key: 'seen-live', value: '1', node: 'n2' });
    await waitFor(api, 'the webview to render the new entry', () => (panel.lastRender.total > first ? true : undefined));
    assert.ok(api.replicationLog().some((e) => e.key === 'seen-live'));
  });

  it('Stop Cluster ends the controller and every node', async () => {
    const pids = api.processIds();
    const all = [pids.controller!, ...pids.nodes];
    assert.ok(api.stoppedWithWindow(), 'a running cluster this window launched is recorded, for a note if the window closes');
    await run(Commands.stopCluster);
    assert.equal(api.snapshot().phase, 'none');
    await waitFor(api, 'the record cleared: a cluster stopped on purpose needs no note', () => (api.stoppedWithWindow() === undefined ? true : undefined));
    await waitFor(api, 'every process to exit', () => (all.every((p) => !isAlive(p)) ? true : undefined), 20_000);
    assert.match(api.statusBarText(), /stopped/);
  });

  it('Create Cluster Spec writes a commented default .ringdb/cluster.json and opens it', async () => {
    const file = await run<string>(Commands.createClusterSpec);
    assert.ok(file && existsSync(file), `no spec written: ${api.lastError()}`);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^\/\/ RingDB cluster spec/);
    assert.match(text, /"nodes": 3/);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, file);
    // JSON with comments: as plain JSON, each of its comment lines was an error in the Problems panel.
    assert.equal(vscode.window.activeTextEditor?.document.languageId, 'jsonc');
    await new Promise((r) => setTimeout(r, 2000));
    const problems = vscode.languages.getDiagnostics(vscode.Uri.file(file));
    assert.deepEqual(problems.map((d) => d.message), [], 'the generated spec has problems');
    // Run again, it keeps the person's file as it is.
    writeFileSync(file, `${text}\n// edited\n`);
    await run(Commands.createClusterSpec);
    assert.match(readFileSync(file, 'utf8'), /\/\/ edited/);
  });
});
