// UI checks: what a person sees in a real VS Code window (code-server + Chromium), driven by
// Playwright through the workbench's own UI: activity bar, welcome view, command palette, input
// boxes, tree rows, status bar, the webview's table. Screenshots go to the run folder, or with
// --screenshots media/screenshots to the README's pictures.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workbenchUrl } from '../harness/code-server.mjs';

const STEP_TIMEOUT_MS = 60_000;
const SPEC = `// RingDB cluster spec of the UI checks' workspace
{
  "nodes": 3,
  "replicationFactor": 3, "writeQuorum": 2, "readQuorum": 2,
  "indexFields": ["name"]
}
`;

/** Runs each check in order; after a failure the remaining checks are reported as failed too. */
export async function runUiChecks({ browser, server, paths, root, screenshots }) {
  const shots = screenshots ?? join(paths.dir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  const workspace = join(paths.dir, 'ui-workspace');
  mkdirSync(join(workspace, '.ringdb'), { recursive: true });
  writeFileSync(join(workspace, '.ringdb/cluster.json'), SPEC);

  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const counts = { passes: 0, failures: 0 };
  let broken = false;
  const check = async (title, fn) => {
    const started = Date.now();
    if (broken) {
      counts.failures++;
      console.log(`    ✗ ${title} (not run: an earlier check failed)`);
      return;
    }
    try {
      await fn();
      counts.passes++;
      console.log(`    ✓ ${title} (${Date.now() - started} ms)`);
    } catch (err) {
      counts.failures++;
      broken = true;
      const shot = join(paths.dir, `ui-failure-${counts.failures}.png`);
      await page.screenshot({ path: shot }).catch(() => undefined);
      console.log(`    ✗ ${title}\n        ${String(err?.stack ?? err).split('\n').slice(0, 6).join('\n        ')}\n        screenshot: ${shot}`);
    }
  };

  const palette = async (command) => {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    // Seen once in four runs since results open in the Markdown preview (a webview): the first F1
    // did not open the palette. A second press does; a person would press it again too.
    await input.waitFor({ timeout: 5_000 }).catch(() => page.keyboard.press('F1'));
    await input.waitFor();
    await input.fill(`>${command}`);
    // Click the command's own row: Enter would run whichever row is focused while the list filters.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().click();
  };
  const quickInput = page.locator('.quick-input-widget input');
  /** The document inside the webview shown now (a result's preview and the replication log are both webviews). */
  const webview = () => page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('#active-frame');
  // By keyboard, not by a click: a click waits for the row to hold still, and once, on a loaded CI
  // machine, the Kill Node pick's row did not within the timeout. Filtering leaves the one node,
  // which the list focuses; Enter takes the focused row.
  const pickNode = async (id) => {
    await page.locator('.quick-input-widget input[placeholder="Pick a node"]').waitFor();
    await quickInput.fill(id);
    await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: id }).first().waitFor();
    await quickInput.press('Enter');
  };
  // A webview that keeps the focus closes the next quick pick as soon as it opens (it closes on
  // blur): CI saw Compact Node's node pick hidden from its first frame after Query Index's preview.
  const closeWebviews = async () => {
    await palette('View: Close All Editors');
    await page.locator('iframe.webview.ready').first().waitFor({ state: 'detached' });
  };
  const treeRow = (name) => page.locator('.monaco-list-row[role="treeitem"]', { hasText: name });
  const pane = (title) => page.locator('.pane', { has: page.locator('.pane-header', { hasText: title }) });
  const setPaneExpanded = async (title, expanded) => {
    const header = page.locator('.pane-header', { hasText: title }).first();
    if ((await header.getAttribute('aria-expanded')) !== String(expanded)) await header.click();
  };

  await check('the workbench opens a workspace that has .ringdb/cluster.json', async () => {
    await page.goto(workbenchUrl(server, workspace, { extensionPath: root }));
    await page.locator('.monaco-workbench').waitFor();
  });

  await check('the RingDB activity-bar icon opens the explorer with its welcome view', async () => {
    await page.locator('.activitybar [aria-label^="RingDB"]').first().click();
    await page.getByRole('button', { name: 'Start Local Cluster' }).waitFor();
    await page.screenshot({ path: join(shots, 'welcome.png') });
  });

  await check('Cancel on the Start Cluster notification stops the start and says nothing runs', async () => {
    await page.getByRole('button', { name: 'Start Local Cluster' }).click();
    const toast = page.locator('.notification-toast', { hasText: 'Starting a 3-node cluster' });
    await toast.hover(); // the toast's buttons show while it is hovered or focused
    await toast.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.notification-toast', { hasText: 'Start Cluster cancelled. Nothing runs' }).waitFor();
    await page.getByRole('button', { name: 'Start Local Cluster' }).waitFor();
    await page.locator('.statusbar-item', { hasText: 'RingDB: stopped' }).waitFor();
    await page.keyboard.press('Escape');
  });

  await check('"Start Local Cluster" starts 3 nodes that the Nodes view lists as up', async () => {
    await page.getByRole('button', { name: 'Start Local Cluster' }).click();
    for (const n of ['n1', 'n2', 'n3']) await treeRow(n).filter({ hasText: 'up ·' }).first().waitFor();
    await page.locator('.statusbar-item', { hasText: 'RingDB 3/3 up' }).waitFor();
  });

  await check('Put asks for a key with validation as you type, then writes it', async () => {
    await palette('RingDB: Put');
    await quickInput.waitFor();
    await quickInput.fill('');
    await quickInput.press('Enter');
    await page.locator('.quick-input-message', { hasText: 'A key is required' }).waitFor();
    await quickInput.fill('user:42');
    await quickInput.press('Enter');
    await page.locator('.quick-input-widget', { hasText: 'Value for "user:42"' }).waitFor();
    await quickInput.fill('{"name":"Grace"}');
    await quickInput.press('Enter');
    await page.locator('.statusbar-item', { hasText: 'wrote "user:42"' }).waitFor();
  });

  await check('Get opens the value with its version and each node\'s own copy', async () => {
    await palette('RingDB: Get');
    await quickInput.fill('user:42');
    await quickInput.press('Enter');
    // Rendered by the Markdown preview: headings and tables, not their source.
    await webview().locator('h2', { hasText: 'Each node\'s own copy' }).waitFor();
    await webview().locator('pre', { hasText: 'Grace' }).first().waitFor();
    await closeWebviews();
  });

  await check('Query Index offers the indexed fields, asks for the value and lists the matching keys', async () => {
    await palette('RingDB: Query Index');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'name' }).first().click();
    await page.locator('.quick-input-widget', { hasText: 'Value of "name" to match' }).waitFor();
    await quickInput.fill('Grace');
    await quickInput.press('Enter');
    await webview().locator('h1', { hasText: 'Query Index: name = Grace' }).waitFor();
    await webview().locator('table td code', { hasText: 'user:42' }).first().waitFor();
    await page.mouse.move(900, 700);
    await page.screenshot({ path: join(shots, 'query-index.png') });
    await closeWebviews();
  });

  await check('the Nodes and SSTables views show nodes, peers and storage', async () => {
    await palette('RingDB: Compact Node');
    await pickNode('n1');
    const sstables = pane('SSTables');
    const n1Storage = sstables.locator('.monaco-list-row[role="treeitem"]', { hasText: 'n1' }).first();
    if ((await n1Storage.getAttribute('aria-expanded')) === 'false') await n1Storage.click();
    await sstables.locator('.monaco-list-row[role="treeitem"]', { hasText: /^L\d/ }).first().waitFor();
    await sstables.locator('.monaco-list-row[role="treeitem"]', { hasText: 'memtable' }).first().waitFor();
    const n1 = pane('Nodes').locator('.monaco-list-row[role="treeitem"]', { hasText: 'n1' }).first();
    await n1.click();
    if ((await n1.getAttribute('aria-expanded')) === 'false') await n1.click();
    await pane('Nodes').locator('.monaco-list-row[role="treeitem"]', { hasText: 'storage' }).first().waitFor();
    // A node's tooltip stays open while the cluster is idle: each stats report (every second per
    // node) used to re-render the whole tree and close it before it could be read.
    await pane('Nodes').locator('.monaco-list-row[role="treeitem"][aria-level="1"]', { hasText: 'n2' }).first().hover();
    const tooltip = page.locator('.monaco-hover', { hasText: 'Lamport clock' }).first();
    await tooltip.waitFor();
    await page.waitForTimeout(3_000);
    if (!(await tooltip.isVisible())) throw new Error('the Nodes tooltip of n2 closed by itself within 3 s');
    await page.mouse.move(900, 700); // no hover tooltip over the rows in the picture
    await page.screenshot({ path: join(shots, 'explorer.png') });
  });

  await check('the Partitions view shows each partition with its range, owner and replicas', async () => {
    for (const other of ['Nodes', 'SSTables', 'Hints']) await setPaneExpanded(other, false);
    // A wider sidebar for the picture, so ranges and owners fit; put back afterwards.
    const sidebar = await page.locator('.part.sidebar').boundingBox();
    const dragSash = async (from, to) => {
      await page.mouse.move(from, 400);
      await page.mouse.down();
      await page.mouse.move(to, 400, { steps: 8 });
      await page.mouse.up();
    };
    const edge = sidebar.x + sidebar.width;
    await dragSash(edge - 1, edge + 320);
    const first = pane('Partitions').locator('.monaco-list-row[role="treeitem"]').first();
    await first.locator('.label-description', { hasText: /^n\d · / }).waitFor();
    await first.hover();
    await page.locator('.monaco-hover', { hasText: 'replicas:' }).first().waitFor();
    await page.screenshot({ path: join(shots, 'partitions.png') });
    await page.mouse.move(1300, 700);
    await dragSash(edge + 319, edge - 1);
    for (const other of ['Nodes', 'SSTables', 'Hints']) await setPaneExpanded(other, true);
  });

  await check('Show Hotspots from the Partitions view\'s title lists the busiest partitions and keys', async () => {
    const header = page.locator('.pane-header', { hasText: 'Partitions' }).first();
    await header.hover(); // a view's title actions show while it is hovered
    await header.locator('.action-label[aria-label="Show Hotspots"]').click();
    await webview().locator('h2', { hasText: 'Busiest partitions' }).waitFor();
    await webview().locator('table td', { hasText: '"user:42"' }).first().waitFor();
    await page.mouse.move(900, 700);
    await page.screenshot({ path: join(shots, 'hotspots.png') });
    await closeWebviews();
  });

  await check('the replication-log webview shows the written key in its table', async () => {
    await palette('RingDB: Open Replication Log');
    const view = webview();
    await view.locator('.viewport .row', { hasText: 'user:42' }).first().waitFor();
    // A card is a node's log and who lacks what of it, not "n1 1 behind" (read as n1 lagging).
    await view.locator('#lag .lag-card', { hasText: /^n1's log: (every peer has it|(n\d lacks up to \d+(, )?)+|no acknowledgement heard yet)/ }).first().waitFor();
    await view.locator('#key-filter').fill('no-such-key');
    await view.locator('#counts', { hasText: /^0 of \d+ entries/ }).waitFor();
    await view.locator('#key-filter').fill('');
    await view.locator('#node-filter').selectOption('n1');
    await view.locator('#counts', { hasText: /^1 of \d+ entries/ }).waitFor();
    const nodes = await view.locator('.viewport .row:visible > span:first-child').allTextContents();
    if (nodes.join() !== 'n1') throw new Error(`the node filter shows rows of ${nodes.join(', ')}`);
    await view.locator('#node-filter').selectOption('n2');
    // n1 wrote user:42; n2 only received it and owes it to nobody.
    await view.locator('.viewport .row:visible', { hasText: 'user:42' }).locator('.ack.none', { hasText: 'received' }).waitFor();
    await view.locator('#node-filter').selectOption('');
    await page.screenshot({ path: join(shots, 'replication-log.png') });
    // A key reads itself with Get (by the key Get names, not the text shown).
    await view.locator('.viewport .row:visible span.key', { hasText: 'user:42' }).first().click();
    await page.locator('.tab', { hasText: 'get user_42' }).first().waitFor();
    await closeWebviews();
  });

  await check('Kill Node shows the node down and the status bar warns', async () => {
    await palette('RingDB: Kill Node');
    await pickNode('n3');
    await treeRow('n3').filter({ hasText: 'down' }).first().waitFor();
    await page.locator('.statusbar-item', { hasText: 'RingDB 2/3 up' }).waitFor();
    await page.screenshot({ path: join(shots, 'node-down.png') });
  });

  await check('Stop Cluster brings back the welcome view', async () => {
    // With the replication log open: once stopped, its empty table says how to get a cluster,
    // not to use Put (disabled while none runs). Stopped from the Nodes view's title button: a
    // webview with the focus closes a quick pick as it opens.
    await palette('RingDB: Open Replication Log');
    const view = webview();
    await view.locator('#lag .lag-card').first().waitFor();
    await pane('Nodes').hover();
    await pane('Nodes').locator('.action-label[aria-label^="Stop Cluster"]').click();
    await page.getByRole('button', { name: 'Start Local Cluster' }).waitFor();
    await page.locator('.statusbar-item', { hasText: 'RingDB: stopped' }).waitFor();
    await view.locator('#empty', { hasText: 'No cluster runs: start one with "RingDB: Start Cluster"' }).waitFor();
  });

  await check('the webview table stays virtualised with 100,000 entries', async () => {
    const { rows, renderMs, filterMs } = await hundredThousandRows(context, root);
    if (rows > 200) throw new Error(`${rows} row elements in the DOM for 100,000 entries`);
    console.log(`        100,000 entries: first render ${renderMs.toFixed(0)} ms, key filter ${filterMs.toFixed(0)} ms, ${rows} row elements`);
  });

  await check('the webview\'s lag cards give a peer\'s backlog as an upper bound', async () => {
    const text = await lagCardText(context, root, [{ node: 'n2', nextLsn: 40, behind: { n1: 0, n3: 25 }, state: '' }]);
    // n2 may owe n3 a single op of those 25 entries (the rest its own writes or n3's): "lacks 25" overstated it.
    if (text !== "n2's log: n3 lacks up to 25") throw new Error(`the lag card reads "${text}"`);
  });

  await check('the webview names a skip\'s empty key as a skip', async () => {
    const page = await context.newPage();
    await page.setContent(`<html><body>
      <header class="toolbar"><select id="node-filter"></select><input id="key-filter"><button id="follow"></button><span id="counts"></span></header>
      <section id="lag"></section><div class="table"><div id="viewport" class="viewport" style="height:300px;overflow:auto;position:relative"><div id="spacer"></div></div></div>
      <p id="empty"></p></body></html>`);
    await page.evaluate(() => {
      window.acquireVsCodeApi = () => ({ postMessage: () => undefined, getState: () => undefined, setState: () => undefined });
    });
    await page.addScriptTag({ path: join(root, 'media/replicationLog.js') });
    const keys = await page.evaluate(() => {
      const rows = [
        { n: 'n1', lsn: 1, opId: 'n1:1', origin: 'n1', key: 'user:1', getKey: 'user:1', ts: 1, kind: 'put', bytes: 16, acks: [['n2', true]] },
        { n: 'n1', lsn: 2, opId: 'n1:2', origin: 'n1', key: '', ts: 2, kind: 'skip', bytes: 8, acks: [['n2', true]] },
      ];
      window.dispatchEvent(new MessageEvent('message', { data: { type: 'init', rows, nodes: ['n1', 'n2'], lag: [], cursors: {} } }));
      return [...document.querySelectorAll('#viewport .row')].map((r) => r.children[4].textContent);
    });
    await page.close();
    if (!keys.includes('user:1') || !keys.includes('(no key: a skip)')) throw new Error(`key cells: ${JSON.stringify(keys)}`);
  });

  await context.close();
  return counts;
}

/** The text of the webview script's first lag card, on its own page, for the given lag rows. */
export async function lagCardText(context, root, lag) {
  const page = await context.newPage();
  await page.setContent(`<html><body>
    <header class="toolbar"><select id="node-filter"></select><input id="key-filter"><button id="follow"></button><span id="counts"></span></header>
    <section id="lag"></section><div class="table"><div id="viewport" class="viewport"><div id="spacer"></div></div></div>
    <p id="empty"></p></body></html>`);
  await page.evaluate(() => {
    window.acquireVsCodeApi = () => ({ postMessage: () => undefined, getState: () => undefined, setState: () => undefined });
  });
  await page.addScriptTag({ path: join(root, 'media/replicationLog.js') });
  const text = await page.evaluate((rows) => {
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'lag', lag: rows, nodes: ['n1', 'n2', 'n3'] } }));
    return document.querySelector('#lag .lag-card')?.textContent ?? '';
  }, lag);
  await page.close();
  return text;
}

