// Hinted handoff as the Hints view shows it: on a 4-node cluster with N=2, a write whose replica
// is down goes to a substitute that holds a hint for it; the view lists the hints and empties once
// the replica is back and the hints are delivered. Get finds a key's hint on a node keeping more
// than 10,000 hints of other keys (it asks each node for the key's hints, not for a capped list).
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';
import type { GetSummary } from '../../src/extension/commands/dataCommands';
import { Commands, Views } from '../../src/extension/common/commandIds';
import { engineClient } from '../../src/extension/engineClient';
import { HINT_KEYS_SHOWN, hintHolderStates } from '../../src/extension/views/hintsView';
import { label, recordUi, ringDb, waitFor } from './helpers';

const run = <T>(id: string, arg?: unknown): Thenable<T> => vscode.commands.executeCommand<T>(id, arg);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `holder -> "for <target>"` rows of the Hints view. */
async function hintRows(api: RingDbApi): Promise<string[]> {
  const rows: string[] = [];
  for (const holder of await api.treeItems('hints')) {
    for (const t of await api.treeItems('hints', holder)) rows.push(`${label(holder)} ${label(t)}`);
  }
  return rows;
}

/**
 * Renders of the Hints view over `ms` that no change of the model caused (its hints, a reset, a
 * holder's state, by the view's own hintHolderStates): those of its own timer. `seen` says what
 * happened meanwhile, for a failure's message. A holder that flaps (suspect and back before the
 * view asks for its rows) renders once for two changes, so the count can go below 0.
 */
async function ownRenders(api: RingDbApi, ms: number): Promise<{ count: number; seen: string }> {
  let count = 0;
  const seen: string[] = [];
  const t0 = Date.now();
  let holders = hintHolderStates(api.snapshot());
  const subs = [
    api.treeRefreshes('hints')(() => {
      count++;
      seen.push(`${Date.now() - t0} ms render`);
    }),
    api.onDidChange((c) => {
      seen.push(`${Date.now() - t0} ms ${c.kind}`);
      if (c.kind === 'reset' || c.kind === 'hints') count--;
      if (c.kind !== 'nodes') return;
      const now = hintHolderStates(api.snapshot());
      if (now !== holders) {
        count--;
        seen.push(`holders ${now}`);
      }
      holders = now;
    }),
  ];
  await new Promise((resolve) => setTimeout(resolve, ms));
  for (const s of subs) s.dispose();
  return { count, seen: seen.join('; ') || 'nothing' };
}

/** Fails when the Hints view rendered on its own timer in the next `ms`. */
async function assertNoOwnRenders(api: RingDbApi, ms: number, what: string): Promise<void> {
  const { count, seen } = await ownRenders(api, ms);
  assert.ok(count <= 0, `${count} renders of its own ${what} in ${ms} ms (${seen})`);
}

const DATA_DIR = '.ringdb/data-hints';

