// The replication-log panel: one per window, fed from the ReplicationLogStore (itself fed by the
// controller's Watch stream). Appends are batched so 100k entries do not mean 100k messages.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { Commands } from '../../common/commandIds';
import { Disposable } from '../../common/lifecycle';
import type { ClusterModel } from '../../model/clusterModel';
import type { ReplicationLogStore } from '../../model/replicationLog';
import type { ReplicationEntryView } from '../../model/types';
import { parseFromWebview, type LagRow, type LogRow, type ToWebview } from './protocol';

export const VIEW_TYPE = 'ringdb.replicationLog';
const FLUSH_MS = 100;
/** Rows sent per message while replaying the log into a new webview. */
const INIT_CHUNK = 20_000;

const row = (e: ReplicationEntryView): LogRow => ({
  n: e.node, lsn: e.lsn, opId: e.opId, origin: e.origin, key: e.key, ...(e.getKey ? { getKey: e.getKey } : {}), ts: e.ts, kind: e.kind, bytes: e.valueBytes,
  acks: Object.entries(e.acks),
});

export class ReplicationLogPanel extends Disposable {
  static current: ReplicationLogPanel | undefined;
  private readonly _onDidRender = this._register(new vscode.EventEmitter<{ total: number; shown: number }>());
  /** The webview's own report after each render (tests wait on it; it proves entries arrived). */
  readonly onDidRender = this._onDidRender.event;

  private ready = false;
  private pending: LogRow[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  lastRender = { total: 0, shown: 0 };

  /** Opens the panel, or reveals it if it is open. */
  static show(extensionUri: vscode.Uri, store: ReplicationLogStore, model: ClusterModel): ReplicationLogPanel {
    if (ReplicationLogPanel.current) {
      ReplicationLogPanel.current.panel.reveal();
      return ReplicationLogPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'RingDB Replication Log', vscode.ViewColumn.Active, webviewOptions(extensionUri));
    return new ReplicationLogPanel(panel, extensionUri, store, model);
  }

  /** Restores a panel VS Code kept across a reload; the webview restores its own filters. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, store: ReplicationLogStore, model: ClusterModel): ReplicationLogPanel {
    ReplicationLogPanel.current?.dispose();
    panel.webview.options = webviewOptions(extensionUri);
    return new ReplicationLogPanel(panel, extensionUri, store, model);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly store: ReplicationLogStore,
    private readonly model: ClusterModel,
  ) {
    super();
    ReplicationLogPanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'ringdb.svg');
    panel.webview.html = html(panel.webview, extensionUri);
    this._register(panel.onDidDispose(() => this.dispose()));
    this._register(panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)));
    this._register(store.onDidChange((c) => {
      if (!this.ready) return;
      if (c.kind === 'appended') {
        this.pending.push(...c.entries.map(row));
        this.scheduleFlush();
      } else if (c.kind === 'acknowledged') {
        this.post({ type: 'cursors', node: c.node, cursors: this.cursorsOf(c.node) });
        this.scheduleFlush();
      } else {
        this.pending = [];
        this.post({ type: 'cleared' });
      }
    }));
    this._register(model.onDidChange((c) => { if (this.ready && (c.kind === 'reset' || c.kind === 'nodes')) this.scheduleFlush(); }));
  }

  private receive(raw: unknown): void {
    const m = parseFromWebview(raw);
    if (!m) return; // not ours or malformed: ignored, like any unexpected input
    if (m.type === 'ready') this.init();
    else if (m.type === 'rendered') {
      this.lastRender = { total: m.total, shown: m.shown };
      this._onDidRender.fire(this.lastRender);
    } else void vscode.commands.executeCommand(Commands.get, { key: m.key });
  }

  /** Replays the whole retained log: also what happens when the webview reloads. */
  private init(): void {
    this.ready = true;
    this.pending = [];
    const rows = this.store.all().map(row);
    const cursors: Record<string, Record<string, number>> = {};
    for (const n of this.model.snapshot.nodes) cursors[n.id] = this.cursorsOf(n.id);
    this.post({ type: 'init', rows: rows.slice(0, INIT_CHUNK), nodes: this.nodeIds(), lag: this.lagRows(), cursors });
    for (let i = INIT_CHUNK; i < rows.length; i += INIT_CHUNK) this.post({ type: 'append', rows: rows.slice(i, i + INIT_CHUNK) });
  }

  private cursorsOf(node: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.store.lag()) if (l.node === node) for (const [peer, behind] of Object.entries(l.behind)) out[peer] = l.nextLsn - behind;
    return out;
  }

  /**
   * Each member's log and what each current member peer lacks of it: a removed node is neither
   * a card nor a peer (it was counted forever), and a node not up says so.
   */
  private lagRows(): LagRow[] {
    const states = new Map(this.model.snapshot.nodes.map((n) => [n.id, n.status]));
    return this.store.lag().filter((l) => states.has(l.node)).map((l) => ({
      node: l.node,
      nextLsn: l.nextLsn,
      behind: Object.fromEntries(Object.entries(l.behind).filter(([peer]) => states.has(peer))),
      state: states.get(l.node) === 'up' ? undefined : states.get(l.node),
    }));
  }

  private nodeIds(): string[] {
    return this.model.snapshot.nodes.map((n) => n.id);
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      if (this.pending.length) this.post({ type: 'append', rows: this.pending.splice(0) });
      this.post({ type: 'lag', lag: this.lagRows(), nodes: this.nodeIds() });
    }, FLUSH_MS);
  }

  private post(message: ToWebview): void {
    void this.panel.webview.postMessage(message);
  }

  override dispose(): void {
    if (ReplicationLogPanel.current === this) ReplicationLogPanel.current = undefined;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    super.dispose();
    this.panel.dispose();
  }
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')], retainContextWhenHidden: false };
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const media = (f: string): vscode.Uri => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', f));
  const csp = [`default-src 'none'`, `style-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`, `img-src ${webview.cspSource}`, `font-src ${webview.cspSource}`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${media('replicationLog.css')}">
<title>RingDB Replication Log</title>
</head>
<body>
<header class="toolbar">
  <label>Node <select id="node-filter" aria-label="Filter by node"><option value="">all nodes</option></select></label>
  <label>Key <input id="key-filter" type="search" placeholder="substring of the key" aria-label="Filter by key"></label>
  <button id="follow" type="button" aria-pressed="true" title="Follow new entries, or pause to read">Pause</button>
  <span id="counts" aria-live="polite"></span>
</header>
<section id="lag" aria-label="Replication lag per node"></section>
<div class="table" role="table" aria-label="Replication log, newest first">
  <div class="row head" role="row">
    <span role="columnheader">node</span><span role="columnheader">lsn</span><span role="columnheader">op id</span>
    <span role="columnheader">origin</span><span role="columnheader">key</span><span role="columnheader">ts</span>
    <span role="columnheader">kind</span><span role="columnheader">acks</span>
  </div>
  <div id="viewport" class="viewport" role="rowgroup"><div id="spacer"></div></div>
</div>
<p id="empty" class="empty">No replication entries yet: write a key with "RingDB: Put".</p>
<script nonce="${nonce}" src="${media('replicationLog.js')}"></script>
</body>
</html>`;
}
