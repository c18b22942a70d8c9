// Pure parts of the extension, run in the extension host like the rest of the suite.
import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { parseNodeLine } from '../../src/extension/controller/nodeLogFollower';
import { coordinatorFor, validateKey, validateValue } from '../../src/extension/commands/inputs';
import { formatBytes, formatDuration, formatVector, shorten } from '../../src/extension/common/format';
import { parseFromWebview } from '../../src/extension/webviews/replicationLog/protocol';
import MarkdownIt from 'markdown-it';
import { code, literal } from '../../src/extension/commands/markdown';
import { renderCopies, renderGet, summarize, type ReplicaAnswer } from '../../src/extension/commands/ownCopies';
import { explain } from '../../src/extension/commands/run';
import { engineClient } from '../../src/extension/engineClient';
import { sameShown } from '../../src/extension/model/clusterModel';
import type { NodeView, SSTableView } from '../../src/extension/model/types';
import { SSTableItem, StorageNodeItem } from '../../src/extension/views/sstablesView';
import { renderSSTable } from '../../src/extension/commands/sstableCommands';
import { HintItem, HintsProvider, noHintsMessage } from '../../src/extension/views/hintsView';
import { ClusterModel } from '../../src/extension/model/clusterModel';
import { EMPTY_SNAPSHOT, type PartitionView } from '../../src/extension/model/types';
import { PartitionItem, PartitionsProvider } from '../../src/extension/views/partitionsView';
import { NodeItem, rowReason } from '../../src/extension/views/nodesView';
import { listNodes } from '../../src/extension/common/format';
import { renderHotspots, suggestThreshold } from '../../src/extension/commands/hotspotCommands';
import { renderRepair, repairSources } from '../../src/extension/commands/repairCommands';

/** A node as the model holds it, with only its id and status told apart. */
function node(id: string, status: NodeView['status']): NodeView {
  return {
    id, address: `127.0.0.1:${id.slice(1)}`, pid: 1, status, reason: '', startedAtUnixMs: 1, statusSinceUnixMs: 1, dataDir: 'd', logFile: 'l',
    clock: undefined, versionVector: {}, peers: [], store: undefined, logNextLsn: 0,
  };
}

