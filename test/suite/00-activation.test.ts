import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { Commands, Views } from '../../src/extension/common/commandIds';
import { EXTENSION_ID, note, ringDb } from './helpers';

interface Manifest {
  activationEvents: string[];
  contributes: {
    commands: { command: string; title: string; enablement?: string }[];
    views: Record<string, { id: string }[]>;
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: { properties: Record<string, { default: unknown; markdownDescription?: string }> };
    jsonValidation: { fileMatch: string[]; url: string }[];
  };
}

describe('activation and manifest', () => {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  const manifest = ext?.packageJSON as Manifest;

  it('activates lazily: on its views, commands or a workspace spec, never on startup', () => {
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
    // A result tab restored after a reload asks for its document before anything else activates the extension.
    assert.deepEqual(manifest.activationEvents, ['workspaceContains:.ringdb/cluster.json', 'onFileSystem:ringdb-result']);
    assert.equal(ext.isActive, false, 'nothing should have activated the extension yet');
  });

  it('activates and returns its API without starting any process', async () => {
    // Loading the bundle first separates its cost from activate()'s and from VS Code's own work.
    const bundle = join(ext!.extensionPath, 'dist/extension.js');
    const t0 = performance.now();
    createRequire(__filename)(bundle);
    const loadMs = performance.now() - t0;
    const t1 = performance.now();
    const api = await ringDb();
    const wall = performance.now() - t1;
    note(`activation: bundle load ${loadMs.toFixed(1)} ms + activate() ${api.activationMs.toFixed(1)} ms (ext.activate() round trip ${wall.toFixed(1)} ms)`);
    assert.equal(api.snapshot().phase, 'none');
    assert.equal(api.processIds().controller, undefined);
    assert.match(api.statusBarText(), /RingDB: stopped/);
  });

  it('contributes exactly the command ids of the constant map, all registered', async () => {
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(contributed, Object.values(Commands).sort());
    const known = new Set<string>(contributed);
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const id of contributed) assert.ok(registered.has(id), `${id} is contributed but not registered`);
    for (const menu of Object.values(manifest.contributes.menus)) {
      for (const entry of menu) assert.ok(known.has(entry.command), `a menu names unknown command ${entry.command}`);
    }
  });

  it('gives a suspect node\'s row in the Nodes view the actions of an up one, and a down one\'s none of those that need it running', () => {
    // Only the two clause forms the Nodes view's entries use: `viewItem == x` and `viewItem =~ /re/`.
    const offered = (contextValue: string): string[] => manifest.contributes.menus['view/item/context']
      .filter((m) => m.when?.startsWith('view == ringdb.nodes && '))
      .filter((m) => {
        const clause = m.when!.slice('view == ringdb.nodes && '.length);
        const re = /^viewItem =~ \/(.*)\/$/.exec(clause);
        if (re) return new RegExp(re[1]).test(contextValue);
        assert.match(clause, /^viewItem == [\w.]+$/, `a when clause this test cannot read: ${m.when}`);
        return clause === `viewItem == ${contextValue}`;
      })
      .map((m) => m.command);
    assert.deepEqual([...new Set(offered('node.suspect'))].sort(), [...new Set(offered('node.up'))].sort());
    const needRunning = [Commands.put, Commands.delete, Commands.killNode, Commands.repair, Commands.scanPartition, Commands.flushNode, Commands.compactNode];
    for (const c of needRunning) assert.ok(offered('node.suspect').includes(c), c);
    for (const c of needRunning) assert.ok(!offered('node.down').includes(c), `${c} on a down node`);
  });

  it('hides cluster commands behind the ringdb.clusterRunning context key', () => {
    const needsCluster: string[] = [Commands.stopCluster, Commands.put, Commands.get, Commands.killNode, Commands.openReplicationLog];
    for (const id of needsCluster) {
      const c = manifest.contributes.commands.find((x) => x.command === id);
      assert.equal(c?.enablement, 'ringdb.clusterRunning', `${id} should need a running cluster`);
    }
    // Query Index is hidden from the palette too, not only disabled, while no cluster runs.
    const palette = manifest.contributes.menus.commandPalette.find((m) => m.command === Commands.queryIndex);
    assert.equal(palette?.when, 'ringdb.clusterRunning');
    assert.equal(manifest.contributes.commands.find((x) => x.command === Commands.queryIndex)?.enablement, 'ringdb.clusterRunning');
  });

  it('packages into the .vsix exactly what the installed extension loads: dist/, media/, the schema and the docs', function () {
    this.timeout(60_000);
    const vsce = join(ext!.extensionPath, 'node_modules/@vscode/vsce/vsce');
    const r = spawnSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: ext!.extensionPath, encoding: 'utf8' });
    assert.equal(r.status, 0, `vsce ls failed: ${r.stderr}`);
    const files = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    // extension.js requires engine-client.js when a cluster starts; the controller spawns node.js.
    for (const needed of ['dist/extension.js', 'dist/engine-client.js', 'dist/engine/controller.js', 'dist/engine/node.js',
      'media/replicationLog.js', 'media/replicationLog.css', 'media/ringdb.svg', 'schemas/cluster.schema.json']) {
      assert.ok(files.includes(needed), `${needed} is missing from the .vsix (.vscodeignore)`);
    }
    const stray = files.filter((f) => !/^(dist|media)\//.test(f) && !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'schemas/cluster.schema.json'].includes(f));
    assert.deepEqual(stray, [], 'files outside dist/, media/, the schema and the docs');
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'source maps in the .vsix');
  });

  it('contributes the four views of the RingDB container', () => {
    assert.deepEqual(manifest.contributes.views.ringdb.map((v) => v.id), [Views.nodes, Views.partitions, Views.sstables, Views.hints]);
  });

  it('documents every setting and validates .ringdb/cluster.json with the engine schema', () => {
    const props = manifest.contributes.configuration.properties;
    assert.deepEqual(Object.keys(props).sort(), ['ringdb.autoStart', 'ringdb.dataFolder', 'ringdb.defaultNodeCount', 'ringdb.logLevel']);
    for (const [k, p] of Object.entries(props)) assert.ok(p.markdownDescription, `${k} has no description`);
    const [validation] = manifest.contributes.jsonValidation;
    assert.ok(validation.fileMatch.includes('.ringdb/cluster.json'));
    assert.ok(existsSync(join(ext!.extensionPath, validation.url)), `schema ${validation.url} is missing`);
  });
});
