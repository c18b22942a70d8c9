// The Partitions view's op counts: the controller counts them only when asked (GetHotPartitions)
// and sends the map again only when it changes, so counts shown from map events froze at the
// last split or rebalance. While the view is visible and a cluster runs, they are asked for.
import type { ControllerClient } from '../engineClient';
import { Disposable, toDisposable } from '../common/lifecycle';
import type { Log } from '../common/log';
import type { ClusterModel } from '../model/clusterModel';
import { withOps } from './eventMapper';

const REFRESH_MS = 2_000;

export class PartitionOpsRefresher extends Disposable {
  private asking = false;

  constructor(
    private readonly model: ClusterModel,
    private readonly client: () => ControllerClient | undefined,
    private readonly visible: () => boolean,
    private readonly log: Log,
  ) {
    super();
    const timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this._register(toDisposable(() => clearInterval(timer)));
  }

  /** Asks once (skipped while an answer is awaited, or when nothing would show it). */
  async refresh(): Promise<void> {
    const s = this.model.snapshot;
    const client = this.client();
    if (this.asking || !client || !this.visible() || s.phase !== 'running' || !s.reportsPartitions) return;
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
