// Hinted handoff: a background task that hands each hint to its replica once the heartbeat says
// that replica is up again (IngestEntries: LWW with the original version, so a hint the replica
// already has through its own replication stream changes nothing), then removes it.

import { describeError, unary } from '../rpc';
import type { HintStore } from './hints';
import type { Logger } from './logger';
import type { RingNode } from './node';

const BATCH = 500;
const CALL_MS = 10_000;

export class Handoff {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly node: RingNode,
    private readonly hints: HintStore,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.node.peers.onUp(() => void this.trigger());
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  trigger(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.trigger().finally(() => this.schedule()), this.intervalMs);
  }

  private async round(): Promise<void> {
    const up = new Set(this.node.upPeers());
    for (const target of this.hints.targets().keys()) {
      if (this.stopped || !up.has(target)) continue;
      try {
        for (;;) {
          const batch = this.hints.forTarget(target, BATCH);
          if (batch.length === 0 || this.stopped) break;
          const client = this.node.peers.client(target);
          await unary(client, client.ingestEntries, { entries: batch.map((h) => h.entry) }, { token: this.node.peers.callToken, timeoutMs: CALL_MS });
          await this.hints.remove(batch);
          this.logger.debug(`handed ${batch.length} hints to ${target}`);
        }
      } catch (err) {
        this.logger.debug(`handoff to ${target} failed, retrying later: ${describeError(err)}`);
      }
    }
  }
}
