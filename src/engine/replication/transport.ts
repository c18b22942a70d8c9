// How replication reaches other nodes. The node implements it over gRPC (one channel per
// peer); replication logic depends only on this interface.
import type { Op } from './op-codec';

export interface FetchedUpdates {
  ops: Op[];
  /** The limit cut the answer short. */
  more: boolean;
  /** The responder's last_seen (origin -> highest seq it has logged). */
  lastSeen: Record<string, number>;
  /** The responder's Lamport clock. */
  clock: number;
}

export interface ReplicationTransport {
  /** Delivers a batch; resolves with the receiver's durable last_seen for the batch's origins. */
  replicate(peerId: string, ops: readonly Op[]): Promise<Record<string, number>>;
  /** Asks a peer for the ops missing from `lastSeen`, except those of `skipOrigins`. */
  fetchUpdates(peerId: string, lastSeen: Record<string, number>, limit: number, skipOrigins: readonly string[]): Promise<FetchedUpdates>;
}
