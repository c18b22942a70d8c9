// The partition map on the wire: the partitioning package's PartitionMap (its PartitionMapJson
// shape) as the typed `ringdb.v1.PartitionMap` message and back. The controller sends maps with
// it, nodes answer GetPartitionMap with it, and the driver reads it; every map that comes in is
// checked by PartitionMap.of, so a malformed one is an InvalidMapError naming the field.

import {
  PartitionStrategy,
  type PartitionMap as ProtoPartitionMap,
  type Peer,
} from '../gen/ringdb/v1/node';
import { InvalidMapError, PartitionMap, type Strategy } from '../partitioning';

const STRATEGY_TO_PROTO: Record<Strategy, PartitionStrategy> = {
  hash: PartitionStrategy.PARTITION_STRATEGY_HASH,
  range: PartitionStrategy.PARTITION_STRATEGY_RANGE,
};

/** `addresses` (node id -> host:port) travels with the map so a NotOwner answer can name where the owner listens. */
export function partitionMapToProto(map: PartitionMap, addresses: readonly Peer[] = []): ProtoPartitionMap {
  return {
    version: map.version,
    strategy: STRATEGY_TO_PROTO[map.strategy],
    replicationFactor: map.replicationFactor,
    tokensPerNode: map.tokensPerNode,
    nodes: [...map.nodes],
    tokens: map.tokens.map((t) => ({ token: t.token, nodeId: t.node })),
    partitions: map.partitions.map((p) => ({
      id: p.id,
      start: p.start,
      end: p.end ?? Buffer.alloc(0),
      endIsOpen: p.end === null,
      owner: p.owner,
    })),
    nextId: map.nextId,
    saltedKeys: [...map.saltedKeys]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([hex, buckets]) => ({ key: Buffer.from(hex, 'hex'), buckets })),
    addresses: addresses.map((a) => ({ id: a.id, address: a.address })),
  };
}

/** Checks and builds the map; throws InvalidMapError naming the field (`map.partitions[3].owner`, …). */
export function partitionMapFromProto(m: ProtoPartitionMap): PartitionMap {
  let strategy: Strategy;
  if (m.strategy === PartitionStrategy.PARTITION_STRATEGY_HASH) strategy = 'hash';
  else if (m.strategy === PartitionStrategy.PARTITION_STRATEGY_RANGE) strategy = 'range';
  else throw new InvalidMapError('strategy', `must be PARTITION_STRATEGY_HASH or PARTITION_STRATEGY_RANGE, got ${m.strategy}`);
  return PartitionMap.of({
    version: m.version,
    strategy,
    replicationFactor: m.replicationFactor,
    tokensPerNode: m.tokensPerNode,
    nodes: m.nodes,
    tokens: m.tokens.map((t) => ({ token: Buffer.from(t.token), node: t.nodeId })),
    partitions: m.partitions.map((p) => ({
      id: p.id,
      start: Buffer.from(p.start),
      end: p.endIsOpen ? null : Buffer.from(p.end),
      owner: p.owner,
    })),
    nextId: m.nextId,
    saltedKeys: new Map(m.saltedKeys.map((s) => [Buffer.from(s.key).toString('hex'), s.buckets])),
  });
}

/** The node addresses a map message carries, as id -> host:port. */
export function addressesOf(m: ProtoPartitionMap): Map<string, string> {
  return new Map(m.addresses.map((a) => [a.id, a.address]));
}
