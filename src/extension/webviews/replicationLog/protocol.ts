// The message protocol between the replication-log panel and its webview
// (media/replicationLog.js, which imports these types through JSDoc). Both sides validate what
// they receive; nothing is posted to the webview before it says `ready`.

export type EntryKind = 'put' | 'delete' | 'skip' | 'hint' | 'repair';

/** One log entry, as compact as the table needs it. */
export interface LogRow {
  /** Node whose log holds the entry. */
  n: string;
  lsn: number;
  opId: string;
  origin: string;
  key: string;
  /** The key a click reads with Get; absent for a row or a skip. */
  getKey?: string;
  ts: number;
  kind: EntryKind;
  bytes: number;
  /** Destination peers and whether each had acknowledged when the entry was sent. */
  acks: [string, boolean][];
}

/** One node's log: how far each current peer has acknowledged it. */
export interface LagRow {
  node: string;
  nextLsn: number;
  /** Peer -> entries of this node's log it has not acknowledged yet (members only). */
  behind: Record<string, number>;
  /** The node's own state when it is not up (down, stopped, …): its log cannot move meanwhile. */
  state: string | undefined;
}

/** What the webview keeps across hide/show and window reloads (vscode.setState). */
export interface ViewState {
  nodeFilter: string;
  keyFilter: string;
  follow: boolean;
}

export type ToWebview =
  | { type: 'init'; rows: LogRow[]; nodes: string[]; lag: LagRow[]; cursors: Record<string, Record<string, number>> }
  | { type: 'append'; rows: LogRow[] }
  | { type: 'cursors'; node: string; cursors: Record<string, number> }
  | { type: 'lag'; lag: LagRow[]; nodes: string[] }
  | { type: 'cleared' };

export type FromWebview =
  | { type: 'ready' }
  /** After each render: how many entries the webview holds and how many pass the filters. */
  | { type: 'rendered'; total: number; shown: number }
  /** A key was clicked: show it with RingDB: Get. */
  | { type: 'openKey'; key: string };

/** Validates a message from the webview (it is untrusted input like any other). */
export function parseFromWebview(m: unknown): FromWebview | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'ready':
      return { type: 'ready' };
    case 'rendered':
      return Number.isSafeInteger(o.total) && Number.isSafeInteger(o.shown)
        ? { type: 'rendered', total: o.total as number, shown: o.shown as number }
        : undefined;
    case 'openKey':
      return typeof o.key === 'string' && o.key.length > 0 && o.key.length <= 65536 ? { type: 'openKey', key: o.key } : undefined;
    default:
      return undefined;
  }
}
