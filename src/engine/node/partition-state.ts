// The node's partition map: the newest version it was sent (UpdatePartitionMap), kept in a
// checksummed file replaced atomically so a restarted node places keys the same way before the
// controller resends it. Until the first map arrives the node replicates everything everywhere
// (issue 3). Also answers the placement questions the coordinator, the shipping filter and the
// data-move handlers ask: which partition a stored key belongs to, and who replicates it.

import * as path from 'node:path';
import { PartitionMap as ProtoPartitionMap } from '../gen/ringdb/v1/node';
import { placementKeyOf } from '../codec/stored-key';
import { type PartitionMap, preferenceList } from '../partitioning';
import { addressesOf, partitionMapFromProto, partitionMapToProto } from '../rpc/partition-map-proto';
import { readAtomicFile, writeAtomicFile } from '../storage/atomic-file';
import { CorruptionError } from '../storage/errors';
import type { FileSystem } from '../storage/types';
import { PidCache } from './pid-cache';

export class PartitionState {
  private current: PartitionMap | undefined;
  private addresses = new Map<string, string>();
  private readonly listeners = new Set<(map: PartitionMap) => void>();
  /** Partition ids of recently placed stored keys under the current map. */
  private readonly pids = new PidCache();
  private readonly placeInCurrent = (storedKey: Buffer): number => placeIn(this.current as PartitionMap, storedKey);
  private replicaSets = new Map<number, ReadonlySet<string>>();
  /** node -> whether it replicates every partition of the current map. */
  private replicatesEvery = new Map<string, boolean>();
  /** Every node a map this process held named (see `named`). */
  private readonly everNamed = new Set<string>();

  private constructor(
    private readonly fs: FileSystem,
    private readonly file: string,
  ) {}

  static open(fs: FileSystem, dataDir: string): PartitionState {
    const state = new PartitionState(fs, path.join(dataDir, 'partition_map'));
    const payload = readAtomicFile(fs, state.file);
    if (payload !== undefined) {
      let message: ProtoPartitionMap;
      try {
        message = ProtoPartitionMap.decode(payload);
        state.current = partitionMapFromProto(message);
        for (const id of state.current.nodes) state.everNamed.add(id);
      } catch (err) {
        throw new CorruptionError(state.file, 16, `stored partition map is invalid: ${(err as Error).message}`);
      }
      state.addresses = addressesOf(message);
    }
    return state;
  }

  /**
   * Whether a map this process held named `id`: out of the current map, such a node has left (or
   * is leaving), where one never named is joining (AddNode introduces it before any map names it).
   */
  named(id: string): boolean {
    return this.everNamed.has(id);
  }

  get map(): PartitionMap | undefined {
    return this.current;
  }

  get version(): number {
    return this.current?.version ?? 0;
  }

  addressOf(node: string): string {
    return this.addresses.get(node) ?? '';
  }

  onChange(listener: (map: PartitionMap) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Installs `message` when its version is newer than the current one (persisted before it takes
   * effect, so a crash never goes back to an older map); an older or equal version is ignored.
   * Throws InvalidMapError for a malformed map, before anything changes.
   */
  update(message: ProtoPartitionMap, knownAddresses: ReadonlyMap<string, string>): boolean {
    const map = partitionMapFromProto(message);
    if (!map.isNewerThan(this.current)) return false;
    const addresses = new Map(knownAddresses);
    for (const [id, address] of addressesOf(message)) addresses.set(id, address);
    const stored = partitionMapToProto(map, [...addresses].map(([id, address]) => ({ id, address })));
    writeAtomicFile(this.fs, this.file, Buffer.from(ProtoPartitionMap.encode(stored).finish()));
    this.current = map;
    for (const id of map.nodes) this.everNamed.add(id);
    this.addresses = addresses;
    this.pids.clear();
    this.replicaSets = new Map();
    this.replicatesEvery = new Map();
    for (const l of this.listeners) l(map);
    return true;
  }

  toProto(): ProtoPartitionMap | undefined {
    return this.current && partitionMapToProto(this.current, [...this.addresses].map(([id, address]) => ({ id, address })));
  }

  /** The partition a stored key is placed in under `map`. */
  partitionOf(map: PartitionMap, storedKey: Buffer): number {
    return map === this.current ? this.pids.pidOf(storedKey, this.placeInCurrent) : placeIn(map, storedKey);
  }

  /** Whether `node` is one of the N replicas of the stored key's partition (true for every node without a map). */
  replicates(node: string, storedKey: Buffer): boolean {
    const map = this.current;
    if (!map) return true;
    return this.replicaSet(map, this.partitionOf(map, storedKey)).has(node);
  }

  /**
   * Whether `node` replicates every partition (true without a map): then it gets every op, and
   * a sender need not place each one (with N = the node count, as in a small local cluster).
   */
  replicatesAll(node: string): boolean {
    const map = this.current;
    if (!map) return true;
    let all = this.replicatesEvery.get(node);
    if (all === undefined) {
      all = map.partitions.every((p) => this.replicaSet(map, p.id).has(node));
      this.replicatesEvery.set(node, all);
    }
    return all;
  }

  /** The replicas of partition `pid` of the current map; asked for every op and destination a sender ships, so kept per partition. */
  private replicaSet(map: PartitionMap, pid: number): ReadonlySet<string> {
    let set = this.replicaSets.get(pid);
    if (!set) this.replicaSets.set(pid, (set = new Set(preferenceList(map, pid))));
    return set;
  }
}

function placeIn(map: PartitionMap, storedKey: Buffer): number {
  return map.locate(placementKeyOf(storedKey)).id;
}
