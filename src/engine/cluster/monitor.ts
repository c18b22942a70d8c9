// Follows one running node process for the controller: polls Stats (the health check and the
// `stats` events), and follows the node's store and replication-log streams, turning what they
// send into cluster events. Streams are reopened after a failure while the process lives.

import type { ClientReadableStream } from '@grpc/grpc-js';
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

  /** The node client this monitor uses; the controller reuses it for its own calls to the node. */
  get node(): pb.NodeServiceClient {
    return this.client;
  }

  start(fromLsn: number): void {
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.followStore();
    this.followLog(fromLsn);
  }

  async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const res = await unary(this.client, this.client.stats, {}, { token: this.token, timeoutMs: Math.max(1000, this.intervalMs) });
      if (this.stopped || !res.stats) return;
      this.failures = 0;
      this.hooks.healthy(res.stats);
      this.hub.publish({ $case: 'stats', value: { nodeId: this.nodeId, stats: res.stats } });
    } catch (err) {
      if (!this.stopped) this.hooks.unhealthy(++this.failures, describeError(err));
    } finally {
      this.polling = false;
    }
  }

  private track<T>(open: () => ClientReadableStream<T>, onData: (message: T) => void, reopen: () => void): void {
    if (this.stopped) return;
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
  }

  private followStore(): void {
    this.track(
      () => openStream(this.client, this.client.watchStore, {}, { token: this.token }),
      (m: pb.WatchStoreResponse) => this.hub.publish({ $case: 'storeChanged', value: { nodeId: this.nodeId, snapshot: m.snapshot } }),
      () => this.followStore(),
    );
  }

  private followLog(fromLsn: number): void {
    let next = fromLsn;
    this.track(
      () => openStream(this.client, this.client.watchReplicationLog, { fromLsn: next }, { token: this.token }),
      (m: pb.WatchReplicationLogResponse) => {
        if (m.appended.length) {
          next = m.appended[m.appended.length - 1].lsn + 1;
          this.hub.publish({ $case: 'replicationAppended', value: { nodeId: this.nodeId, entries: m.appended } });
        }
        if (m.cursors.length) this.hub.publish({ $case: 'replicationAcknowledged', value: { nodeId: this.nodeId, cursors: m.cursors } });
      },
      () => this.followLog(next),
    );
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const s of this.streams) s.cancel();
    this.streams.clear();
    this.client.close();
  }
}
