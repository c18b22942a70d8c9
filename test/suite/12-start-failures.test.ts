// Start Cluster when it cannot simply start: a folder another controller serves, and a node whose
// SSTable is damaged. The message must say what is true and what to do, and nothing half-started
// may stay behind.
import { strict as assert } from 'node:assert';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';
import type { GetSummary } from '../../src/extension/commands/dataCommands';
import { Log } from '../../src/extension/common/log';
import { ControllerHost } from '../../src/extension/controller/controllerHost';
import { engineClient } from '../../src/extension/engineClient';
import { Commands } from '../../src/extension/common/commandIds';
import { EXTENSION_ID, isAlive, recordUi, ringdbCli, ringDb, waitFor } from './helpers';

const run = <T>(id: string, arg?: unknown): Thenable<T> => vscode.commands.executeCommand<T>(id, arg);
const inWorkspace = (rel: string): string => path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, rel);

/** `ringdb start` in a folder of the workspace, as a person in a terminal; the CLI controller's pid. */
async function cliCluster(rel: string, nodes: number): Promise<number> {
  await ringdbCli('start', '--dir', inWorkspace(rel), '--nodes', String(nodes));
  return (JSON.parse(readFileSync(inWorkspace(`${rel}/cluster-state.json`), 'utf8')) as { pid: number }).pid;
}

/** What a test leaves behind: the CLI cluster stopped, if it still runs. */
async function stopCli(rel: string, pid: number): Promise<void> {
  if (isAlive(pid)) await ringdbCli('stop', '--dir', inWorkspace(rel)).catch(() => undefined);
}