/**
 * The webview script on its own page (the panel's markup, a stand-in for acquireVsCodeApi) fed
 * 100,000 generated entries through its real message handler: what matters is the DOM it keeps.
 */
async function hundredThousandRows(context, root) {
  const page = await context.newPage();
  await page.setContent(`<html><head><link rel="stylesheet" href="data:text/css,"></head><body>
    <header class="toolbar"><select id="node-filter"></select><input id="key-filter"><button id="follow"></button><span id="counts"></span></header>
    <section id="lag"></section><div class="table"><div id="viewport" class="viewport" style="height:600px;overflow:auto;position:relative"><div id="spacer"></div></div></div>
    <p id="empty"></p></body></html>`);
  await page.addStyleTag({ path: join(root, 'media/replicationLog.css') });
  await page.evaluate(() => {
    window.__posted = [];
    window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => undefined, setState: () => undefined });
  });
  await page.addScriptTag({ path: join(root, 'media/replicationLog.js') });
  const result = await page.evaluate(() => {
    const rows = [];
    for (let i = 0; i < 100_000; i++) {
      const origin = `n${(i % 3) + 1}`;
      rows.push({ n: origin, lsn: i, opId: `${origin}:${i}`, origin, key: `user:${i}`, ts: i + 1, kind: i % 10 ? 'put' : 'delete', bytes: 16, acks: [['n2', i % 2 === 0]] });
    }
    let t = performance.now();
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'init', rows, nodes: ['n1', 'n2', 'n3'], lag: [], cursors: {} } }));
    const renderMs = performance.now() - t;
    const input = document.getElementById('key-filter');
    input.value = 'user:9999';
    t = performance.now();
    input.dispatchEvent(new Event('input'));
    const filterMs = performance.now() - t;
    const last = window.__posted.filter((m) => m.type === 'rendered').pop();
    return { renderMs, filterMs, rows: document.querySelectorAll('.viewport .row').length, last };
  });
  await page.close();
  if (result.last?.total !== 100_000 || result.last?.shown !== 11) {
    throw new Error(`the webview reported ${JSON.stringify(result.last)}; expected 100000 entries, 11 matching "user:9999"`);
  }
  return result;
}
