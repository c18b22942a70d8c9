// Split and Merge through the commands change the Partitions view (the partitioning layer).
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';
import type { StoreSnapshot } from '../../src/extension/engineClient';
import { suggestThreshold, type Hotspots } from '../../src/extension/commands/hotspotCommands';
import { hotThreshold } from '../../src/extension/controller/eventMapper';
import { Commands, Views } from '../../src/extension/common/commandIds';
import { label, recordUi, ringDb, waitFor } from './helpers';

const run = <T>(id: string, arg?: unknown): Thenable<T> => vscode.commands.executeCommand<T>(id, arg);

describe('partitions', function () {
  this.timeout(120_000);
  let api: RingDbApi;

  before(async () => {
    api = await ringDb();
    const started = await run(Commands.startCluster, { spec: { nodes: 3, partitionStrategy: 'hash', numPartitions: 8 } });
    assert.ok(started, `Start Cluster failed: ${api.lastError()}`);
  });

  after(async () => {
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  it('the Partitions view lists the partition map with owners and replicas', async () => {
    const rows = await waitFor(api, 'partitions in the Partitions view', async () => {
      const items = await api.treeItems('partitions');
      return items.length ? items : undefined;
    });
    // Owner first (a narrow sidebar cuts the row's end off), its share of the hash ring, then the range.
    for (const row of rows) assert.match(String(row.description), /^n\d · \d+\.\d\d% · .*\[token /, `${label(row)}: ${row.description}`);
    const shares = api.snapshot().partitions.reduce((sum, p) => sum + (p.share ?? 0), 0);
    assert.ok(Math.abs(shares - 1) < 1e-9, `the partitions' shares add up to ${shares}, not the whole ring`);
  });

  it('Where Is Key names the partition and its replicas, owner first', async () => {
    await run(Commands.put, { key: 'where:1', value: 'x' });
    const answers = await run<{ node: string }[]>(Commands.whereIsKey, { key: 'where:1' });
    assert.ok(answers?.length, `Where Is Key failed: ${api.lastError()}`);
    const doc = api.lastResult()?.markdown ?? '';
    assert.match(doc, /Partition \*\*\d+\*\* .*replicas, owner first: \*\*n\d(, n\d)*\*\*/);
    // Shown rendered: the built-in Markdown preview is the result's editor.
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    assert.ok(input instanceof vscode.TabInputCustom, `the active tab shows ${JSON.stringify(input)}`);
    assert.equal(input.viewType, 'vscode.markdown.preview.editor');
    assert.equal(input.uri.toString(), api.lastResult()?.uri.toString());
    // Its "Open Source" button opens the Markdown text.
    await run('markdown.showSource');
    assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), input.uri.toString());
    assert.equal(vscode.window.activeTextEditor?.document.getText(), doc);
  });

  it('Where Is Key shows the key\'s token and its partition\'s whole token range, which holds it', async () => {
    assert.ok(await run(Commands.whereIsKey, { key: 'where:1' }), `Where Is Key failed: ${api.lastError()}`);
    const doc = api.lastResult()?.markdown ?? '';
    const token = createHash('sha1').update('where:1').digest('hex');
    assert.ok(doc.includes(`- the key's token: \`token ${token}\``), doc);
    const m = /- partition (\d+)'s range: from `token ([0-9a-f]{40})` \(inclusive\) to (?:`token ([0-9a-f]{40})` \(exclusive\)|the end of the ring)$/m.exec(doc);
    assert.ok(m, doc);
    const [, pid, start, end] = m;
    assert.ok(start <= token && (end === undefined || token < end), `${token} is outside ${start}..${end ?? 'end'}`);
    // The same partition as the Partitions view's row, whose tokens are these shortened.
    const row = api.snapshot().partitions.find((p) => p.id === pid);
    assert.equal(row?.range, `[token ${start.slice(0, 12)}…, ${end === undefined ? 'end' : `token ${end.slice(0, 12)}…`})`);
  });

  it('Split Partition adds a partition and Merge Partitions takes it away again', async () => {
    const before = api.snapshot().partitions.map((p) => p.id);
    const split = await run<{ newPid: number }>(Commands.splitPartition, { partition: before[0], key: '' });
    assert.ok(split, `Split failed: ${api.lastError()}`);
    const rows = await waitFor(api, 'the new partition in the view', async () => {
      const items = await api.treeItems('partitions');
      return items.some((i) => label(i) === String(split.newPid)) ? items : undefined;
    });
    assert.equal(api.snapshot().partitions.length, before.length + 1);
    // Listed in ring order: the new partition right after the one it was split from, not last by id.
    assert.deepEqual(rows.map(label).slice(0, 2), [before[0], String(split.newPid)]);
    const merged = await run(Commands.mergePartitions, { partition: before[0], other: split.newPid });
    assert.ok(merged, `Merge failed: ${api.lastError()}`);
    await waitFor(api, 'the merged map in the view', async () =>
      ((await api.treeItems('partitions')).length === before.length ? true : undefined));
  });

  it('Split Partition checks the split key as it is typed, naming the partition\'s range', async () => {
    const count = api.snapshot().partitions.length;
    const first = api.snapshot().partitions[0];
    // The first of the equal hash slices starts at token 0; its end is the range's second token.
    const end = /, token ([0-9a-f]{12})…\)$/.exec(first.range)?.[1];
    assert.ok(end, first.range);
    const token = (k: string): string => createHash('sha1').update(k).digest('hex').slice(0, 12);
    const keys = Array.from({ length: 200 }, (_, i) => `split:${i}`);
    const inside = keys.find((k) => token(k) < end)!;
    const outside = keys.find((k) => token(k) > end)!;
    const checks: (string | undefined)[] = [];
    const ui = recordUi((s) => {
      if (s.kind === 'inputBox') for (const v of [outside, inside, '']) checks.push(s.validate?.(v) as string | undefined);
      return undefined;
    });
    try {
      assert.equal(await run(Commands.splitPartition, { partition: first.id }), undefined, 'cancelled, nothing split');
    } finally {
      ui.restore();
    }
    assert.equal(checks.length, 3, JSON.stringify(ui.shown));
    assert.equal(checks[0], `"${outside}" hashes to token ${token(outside)}…, outside partition ${first.id}. A split key must fall after its start and before its end: ${first.range}.`);
    assert.deepEqual(checks.slice(1), [undefined, undefined], 'a key inside, and empty (the median), are accepted');
    assert.equal(api.snapshot().partitions.length, count);
  });

  it('Merge Partitions from a row asks for the second partition among its neighbours', async () => {
    const rows = await api.treeItems('partitions');
    const order = api.snapshot().partitions.map((p) => p.id);
    const row = rows.find((r) => label(r) === order[1])!;
    // The person picks the first neighbour offered.
    const ui = recordUi((s) => (s.kind === 'quickPick' ? s.items[0] : undefined));
    let merged: { pid: number } | undefined;
    try {
      merged = await run<{ pid: number }>(Commands.mergePartitions, row);
    } finally {
      ui.restore();
    }
    const picks = ui.shown.filter((s) => s.kind === 'quickPick');
    assert.equal(picks.length, 1, `quick picks shown: ${JSON.stringify(ui.shown)}`);
    assert.deepEqual(picks[0].items, [order[0], order[2]], 'the neighbours of the row, and not the row itself');
    assert.ok(merged, `Merge failed: ${api.lastError()}`);
    await waitFor(api, 'the merged map in the view', async () =>
      ((await api.treeItems('partitions')).length === rows.length - 1 ? true : undefined));
  });

  it('the Partitions view\'s op counts follow the writes without a change of the map', async () => {
    await run(`${Views.partitions}.focus`);
    await run(Commands.whereIsKey, { key: 'counted:1' });
    const pid = /Partition \*\*(\d+)\*\*/.exec(api.lastResult()?.markdown ?? '')?.[1];
    assert.ok(pid, 'Where Is Key named no partition');
    await run(`${Views.partitions}.focus`);
    const version = api.snapshot().partitions[0].mapVersion;
    const before = api.snapshot().partitions.find((p) => p.id === pid)!.ops;
    for (let i = 0; i < 5; i++) assert.ok(await run(Commands.put, { key: 'counted:1', value: `v${i}` }), `Put failed: ${api.lastError()}`);
    await waitFor(api, `partition ${pid}'s op count to grow by 5`, async () => {
      const row = (await api.treeItems('partitions')).find((i) => label(i) === pid);
      return row && new RegExp(`\\b${before + 5} ops?\\b`).test(`${String(row.description)} ${String(row.tooltip instanceof vscode.MarkdownString ? row.tooltip.value : row.tooltip)}`) ? true : undefined;
    }, 15_000);
    assert.equal(api.snapshot().partitions[0].mapVersion, version, 'the map changed: the counts could have come with it');
  });

  it('Get and Where Is Key of a key marked hot read its value through its salted variants', async () => {
    assert.ok(await run(Commands.put, { key: 'hot:1', value: 'before' }), `Put failed: ${api.lastError()}`);
    assert.ok(await run(Commands.markHotKey, { key: 'hot:1', buckets: 4 }), `Mark Hot Key failed: ${api.lastError()}`);
    assert.ok(await run(Commands.put, { key: 'hot:1', value: 'after' }), `Put failed: ${api.lastError()}`);
    const got = await run<{ found: boolean; value: string }>(Commands.get, { key: 'hot:1' });
    assert.deepEqual([got?.found, got?.value], [true, 'after'], `Get failed or read the plain key's old copy: ${api.lastError()}`);
    const doc = api.lastResult()?.markdown ?? '';
    assert.match(doc, /is marked hot: salted over 4 buckets/);
    assert.doesNotMatch(doc, /before/);
    await run(Commands.whereIsKey, { key: 'hot:1' });
    const where = api.lastResult()?.markdown ?? '';
    assert.match(where, /is marked hot: salted over 4 buckets[^]*Its variants live in partitions? \d+/);
    assert.doesNotMatch(where, /\| node \| holds/, 'a per-node table of the plain key');
  });

  it('the SSTables view says a table from a plain key to a hot key\'s salted variant holds the plain keys after its smallest too', async () => {
    assert.ok(await run(Commands.markHotKey, { key: 'hot:1', buckets: 4 }), `Mark Hot Key failed: ${api.lastError()}`);
    for (const key of ['hot:1', 'plain:a', 'plain:z']) assert.ok(await run(Commands.put, { key, value: 'v' }), `Put failed: ${api.lastError()}`);
    const compacted = await run<StoreSnapshot>(Commands.compactNode, { node: 'n1' });
    assert.equal(compacted?.sstables.length, 1, `Compact Node: ${api.lastError()}`);
    // Every node holds every key (3 nodes, 3 replicas): n1's one table runs from a plain key to a variant.
    const description = await waitFor(api, 'n1\'s compacted table in the SSTables view', async () => {
      const n1 = (await api.treeItems('sstables')).find((i) => label(i) === 'n1');
      const levels = n1 ? (await api.treeItems('sstables', n1)).filter((i) => i.contextValue === 'storage.level') : [];
      for (const level of levels) {
        const found = (await api.treeItems('sstables', level)).find((i) => i.id === `sst/n1/table/${compacted.sstables[0].id}`);
        if (found) return String(found.description);
      }
      return undefined;
    });
    assert.match(description, /^\S.* … \+ salted … hot:1 \(salt #[0-3]\) · /, description);
  });

  it('Scan Partition from a partition\'s row lists that partition\'s keys, and no other\'s', async () => {
    const partitionOf = new Map<string, string>();
    for (let i = 0; i < 12; i++) {
      const key = `scan:${i}`;
      assert.ok(await run(Commands.put, { key, value: `v${i}` }), `Put failed: ${api.lastError()}`);
      await run(Commands.whereIsKey, { key });
      partitionOf.set(key, /Partition \*\*(\d+)\*\*/.exec(api.lastResult()?.markdown ?? '')?.[1] ?? '?');
    }
    const pid = partitionOf.get('scan:0')!;
    const row = (await api.treeItems('partitions')).find((i) => label(i) === pid);
    assert.ok(row, `no row for partition ${pid}`);
    const entries = await run<{ key: Buffer }[]>(Commands.scanPartition, row);
    assert.ok(entries, `Scan Partition failed: ${api.lastError()}`);
    const scanned = new Set(entries.map((e) => e.key.toString('utf8')));
    const mine = [...partitionOf].filter(([k]) => scanned.has(k) || partitionOf.get(k) === pid);
    assert.deepEqual(mine.filter(([k]) => !scanned.has(k)).map(([k]) => k), [], 'keys of the partition missing from its scan');
    assert.deepEqual(mine.filter(([, p]) => p !== pid).map(([k]) => k), [], 'keys of other partitions in its scan');
    assert.match(api.lastResult()?.markdown ?? '', new RegExp(`^# Partition ${pid} on n\\d`));

    // From the palette it asks which partition first (a node's key range is the other choice).
    const ui = recordUi((q) => (q.kind === 'quickPick' ? `partition ${pid}` : undefined));
    try {
      const picked = await run<{ key: Buffer }[]>(Commands.scanPartition);
      assert.ok(picked, `Scan Partition failed: ${api.lastError()}`);
      const asked = ui.shown.find((q) => q.kind === 'quickPick');
      assert.equal(asked?.text, 'Scan Partition');
      assert.equal(asked?.items[0], '$(server) A node\'s key range…');
      assert.ok(asked?.items.includes(`partition ${pid}`));
      assert.deepEqual(picked.map((e) => e.key.toString('utf8')).sort(), [...scanned].sort());
    } finally {
      ui.restore();
    }
  });

  it('Query Index on a cluster that indexes nothing says so before asking for a field', async () => {
    const ui = recordUi();
    try {
      assert.equal(await run(Commands.queryIndex), undefined);
    } finally {
      ui.restore();
    }
    assert.deepEqual(ui.shown.filter((s) => s.kind === 'inputBox' || s.kind === 'quickPick'), [], 'a field was asked for');
    assert.match(api.lastError() ?? '', /^Query Index failed: This cluster indexes no field: its spec has neither "indexFields" nor "globalIndexFields"\.$/);
  });

  it('a failed merge names partitions, not the request fields', async () => {
    const first = api.snapshot().partitions[0].id;
    assert.equal(await run(Commands.mergePartitions, { partition: first, other: first }), undefined);
    assert.equal(api.lastError(), `Merge Partitions failed: cannot merge partition ${first} with itself`);
  });

  it('Split Partition of a partition that is not there fails before asking for the split key', async () => {
    const ui = recordUi();
    try {
      assert.equal(await run(Commands.splitPartition, { partition: 999 }), undefined);
    } finally {
      ui.restore();
    }
    assert.deepEqual(ui.shown.filter((s) => s.kind === 'inputBox'), [], 'a split key was asked for');
    assert.match(api.lastError() ?? '', /^Split Partition failed: There is no partition 999\.$/);
  });

  it('Group Partitions by Owner lists each node with the partitions it owns; Show Partitions in Ring Order puts the ring back', async () => {
    const ring = (await api.treeItems('partitions')).map(label);
    await run(Commands.groupPartitionsByOwner);
    try {
      const groups = await api.treeItems('partitions');
      assert.deepEqual(groups.map(label), api.snapshot().nodes.map((n) => n.id));
      let rows = 0;
      for (const g of groups) {
        const owned = api.snapshot().partitions.filter((p) => p.owner === label(g));
        const children = await api.treeItems('partitions', g);
        assert.deepEqual(children.map(label), owned.map((p) => p.id), `${label(g)}'s rows: the partitions it owns, in ring order`);
        // The owner is the group's row: its children's descriptions do not spend width repeating it.
        for (const c of children) assert.doesNotMatch(String(c.description), new RegExp(`^${label(g)} · `), `partition ${label(c)} under ${label(g)}: "${c.description}"`);
        const share = owned.reduce((n, p) => n + (p.share ?? 0), 0);
        assert.match(String(g.description), owned.length
          ? new RegExp(`^owns ${owned.length} partitions? · ${(share * 100).toFixed(2)}% of the ring`)
          : /^owns no partition/);
        rows += children.length;
      }
      assert.equal(rows, ring.length, 'every partition is under its owner once');
    } finally {
      await run(Commands.showPartitionsInRingOrder);
    }
    assert.deepEqual((await api.treeItems('partitions')).map(label), ring);
  });

  it('Show Hotspots lists the busiest partitions and keys, and tells a one-key hotspot from a many-key one', async () => {
    assert.equal(await run(Commands.resetHotspotCounters), true, `Reset Hotspot Counters failed: ${api.lastError()}`);
    for (let i = 0; i < 40; i++) assert.ok(await run(Commands.put, { key: 'solo:1', value: `v${i}` }), `Put failed: ${api.lastError()}`);
    for (let i = 0; i < 30; i++) assert.ok(await run(Commands.put, { key: `many:${i}`, value: 'x' }), `Put failed: ${api.lastError()}`);
    const h = await run<Hotspots>(Commands.showHotspots);
    assert.ok(h, `Show Hotspots failed: ${api.lastError()}`);
    assert.equal(h.totalOps, 70, 'the counters were reset, then 70 puts coordinated');
    assert.equal(h.keys[0].key, 'solo:1');
    assert.ok(h.keys[0].count - h.keys[0].error >= 40, JSON.stringify(h.keys[0]));
    const solo = h.keys[0].location?.partitionId;
    assert.equal(h.partitions[0].pid, solo, 'the partition of the key written 40 times is the busiest');
    const doc = api.lastResult()?.markdown ?? '';
    assert.match(doc, new RegExp(`\\| ${solo} 🔥 hot \\| ${h.partitions[0].ops} \\|.*\\| one key, "solo:1", makes at least \\d+\\.\\d+% of it: a split cannot divide a key; Mark Hot Key spreads it \\|`));
    assert.match(doc, /^\| "solo:1" \| 40 \| \d+ \|/m);
    // Thirty keys of one write each make no partition hot by themselves.
    if (h.partitions.length > 20) assert.match(doc, new RegExp(`… and ${h.partitions.length - 20} more partitions? with operations`));
    for (const p of h.partitions.slice(1, 20)) { // the document lists the 20 busiest
      if (p.ops > hotThreshold(h.partitions)) assert.match(doc, new RegExp(`\\| ${p.pid} 🔥 hot \\|.*many keys: Split Partition`));
      else assert.match(doc, new RegExp(`^\\| ${p.pid} \\| ${p.ops} \\|.*\\|  \\|$`, 'm'));
    }
  });

  it('Split Hot Partitions suggests twice the mean and splits the partitions above the threshold given', async () => {
    const { partitions } = (await run<Hotspots>(Commands.showHotspots, { quiet: true }))!;
    const count = api.snapshot().partitions.length;
    // Only the busiest partition is above the second busiest's count.
    const threshold = partitions[1].ops;
    const ui = recordUi((s) => (s.kind === 'inputBox' ? String(threshold) : undefined));
    let r: { split: number[]; skipped: { pid: number; reason: string }[] } | undefined;
    try {
      r = await run(Commands.splitHotPartitions);
    } finally {
      ui.restore();
    }
    const asked = ui.shown.filter((s) => s.kind === 'inputBox');
    assert.equal(asked.length, 1, JSON.stringify(ui.shown));
    const suggested = suggestThreshold(partitions);
    assert.equal(asked[0].value, String(suggested.value));
    assert.ok(suggested.splits >= 1, 'the suggestion splits nothing');
    assert.match(asked[0].text, new RegExp(`busiest: partition ${partitions[0].pid} with ${partitions[0].ops}; .*\\. ${suggested.value} splits ${suggested.splits} partitions?\\.$`));
    assert.deepEqual([asked[0].validate?.('0'), asked[0].validate?.('ten'), asked[0].validate?.('12')], ['A whole number of operations, 1 or more', 'A whole number of operations, 1 or more', undefined]);
    assert.ok(r, `Split Hot Partitions failed: ${api.lastError()}`);
    assert.deepEqual([...r.split, ...r.skipped.map((s) => s.pid)], [partitions[0].pid]);
    if (r.split.length) {
      await waitFor(api, 'the split partition in the view', async () => (api.snapshot().partitions.length === count + 1 ? true : undefined));
    } else {
      // A partition left whole says why, and what spreads its load instead.
      assert.match(ui.shown.find((s) => s.kind === 'warning')?.text ?? '', new RegExp(`Not split: partition ${partitions[0].pid}: `));
    }
  });

  it('Reset Hotspot Counters starts the counts from zero, and Show Hotspots then says nothing was counted', async () => {
    assert.equal(await run(Commands.resetHotspotCounters), true, `Reset Hotspot Counters failed: ${api.lastError()}`);
    const h = await run<Hotspots>(Commands.showHotspots);
    assert.deepEqual([h?.totalOps, h?.partitions.length], [0, 0]);
    assert.match(api.lastResult()?.markdown ?? '', /No operation has been counted since the counters were last reset/);
    // With nothing counted, Split Hot Partitions has nothing to split: it says so as information, not as a failure, and asks nothing.
    const ui = recordUi();
    try {
      assert.equal(await run(Commands.splitHotPartitions), undefined);
    } finally {
      ui.restore();
    }
    assert.deepEqual(ui.shown.map((s) => s.kind), ['info'], JSON.stringify(ui.shown));
    assert.match(ui.shown[0].text, /^RingDB: no partition has counted an operation since the counters were last reset, so none is hot\. Put or get some keys/);
  });
});

