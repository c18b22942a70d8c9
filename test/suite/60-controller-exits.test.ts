// How the extension takes a controller that ends without being asked from this window: stopped
// from outside (`ringdb stop` on the folder) it stays stopped and says so; crashing for good it
// gives up, says so, and shows nothing as running.
import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';
import { Commands } from '../../src/extension/common/commandIds';
import { isAlive, recordUi, ringdbCli, ringDb, waitFor } from './helpers';

const run = <T>(id: string, arg?: unknown): Thenable<T> => vscode.commands.executeCommand<T>(id, arg);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a controller that ends without this window asking', function () {
  this.timeout(180_000);
  let api: RingDbApi;
  let ui: ReturnType<typeof recordUi>;

  before(async () => {
    api = await ringDb();
  });

  beforeEach(() => {
    ui = recordUi();
  });

  afterEach(async () => {
    ui.restore();
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  const start = async (dataDir: string): Promise<void> => {
    const spec = { nodes: 2, dataDir, replicationFactor: 2, writeQuorum: 1, readQuorum: 1 };
    assert.ok(await run(Commands.startCluster, { spec }), `Start Cluster failed: ${api.lastError()}`);
    await waitFor(api, 'two up nodes', () => (api.snapshot().nodes.filter((n) => n.status === 'up').length === 2 ? true : undefined));
  };

  it('`ringdb stop` from a terminal leaves the cluster stopped, says so, and offers Start Cluster', async () => {
    await start('.ringdb/data-stopped-outside');
    const dataDir = api.snapshot().dataDir;
    const before = api.processIds();
    const out = await ringdbCli('stop', '--dir', dataDir);
    assert.match(out, /stopped n1, n2 and the controller/);
    const message = await waitFor(api, 'a notification that the cluster was stopped outside VS Code',
      () => ui.shown.find((s) => s.kind === 'info' && /stopped outside VS Code/.test(s.text)));
    assert.deepEqual(message.items, ['Start Cluster']);
    // Longer than the first restart delay (500 ms) and a launch: a restart would have happened by now.
    await sleep(4_000);
    assert.equal(api.processIds().controller, undefined, 'the extension launched the controller again');
    for (const pid of [before.controller!, ...before.nodes]) assert.equal(isAlive(pid), false, `pid ${pid} still runs`);
    assert.equal(api.snapshot().nodes.length, 0, 'the Nodes view still lists nodes');
    assert.equal(api.statusBarText(), '$(database) RingDB: stopped');
    assert.equal(ui.shown.filter((s) => s.kind === 'error').length, 0, ui.shown.map((s) => s.text).join('\n'));
  });

  it('a node killed on purpose stays down when a crashed controller is restarted, and the notice says so rather than calling it a failure', async () => {
    await start('.ringdb/data-kept-down');
    assert.ok(await run(Commands.killNode, { node: 'n2' }), `Kill Node failed: ${api.lastError()}`);
    await waitFor(api, 'n2 down', () => (api.snapshot().nodes.find((n) => n.id === 'n2')?.status === 'down' ? true : undefined));
    const old = api.processIds();
    const phases: string[] = [];
    const watching = api.onDidChange(() => void phases.push(api.snapshot().phase));
    process.kill(old.controller!, 'SIGKILL');
    const notice = await waitFor(api, 'a notice that the controller was restarted',
      () => ui.shown.find((s) => /controller stopped unexpectedly/.test(s.text)), 60_000);
    assert.equal(notice.kind, 'warning');
    assert.equal(notice.text, `RingDB: the controller stopped unexpectedly (pid ${old.controller}, SIGKILL) and was restarted. `
      + 'The cluster is back: 1 node up, recovered from its logs and SSTables. n2 was left down on purpose, as killed before the crash ("RingDB: Restart Node" starts it).');
    const n2 = await waitFor(api, 'n2 listed down after the restart', () => {
      const n = api.snapshot().nodes.find((x) => x.id === 'n2');
      return api.processIds().controller !== old.controller && n?.status === 'down' ? n : undefined;
    });
    assert.match(n2.reason, /^killed by KillNode at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ before the controller restarted; it stays down until you restart it/);
    watching.dispose();
    // The new controller's first snapshot, before the resume, holds no cluster: not shown as none (Start Cluster offered, views empty).
    assert.deepEqual([...new Set(phases)], ['starting', 'running'], phases.join(' '));
    assert.equal(ui.shown.filter((s) => s.kind === 'error').length, 0, ui.shown.map((s) => s.text).join('\n'));
    assert.ok(await run(Commands.restartNode, { node: 'n2' }), `Restart Node failed: ${api.lastError()}`);
    await waitFor(api, 'two up nodes', () => (api.snapshot().nodes.filter((n) => n.status === 'up').length === 2 ? true : undefined));
  });

  it('Stop Cluster while a crashed controller is being restarted, or is resuming the cluster, stops everything; no notice says it failed or that the cluster is back', async () => {
    const gone = async (pids: number[]): Promise<void> => {
      // Longer than the first restart delay (500 ms) and a launch: a restart would have happened by now.
      await sleep(4_000);
      assert.equal(api.processIds().controller, undefined, 'a controller runs after Stop Cluster');
      assert.deepEqual([api.snapshot().phase, api.snapshot().nodes.length], ['none', 0]);
      for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still runs`);
      assert.deepEqual(ui.shown.filter((s) => s.kind === 'error').map((s) => s.text), []);
    };
    // Before the restart: the crash is seen, the new controller not launched yet.
    await start('.ringdb/data-stop-while-restarting');
    let old = api.processIds();
    process.kill(old.controller!, 'SIGKILL');
    await waitFor(api, 'the crash seen', () => (api.processIds().controller === undefined ? true : undefined));
    assert.ok(await run(Commands.stopCluster), `Stop Cluster failed: ${api.lastError()}`);
    await gone([old.controller!, ...old.nodes]);
    // While the restarted controller resumes the cluster: launched, its nodes not all up yet.
    await start('.ringdb/data-stop-while-restarting');
    old = api.processIds();
    process.kill(old.controller!, 'SIGKILL');
    const restarted = await waitFor(api, 'the restarted controller', () => {
      const p = api.processIds().controller;
      return p && p !== old.controller ? p : undefined;
    });
    const resuming = api.processIds().nodes;
    const before = ui.shown.length;
    assert.ok(await run(Commands.stopCluster), `Stop Cluster failed: ${api.lastError()}`);
    await gone([old.controller!, ...old.nodes, restarted, ...resuming]);
    // The resume's answer came after the stop: "the cluster is back" would tell of a cluster that is not.
    assert.deepEqual(ui.shown.slice(before).map((s) => s.text), []);
    await start('.ringdb/data-stop-while-restarting');
  });

  it('a controller that keeps crashing is given up on: no node is listed, an error says so, and Start Cluster starts afresh', async () => {
    await start('.ringdb/data-gives-up');
    // The host restarts it 5 times (0.5 to 8 s apart); the 6th crash is the last.
    for (let i = 1; i <= 6; i++) {
      const pid = api.processIds().controller!;
      process.kill(pid, 'SIGKILL');
      if (i === 6) break;
      await waitFor(api, `controller restart ${i} with the cluster back`, () => {
        const p = api.processIds().controller;
        return p && p !== pid && api.snapshot().phase === 'running' && api.snapshot().nodes.filter((n) => n.status === 'up').length === 2 ? true : undefined;
      }, 60_000);
    }
    const error = await waitFor(api, 'an error that the controller is not restarted any more',
      () => ui.shown.find((s) => s.kind === 'error' && /not restarted any more/.test(s.text)), 30_000);
    assert.deepEqual(error.items, ['Show Output', 'Start Cluster']);
    // Five restarts a few seconds apart: the first is announced, the rest only in the output channel.
    assert.equal(ui.shown.filter((s) => /controller stopped unexpectedly .* and was restarted/.test(s.text)).length, 1, ui.shown.map((s) => s.text).join('\n'));
    assert.equal(api.snapshot().nodes.length, 0, `the views still list ${api.snapshot().nodes.map((n) => `${n.id}:${n.status}`).join(', ')}`);
    assert.equal(api.statusBarText(), '$(database) RingDB: stopped');
    assert.equal(await run(Commands.put, { key: 'k', value: 'v', node: 'n1' }), undefined);
    assert.equal(api.lastError(), 'Put failed: No RingDB cluster is running in this window.');
    // Starting again is a fresh start: one crash later it is restarted, not given up at once.
    await start('.ringdb/data-gives-up');
    const { controller: pid, nodes: before } = api.processIds();
    process.kill(pid!, 'SIGKILL');
    // New node processes and a running phase: the rows of the crashed controller's nodes stay "up"
    // in the model until the new one's snapshot, so they alone would pass before any restart.
    await waitFor(api, 'the restarted cluster to be restarted after a crash', () => {
      const p = api.processIds().controller;
      const up = api.snapshot().nodes.filter((n) => n.status === 'up' && !before.includes(n.pid));
      return p && p !== pid && up.length === 2 && api.snapshot().phase === 'running' ? true : undefined;
    }, 60_000);
  });
});

