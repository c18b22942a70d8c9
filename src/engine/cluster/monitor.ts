// Follows one running node process for the controller: polls Stats (the health check and the
// `stats` events), and follows the node's store and replication-log streams, turning what they
// send into cluster events. Streams are reopened after a failure while the process lives.
// The replication-log tail is followed only while someone watches the cluster: under load the
// node reads, converts and sends up to 5,000 entries a second for it, which no one else uses.

import { status, type ClientReadableStream } from '@grpc/grpc-js';
import * as pb from '../gen/ringdb/v1/node';
import { clientArgs, openStream, unary } from '../rpc/client';
import { describeError } from '../rpc/errors';
import type { EventHub } from './events';

const REOPEN_DELAY_MS = 500;

export interface MonitorHooks {
  /** A Stats call succeeded. */
  healthy(stats: pb.NodeStats): void;
  /** A Stats call failed; `failures` counts consecutive ones. */
  unhealthy(failures: number, error: string): void;
}

export class NodeMonitor {
  private readonly client: pb.NodeServiceClient;
  private readonly streams = new Set<ClientReadableStream<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private polling = false;
  /** The next log entry to ask for; moves with the stream, and with Stats while no one watches. */
  private logNext = 0;
  /** Bumped on every follow and unfollow, so a retry scheduled for an older stream does nothing. */
  private logGeneration = 0;
  private logCall: ClientReadableStream<unknown> | undefined;
  private offWatched: (() => void) | undefined;

  constructor(
    private readonly nodeId: string,
    address: string,
    private readonly token: string,
    private readonly intervalMs: number,
    private readonly hub: EventHub,
    private readonly hooks: MonitorHooks,
  ) {
    this.client = new pb.NodeServiceClient(...clientArgs(address));
  }

  /** The first log entry not yet sent on (or, while no one watches, the node's log end at the last Stats). */
  get nextLsn(): number {
    return this.logNext;
  }

  /** The node client this monitor uses; the controller reuses it for its own calls to the node. */
  get node(): pb.NodeServiceClient {
    return this.client;
  }

  /** Whether start() ran: only then does nextLsn say where its log stream is. */
  get started(): boolean {
    return this.timer !== undefined;
  }

  start(fromLsn: number): void {
    this.logNext = fromLsn;
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.followStore();
    this.offWatched = this.hub.onWatched((watched) => (watched ? this.followLog() : this.unfollowLog()));
  }

  private get pollTimeoutMs(): number {
    return Math.max(1000, this.intervalMs);
  }

  async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const res = await unary(this.client, this.client.stats, {}, { token: this.token, timeoutMs: this.pollTimeoutMs });
      if (this.stopped || !res.stats) return;
      this.failures = 0;
      // A watcher arriving later wants entries from about now on, not the ones no one watched.
      if (this.logCall === undefined) this.logNext = Math.max(this.logNext, res.stats.logNextLsn);
      this.hooks.healthy(res.stats);
      this.hub.publish({ $case: 'stats', value: { nodeId: this.nodeId, stats: res.stats } });
    } catch (err) {
      // grpc's own deadline text ("Deadline exceeded after 1.002s,LB pick: 0.001s,remote_addr=…") would reach `ringdb status` and the Nodes view.
      const why = (err as { code?: unknown }).code === status.DEADLINE_EXCEEDED ? `no answer to a Stats poll within ${this.pollTimeoutMs} ms` : describeError(err);
      if (!this.stopped) this.hooks.unhealthy(++this.failures, why);
    } finally {
      this.polling = false;
    }
  }

  private track<T>(open: () => ClientReadableStream<T>, onData: (message: T) => void, reopen: () => void): ClientReadableStream<T> | undefined {
    if (this.stopped) return undefined;
    const call = open();
    this.streams.add(call as ClientReadableStream<unknown>);
    let over = false;
    const done = (): void => {
      if (over) return;
      over = true;
      this.streams.delete(call as ClientReadableStream<unknown>);
      if (!this.stopped) setTimeout(reopen, REOPEN_DELAY_MS).unref();
    };
    call.on('data', onData);
    call.on('error', done);
    call.on('end', done);
    return call;
  }

  private followStore(): void {
    this.track(
      () => openStream(this.client, this.client.watchStore, {}, { token: this.token }),
      (m: pb.WatchStoreResponse) => this.hub.publish({ $case: 'storeChanged', value: { nodeId: this.nodeId, snapshot: m.snapshot } }),
      () => this.followStore(),
    );
  }

  private followLog(): void {
    this.openLog(++this.logGeneration);
  }

  private unfollowLog(): void {
    this.logGeneration++;
    const call = this.logCall;
    this.logCall = undefined;
    call?.cancel();
  }

  private openLog(generation: number): void {
    if (generation !== this.logGeneration) return;
    const call = this.track(
      () => openStream(this.client, this.client.watchReplicationLog, { fromLsn: this.logNext }, { token: this.token }),
      (m: pb.WatchReplicationLogResponse) => {
        if (generation !== this.logGeneration) return;
        if (m.appended.length) {
          this.logNext = m.appended[m.appended.length - 1].lsn + 1;
          this.hub.publish({ $case: 'replicationAppended', value: { nodeId: this.nodeId, entries: m.appended } });
        }
        if (m.cursors.length) this.hub.publish({ $case: 'replicationAcknowledged', value: { nodeId: this.nodeId, cursors: m.cursors } });
      },
      () => this.openLog(generation),
    );
    this.logCall = call as ClientReadableStream<unknown> | undefined;
  }

  stop(): void {
    this.stopped = true;
    this.offWatched?.();
    if (this.timer) clearInterval(this.timer);
    for (const s of this.streams) s.cancel();
    this.streams.clear();
    this.client.close();
  }
}
