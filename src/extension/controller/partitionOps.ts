// The Partitions view's op counts: the controller counts them only when asked (GetHotPartitions)
// and sends the map again only when it changes, so counts shown from map events froze at the
// last split or rebalance. While the view is visible and a cluster runs, they are asked for.
import type * as vscode from 'vscode';
import type { ControllerClient } from '../engineClient';
import { Disposable } from '../common/lifecycle';
import type { Log } from '../common/log';
import { Ticker } from '../common/ticker';
import type { ClusterModel } from '../model/clusterModel';
import { withOps } from './eventMapper';

const REFRESH_MS = 2_000;

export class PartitionOpsRefresher extends Disposable {
  private asking = false;

  constructor(
    private readonly model: ClusterModel,
    private readonly client: () => ControllerClient | undefined,
    private readonly view: Pick<vscode.TreeView<unknown>, 'visible' | 'onDidChangeVisibility'>,
    private readonly log: Log,
  ) {
    super();
    this._register(new Ticker(REFRESH_MS, () => this.shown(), () => void this.refresh(), [view.onDidChangeVisibility, model.onDidChange]));
  }

  private shown(): boolean {
    const s = this.model.snapshot;
    return this.view.visible && s.phase === 'running' && s.reportsPartitions;
  }

  /** Asks once (skipped while an answer is awaited, or when nothing would show it). */
  private async refresh(): Promise<void> {
    const client = this.client();
    if (this.asking || !client || !this.shown()) return;
    this.asking = true;
    try {
      const { partitions } = await client.getHotPartitions(0, { timeoutMs: REFRESH_MS });
      const ops = new Map(partitions.map((p) => [String(p.pid), p.ops]));
      const current = this.model.snapshot.partitions;
      if (current.some((p) => (ops.get(p.id) ?? 0) !== p.ops)) this.model.setPartitions(withOps(current, ops));
    } catch (err) {
      // A busy or stopping controller: the next round asks again; the counts stay as they were.
      this.log.debug(`partition op counts not refreshed: ${(err as Error).message}`);
    } finally {
      this.asking = false;
    }
  }
}
