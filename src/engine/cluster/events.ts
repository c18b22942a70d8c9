// The controller's event bus: the cluster and the node monitors publish, every Watch stream
// subscribes. Each subscriber numbers its own events, so a client can tell it missed none.

import type { WatchResponse } from '../gen/ringdb/v1/control';

export type ClusterEventBody = NonNullable<WatchResponse['event']>;
export type Subscriber = (event: ClusterEventBody, atUnixMs: number) => void;

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();

  publish(event: ClusterEventBody): void {
    const at = Date.now();
    for (const s of [...this.subscribers]) s(event, at);
  }

  /** Returns the unsubscribe function. */
  subscribe(s: Subscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  get size(): number {
    return this.subscribers.size;
  }
}