describe('extension units', () => {
  it('keeps a down node\'s row to a few words and a local time, with its whole reason in the tooltip', () => {
    const today = new Date();
    // The kill, in local time today; the node went down to the restarted controller later.
    const killed = new Date(today.getFullYear(), today.getMonth(), today.getDate(), 0, 31, 7);
    const since = new Date(today.getFullYear(), today.getMonth(), today.getDate(), 0, 45, 9).getTime();
    const utc = killed.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const node = (reason: string): NodeView => ({
      id: 'n2', address: '127.0.0.1:2', pid: 0, status: 'down', reason, startedAtUnixMs: 1, statusSinceUnixMs: since, dataDir: 'd', logFile: 'l',
      clock: undefined, versionVector: {}, peers: [], store: undefined, logNextLsn: 0,
    });
    // As the controller words them (cluster/cluster.ts, down-file.ts downPhrase); the first was cut off mid-word in a narrow sidebar.
    const reasons = [
      [`killed by KillNode at ${utc} before the controller restarted; it stays down until you restart it (\`ringdb restart n2\`, or RingDB: Restart Node in VS Code)`, 'down · killed 00:31:07'],
      [`killed by KillNode at ${utc}; it stays down until you restart it (\`ringdb restart n2\`, or RingDB: Restart Node in VS Code)`, 'down · killed 00:31:07'],
      ['exited unexpectedly (killed by SIGKILL); restart it (`ringdb restart n2`, or RingDB: Restart Node in VS Code)', 'down · crashed 00:45:09'],
    ];
    for (const [reason, row] of reasons) {
      const item = new NodeItem(node(reason));
      assert.equal(item.description, row);
      const tip = item.tooltipNow();
      assert.ok(tip instanceof vscode.MarkdownString);
      assert.ok(tip.value.includes(reason), tip.value);
    }
    // A kill on another day says which.
    const dayAfter = killed.getTime() + 24 * 3600_000;
    const month = killed.toLocaleDateString('en-US', { month: 'short', day: 'numeric' });
    assert.equal(rowReason(node(reasons[0][0]), dayAfter), `killed ${month} 00:31:07`);
  });

  it('shows in a running node\'s tooltip the requests it coordinated and how long its reads wait before asking another replica', () => {
    const coordination = { reads: 120, writes: 1, readRepairs: 0, speculativeReads: 3, speculationsRefused: 2, speculateAfterMs: 19, speculativeRetry: '99p' };
    const tip = new NodeItem({ ...node('n1', 'up'), coordination }).tooltipNow().value;
    assert.ok(tip.includes('- coordinated: 120 reads, 1 write, 0 read repairs\n- speculative reads: 3, 2 refused by the retry budget; a read waits 19 ms on a replica before asking another'), tip);
    const off = new NodeItem({ ...node('n1', 'up'), coordination: { ...coordination, speculativeRetry: 'none', speculateAfterMs: 0 } }).tooltipNow().value;
    assert.ok(off.includes('\n- speculative reads: off (speculativeRetry "none")'), off);
    // What a down node's process counted ended with it.
    assert.ok(!new NodeItem({ ...node('n1', 'down'), coordination }).tooltipNow().value.includes('coordinated'));
    assert.ok(!new NodeItem(node('n1', 'up')).tooltipNow().value.includes('coordinated'), 'no report yet');
    // Only the tooltip shows them, built from the model when hovered: a new count alone renders nothing.
    assert.equal(sameShown({ ...node('n1', 'up'), coordination }, { ...node('n1', 'up'), coordination: { ...coordination, reads: 121 } }), true);
  });

  it('says a Hints holder that is down keeps its hints on its disk, and that restarting it lists them', async () => {
    const node = (id: string, status: 'up' | 'down'): NodeView => ({
      id, address: `127.0.0.1:${id.slice(1)}`, pid: 1, status, reason: '', startedAtUnixMs: 1, statusSinceUnixMs: 1, dataDir: 'd', logFile: 'l',
      clock: undefined, versionVector: {}, peers: [], store: undefined, logNextLsn: 0,
    });
    const model = new ClusterModel();
    model.replaceAll({ ...EMPTY_SNAPSHOT, phase: 'running', reportsHints: true, reportsPartitions: true,
      nodes: [node('n1', 'up'), node('n2', 'up'), node('n3', 'down'), node('n4', 'down')],
      hints: [{ holder: 'n4', target: 'n3', count: 1, oldestUnixMs: 1, changes: 1 }, { holder: 'n1', target: 'n3', count: 2, oldestUnixMs: 1, changes: 1 }] });
    const asked: string[] = [];
    // As the real source answers for a holder that is down.
    const provider = new HintsProvider(model, (holder) => {
      asked.push(holder);
      return Promise.reject(new Error(`Node ${holder} is down.`));
    });
    try {
      const [n1, n4] = await provider.getChildren();
      assert.equal(n1.description, '2 hints held');
      assert.equal(n4.description, '1 hint held · down, kept on its disk');
      assert.equal(n4.tooltip, 'n4 is down: its hints wait on its disk and are delivered once it is back up. Restart it ("RingDB: Restart Node").');
      const [group] = await provider.getChildren(n4);
      const [note] = await provider.getChildren(group);
      assert.equal(note.label, 'n4 is down: they wait on its disk; restart it to list them');
      assert.equal(note.tooltip, n4.tooltip);
      assert.deepEqual(asked, [], 'a holder that is down was asked for its hints');
      // A holder going down sends no hints event: its row must be rendered again all the same.
      let renders = 0;
      const counting = provider.onDidChangeTreeData(() => renders++);
      try {
        model.updateNode('n2', { clock: 9 });
        assert.equal(renders, 0, 'a change that no holder row shows rendered the view');
        model.updateNode('n1', { status: 'down' });
        assert.equal(renders, 1, 'n1, a holder, went down without the view rendering again');
        const [n1Down] = await provider.getChildren();
        assert.equal(n1Down.description, '2 hints held · down, kept on its disk');
      } finally {
        counting.dispose();
      }
    } finally {
      provider.dispose();
      model.dispose();
    }
  });

  it('suggests a Split Hot Partitions threshold that splits something: below the busiest count when twice the mean is not', () => {
    // Two busy partitions of 10 and 1: twice the mean is 11, above the busiest.
    assert.deepEqual(suggestThreshold([{ ops: 10 }, { ops: 1 }]), { value: 9, splits: 1, twiceMean: 11 });
    // One busy partition: twice the mean is twice its count.
    assert.deepEqual(suggestThreshold([{ ops: 40 }, { ops: 0 }]), { value: 39, splits: 1, twiceMean: 80 });
    // Where twice the mean leaves some above it, it is the suggestion, as the Partitions view marks hot.
    assert.deepEqual(suggestThreshold([{ ops: 40 }, { ops: 2 }, { ops: 2 }, { ops: 2 }]), { value: 23, splits: 1, twiceMean: 23 });
    // Nothing can be split below 1.
    assert.deepEqual(suggestThreshold([{ ops: 1 }]), { value: 1, splits: 0, twiceMean: 2 });
  });

  it('Show Hotspots says the requests a node that is not up coordinated are not counted, with or without other counts', () => {
    const none = renderHotspots({ totalOps: 0, partitions: [], keys: [] }, [], ['n10', 'n1']);
    assert.match(none, /No operation has been counted since the counters were last reset\..* n1 and n10 are not up, so the requests they coordinated are not counted \(a node keeps its counts in memory: they went with its process\)\./);
    const some = renderHotspots({ totalOps: 12, partitions: [{ pid: 3, ops: 12, owner: 'n2' }], keys: [] }, [], ['n1']);
    assert.match(some, /as the Partitions view does\. n1 is not up, so the requests it coordinated are not counted/);
    assert.doesNotMatch(renderHotspots({ totalOps: 12, partitions: [{ pid: 3, ops: 12, owner: 'n2' }], keys: [] }, [], []), /not counted/);
  });

  it('names a hot key that is not printable text by 0x and hex in Show Hotspots, unquoted, and a text key quoted', () => {
    // As the engine client gives them (keyText): the key 6b ff 01 is not UTF-8.
    const location = { partitionId: 7, range: '', positionHex: '', startHex: '', endHex: null, replicas: ['n1'], saltBuckets: 0, variants: [], mapVersion: 1 };
    const doc = renderHotspots({
      totalOps: 50,
      partitions: [{ pid: 7, ops: 40, owner: 'n1' }, { pid: 8, ops: 5, owner: 'n2' }, { pid: 9, ops: 5, owner: 'n3' }],
      keys: [{ key: '0x6bff01', keyHex: '6bff01', count: 40, error: 0, location }, { key: 'solo:1', keyHex: '736f6c6f3a31', count: 10, error: 0 }],
    }, [], []);
    assert.match(doc, /\| one key, 0x6bff01, makes at least 100\.0+% of it/);
    assert.match(doc, /^\| 0x6bff01 \| 40 \| 7 \|/m);
    assert.match(doc, /^\| "solo:1" \| 10 \| — \|/m);
  });

  it('lists down nodes in node order (n2 before n10), and the Partitions summary row says how many of how many once', () => {
    assert.equal(listNodes(['n10', 'n4', 'n2']), 'n2, n4 and n10');
    const node = (id: string, status: 'up' | 'down'): NodeView => ({
      id, address: `127.0.0.1:${id.slice(1)}`, pid: 1, status, reason: '', startedAtUnixMs: 1, statusSinceUnixMs: 1, dataDir: 'd', logFile: 'l',
      clock: undefined, versionVector: {}, peers: [], store: undefined, logNextLsn: 0,
    });
    const partition = (id: string, replicas: string[]): PartitionView => ({ id, range: 'tokens 0..1', owner: replicas[0], replicas, share: 0.25, mapVersion: 3, ops: 0, hot: false });
    const parts = [partition('p0', ['n4', 'n3', 'n1']), partition('p1', ['n1', 'n2', 'n10']), partition('p2', ['n1', 'n2', 'n5']), partition('p3', ['n2', 'n5', 'n1'])];
    const model = new ClusterModel();
    // As a snapshot can come: not in node order.
    model.replaceAll({ ...EMPTY_SNAPSHOT, phase: 'running', reportsPartitions: true, partitions: parts,
      nodes: [node('n10', 'down'), node('n4', 'down'), node('n3', 'down'), node('n1', 'up'), node('n2', 'up'), node('n5', 'up')] });
    const provider = new PartitionsProvider(model);
    try {
      const [top, ...rows] = provider.getChildren();
      assert.equal(top.label, '2 of 4 partitions degraded');
      assert.equal(top.description, 'map v3 · n3, n4, n10 not up');
      assert.deepEqual(provider.getChildren(top).map((n) => n.label), ['n3', 'n4', 'n10']);
      assert.match(String(rows[0].description), /^n4 · n3, n4 not up · /);
      assert.ok(rows[0] instanceof PartitionItem);
    } finally {
      provider.dispose();
      model.dispose();
    }
  });

  it('puts keys, values and messages into a rendered result as they are, whatever Markdown or HTML they hold', () => {
    // The renderer VS Code's Markdown preview uses, with its HTML on as there.
    const md = new MarkdownIt({ html: true });
    const inline = (text: string) => md.renderInline(text);
    assert.equal(inline(code('a`b')), '<code>a`b</code>');
    assert.equal(inline(code('`edge`')), '<code>`edge`</code>');
    assert.equal(inline(code('<img src=x onerror=alert(1)>')), '<code>&lt;img src=x onerror=alert(1)&gt;</code>');
    assert.equal(inline(literal('*bold* _it_ [link](http://x) <b>b</b> # 1. a|b \\')), '*bold* _it_ [link](http://x) &lt;b&gt;b&lt;/b&gt; # 1. a|b \\');
    assert.equal(code(''), '*(empty)*');
    const table = md.render(['| key | value |', '| --- | --- |', `| ${code('k|1', true)} | ${code('x | y', true)} |`].join('\n'));
    assert.match(table, /<td><code>k\|1<\/code><\/td>\s*<td><code>x \| y<\/code><\/td>/, 'a pipe in a cell stays in its cell');
  });

  it('judges each node\'s own copy as `ringdb where` does: newest only "heard" while a replica is silent', async () => {
    const v = (ts: number, origin: string) => ({ ts, origin, opId: `${origin}:${ts}` });
    const row = (node: string, version: ReturnType<typeof v> | undefined, notAsked?: string): ReplicaAnswer =>
      ({ node, notAsked, found: version !== undefined, deleted: false, version, value: version ? 'x' : undefined, error: undefined, siblings: false });
    const cells = (lines: string[]) => lines.slice(4).map((l) => l.split('|').map((c) => c.trim()).filter(Boolean));
    // n4 keeps a newer write as a hint for the down n3: it is no replica, and its version is not the key's.
    const hint = { holder: 'n4', target: 'n3', version: v(9, 'n4'), deleted: false };
    const older = { ...hint, version: v(8, 'n4') };
    const withDown = await summarize('k', [row('n1', v(5, 'n2')), row('n2', v(3, 'n1')), row('n3', undefined, 'down'), row('n4', v(9, 'n4')), row('n5', undefined)],
      ['n1', 'n2', 'n3'], [older, hint]);
    assert.equal(withDown.version?.opId, 'n2:5');
    assert.deepEqual(cells(renderCopies(withDown)).map((c) => [c[0], c[c.length - 1]]),
      [['n1', '✓ newest heard'], ['n2', 'stale'], ['n3', '—'], ['n4', 'not a replica; hint for n3'], ['n5', 'not a replica']]);
    assert.match(renderGet(withDown), /## Hints of it[\s\S]*\| n4 \| n3 \| n4:9 \| 9 \| value \| 2 \|$/, 'one row per holder and replica, with the newest hint');
    assert.doesNotMatch(renderGet(withDown), /quorum read/, 'no R known, nothing said');
    // A coordinator counts any node's answer toward R (replicas first): four nodes answer here.
    assert.doesNotMatch(renderGet({ ...withDown, readQuorum: 3 }), /quorum read/, 'R=3 is met by n1, n2 and a non-replica');
    const lonely = await summarize('k', [row('n1', v(5, 'n2')), row('n2', undefined, 'down'), row('n3', undefined, 'down')], ['n1', 'n2', 'n3']);
    assert.match(renderGet({ ...lonely, readQuorum: 2 }), /A quorum read \(R=2\) would fail now: only 1 node answered/);
    const onlyHints = await summarize('gone', [row('n1', undefined), row('n2', undefined)], ['n1', 'n2'], [{ holder: 'n3', target: 'n1', version: v(4, 'n3'), deleted: false }, { holder: 'n3', target: 'n1', version: v(6, 'n3'), deleted: true }]);
    assert.match(renderGet(onlyHints), /No replica that answered holds it: its newest write, a delete, is kept as hints for n1/);
    const crdtKey = await summarize('k', [row('n1', v(5, 'n2')), row('n2', v(3, 'n1'))], ['n1', 'n2'], [], true);
    assert.deepEqual(crdtKey.verdicts, ['', ''], 'a CRDT key\'s replicas merge states: no LWW verdict, as ringdb where');
    const allUp = await summarize('k', [row('n1', v(5, 'n2')), row('n2', undefined), row('n3', v(5, 'n2'))], ['n1', 'n2', 'n3']);
    assert.deepEqual(cells(renderCopies(allUp)).map((c) => c[c.length - 1]), ['✓ newest', 'missing', '✓ newest']);
  });

  it('does not call a node unreachable when its own refusal already names what to restart', async () => {
    const { RingDbError } = await engineClient();
    const refused = explain(new RingDbError('unavailable', 'w: only 1 of 2 replicas acknowledged n1:7 in time (n3 is down); nothing was written; restart it (ringdb restart n3) or write with a lower w'));
    assert.equal(refused.next, 'The Nodes view shows which nodes are down.');
    const unreached = explain(new RingDbError('unavailable', 'Put: none could be reached of the nodes tried (n1)'));
    assert.match(unreached.next, /^The node or controller is not reachable/);
  });

  it('reads the level and message of a node log line, and keeps foreign lines whole', () => {
    assert.deepEqual(parseNodeLine('2026-11-26T01:00:00.000Z WARN  [n2] peer n3 missed 3 heartbeats'), { at: '2026-11-26T01:00:00.000Z', level: 'warn', message: 'peer n3 missed 3 heartbeats' });
    assert.deepEqual(parseNodeLine('2026-11-26T01:00:00.000Z ERROR [n1] disk full'), { at: '2026-11-26T01:00:00.000Z', level: 'error', message: 'disk full' });
    assert.deepEqual(parseNodeLine('Error: boom'), { at: undefined, level: 'info', message: 'Error: boom' });
  });

  it('validates keys and values with messages that say what is accepted', () => {
    assert.equal(validateKey('user:1'), undefined);
    assert.match(validateKey('') ?? '', /required \(1 to 64 KiB/);
    assert.match(validateKey('   ') ?? '', /only spaces would be invisible/);
    assert.equal(validateKey(' padded '), undefined);
    assert.match(validateKey('k'.repeat(64 * 1024 + 1)) ?? '', /65537 bytes; at most 65536/);
    assert.equal(validateKey('é'.repeat(32 * 1024)), undefined, 'the limit is in UTF-8 bytes');
    assert.match(validateValue('v'.repeat(1024 * 1024 + 1)) ?? '', /at most 1048576/);
  });

  it('accepts only well-formed messages from the webview', () => {
    assert.deepEqual(parseFromWebview({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseFromWebview({ type: 'rendered', total: 3, shown: 1 }), { type: 'rendered', total: 3, shown: 1 });
    assert.equal(parseFromWebview({ type: 'rendered', total: '3', shown: 1 }), undefined);
    assert.equal(parseFromWebview({ type: 'openKey', key: '' }), undefined);
    assert.equal(parseFromWebview({ type: 'runCommand', command: 'rm -rf' }), undefined);
    assert.equal(parseFromWebview('ready'), undefined);
  });

  it('calls a node report unchanged when only a peer\'s last-heard time moved (each report has a new one)', () => {
    const peer = { id: 'n2', address: '127.0.0.1:2', status: 'up' as const, lastHeardUnixMs: 1_000, destination: true, ackedLsn: 4, pendingOps: 0 };
    const store = { memtableBytes: 116, memtableEntries: 1, immutableMemtables: 0, walBytes: 200, sstables: [], flushes: 0, compactions: 0 };
    const node: NodeView = {
      id: 'n1', address: '127.0.0.1:1', pid: 10, status: 'up', reason: 'serving', startedAtUnixMs: 1, statusSinceUnixMs: 1, dataDir: 'd', logFile: 'l',
      clock: 7, versionVector: { n1: 3 }, peers: [peer], store, logNextLsn: 5,
    };
    const report = (patch: Partial<NodeView>): NodeView => ({ ...node, ...patch });
    assert.ok(sameShown(node, report({ peers: [{ ...peer, lastHeardUnixMs: 2_000 }], store: { ...store }, versionVector: { n1: 3 } })));
    assert.ok(!sameShown(node, report({ peers: [{ ...peer, pendingOps: 1 }] })));
    assert.ok(!sameShown(node, report({ store: { ...store, memtableEntries: 2 } })));
    assert.ok(!sameShown(node, report({ versionVector: { n1: 3, n2: 1 } })));
    assert.ok(!sameShown(node, report({ status: 'down', reason: 'exited unexpectedly (killed by SIGKILL)' })));
  });

  it('offers Flush and Compact on a suspect node\'s SSTables row as on an up one\'s, and not on a down one\'s', () => {
    const store = { memtableBytes: 116, memtableEntries: 1, immutableMemtables: 0, walBytes: 200, sstables: [], flushes: 0, compactions: 0 };
    const node = (status: NodeView['status']): NodeView => ({
      id: 'n1', address: '127.0.0.1:1', pid: 10, status, reason: '', startedAtUnixMs: 1, statusSinceUnixMs: 1, dataDir: 'd', logFile: 'l',
      clock: 7, versionVector: { n1: 3 }, peers: [], store, logNextLsn: 5,
    });
    assert.deepEqual((['up', 'suspect', 'down', 'stopped'] as const).map((s) => new StorageNodeItem(node(s)).contextValue),
      ['storage.node', 'storage.node', 'storage.node.offline', 'storage.node.offline']);
  });

  it('formats sizes, durations and version vectors for people', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MiB');
    assert.equal(formatDuration(59_000), '59 s');
    assert.equal(formatDuration(2 * 3_600_000 + 5 * 60_000), '2 h 5 min');
    assert.equal(formatVector({ n10: 1, n2: 7, n1: 3 }), 'n1:3, n2:7, n10:1');
    assert.equal(formatVector({}), '—');
    assert.equal(shorten('user:000123456789', 12), 'user:…56789');
    assert.equal(shorten('h:3 (salt #3)', 12), 'h:3 (salt #3)', 'a salted key keeps its note whole');
    assert.equal(shorten('customer:0042:orders (salt #12)', 16), 'cu…rs (salt #12)');
  });

  it('a hint group\'s tooltip speaks of one write\'s key, or several writes\' keys', () => {
    const group = (count: number) => String(new HintItem({ holder: 'n2', target: 'n3', count, oldestUnixMs: 0, changes: 0 }, 0).tooltip);
    assert.equal(group(1), 'n2 keeps 1 write for n3 until it is reachable again; expand to see its key');
    assert.equal(group(5), 'n2 keeps 5 writes for n3 until it is reachable again; expand to list their keys');
  });

  it('says an SSTable from a plain key to a salted variant also holds every plain key after its smallest', () => {
    const table = (minKey: string, maxKey: string, minKeySalted: boolean, maxKeySalted: boolean): SSTableView => ({
      id: 7, level: 1, file: '/d/n1/sst/7.sst', minKey, maxKey, minKeySalted, maxKeySalted, entries: 9, tombstones: 0, sizeBytes: 900,
      bloomBits: 0, newestWriteUnixMs: 0, minTs: 1, maxTs: 9,
    });
    const node: NodeView = {
      id: 'n1', address: '127.0.0.1:1', pid: 1, status: 'up', reason: '', startedAtUnixMs: 1, statusSinceUnixMs: 1, dataDir: 'd', logFile: 'l',
      clock: undefined, versionVector: {}, peers: [], store: undefined, logNextLsn: 0,
    };
    // Stored order: "k:1" < "z" < every variant (0xff 0x53 …), so this table may hold "z" though "z" > "hot:1".
    const spanning = table('k:1', 'hot:1 (salt #3)', false, true);
    assert.equal(new SSTableItem('n1', spanning, false).description, 'k:1 … + salted … hot:1 (salt #3) · 9 entries · 900 B');
    const tip = new SSTableItem('n1', spanning, false).tooltip;
    assert.ok(tip instanceof vscode.MarkdownString && tip.value.includes('- keys: plain keys from `k:1` on, then salted variants up to `hot:1 (salt #3)` (A hot key\'s salted variants are stored under the bytes 0xff 0x53, after every plain key)'), String(tip));
    assert.match(renderSSTable(node, spanning, undefined, undefined), /^- \*\*Key range:\*\* plain keys from `k:1` on, then salted variants up to `hot:1 \(salt #3\)`\. .*so this table may hold any plain key after its smallest/m);
    // Ranges within one kind read as their two ends.
    assert.equal(new SSTableItem('n1', table('a', 'b', false, false), false).description, 'a … b · 9 entries · 900 B');
    assert.equal(new SSTableItem('n1', table('hot:1 (salt #0)', 'hot:1 (salt #3)', true, true), false).description, 'hot:1 (salt #0) … hot:1 (salt #3) · 9 entries · 900 B');
    assert.match(renderSSTable(node, table('a', 'b', false, false), undefined, undefined), /^- \*\*Key range:\*\* `a` to `b`\. The smallest and largest key it holds/m);
  });

  it('runs Repair Now on every node that answers requests, suspect ones too, and on no node that is down', () => {
    // Every node suspect (loaded, missing the controller's pings): each still runs a round.
    assert.deepEqual(repairSources([node('n1', 'suspect'), node('n2', 'suspect'), node('n3', 'suspect')]), ['n1', 'n2', 'n3']);
    assert.deepEqual(repairSources([node('n1', 'up'), node('n2', 'suspect'), node('n3', 'down'), node('n4', 'starting'), node('n5', 'stopped')]), ['n1', 'n2']);
  });

  it('says in the repair document that a hung node did not answer, and a suspect peer as suspect, not the transport\'s deadline text', () => {
    const model = new ClusterModel();
    model.replaceAll({ ...EMPTY_SNAPSHOT, phase: 'running', nodes: [node('n1', 'up'), node('n2', 'suspect'), node('n3', 'down')] });
    const peer = (name: string, error: string) => ({
      peer: name, ok: false, error, rootsMatched: false, rangesCompared: 0, bucketsCompared: 0, keysSent: 0, keysReceived: 0, bytesSent: 0, bytesReceived: 0,
      partitionsCompared: 0, partitionsDiffering: 0, partitions: [],
    });
    const doc = renderRepair([
      { nodeId: 'n1', durationMs: 30_004, peers: [peer('n2', 'Deadline exceeded after 30.000s,name resolution: 0.001s,remote_addr=127.0.0.1:46039'), peer('n3', 'n3 is down')] },
      { nodeId: 'n2', durationMs: 0, peers: [], failed: 'n2 did not answer a ping within 5 s: …' },
    ], model);
    assert.match(doc, /\| n2 \| failed: n2 is suspect: its process runs but has stopped answering \(hung, paused or overloaded\)\. Repair again once it shows up, or restart it \("RingDB: Restart Node"\)\. \|/);
    assert.doesNotMatch(doc, /Deadline exceeded/);
    assert.match(doc, /\| n3 \| skipped: n3 is down \|/);
    assert.match(doc, /## n2\n\nThe round could not run: n2 did not answer a ping within 5 s/);
  });

  it('sends a request with no node named to an up node first, else to a suspect one, and to none that is down', () => {
    const coordinator = (...nodes: NodeView[]): string => {
      const model = new ClusterModel();
      model.replaceAll({ ...EMPTY_SNAPSHOT, phase: 'running', nodes });
      return coordinatorFor(model, undefined);
    };
    assert.equal(coordinator(node('n1', 'suspect'), node('n2', 'up')), 'n2');
    assert.equal(coordinator(node('n1', 'down'), node('n2', 'suspect'), node('n3', 'suspect')), 'n2');
    assert.throws(() => coordinator(node('n1', 'down'), node('n2', 'starting')), /No node is up to take the request/);
  });

  it('counts a suspect node as answering in the Hints view\'s empty message: no write is hinted for it, and it acknowledges writes', () => {
    const spec = { nodes: 3, replicationFactor: 3, writeQuorum: 2, readQuorum: 2 };
    const message = (...nodes: NodeView[]): string => noHintsMessage({ ...EMPTY_SNAPSHOT, phase: 'running', reportsPartitions: true, spec, nodes });
    assert.equal(message(node('n1', 'up'), node('n2', 'suspect'), node('n3', 'down')), 'No hints held. n3 is down, but replicationFactor 3 on 3 nodes makes every node a replica of every key: '
      + 'no node outside the replicas can stand in, so no write is hinted; it catches up from its peers when back.');
    assert.equal(message(node('n1', 'suspect'), node('n2', 'up'), node('n3', 'up')), 'No hints held: every node is up or suspect (slow to answer pings, still answering requests).');
    assert.equal(message(node('n1', 'up'), node('n2', 'up'), node('n3', 'up')), 'No hints held: every node is up.');
  });
});
