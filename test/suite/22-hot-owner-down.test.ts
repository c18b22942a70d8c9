// Split Hot Partitions when a hot partition's owner is down: on a range map the split key is
// sampled from the owner, so nothing can be split there; the message says the owner is down and
// offers to restart it, instead of the splitter's "fewer than 2 distinct sample keys".
import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';
import { Commands } from '../../src/extension/common/commandIds';
import { recordUi, ringDb, waitFor } from './helpers';

const run = <T>(id: string, arg?: unknown): Thenable<T> => vscode.commands.executeCommand<T>(id, arg);

describe('hot partitions whose owner is down', function () {
  this.timeout(150_000);
  let api: RingDbApi;

  before(async () => {
    api = await ringDb();
    const spec = {
      nodes: 3, dataDir: '.ringdb/data-range', partitionStrategy: 'range', replicationFactor: 2, writeQuorum: 1, readQuorum: 1, heartbeatIntervalMs: 200,
      keyRanges: [{ start: '', end: 'm', node: 'n1' }, { start: 'm', end: null, node: 'n2' }],
    };
    assert.ok(await run(Commands.startCluster, { spec }), `Start Cluster failed: ${api.lastError()}`);
    await waitFor(api, 'three up nodes', () => (api.snapshot().nodes.filter((n) => n.status === 'up').length === 3 ? true : undefined));
  });

  after(async () => {
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  it('Split Hot Partitions says the owner is down and offers to restart it', async () => {
    const hot = api.snapshot().partitions.find((p) => p.owner === 'n1');
    assert.ok(hot, JSON.stringify(api.snapshot().partitions));
    await run(Commands.killNode, { node: 'n1' });
    await waitFor(api, 'n1 down', () => (api.snapshot().nodes.find((n) => n.id === 'n1')?.status === 'down' ? true : undefined));
    assert.equal(await run(Commands.resetHotspotCounters), true, `Reset Hotspot Counters failed: ${api.lastError()}`);
    // Coordinated by n2 (the partition's other replica), which counts them.
    for (let i = 0; i < 30; i++) assert.ok(await run(Commands.put, { key: `a:${i}`, value: 'x', node: 'n2' }), `Put failed: ${api.lastError()}`);
    // n2's counts are shown; whatever n1 would have coordinated is not, and the page says so.
    assert.ok(await run(Commands.showHotspots), `Show Hotspots failed: ${api.lastError()}`);
    assert.match(api.lastResult()?.markdown ?? '', /as the Partitions view does\. n1 is not up, so the requests it coordinated are not counted/);
    const ui = recordUi((s) => (s.kind === 'warning' ? 'Restart n1' : undefined));
    let r: { split: number[]; skipped: { pid: number; reason: string }[] } | undefined;
    try {
      r = await run(Commands.splitHotPartitions, { threshold: 10 });
    } finally {
      ui.restore();
    }
    assert.ok(r, `Split Hot Partitions failed: ${api.lastError()}`);
    assert.deepEqual(r.skipped.map((s) => s.pid), [Number(hot.id)], JSON.stringify(r));
    const warning = ui.shown.find((s) => s.kind === 'warning');
    assert.equal(warning?.text, `RingDB: Not split: partition ${hot.id}: its owner n1 is down, so no key could be sampled from it to split at.`);
    assert.deepEqual(warning?.items, ['Restart n1']);
    // The button restarts it.
    await waitFor(api, 'n1 restarted by the button', () => (api.snapshot().nodes.find((n) => n.id === 'n1')?.status === 'up' ? true : undefined), 60_000);
  });
});
