// Cancelling a Start Cluster half-way leaves nothing running; Query Index finds keys by a JSON
// field through the secondary indexes of a cluster whose spec has `indexFields`.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';
import { Commands } from '../../src/extension/common/commandIds';
import type { StartResult } from '../../src/extension/commands/clusterCommands';
import type { QueryIndexSummary } from '../../src/extension/commands/indexCommands';
import { isAlive, ringDb, waitFor } from './helpers';

const run = <T>(id: string, arg?: unknown): Thenable<T> => vscode.commands.executeCommand<T>(id, arg);

/** Controller and node processes of this test run still alive (found through /proc, not the model). */
function engineProcesses(): number[] {
  const marker = `RINGDB_TEST_RUN=${process.env.RINGDB_TEST_RUN ?? ''}\0`;
  const read = (pid: string, f: string): string => {
    try { return readFileSync(`/proc/${pid}/${f}`, 'utf8'); } catch { return ''; }
  };
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d))
    .filter((pid) => read(pid, 'cmdline').includes('/dist/engine/') && read(pid, 'environ').includes(marker) && !/\) Z /.test(read(pid, 'stat')))
    .map(Number);
}

describe('cancelling Start Cluster, then Query Index', function () {
  this.timeout(120_000);
  let api: RingDbApi;

  before(async () => {
    api = await ringDb();
  });

  after(async () => {
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  it('Start Cluster cancelled while nodes start stops the controller and every node it launched', async () => {
    assert.equal(api.snapshot().phase, 'none');
    // Nodes of an earlier test's cluster exit just after its controller: let them go first.
    await waitFor(api, 'the processes of earlier clusters to exit', () => (engineProcesses().length === 0 ? true : undefined), 20_000);
    const cancel = new vscode.CancellationTokenSource();
    const seen = new Set<number>();
    const started = run<StartResult | undefined>(Commands.startCluster, { spec: { nodes: 5, replicationFactor: 3 }, cancellation: cancel.token });
    // Cancel once the controller runs and StartCluster is waiting for the nodes.
    await waitFor(api, 'the cluster to be starting', () => (api.snapshot().phase === 'starting' && api.processIds().controller ? true : undefined));
    for (const pid of engineProcesses()) seen.add(pid);
    cancel.cancel();
    assert.equal(await started, undefined, 'a cancelled Start Cluster returned a cluster');
    assert.equal(api.snapshot().phase, 'none');
    assert.equal(api.processIds().controller, undefined);
    assert.ok(seen.size >= 1, 'no controller process was seen before cancelling');
    await waitFor(api, 'every engine process to exit', () => (engineProcesses().length === 0 && [...seen].every((p) => !isAlive(p)) ? true : undefined), 20_000);
    assert.match(api.statusBarText(), /stopped/);
  });

  it('Query Index lists the keys whose JSON field matches, with values, versions and the nodes that answered', async () => {
    const spec = { nodes: 3, indexFields: ['color', 'size'] };
    assert.ok(await run(Commands.startCluster, { spec }), `Start Cluster failed: ${api.lastError()}`);
    await waitFor(api, 'three up nodes', () => (api.snapshot().nodes.filter((n) => n.status === 'up').length === 3 ? true : undefined));
    const rows: [string, unknown][] = [
      ['fruit:apple', { color: 'red', size: 3 }], ['fruit:cherry', { color: 'red', size: 1 }],
      ['fruit:banana', { color: 'yellow', size: 4 }], ['fruit:plain', 'not JSON with a color'],
    ];
    for (const [key, value] of rows) {
      assert.ok(await run(Commands.put, { key, value: typeof value === 'string' ? value : JSON.stringify(value), node: 'n2' }), `Put ${key} failed: ${api.lastError()}`);
    }
    // Indexes follow replication: wait until the query sees both red fruits.
    const red = await waitFor(api, 'both red fruits in the index', async () => {
      const r = await run<QueryIndexSummary>(Commands.queryIndex, { field: 'color', value: 'red', node: 'n1', quiet: true });
      return r && r.matches.length === 2 ? r : undefined;
    });
    assert.deepEqual(red.matches.map((m) => m.key), ['fruit:apple', 'fruit:cherry']);
    assert.equal(red.node, 'n1');
    assert.deepEqual([...red.nodes].sort(), ['n1', 'n2', 'n3']);
    assert.deepEqual(red.unreachable, []);
    assert.deepEqual(JSON.parse(red.matches[0].value ?? 'null'), { color: 'red', size: 3 });
    assert.match(red.matches[0].version?.opId ?? '', /^n2:\d+$/);
    // Numbers match by their JSON text; a document opens when not quiet.
    const small = await run<QueryIndexSummary>(Commands.queryIndex, { field: 'size', value: '1' });
    assert.deepEqual(small?.matches.map((m) => m.key), ['fruit:cherry']);
    const doc = api.lastResult();
    assert.equal(doc?.uri.scheme, 'ringdb-result');
    assert.match(doc.markdown, /# Query Index: `size` = `1`/);
    assert.match(doc.markdown, /\| `fruit:cherry` \| `\{"color":"red","size":1\}` \| n2:\d+ \|/, 'the value shows as a code span: as it is, not read as Markdown');
    const none = await run<QueryIndexSummary>(Commands.queryIndex, { field: 'color', value: 'blue', quiet: true });
    assert.deepEqual(none?.matches, []);
  });

  it('Query Index on a field that is not indexed says which are and how to index it', async () => {
    const r = await run(Commands.queryIndex, { field: 'weight', value: '3', quiet: true });
    assert.equal(r, undefined);
    assert.match(api.lastError() ?? '', /Query Index failed: The field "weight" is not indexed by this cluster \(indexed: color, size\)/);
    const empty = await run(Commands.queryIndex, { field: '', value: 'x', quiet: true });
    assert.equal(empty, undefined);
    assert.match(api.lastError() ?? '', /Invalid field: A field name is required/);
  });
});
