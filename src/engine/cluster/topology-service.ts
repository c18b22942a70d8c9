// ControlService handlers of the partition map and the topology operations: each request field is
// checked here (naming the field and what is accepted), then the cluster runs the operation.

import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { keyInMessage } from '../codec/bytes-text';
import type * as ctl from '../gen/ringdb/v1/control';
import { InvalidFieldError, toStatus } from '../rpc/errors';
import type { ClusterSpec } from '../spec/types';
import type { Cluster } from './cluster';

/** Same bound as a node's keys: a partition key travels inside a stored key. */
const MAX_PARTITION_KEY_BYTES = 64 * 1024;
const MAX_HOT_KEYS = 1000;
const DEFAULT_HOT_KEYS = 10;

function handler<Req, Res>(run: (req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    run(call.request).then((res) => callback(null, res), (err: unknown) => callback(toStatus(err)));
  };
}

function partitionKey(field: string, key: Buffer): Buffer {
  if (key.length === 0) throw new InvalidFieldError(field, `must be a partition key of 1 to ${MAX_PARTITION_KEY_BYTES} bytes, got an empty key`);
  if (key.length > MAX_PARTITION_KEY_BYTES) throw new InvalidFieldError(field, `must be 1 to ${MAX_PARTITION_KEY_BYTES} bytes, got ${key.length}`);
  return key;
}

type TopologyHandlers = Pick<
  ctl.ControlServiceServer,
  'getPartitionMap' | 'whereIs' | 'splitPartition' | 'mergePartitions' | 'rebalance' | 'markHotKey' | 'getHotPartitions' | 'getHotKeys' | 'resetMetrics' | 'checkHotPartitions'
>;

/**
 * Salting spreads a key's LWW writes over variants and reads back the newest of them; a key whose
 * versions merge (vector siblings, a CRDT's state) would be read from the key itself and miss
 * every write made to its variants.
 */
function refuseUnsaltable(spec: ClusterSpec, key: Buffer): void {
  const name = keyInMessage(key);
  if (spec.consistencyMode === 'vector') {
    throw new InvalidFieldError('key', `cannot be salted in consistencyMode "vector": reads merge the siblings of the key itself, not of salted variants, so writes to them would not be read; ${name} stays as it is`);
  }
  if (spec.consistencyMode === 'crdt' && Object.hasOwn(spec.crdt, key.toString('utf8'))) {
    throw new InvalidFieldError('key', `${name} is a CRDT (${spec.crdt[key.toString('utf8')]}) and cannot be salted: its state merges on the key itself, and increments to variants would not be counted`);
  }
}

export function topologyHandlers(c: Cluster): TopologyHandlers {
  const p = c.partitions;
  const map = (): ctl.PartitionMapInfo | undefined => p.info();
  return {
    getPartitionMap: handler<ctl.GetPartitionMapRequest, ctl.GetPartitionMapResponse>(async () => {
      p.current('GetPartitionMap');
      return { map: map() };
    }),
    whereIs: handler<ctl.WhereIsRequest, ctl.WhereIsResponse>(async (req) => p.whereIs(partitionKey('partition_key', req.partitionKey))),
    splitPartition: handler<ctl.SplitPartitionRequest, ctl.SplitPartitionResponse>(async (req) => {
      const splitKey = req.splitKey === undefined ? undefined : partitionKey('split_key', req.splitKey);
      const { newPid } = await c.topology(() => p.split(req.pid, splitKey));
      return { map: map(), newPid };
    }),
    mergePartitions: handler<ctl.MergePartitionsRequest, ctl.MergePartitionsResponse>(async (req) => {
      const { pid, moves } = await c.topology(() => p.merge(req.pid1, req.pid2));
      return { map: map(), pid, moves };
    }),
    rebalance: handler<ctl.RebalanceRequest, ctl.RebalanceResponse>(async () => {
      const moves = await c.topology(() => p.rebalance());
      return { map: map(), moves };
    }),
    markHotKey: handler<ctl.MarkHotKeyRequest, ctl.MarkHotKeyResponse>(async (req) => {
      const key = partitionKey('key', req.key);
      if (req.buckets < 2 || req.buckets > 1024) throw new InvalidFieldError('buckets', `must be an integer from 2 to 1024, got ${req.buckets}`);
      const { migrated } = await c.topology((spec) => {
        refuseUnsaltable(spec, key);
        return p.markHotKey(key, req.buckets, req.migrate);
      });
      return { map: map(), migrated };
    }),
    getHotPartitions: handler<ctl.GetHotPartitionsRequest, ctl.GetHotPartitionsResponse>(async (req) => p.hotPartitions(req.threshold)),
    getHotKeys: handler<ctl.GetHotKeysRequest, ctl.GetHotKeysResponse>(async (req) => {
      if (req.limit > MAX_HOT_KEYS) throw new InvalidFieldError('limit', `must be from 0 to ${MAX_HOT_KEYS} (0 = ${DEFAULT_HOT_KEYS}), got ${req.limit}`);
      const keys = await p.hotKeys(req.limit || DEFAULT_HOT_KEYS);
      return { keys: keys.map((k) => ({ key: Buffer.from(k.key), count: k.count, error: k.error })) };
    }),
    resetMetrics: handler<ctl.ResetMetricsRequest, ctl.ResetMetricsResponse>(async () => {
      await p.resetMetrics();
      return {};
    }),
    checkHotPartitions: handler<ctl.CheckHotPartitionsRequest, ctl.CheckHotPartitionsResponse>(async (req) => {
      if (req.threshold < 1) throw new InvalidFieldError('threshold', `must be at least 1 operation, got ${req.threshold}`);
      const result = await c.topology(() => p.checkHotPartitions(req.threshold));
      return { split: result.split, skipped: result.skipped, map: map() };
    }),
  };
}
