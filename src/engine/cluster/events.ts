// The controller's event bus: the cluster and the node monitors publish, every Watch stream
// subscribes. Each subscriber numbers its own events, so a client can tell it missed none.
// Whoever produces events only a watcher would see (a node's replication-log tail) asks
// onWatched whether anyone is watching, so a cluster nobody watches pays nothing for them.

import type { WatchResponse } from '../gen/ringdb/v1/control';

export type ClusterEventBody = NonNullable<WatchResponse['event']>;
export type Subscriber = (event: ClusterEventBody, atUnixMs: number) => void;

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly watchedListeners = new Set<(watched: boolean) => void>();

  publish(event: ClusterEventBody): void {
    const at = Date.now();
    for (const s of [...this.subscribers]) s(event, at);
  }

  /** Returns the unsubscribe function. */
  subscribe(s: Subscriber): () => void {
    if (this.subscribers.has(s)) return () => this.unsubscribe(s);
    this.subscribers.add(s);
    if (this.subscribers.size === 1) this.announce(true);
    return () => this.unsubscribe(s);
  }

  get size(): number {
    return this.subscribers.size;
  }

  /**
   * Calls `listener` with true when the first subscriber arrives and false when the last one
   * leaves; at once with true if there are subscribers already. Returns the unsubscribe function.
   */
  onWatched(listener: (watched: boolean) => void): () => void {
    this.watchedListeners.add(listener);
    if (this.subscribers.size > 0) listener(true);
    return () => this.watchedListeners.delete(listener);
  }

  private unsubscribe(s: Subscriber): void {
    if (this.subscribers.delete(s) && this.subscribers.size === 0) this.announce(false);
  }

  private announce(watched: boolean): void {
    for (const l of [...this.watchedListeners]) l(watched);
  }
}
