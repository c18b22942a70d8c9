// The replication log as the extension keeps it: the newest entries of every node, bounded so a
// long session cannot grow without limit, plus each node's acknowledgement cursors (for lag).
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';
import type { ReplicationEntryView } from './types';

export const MAX_ENTRIES = 200_000;

export interface NodeLag {
  readonly node: string;
  /** Next position the node will write. */
  readonly nextLsn: number;
  /** Peer -> entries of this node's log the peer has not acknowledged yet. */
  readonly behind: Readonly<Record<string, number>>;
}

export type LogChange =
  | { readonly kind: 'appended'; readonly entries: readonly ReplicationEntryView[] }
  | { readonly kind: 'acknowledged'; readonly node: string }
  | { readonly kind: 'cleared' };

export class ReplicationLogStore extends Disposable {
  private entries: ReplicationEntryView[] = [];
  private readonly cursors = new Map<string, Map<string, number>>();
  private readonly nextLsn = new Map<string, number>();
  private readonly _onDidChange = this._register(new vscode.EventEmitter<LogChange>());
  readonly onDidChange = this._onDidChange.event;

  get size(): number {
    return this.entries.length;
  }

  /** Oldest first. */
  all(): readonly ReplicationEntryView[] {
    return this.entries;
  }

  append(batch: readonly ReplicationEntryView[]): void {
    if (!batch.length) return;
    for (const e of batch) this.nextLsn.set(e.node, Math.max(this.nextLsn.get(e.node) ?? 0, e.lsn + 1));
    this.entries.push(...batch);
    if (this.entries.length > MAX_ENTRIES) this.entries = this.entries.slice(this.entries.length - MAX_ENTRIES);
    this._onDidChange.fire({ kind: 'appended', entries: batch });
  }

  /** Peers acknowledged `node`'s log up to (exclusive) each cursor. */
  acknowledge(node: string, cursors: readonly { peer: string; ackedLsn: number }[]): void {
    const m = this.cursors.get(node) ?? new Map<string, number>();
    for (const c of cursors) m.set(c.peer, c.ackedLsn);
    this.cursors.set(node, m);
    this._onDidChange.fire({ kind: 'acknowledged', node });
  }

  /** Whether `peer` acknowledged entry `lsn` of `node`'s log, from cursors that moved after it arrived. */
  isAcked(node: string, peer: string, lsn: number): boolean {
    return (this.cursors.get(node)?.get(peer) ?? 0) > lsn;
  }

  noteNextLsn(node: string, lsn: number): void {
    this.nextLsn.set(node, Math.max(this.nextLsn.get(node) ?? 0, lsn));
  }

  lag(): NodeLag[] {
    return [...this.nextLsn.entries()].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })).map(([node, next]) => {
      const behind: Record<string, number> = {};
      for (const [peer, acked] of this.cursors.get(node) ?? []) behind[peer] = Math.max(0, next - acked);
      return { node, nextLsn: next, behind };
    });
  }

  clear(): void {
    this.entries = [];
    this.cursors.clear();
    this.nextLsn.clear();
    this._onDidChange.fire({ kind: 'cleared' });
  }
}
