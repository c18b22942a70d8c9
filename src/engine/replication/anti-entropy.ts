// Pull sync, both halves. The asking side sends its version vector to each peer in turn (on
// start and every interval) and applies what comes back; the answering side finds, through
// the replication log's per-origin index, every retained op the asker lacks. Any peer can
// fill any gap: every node logs every op it applied, whoever originated it.

import { isSkip, type Op } from './op-codec';
import type { OpLog } from './op-log';
import type { Replica } from './replica';
import type { FetchedUpdates, ReplicationTransport } from './transport';

/**
 * Ops retained in `log` that `lastSeen` lacks, in log order (so per origin in seq order), at
 * most `limit`; only durable ones. An origin whose next op is no longer retained is skipped:
 * sending its later ops would leave a gap the asker could not apply.
 */
export function collectUpdates(log: OpLog, lastSeen: Record<string, number>, limit: number, durableLsn: number, skip: ReadonlySet<string> = new Set()): Pick<FetchedUpdates, 'ops' | 'more'> {
  const from = new Map<string, number>();
  let start = Infinity;
  for (const [origin, have] of Object.entries(log.versionVector())) {
    if (skip.has(origin)) continue;
    const want = (lastSeen[origin] ?? 0) + 1;
    if (want > have) continue;
    const lsn = log.lsnOf(origin, want);
    if (lsn === undefined) continue;
    from.set(origin, want);
    if (lsn < start) start = lsn;
  }
  const ops: Op[] = [];
  let lsn = start;
  while (lsn < durableLsn && ops.length < limit) {
    const chunk = log.read(lsn, Math.min(8192, limit * 4));
    if (chunk.length === 0) break;
    for (const op of chunk) {
      if (op.lsn >= durableLsn) break;
      lsn = op.lsn + 1;
      const want = from.get(op.origin);
      if (want === undefined || op.seq < want) continue;
      if (isSkip(op) && op.value === null) {
        // This node only holds a placeholder: serving it would let the asker skip an op it may
        // replicate. The asker gets the rest of this origin from the origin or a replica. A
        // reserved seq's skip (empty value: Replica.reserveOwnSeqs) has no op behind it anywhere,
        // so it is served; otherwise nobody could serve that origin past it.
        from.delete(op.origin);
        continue;
      }
      ops.push({ origin: op.origin, seq: op.seq, ts: op.ts, key: op.key, value: op.value });
      if (ops.length >= limit) break;
    }
  }
  const more = ops.length >= limit && lsn < durableLsn;
  return { ops, more };
}

export interface PullOptions {
  skipOrigins: readonly string[];
  pageOps: number;
  /** Checked before each page: true ends the pull. */
  done: () => boolean;
  /** Told how many ops each page applied. */
  applied?: (count: number) => void;
}

/**
 * The asking half of pull sync with one peer: page after page of what `log` lacks (but the ops of
 * `skipOrigins`), each applied and the peer's clock observed, until the peer has nothing more,
 * a page applies nothing (all duplicates or held back: asking again would return the same), or
 * `done()`.
 */
export async function pullFrom(
  { replica, log, transport }: { replica: Replica; log: OpLog; transport: ReplicationTransport }, peer: string, options: PullOptions,
): Promise<void> {
  for (let page = 0; page < 1000 && !options.done(); page++) {
    const { ops, more, clock } = await transport.fetchUpdates(peer, log.versionVector(), options.pageOps, options.skipOrigins);
    replica.clock.observe(clock);
    if (ops.length === 0) return;
    const { applied } = await replica.applyRemote(ops);
    options.applied?.(applied);
    if (applied === 0 || !more) return;
  }
}

export class AntiEntropy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private previous: Record<string, number> | undefined;
  fetchedApplied = 0;
  rounds = 0;

  constructor(
    private readonly replica: Replica,
    private readonly log: OpLog,
    private readonly transport: ReplicationTransport,
    private readonly peers: () => string[],
    private readonly intervalMs: number,
    private readonly onError: (peerId: string, err: unknown) => void,
    private readonly pageOps = 10_000,
  ) {}

  /** Runs a round now, then every interval. */
  start(): void {
    this.stopped = false;
    this.trigger();
  }

  /** Starts a round unless one is running. */
  trigger(): Promise<void> {
    clearTimeout(this.timer);
    this.running ??= this.round().finally(() => {
      this.running = undefined;
      if (!this.stopped) this.timer = setTimeout(() => void this.trigger(), this.intervalMs);
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async round(): Promise<void> {
    this.rounds++;
    // An origin whose ops arrived since the last round is being replicated to us right now:
    // pulling it too would ship every in-flight op twice. A stalled origin is pulled.
    const now = this.log.versionVector();
    const flowing = Object.keys(now).filter((o) => this.previous !== undefined && now[o] > (this.previous[o] ?? 0));
    this.previous = now;
    for (const peer of this.peers()) {
      if (this.stopped) return;
      try {
        await pullFrom({ replica: this.replica, log: this.log, transport: this.transport }, peer, { skipOrigins: flowing, pageOps: this.pageOps, done: () => this.stopped, applied: (n) => void (this.fetchedApplied += n) });
      } catch (err) {
        this.onError(peer, err);
      }
    }
  }
}
