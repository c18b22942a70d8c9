// Ships this node's replication log to one destination: from the destination's cursor, in
// batches, over the one channel the transport keeps per peer. The cursor moves only over ops
// the destination reports as durably applied (its last_seen covers them), so a failure, a
// receiver that buffered an op, or a restart on either side means a resend, never a loss;
// the receiver's version vector turns resends into no-ops.

import type { LoggedOp } from './op-codec';
import type { LostOps, OpLog } from './op-log';
import type { ReplicationTransport } from './transport';

/**
 * The transport as a sender uses it. `records` gives the batch's records as they are in the log
 * (undefined when some are no longer cached), for a transport that can ship them instead of
 * encoding each op (node/peers.ts); it is only called when used.
 */
export interface SenderTransport {
  replicate(peerId: string, ops: readonly LoggedOp[], records?: () => Buffer | undefined): ReturnType<ReplicationTransport['replicate']>;
}

export interface SenderOptions {
  maxBatchOps: number;
  maxBatchBytes: number;
  /** First retry delay after a failure; doubles up to maxBackoffMs. */
  minBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_SENDER_OPTIONS: SenderOptions = {
  maxBatchOps: 4096,
  maxBatchBytes: 4 * 1024 * 1024,
  minBackoffMs: 50,
  maxBackoffMs: 1000,
};

export class Sender {
  private running = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private backoff: number;
  private failure: string | undefined;
  /** The log itself could not be read at the cursor: new ops are no reason to try again sooner. */
  private unreadable = false;
  sent = 0;

  /**
   * @param durableLsn ops below it may be shipped (durable in this node's log; a crash before
   *   the store has them is repaired from the log on restart).
   * @param shipsOrigin whether the ops of an origin go to this destination (a node never gets
   *   back its own ops; in a full mesh only local ops travel, along a topology received ones
   *   are forwarded too).
   * @param onProgress called after the cursor moved.
   * @param onUnreadable called when the log cannot be read at the cursor (once per streak of
   *   failed reads), with what went wrong.
   * @param onLost called once the destination acknowledged the skips that stood in for ops a
   *   damaged segment lost (OpLog.window), with those ops.
   */
  constructor(
    readonly peerId: string,
    private cursorLsn: number,
    private readonly log: OpLog,
    private readonly transport: SenderTransport,
    private readonly durableLsn: () => number,
    private readonly shipsOrigin: (origin: string) => boolean,
    private readonly onProgress: (sender: Sender) => void,
    private readonly options: SenderOptions = DEFAULT_SENDER_OPTIONS,
    private readonly describe: (err: unknown) => string = String,
    private readonly onUnreadable: (message: string) => void = () => undefined,
    private readonly onLost: (lost: LostOps) => void = () => undefined,
  ) {
    this.backoff = options.minBackoffMs;
  }

  /** LSN below which every op bound for the destination is acknowledged. */
  get cursor(): number {
    return this.cursorLsn;
  }

  get lastError(): string | undefined {
    return this.failure;
  }

  /** Stuck because its own log cannot be read at the cursor (an I/O error: OpLog.window goes on past damaged records), not because of the destination. */
  get blockedOnLog(): boolean {
    return this.unreadable;
  }

  /** Log entries from the cursor to the durable end (an upper bound of what is still to ship). */
  get pending(): number {
    return Math.max(0, this.durableLsn() - this.cursorLsn);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** New durable ops (or a peer that came back): ship now instead of at the next retry. */
  wake(): void {
    // Re-reading an unreadable segment on every new op would take the event loop (each read is
    // up to 16 MiB, checksummed); only the backoff or stop() ends that wait.
    if (this.unreadable && this.running) return;
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Until `ms` passes (undefined: no limit) or wake() ends it. */
  private sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      const end = this.durableLsn();
      if (this.cursorLsn < this.log.firstLsn) this.cursorLsn = this.log.firstLsn;
      if (this.cursorLsn >= end) {
        await this.sleep(undefined);
        continue;
      }
      let window: ReturnType<OpLog['window']>;
      try {
        window = this.log.window(this.cursorLsn, end, this.options.maxBatchOps, this.options.maxBatchBytes, this.shipsOrigin);
      } catch (err) {
        // An old segment that cannot be read at all (an I/O error; damaged records are salvaged):
        // reported as this destination's error and retried, without stopping the other senders.
        await this.unreadableLog(`cannot read the replication log at LSN ${this.cursorLsn}: ${this.describe(err)}`);
        continue;
      }
      const { ops: batch, next, lost } = window;
      if (batch.length === 0) {
        if (next > this.cursorLsn) {
          this.advance(next);
        } else {
          // Nothing could be read where the log says ops are (a segment that vanished under it):
          // say so, and retry later instead of spinning.
          await this.unreadableLog(`the replication log has no readable op at LSN ${this.cursorLsn} (below ${end})`);
        }
        continue;
      }
      this.unreadable = false;
      let lastSeen: Record<string, number>;
      try {
        lastSeen = await this.transport.replicate(this.peerId, batch, () => this.log.records(batch));
      } catch (err) {
        this.failure = this.describe(err);
        await this.backOff();
        continue;
      }
      this.failure = undefined;
      this.sent += batch.length;
      // Past every op the destination covers, up to the first it does not (skipped ops between
      // them go with the ones before).
      const uncovered = batch.find((op) => op.seq > (lastSeen[op.origin] ?? 0));
      const to = uncovered === undefined ? next : uncovered.lsn;
      if (to > this.cursorLsn) {
        this.backoff = this.options.minBackoffMs;
        const passed = lost?.ops.filter((op) => op.lsn < to);
        this.advance(to);
        if (lost && passed && passed.length > 0) this.onLost({ ...lost, ops: passed });
      } else {
        // The destination holds the batch back for a predecessor it lacks (anti-entropy fetches
        // it from any peer); retry later instead of spinning.
        await this.backOff();
      }
    }
  }

  /** The log cannot be read at the cursor: reported (to onUnreadable once per streak) and retried after a backoff. */
  private async unreadableLog(message: string): Promise<void> {
    if (!this.unreadable) this.onUnreadable(message);
    this.unreadable = true;
    this.failure = message;
    await this.backOff();
  }

  /** Waits the current backoff, then doubles it up to maxBackoffMs. */
  private async backOff(): Promise<void> {
    await this.sleep(this.backoff);
    this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs);
  }

  private advance(to: number): void {
    this.unreadable = false;
    this.cursorLsn = to;
    this.onProgress(this);
  }
}