describe('Start Cluster when it cannot simply start', function () {
  this.timeout(180_000);
  let api: RingDbApi;
  let ui: ReturnType<typeof recordUi> | undefined;

  before(async () => {
    api = await ringDb();
  });

  afterEach(async () => {
    ui?.restore();
    ui = undefined;
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  it('a double Start Cluster starts one cluster; the second says one is starting', async () => {
    ui = recordUi();
    const spec = { nodes: 2, dataDir: '.ringdb/data-double', replicationFactor: 2, writeQuorum: 1, readQuorum: 1 };
    const [a, b] = await Promise.all([run(Commands.startCluster, { spec }), run(Commands.startCluster, { spec })]);
    assert.ok(a, `the first start failed: ${api.lastError()}`);
    assert.equal(b, undefined);
    const errors = ui.shown.filter((s) => s.kind === 'error').map((s) => s.text);
    assert.deepEqual(errors, ['RingDB Start Cluster: A cluster is already starting in this window. Wait for it; the status bar shows when it runs.']);
  });

  it('on a folder a CLI cluster serves, says so and offers to stop it, then starts', async () => {
    const rel = '.ringdb/data-cli';
    const cliPid = await cliCluster(rel, 2);
    try {
      ui = recordUi((s) => (s.kind === 'error' && s.items.includes('Stop It and Start') ? 'Stop It and Start' : undefined));
      const spec = { nodes: 2, dataDir: rel, replicationFactor: 2, writeQuorum: 1, readQuorum: 1 };
      assert.equal(await run(Commands.startCluster, { spec }), undefined, 'the first start must not take the folder over silently');
      const error = ui.shown.find((s) => s.kind === 'error')!;
      // One sentence of what happened and the next step; who holds the folder and how else to stop it go to the output.
      assert.equal(error.text, 'RingDB Start Cluster: A cluster started outside this window already runs in .ringdb/data-cli. "Show It Here" follows it; "Stop It and Start" replaces it.');
      assert.deepEqual(error.items, ['Show It Here', 'Stop It and Start', 'Show Output']);
      const output = api.outputLines().join('\n');
      assert.match(output, new RegExp(`data-cli is served by the controller pid ${cliPid} at 127\\.0\\.0\\.1:\\d+, started by "ringdb start"`), output.slice(-2000));
      assert.match(output, /"ringdb stop --dir [^"]*data-cli" in a terminal/);
      // The button stops the CLI's controller and its nodes, then starts the cluster here.
      await waitFor(api, 'the cluster started by this window after the button', () => {
        const p = api.processIds().controller;
        return p && p !== cliPid && api.snapshot().nodes.filter((n) => n.status === 'up').length === 2 ? true : undefined;
      }, 60_000);
      assert.equal(isAlive(cliPid), false, 'the CLI controller still runs');
    } finally {
      await stopCli(rel, cliPid);
    }
  });

  it('on a folder a CLI cluster serves, "Show It Here" follows that cluster; Stop Cluster stops it', async () => {
    const rel = '.ringdb/data-attach';
    const cliPid = await cliCluster(rel, 2);
    try {
      ui = recordUi((s) => (s.kind === 'error' && s.items.includes('Show It Here') ? 'Show It Here' : undefined));
      const spec = { nodes: 2, dataDir: rel, replicationFactor: 2, writeQuorum: 1, readQuorum: 1 };
      assert.equal(await run(Commands.startCluster, { spec }), undefined);
      const shown = ui.shown;
      await waitFor(api, 'the CLI cluster shown in this window, and the message that says so', () =>
        (api.processIds().controller === cliPid && api.snapshot().nodes.filter((n) => n.status === 'up').length === 2
          && shown.some((m) => m.kind === 'info' && /showing the cluster that runs in .*data-attach \(2 nodes\)\. This window did not start it/.test(m.text)) ? true : undefined), 30_000);
      // Commands go to the CLI's nodes, and a write made in the terminal shows here.
      assert.ok(await run(Commands.put, { key: 'attached', value: 'from VS Code', node: 'n1' }), `Put failed: ${api.lastError()}`);
      assert.equal((await ringdbCli('get', 'attached', '--dir', inWorkspace(rel))).trim(), 'from VS Code');
      await ringdbCli('put', 'typed', 'in a terminal', '--dir', inWorkspace(rel));
      const got = await run<GetSummary>(Commands.get, { key: 'typed', quiet: true });
      assert.equal(got?.value, 'in a terminal');

      await run(Commands.stopCluster);
      await waitFor(api, 'the CLI controller to exit', () => (isAlive(cliPid) ? undefined : true), 30_000);
      assert.equal(api.snapshot().phase, 'none');
    } finally {
      await stopCli(rel, cliPid);
    }
  });

  it('Show Running Cluster attaches to the folder\'s CLI cluster, says so when none runs, and a window going away leaves it running', async () => {
    const rel = '.ringdb/data-show';
    const config = vscode.workspace.getConfiguration('ringdb');
    await config.update('dataFolder', rel, vscode.ConfigurationTarget.Workspace);
    try {
      ui = recordUi();
      assert.equal(await run(Commands.showRunningCluster), undefined);
      assert.match(ui.shown.find((m) => m.kind === 'error')?.text ?? '', /No RingDB cluster runs in \S*data-show \(the folder the "ringdb\.dataFolder" setting names\)\. Start one: "RingDB: Start Cluster", or "ringdb start --dir /);

      const cliPid = await cliCluster(rel, 1);
      try {
        const shown = await run<{ nodes: string[] }>(Commands.showRunningCluster);
        assert.deepEqual(shown?.nodes, ['n1'], `Show Running Cluster failed: ${api.lastError()}`);
        await waitFor(api, 'n1 up in this window', () => (api.snapshot().nodes.find((n) => n.id === 'n1')?.status === 'up' ? true : undefined));
        // What the window does when it goes away, on a second host attached to the same controller.
        const log = new Log('info');
        const host = new ControllerHost('unused: this host only attaches', log);
        const handle = await host.attach(inWorkspace(rel));
        assert.equal(handle.pid, cliPid);
        await host.shutdown();
        host.dispose();
        log.dispose();
        await new Promise((r) => setTimeout(r, 500));
        assert.ok(isAlive(cliPid), 'a window that attached stopped the CLI controller on its way out');
        assert.equal(api.snapshot().nodes.find((n) => n.id === 'n1')?.status, 'up');
        // The terminal stops it: this window says so and shows nothing running.
        await ringdbCli('stop', '--dir', inWorkspace(rel));
        await waitFor(api, 'the window to show the cluster stopped', () => (api.snapshot().phase === 'none' ? true : undefined), 30_000);
        assert.ok(ui.shown.some((m) => m.kind === 'info' && /was stopped outside VS Code/.test(m.text)), JSON.stringify(ui.shown));
      } finally {
        await stopCli(rel, cliPid);
      }
    } finally {
      await config.update('dataFolder', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('on activation (Show Running Cluster with ifRunning) shows what `ringdb start` runs, and silently nothing else', async () => {
    const rel = '.ringdb/data-activate';
    const config = vscode.workspace.getConfiguration('ringdb');
    await config.update('dataFolder', rel, vscode.ConfigurationTarget.Workspace);
    try {
      ui = recordUi();
      assert.equal(await run(Commands.showRunningCluster, { ifRunning: true }), undefined);
      // A controller another window launched (not detached) is that window's to show.
      const { launchController } = await engineClient();
      const script = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist/engine/controller.js');
      const other = await launchController({ dataDir: inWorkspace(rel), controllerScript: script });
      try {
        assert.equal(await run(Commands.showRunningCluster, { ifRunning: true }), undefined);
      } finally {
        await other.stop(5000);
      }
      assert.equal(ui.shown.length, 0, 'nothing to show is no message');

      const cliPid = await cliCluster(rel, 1);
      try {
        const shown = await run<{ nodes: string[] }>(Commands.showRunningCluster, { ifRunning: true });
        assert.deepEqual(shown?.nodes, ['n1'], `not shown: ${api.lastError()}`);
        assert.equal(api.processIds().controller, cliPid);
        // A crash of the controller this window only showed is told as one, not as a stop.
        const shownNow = ui.shown;
        process.kill(cliPid, 'SIGKILL');
        await waitFor(api, 'the window to say the controller ended without a stop', () =>
          (api.snapshot().phase === 'none' && shownNow.some((m) => m.kind === 'warning'
            && /controller of the cluster in \S*data-activate, which this window showed but did not start, exited without a stop: it crashed or was killed/.test(m.text)) ? true : undefined), 30_000);
        assert.equal(api.processIds().controller, undefined, 'nothing was restarted');
      } finally {
        await stopCli(rel, cliPid);
      }
    } finally {
      await config.update('dataFolder', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('underlines what the engine refuses in .ringdb/cluster.json as it is typed, and Start Cluster offers the file', async () => {
    const workspaceSpec = inWorkspace('.ringdb/cluster.json');
    const setAside = existsSync(workspaceSpec) ? `${workspaceSpec}.aside` : undefined;
    if (setAside) renameSync(workspaceSpec, setAside);
    const uri = vscode.Uri.file(workspaceSpec);
    try {
      // Valid for the JSON schema (each number in range); only the engine's check across fields refuses it.
      writeFileSync(workspaceSpec, '{\n  "nodes": 3,\n  "writeQuorum": 4\n}\n');
      const doc = await vscode.workspace.openTextDocument(uri);
      const editor = await vscode.window.showTextDocument(doc);
      const ours = () => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'RingDB');
      const [problem] = await waitFor(api, 'the spec problem underlined', () => (ours().length ? ours() : undefined));
      assert.match(problem.message, /^writeQuorum: must be at most replicationFactor \(3\), got 4/);
      assert.equal(doc.getText(problem.range), '"writeQuorum": 4');

      ui = recordUi();
      assert.equal(await run(Commands.startCluster), undefined);
      const error = ui.shown.find((m) => m.kind === 'error');
      assert.match(error?.text ?? '', /The cluster spec is not valid: writeQuorum: must be at most replicationFactor \(3\), got 4\. Fix \.ringdb\/cluster\.json \(its problems are underlined there\) and try again\./);
      assert.deepEqual(error?.items, ['Open cluster.json', 'Show Output']);

      // Fixed as typed: the underline goes.
      await editor.edit((e) => e.replace(problem.range, '"writeQuorum": 2'));
      await waitFor(api, 'the underline gone', () => (ours().length === 0 ? true : undefined));
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    } finally {
      rmSync(workspaceSpec, { force: true });
      if (setAside) renameSync(setAside, workspaceSpec);
    }
  });

  it('a data folder starts again with the spec it last ran with, saying so; a spec given replaces it, noting a changed replicationFactor', async () => {
    const rel = '.ringdb/data-recorded';
    const config = vscode.workspace.getConfiguration('ringdb');
    await config.update('dataFolder', rel, vscode.ConfigurationTarget.Workspace);
    // Without a workspace spec, Start Cluster would start the defaults (nodes 3, replicationFactor 3).
    const workspaceSpec = inWorkspace('.ringdb/cluster.json');
    const setAside = existsSync(workspaceSpec) ? `${workspaceSpec}.aside` : undefined;
    if (setAside) renameSync(workspaceSpec, setAside);
    try {
      // The CLI's defaults shrunk to 2 nodes: replicationFactor 2, both quorums 2.
      await stopCli(rel, await cliCluster(rel, 2));
      ui = recordUi();
      const started = await run<{ nodes: string[] }>(Commands.startCluster);
      assert.deepEqual(started?.nodes, ['n1', 'n2'], `Start Cluster failed: ${api.lastError()}`);
      assert.equal(api.snapshot().spec?.replicationFactor, 2, 'the folder came back with the defaults');
      assert.ok(ui.shown.some((m) => m.kind === 'info' && /using the spec \S*data-recorded last started with \(replicationFactor 2, writeQuorum 2, readQuorum 2, consistencyMode lww\)/.test(m.text)),
        `not told: ${JSON.stringify(ui.shown)}`);
      assert.ok(!ui.shown.some((m) => /is for a new data folder/.test(m.text)), 'the recorded spec\'s own count is not the person\'s to be corrected');
      await run(Commands.stopCluster);

      ui.restore();
      ui = recordUi();
      // A damaged record of the nodes down on purpose does not stop the start; the output channel says it was ignored.
      writeFileSync(inWorkspace(`${rel}/cluster-down`), 'not a record');
      assert.ok(await run(Commands.startCluster, { spec: { nodes: 2, replicationFactor: 1, writeQuorum: 1, readQuorum: 1 } }), `Start Cluster failed: ${api.lastError()}`);
      assert.equal(api.snapshot().spec?.replicationFactor, 1);
      assert.ok(api.outputLines().some((l) => /Start Cluster: .*cluster-down.*; ignored it, so no node is kept down on purpose and every member starts/.test(l)),
        api.outputLines().slice(-5).join('\n'));
      assert.ok(ui.shown.some((m) => m.kind === 'info' && /replicationFactor 2 -> 1 for this folder: keys keep fewer replicas/.test(m.text)), `not told: ${JSON.stringify(ui.shown)}`);
    } finally {
      if (setAside) renameSync(setAside, workspaceSpec);
      await config.update('dataFolder', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('with a damaged SSTable, shows the engine\'s advice without contradicting it, and leaves nothing running', async () => {
    const spec = { nodes: 3, dataDir: '.ringdb/data-damaged', replicationFactor: 3, writeQuorum: 3, readQuorum: 1 };
    assert.ok(await run(Commands.startCluster, { spec }), `Start Cluster failed: ${api.lastError()}`);
    for (let i = 0; i < 30; i++) assert.ok(await run(Commands.put, { key: `d${i}`, value: `value ${i} `.repeat(20), node: 'n1' }), `Put failed: ${api.lastError()}`);
    assert.ok(await run(Commands.compactNode, { node: 'n2' }), `Compact failed: ${api.lastError()}`);
    await run(Commands.stopCluster);
    const sst = inWorkspace('.ringdb/data-damaged/n2/store/sst');
    const file = readdirSync(sst).find((f) => f.endsWith('.sst'));
    assert.ok(file, 'n2 wrote no SSTable');
    const fd = openSync(path.join(sst, file), 'r+');
    writeSync(fd, Buffer.from('GARBAGEGARBAGEGARBAGE'), 0, 21, 40);
    closeSync(fd);

    ui = recordUi();
    assert.equal(await run(Commands.startCluster, { spec }), undefined);
    const error = ui.shown.find((s) => s.kind === 'error')!;
    assert.match(error.text, /corruption in \S+\.sst .*restore it from a copy, or move this node's folder away/);
    assert.doesNotMatch(error.text, /restart the node|start the cluster again\.$/, 'advice that contradicts the engine\'s');
    assert.match(error.text, /Nothing of this cluster runs now/);
    assert.equal(api.processIds().controller, undefined, 'the controller of the failed start still runs');
    assert.deepEqual(api.snapshot().nodes, [], 'the views keep rows of the failed start');
  });
});
