// Wires a node's GlobalIndex to the node's parts: its store, the partition map, the heartbeat's
// view of peers, IngestEntries to deliver entries, ReadGlobalIndex to read a replica, and the
// coordinator's quorum read to check hits against the data; a peer marked down makes this node
// re-derive what that peer may have lost (GlobalIndex.takeOver).

import { PeerState, type StoredEntry } from '../../gen/ringdb/v1/node';
import { describeError, unary, UnavailableError } from '../../rpc';
import { quorumSettings } from '../config';
import type { Convergence } from '../convergence/convergence';
import type { Logger } from '../logger';
import type { RingNode } from '../node';
import type { PartitionLayer } from '../partition-layer';
import { GlobalIndex } from './global-index';

const PEER_CALL_MS = 10_000;

export function openGlobalIndex(node: RingNode, partitioning: PartitionLayer, convergence: Convergence, logger: Logger): GlobalIndex {
  const peers = node.peers;
  const index = new GlobalIndex({
    nodeId: node.config.id,
    fields: node.config.globalIndexFields ?? [],
    store: node.store,
    observed: node.observed,
    partitions: partitioning.partitions,
    readQuorum: quorumSettings(node.config).readQuorum,
    isDown: (id) => peers.views().some((p) => p.id === id && p.state === PeerState.PEER_STATE_DOWN),
    ingest: async (id, entries) => {
      const client = peers.client(id);
      const wire: StoredEntry[] = entries.map((e) => ({
        key: e.key, value: e.value ?? Buffer.alloc(0), deleted: e.value === null, version: { ts: e.ts, origin: e.origin, opId: '' },
      }));
      await unary(client, client.ingestEntries, { entries: wire }, { token: peers.callToken, timeoutMs: PEER_CALL_MS });
    },
    readRemote: (id, field, value, after, limit) => {
      const link = convergence.upPeerLinks().find((l) => l.id === id);
      if (!link) throw new UnavailableError(`${id} is down or not a peer`);
      return link.readGlobalIndex(field, value, after, limit);
    },
    readData: async (key, call) => {
      const a = await partitioning.coordinator.readNewest(key, call);
      return a.version && { value: a.deleted ? null : a.value, ts: a.version.ts, origin: a.version.origin };
    },
    logger,
  });
  peers.onDown((id) => {
    index.takeOver(id).catch((err: unknown) => logger.error(`global index: re-deriving the entries ${id} may have lost failed: ${describeError(err)}`));
  });
  return index;
}
