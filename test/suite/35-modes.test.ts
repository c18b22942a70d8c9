// Get in the consistency modes where a key has no one stored value: vector mode's siblings, and a
// CRDT key whose stored bytes are its state.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RingDbApi } from '../../src/extension/api';
import type { GetSummary } from '../../src/extension/commands/dataCommands';
import { Commands } from '../../src/extension/common/commandIds';
import { ringdbCli, ringDb, waitFor } from './helpers';

const run = <T>(id: string, arg?: unknown): Thenable<T> => vscode.commands.executeCommand<T>(id, arg);
const inWorkspace = (rel: string): string => path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, rel);

/** The Markdown of the last result a command showed. */
const shownText = (api: RingDbApi): string => api.lastResult()?.markdown ?? '';

describe('Get in vector and CRDT modes', function () {
  this.timeout(120_000);
  let api: RingDbApi;

  before(async () => {
    api = await ringDb();
  });

  afterEach(async () => {
    if (api.snapshot().phase !== 'none') await run(Commands.stopCluster);
  });

  it('vector mode: says the key has siblings and how to read them, not "not found"', async () => {
    const spec = { nodes: 3, dataDir: '.ringdb/data-vector', consistencyMode: 'vector', replicationFactor: 3, writeQuorum: 1, readQuorum: 1 };
    assert.ok(await run(Commands.startCluster, { spec }), `Start Cluster failed: ${api.lastError()}`);
    // Blind writes (no context) on two nodes: concurrent versions, kept side by side.
    assert.ok(await run(Commands.put, { key: 'cart', value: 'apple', node: 'n1' }), `Put failed: ${api.lastError()}`);
    assert.ok(await run(Commands.put, { key: 'cart', value: 'pear', node: 'n2' }), `Put failed: ${api.lastError()}`);
    const got = await waitFor(api, 'siblings on every node', async () => {
      const g = await run<GetSummary>(Commands.get, { key: 'cart', quiet: true });
      return g && g.replicas.every((r) => r.siblings) ? g : undefined;
    });
    assert.equal(got.found, false);
    await run(Commands.get, { key: 'cart' });
    assert.match(shownText(api), /`cart` has concurrent versions \(siblings\) on n1, n2, n3: .*\n\n\| node \| sibling \| clock \| made by \|/);
    // Each node's own siblings, both values on each.
    for (const id of ['n1', 'n2', 'n3']) {
      for (const v of ['apple', 'pear']) assert.match(shownText(api), new RegExp(`\\| ${id} \\| \`${v}\` \\| \`\\{[^}]*\\}\` \\| n\\d:\\d+ \\|`), `${id} shows ${v}`);
    }
    assert.match(shownText(api), /`ringdb siblings cart` in a terminal merges R replicas' siblings/);
    assert.doesNotMatch(shownText(api), /Not found|error:/);
  });

  it('CRDT mode: shows each node\'s merged value, not the stored state bytes', async () => {
    const rel = '.ringdb/data-crdt';
    const spec = { nodes: 3, dataDir: rel, consistencyMode: 'crdt', crdt: { cnt: 'pncounter' }, replicationFactor: 3, writeQuorum: 1, readQuorum: 1 };
    assert.ok(await run(Commands.startCluster, { spec }), `Start Cluster failed: ${api.lastError()}`);
    await ringdbCli('incr', 'cnt', '--by', '5', '--dir', inWorkspace(rel));
    await ringdbCli('decr', 'cnt', '--dir', inWorkspace(rel));
    await waitFor(api, 'every node to count 4', async () => {
      await run(Commands.get, { key: 'cnt' });
      const doc = shownText(api);
      return ['n1', 'n2', 'n3'].every((n) => new RegExp(`\\| ${n} \\| \`4\` \\|`).test(doc)) ? doc : undefined;
    });
    assert.match(shownText(api), /^# `cnt` \(pncounter\)/);
    assert.equal((await run<GetSummary>(Commands.get, { key: 'cnt', quiet: true }))?.value, '4');
  });
});