describe('the Hints view', function () {
  this.timeout(180_000);
  let api: RingDbApi;

  before(async () => {
    api = await ringDb();
    const spec = { nodes: 4, dataDir: DATA_DIR, replicationFactor: 2, writeQuorum: 1, readQuorum: 1, heartbeatIntervalMs: 200 };
    assert.ok(await run(Commands.startCluster, { spec }), `Start Cluster failed: ${api.lastError()}`);
    await waitFor(api, 'four up nodes', () => (api.snapshot().nodes.filter((n) => n.status === 'up').length === 4 ? true : undefined));
  });

  after(async () => {
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  it('Get shows each node\'s own copy: the key\'s two replicas hold it, the other two nodes nothing', async () => {
    assert.ok(await run(Commands.put, { key: 'placed', value: 'p', node: 'n1' }), `Put failed: ${api.lastError()}`);
    // W=1: the second replica may get the write a moment later. A quorum read coordinated by
    // each node (what Get asked before) finds the key on all four.
    const got = await waitFor(api, 'both replicas to hold the write', async () => {
      const g = await run<GetSummary>(Commands.get, { key: 'placed', quiet: true });
      return g && g.replicas.filter((r) => r.found).length === 2 ? g : undefined;
    });
    const placement = got.placement ?? [];
    assert.equal(placement.length, 2, `the key's replicas by the map: ${placement.join(', ')}`);
    assert.deepEqual(got.replicas.filter((r) => r.found).map((r) => r.node).sort(), [...placement].sort());
    const others = got.replicas.filter((r) => !placement.includes(r.node));
    assert.equal(others.length, 2);
    assert.ok(others.every((r) => !r.found && r.version === undefined), JSON.stringify(others));
    await run(Commands.get, { key: 'placed' });
    const doc = api.lastResult()?.markdown ?? '';
    for (const r of others) assert.match(doc, new RegExp(`\\| ${r.node} \\| nothing \\| — \\| — \\| not a replica \\|`), doc);

    // Sent to a node that is no replica, the write is forwarded: Put names the replica that took it.
    const outsider = others[0].node;
    assert.ok(await run(Commands.put, { key: 'placed', value: 'p2', node: outsider }), `Put failed: ${api.lastError()}`);
    const line = api.outputLines().map((l) => new RegExp(`put placed on ${outsider}: (n\\d):\\d+ at ts \\d+; coordinated by (n\\d) \\(sent to ${outsider}, which forwarded it\\), acknowledged by n\\d`).exec(l)).find((m) => m !== null);
    assert.ok(line, api.outputLines().slice(-5).join('\n'));
    assert.equal(line[1], line[2], 'the op id is the coordinator\'s');
    assert.ok(placement.includes(line[2]), `${line[2]} is a replica of the key (${placement.join(', ')})`);
  });

  it('the replication log shows a skip (an op bound for other replicas) as a skip, never as a delete', async () => {
    for (let i = 0; i < 8; i++) assert.ok(await run(Commands.put, { key: `skipped:${i}`, value: 'v', node: 'n1' }), `Put failed: ${api.lastError()}`);
    const entries = await waitFor(api, 'skips in the replication log', () => {
      const e = api.replicationLog();
      return e.some((x) => x.kind === 'skip') ? e : undefined;
    });
    assert.deepEqual(entries.filter((e) => e.kind === 'delete').map((e) => e.key), [], 'no delete was written');
    assert.ok(entries.filter((e) => e.kind === 'skip').every((e) => e.key === ''), 'a skip carries no key');
  });

  it('Get names the replicas it did not hear from, and does not call a key missing when none of them answered', async () => {
    assert.ok(await run(Commands.put, { key: 'unheard', value: 'u', node: 'n1' }), `Put failed: ${api.lastError()}`);
    const placement = (await waitFor(api, 'both replicas to hold it', async () => {
      const g = await run<GetSummary>(Commands.get, { key: 'unheard', quiet: true });
      return g && g.replicas.filter((r) => r.found).length === 2 ? g : undefined;
    })).placement ?? [];
    for (const id of placement) await run(Commands.killNode, { node: id });
    try {
      await waitFor(api, 'both replicas down', () => (placement.every((id) => api.snapshot().nodes.find((n) => n.id === id)?.status === 'down') ? true : undefined));
      const got = await run<GetSummary>(Commands.get, { key: 'unheard', quiet: true });
      assert.equal(got?.found, false);
      assert.deepEqual(got.replicas.filter((r) => r.notAsked === 'down').map((r) => r.node).sort(), [...placement].sort());
      await run(Commands.get, { key: 'unheard' });
      const doc = api.lastResult()?.markdown ?? '';
      assert.match(doc, new RegExp(`None of the key's replicas \\(${placement.join(', ')}\\) answered, so whether it exists is not known here\\.`), doc);
      assert.match(doc, new RegExp(`Not heard from: ${placement.map((id) => `${id} \\(down\\)`).join(', ')}`), doc);
      assert.doesNotMatch(doc, /would fail now/, 'R=1: the two nodes that are up answer (the head says what that answer cannot tell)');
      // The Partitions view marks the key's partition: no replica of it can answer.
      await run(Commands.whereIsKey, { key: 'unheard' });
      const pid = /Partition \*\*(\d+)\*\*/.exec(api.lastResult()?.markdown ?? '')?.[1];
      const rows = await api.treeItems('partitions');
      const row = rows.find((i) => label(i) === pid);
      assert.match(String(row?.description), /^n\d · no replica up · /, String(row?.description));
      assert.ok(rows.some((i) => /^n\d · n\d not up · /.test(String(i.description))), 'a partition with one of its two replicas down says which');
      for (const id of placement) assert.match(doc, new RegExp(`\\| ${id} \\| \\(down, not asked\\) \\|`));
    } finally {
      for (const id of placement) await run(Commands.restartNode, { node: id });
    }
  });

  it('Set Consistency Level does not promise that W=ALL or R=ALL fails with a replica down when another node can stand in for it', async () => {
    // The cluster default for writes (no change), then no pick for reads: the levels stay as they are.
    const ui = recordUi((s) => (s.kind === 'quickPick' && s.text.endsWith('(W)') ? 'cluster default' : undefined));
    try {
      await run(Commands.setConsistency);
    } finally {
      ui.restore();
    }
    const [writes, reads] = ui.shown.filter((s) => s.kind === 'quickPick');
    const all = writes?.details?.[writes.items.indexOf('ALL')] ?? '';
    assert.equal(all, 'All 2 acknowledge; a node outside the key\'s replicas keeping a hint for a down one counts for it, so it fails only with fewer than 2 nodes up.');
    // The coordinator reads from the nodes that are up, replicas first: seen in VS Code, an R=ALL Get with a replica down was served.
    const allReads = reads?.details?.[reads.items.indexOf('ALL')] ?? '';
    assert.equal(allReads, 'All 2 answer; a node outside the key\'s replicas answers for a down one (from a hint it keeps, or with nothing), so it fails only with fewer than 2 nodes up, or with none of the key\'s replicas up and no hint of it.');
  });

  it('fills with hints for a killed node and empties when it is restarted', async () => {
    await run(Commands.killNode, { node: 'n4' });
    await waitFor(api, 'n4 to be down', () => (api.snapshot().nodes.find((n) => n.id === 'n4')?.status === 'down' ? true : undefined));
    // With N=2 of 4 nodes about half the keys have n4 as a replica; writes wait until a
    // coordinator's heartbeats see n4 down, then go to a substitute with a hint.
    // One put at a time, not from a waitFor probe: that runs again on every model change, and its
    // puts went on after it resolved, newer than anything written later.
    const forN4 = async (): Promise<string[]> => (await hintRows(api)).filter((row) => row.endsWith('for n4'));
    let next = 0;
    let rows: string[] = [];
    for (const deadline = Date.now() + 90_000; !rows.length; rows = await forN4()) {
      assert.ok(Date.now() < deadline, `no hint for n4 after ${next} puts`);
      for (const end = next + 20; next < end; next++) await run(Commands.put, { key: `hinted:${next}`, value: `v${next}`, node: 'n1' });
      await sleep(1_000); // the holders' next stats
    }
    assert.ok(rows.every((row) => !row.startsWith('n4 ')), `the down node cannot hold hints: ${rows.join(', ')}`);
    // Put says where such a write went.
    const putLine = api.outputLines().map((l) => /put (hinted:\d+) on n1: n1:\d+ at ts \d+; hints: (n[123]) for n4/.exec(l)).find((m) => m !== null);
    assert.ok(putLine, api.outputLines().slice(-10).join('\n'));
    // Get lists the hint, and calls its holder no replica, however new the version it holds.
    const [, hintedKey, holderOfHint] = putLine;
    await run(Commands.get, { key: hintedKey });
    const getDoc = api.lastResult()?.markdown ?? '';
    assert.match(getDoc, new RegExp(`## Hints of it[\\s\\S]*\\| ${holderOfHint} \\| n4 \\| n1:\\d+ \\| \\d+ \\| value \\| \\d+ \\|`), getDoc);
    assert.match(getDoc, new RegExp(`\\| ${holderOfHint} \\| value \\| n1:\\d+ \\| \\d+ \\| not a replica; hint for n4 \\|`), getDoc);
    // A group expands to its keys, newest first, at most HINT_KEYS_SHOWN, then a row counting the rest.
    const groupOf = (holder: string) => api.snapshot().hints.find((h) => h.holder === holder && h.target === 'n4');
    // Written one at a time: the order written is the order held.
    while ((groupOf(holderOfHint)?.count ?? 0) <= HINT_KEYS_SHOWN) {
      assert.ok(next < 1_000, `${holderOfHint} holds only ${groupOf(holderOfHint)?.count} hints for n4 after ${next} puts`);
      for (const end = next + 40; next < end; next++) await run(Commands.put, { key: `hinted:${next}`, value: `v${next}`, node: 'n1' });
      await sleep(1_500); // the holders' next stats
    }
    // A delete of a key hinted to that holder goes to it as a hint too, and is its newest.
    assert.ok(await run(Commands.delete, { key: hintedKey, node: 'n1' }), `Delete failed: ${api.lastError()}`);
    const countBefore = groupOf(holderOfHint)!.count;
    let seen = '';
    const keys = await waitFor(api, `the delete of ${hintedKey} listed first under ${holderOfHint}'s group for n4`, async () => {
      seen = `count ${groupOf(holderOfHint)?.count}`;
      if ((groupOf(holderOfHint)?.count ?? 0) <= countBefore) return undefined;
      const holderRow = (await api.treeItems('hints')).find((i) => label(i) === holderOfHint);
      const group = holderRow && (await api.treeItems('hints', holderRow)).find((i) => label(i) === 'for n4');
      assert.equal(group?.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed, 'a hint group cannot be expanded');
      const rows = await api.treeItems('hints', group);
      seen = rows.slice(0, 3).map((r) => `${label(r)} ${String(r.description)}`).join(' | ');
      return rows[0] && label(rows[0]) === hintedKey && /^delete · /.test(String(rows[0].description)) ? rows : undefined;
    }, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}; ${api.outputLines().filter((l) => l.includes(`deleted ${hintedKey}`)).join('; ')}; ${countBefore} before; seen: ${seen}`);
    });
    const count = groupOf(holderOfHint)!.count;
    assert.equal(keys.length, HINT_KEYS_SHOWN + 1, keys.map(label).join(', '));
    for (const k of keys.slice(0, -1)) {
      assert.match(label(k), /^hinted:\d+$/);
      assert.match(String(k.description), /^(put|delete) · n\d:\d+ · ts \d+$/);
    }
    assert.equal(label(keys[HINT_KEYS_SHOWN]), `… and ${count - HINT_KEYS_SHOWN} more`);
    // Newest first is the order the holder took them in. Each coordinator ships its ops in seq
    // order, so one coordinator's hints are listed by seq, descending; the streams of two
    // coordinators interleave as they arrive (a put of key 35 can land after 36-38).
    const seqsByOrigin = new Map<string, number[]>();
    for (const k of keys.slice(0, -1)) {
      const [, origin, seq] = /· (n\d+):(\d+) ·/.exec(String(k.description)) ?? [];
      seqsByOrigin.set(origin, [...(seqsByOrigin.get(origin) ?? []), Number(seq)]);
    }
    for (const [origin, seqs] of seqsByOrigin) assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), `${origin}'s hints not newest first: ${seqs.join(', ')}`);
    // A key row's click (and its inline action) is Get of that key.
    const put = keys[1];
    assert.equal(put.command?.command, Commands.get);
    await vscode.commands.executeCommand(put.command.command, ...(put.command.arguments ?? []));
    assert.match(api.lastResult()?.markdown ?? '', new RegExp(`\`${label(put)}\``));
    await run(Commands.get, keys[0]);
    assert.match(api.lastResult()?.markdown ?? '', new RegExp(`\`${hintedKey}\``));
    // "oldest N s" grows with no event: while shown the rows are rendered again every second, and not when hidden.
    const holder = (await api.treeItems('hints'))[0];
    assert.match(String((await api.treeItems('hints', holder))[0].description), /· oldest \d/);
    await run(`${Views.hints}.focus`);
    const shown = await ownRenders(api, 3_500);
    assert.ok(shown.count >= 2 && shown.count <= 5, `renders of its own while shown with hints in 3.5 s: ${shown.count} (${shown.seen})`);
    // Open keys wait: a render drops the command a key row's click is about to run.
    const openGroup = (await api.treeItems('hints', holder))[0];
    // Resolves once the extension has heard of the expansion, which a loaded machine delays by seconds (a full run counted 3 renders in the 4 s after reveal).
    await api.revealInTree('hints', openGroup, { expand: true });
    await assertNoOwnRenders(api, 2_500, `while ${String(openGroup.id)} is expanded`);
    await run('workbench.view.explorer');
    await assertNoOwnRenders(api, 2_500, 'while hidden');
    await run(Commands.restartNode, { node: 'n4' });
    await waitFor(api, 'the hints for n4 to be delivered and the view to empty', async () =>
      ((await hintRows(api)).some((row) => row.endsWith('for n4')) ? undefined : true), 90_000);
    await waitFor(api, 'no hints held at all', async () => ((await hintRows(api)).length ? undefined : true), 60_000);
    await run(`${Views.hints}.focus`);
    await assertNoOwnRenders(api, 2_500, 'while shown with no hints');
  });

  it('a holder killed while it keeps hints reads "down, kept on its disk", and its group says to restart it', async () => {
    await run(Commands.killNode, { node: 'n4' });
    let holder: string | undefined;
    try {
      await waitFor(api, 'n4 to be down', () => (api.snapshot().nodes.find((n) => n.id === 'n4')?.status === 'down' ? true : undefined));
      // A holder other than n1, which coordinates the puts. One put at a time, as above.
      const heldFor = () => api.snapshot().hints.find((h) => h.target === 'n4' && h.count > 0 && h.holder !== 'n1')?.holder;
      let next = 0;
      for (const deadline = Date.now() + 45_000; !(holder = heldFor());) {
        assert.ok(Date.now() < deadline, `no hint for n4 outside n1 after ${next} puts`);
        for (const end = next + 10; next < end; next++) await run(Commands.put, { key: `kept:${next}`, value: `v${next}`, node: 'n1' });
        await sleep(1_000); // the holders' next stats
      }
      const killed = holder;
      await run(Commands.killNode, { node: killed });
      const row = await waitFor(api, `${killed}'s row to say it is down`, async () =>
        (await api.treeItems('hints')).find((i) => label(i) === killed && / · down, kept on its disk$/.test(String(i.description))));
      assert.match(String(row.description), /^\d+ hints? held · down, kept on its disk$/);
      assert.equal(row.tooltip, `${killed} is down: its hints wait on its disk and are delivered once it is back up. Restart it ("RingDB: Restart Node").`);
      const group = (await api.treeItems('hints', row)).find((i) => label(i) === 'for n4');
      assert.ok(group, `no group for n4 under ${killed}`);
      const notes = await api.treeItems('hints', group);
      assert.deepEqual(notes.map(label), [`${killed} is down: they wait on its disk; restart it to list them`]);
    } finally {
      if (holder) await run(Commands.restartNode, { node: holder });
      await run(Commands.restartNode, { node: 'n4' });
    }
    await waitFor(api, 'no hints held at all', async () => ((await hintRows(api)).length ? undefined : true), 60_000);
  });

  it('Get lists a key\'s hint held by a node that keeps over 10,000 hints of other keys', async () => {
    // Rows of a partition key live in its partition: their hints for n4, and the key's own, all go to one substitute.
    let key = '';
    for (let i = 0; !key; i++) {
      const g = await run<GetSummary>(Commands.get, { key: `crowded:${i}`, quiet: true });
      if (g?.placement?.includes('n4')) key = `crowded:${i}`;
    }
    await run(Commands.killNode, { node: 'n4' });
    await waitFor(api, 'n4 to be down', () => (api.snapshot().nodes.find((n) => n.id === 'n4')?.status === 'down' ? true : undefined));
    const { ControllerClient, Driver } = await engineClient();
    const controller = ControllerClient.fromDataDir(path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, DATA_DIR));
    const driver = await Driver.connect(controller);
    let holder = '';
    try {
      // Older than the key's hint, more of them than one listing of 10,000 (oldest first) returns.
      let held = 0;
      for (let row = 0; held <= 10_000; row += 200) {
        const done = await Promise.all(Array.from({ length: 200 }, (_, i) => driver.put({ partitionKey: key, clusteringKey: String(row + i) }, 'filler')));
        for (const w of done) if (w.hinted.n4) [held, holder] = [held + 1, w.hinted.n4];
      }
    } finally {
      driver.close();
      controller.close();
    }
    assert.ok(await run(Commands.put, { key, value: 'after the crowd', node: 'n1' }), `Put failed: ${api.lastError()}`);
    assert.ok(api.outputLines().some((l) => l.includes(`put ${key} on n1: `) && l.includes(`hints: ${holder} for n4`)), api.outputLines().slice(-5).join('\n'));
    const got = await run<GetSummary>(Commands.get, { key, quiet: true });
    assert.deepEqual(got.hints.map((g) => [g.newest.holder, g.newest.target, g.count]), [[holder, 'n4', 1]], JSON.stringify(got.hints));
    // The Hints view lists the group's newest keys: the key's hint, though over 10,000 are older
    // (a listing of every hint, oldest first, stopped before it).
    let seen = '';
    await waitFor(api, `${key}'s hint first under ${holder}'s group for n4`, async () => {
      const holderRow = (await api.treeItems('hints')).find((i) => label(i) === holder);
      const group = holderRow && (await api.treeItems('hints', holderRow)).find((i) => label(i) === 'for n4');
      if (!group || (api.snapshot().hints.find((h) => h.holder === holder && h.target === 'n4')?.count ?? 0) <= 10_000) return undefined;
      const rows = await api.treeItems('hints', group);
      seen = rows.slice(0, 2).map((r) => `${label(r)} ${String(r.description)}`).join(' | ');
      return rows.length === HINT_KEYS_SHOWN + 1 && label(rows[0]) === key && /^put · n\d+:\d+ · ts \d+$/.test(String(rows[0].description)) ? true : undefined;
    }, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}; seen: ${seen}`);
    });
    await run(Commands.restartNode, { node: 'n4' });
    await waitFor(api, 'no hints held at all', async () => ((await hintRows(api)).length ? undefined : true), 120_000);
  });

  it('Remove Node of a node that is down asks, then removes it as dead: its partitions rebuilt from their other replicas', async () => {
    assert.ok(await run(Commands.put, { key: 'outlives-n3', value: 'kept', node: 'n1' }), `Put failed: ${api.lastError()}`);
    // W=1: both replicas must hold it before one of them dies, or n3 may have been its only holder.
    await waitFor(api, 'both replicas to hold it', async () => {
      const g = await run<GetSummary>(Commands.get, { key: 'outlives-n3', quiet: true });
      return g && g.replicas.filter((r) => r.found).length === 2 ? true : undefined;
    });
    await run(Commands.killNode, { node: 'n3' });
    await waitFor(api, 'n3 to be down', () => (api.snapshot().nodes.find((n) => n.id === 'n3')?.status === 'down' ? true : undefined));
    const ui = recordUi((s) => (s.kind === 'warning' ? 'Remove as Dead' : undefined));
    let removed: string | undefined;
    try {
      removed = await run<string>(Commands.removeNode, { node: 'n3' });
    } finally {
      ui.restore();
    }
    assert.ok(ui.shown.some((s) => s.kind === 'warning' && /^n3 is down, so it cannot hand its data over\. Remove it as dead\?/.test(s.text)), JSON.stringify(ui.shown));
    assert.equal(removed, 'n3', `Remove Node failed: ${api.lastError()}`);
    await waitFor(api, 'n3 gone from the Nodes view', () => (api.snapshot().nodes.some((n) => n.id === 'n3') ? undefined : true));
    // The note a reload shows counts the nodes that ran then, not at the start (seen in VS Code: "the 3-node cluster" after Add Node made it 4).
    const record = await waitFor(api, 'the stopped-with-window record to count 3 nodes', () => {
      const r = api.stoppedWithWindow() as { nodes?: unknown } | undefined;
      return r?.nodes === 3 ? r : undefined;
    }, 10_000).catch((err: Error) => { throw new Error(`${err.message}; recorded: ${JSON.stringify(api.stoppedWithWindow())}`); });
    assert.equal(record.nodes, api.snapshot().nodes.length);
    // The key is on its replicas of the new map, whether n3 was one of them or not.
    const got = await waitFor(api, 'the key on both its replicas', async () => {
      const g = await run<GetSummary>(Commands.get, { key: 'outlives-n3', quiet: true });
      return g && g.replicas.filter((r) => r.found && r.value === 'kept').length === 2 ? g : undefined;
    });
    assert.deepEqual(got.replicas.filter((r) => r.found).map((r) => r.node).sort(), [...(got.placement ?? [])].sort());
  });
});

describe('the Hints view when no node can stand in', function () {
  this.timeout(120_000);
  let api: RingDbApi;

  before(async () => {
    api = await ringDb();
    const spec = { nodes: 3, dataDir: '.ringdb/data-hints-rf3', replicationFactor: 3, writeQuorum: 2, readQuorum: 2, heartbeatIntervalMs: 200 };
    assert.ok(await run(Commands.startCluster, { spec }), `Start Cluster failed: ${api.lastError()}`);
    await waitFor(api, 'three up nodes', () => (api.snapshot().nodes.filter((n) => n.status === 'up').length === 3 ? true : undefined));
  });

  after(async () => {
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  it('names the down node and says why nothing is hinted, instead of "every node is reachable"', async () => {
    assert.equal(api.viewMessage('hints'), 'No hints held: every node is up.');
    await run(Commands.killNode, { node: 'n3' });
    await waitFor(api, 'n3 to be down', () => (api.snapshot().nodes.find((n) => n.id === 'n3')?.status === 'down' ? true : undefined));
    assert.ok(await run(Commands.put, { key: 'unhinted', value: 'x', node: 'n1' }), `Put failed: ${api.lastError()}`);
    assert.equal(await hintRows(api).then((r) => r.length), 0);
    assert.equal(api.viewMessage('hints'), 'No hints held. n3 is down, but replicationFactor 3 on 3 nodes makes every node a replica of every key: '
      + 'no node outside the replicas can stand in, so no write is hinted; it catches up from its peers when back.');
    await run(Commands.killNode, { node: 'n2' });
    const two = await waitFor(api, 'the message to name n2 and n3', () => {
      const m = api.viewMessage('hints');
      return m?.includes('n2 and n3 are not up') ? m : undefined;
    });
    assert.match(two, /With 1 of 3 nodes up a write cannot get the 2 acknowledgements it needs \(writeQuorum\), so it fails\.$/);
  });
});

