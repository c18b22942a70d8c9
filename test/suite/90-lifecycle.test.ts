// The controller's life as the extension owns it: restarted when it dies unasked, and nothing
// left running after the extension shuts down. Runs last: it disposes the extension.
import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';
import { Commands } from '../../src/extension/common/commandIds';
import type { GetSummary } from '../../src/extension/commands/dataCommands';
import { isStoppedWithWindow, stoppedNote } from '../../src/extension/controller/stoppedWithWindow';
import { isAlive, recordUi, ringDb, waitFor } from './helpers';

describe('controller lifecycle', function () {
  this.timeout(120_000);
  let api: RingDbApi;

  before(async () => {
    api = await ringDb();
    assert.ok(await vscode.commands.executeCommand(Commands.startCluster, { spec: { nodes: 2, dataDir: '.ringdb/data-lifecycle', replicationFactor: 2, writeQuorum: 1, readQuorum: 1 } }), `Start Cluster failed: ${api.lastError()}`);
    await waitFor(api, 'two up nodes', () => (api.snapshot().nodes.filter((n) => n.status === 'up').length === 2 ? true : undefined));
  });

  it('restarts a controller that died, brings the cluster back from disk, and says so once', async () => {
    await vscode.commands.executeCommand(Commands.put, { key: 'survives', value: 'a controller crash', node: 'n1' });
    const old = api.processIds();
    const ui = recordUi();
    let back: { controller: number | undefined };
    try {
      process.kill(old.controller!, 'SIGKILL');
      back = await waitFor(api, 'a new controller with two up nodes', () => {
        const p = api.processIds();
        const up = api.snapshot().nodes.filter((n) => n.status === 'up' && !old.nodes.includes(n.pid));
        return p.controller && p.controller !== old.controller && up.length === 2 ? p : undefined;
      }, 60_000);
      const notice = await waitFor(api, 'a notice that the controller was restarted', () => ui.shown.find((s) => /controller stopped unexpectedly/.test(s.text)), 10_000);
      assert.equal(notice.kind, 'warning');
      assert.equal(notice.text, `RingDB: the controller stopped unexpectedly (pid ${old.controller}, SIGKILL) and was restarted. The cluster is back: 2 nodes up, recovered from their logs and SSTables.`);
      assert.deepEqual(notice.items, ['Show Output']);
      await new Promise((r) => setTimeout(r, 2_000)); // later events must not repeat it
      assert.equal(ui.shown.length, 1, ui.shown.map((x) => x.text).join('\n'));
    } finally {
      ui.restore();
    }
    assert.ok(isAlive(back.controller!));
    for (const pid of old.nodes) await waitFor(api, `old node ${pid} to exit with its controller`, () => (isAlive(pid) ? undefined : true));
    const got = await vscode.commands.executeCommand<GetSummary>(Commands.get, { key: 'survives', quiet: true });
    assert.equal(got?.value, 'a controller crash');
  });

  it('leaves no process behind when the extension shuts down (what deactivate does)', async () => {
    // Recorded while the cluster runs (here: once it runs again after the controller restart above).
    await waitFor(api, 'the running cluster recorded', () => (isStoppedWithWindow(api.stoppedWithWindow()) ? true : undefined), 20_000);
    const p = api.processIds();
    const all = [p.controller!, ...p.nodes];
    assert.equal(all.length, 3);
    await api.shutdown();
    await waitFor(api, 'every process to exit', () => (all.every((pid) => !isAlive(pid)) ? true : undefined), 20_000);
    // The next window (a reload) says the cluster stopped with this one, and how to get it back:
    // recorded while it ran (VS Code drops state written while an extension deactivates), kept.
    const noted = api.stoppedWithWindow();
    assert.ok(isStoppedWithWindow(noted), JSON.stringify(noted));
    assert.equal(noted.nodes, 2);
    assert.match(noted.dataDir, /data-lifecycle$/);
    assert.match(stoppedNote(noted), /^RingDB: the 2-node cluster this workspace ran \(data in \S*data-lifecycle\) stopped when its window closed or reloaded\. Its data is kept; Start Cluster starts the workspace's cluster again\.$/);
    const commands = await vscode.commands.getCommands(true);
    assert.ok(!commands.includes(Commands.startCluster), 'commands are still registered after shutdown');
  });
});
