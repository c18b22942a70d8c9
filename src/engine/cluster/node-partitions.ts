// The controller's side of the node protocol for partitioning: sending maps (UpdatePartitionMap),
// streaming ranges between nodes (ExportRange piped into IngestEntries, one batch at a time so a
// slow receiver slows the sender), dropping released ranges (DropRanges), sampling keys for a split, hotspot counters and hints.

import type { ClientReadableStream } from '@grpc/grpc-js';
import type * as pb from '../gen/ringdb/v1/node';
import { placementKeyOf } from '../codec/stored-key';
import { encodeCompositeKey } from '../codec/composite-key';
import { type HotKey, type KeyRange, type PartitionMap, preferenceList } from '../partitioning/index';
import { openStream, unary } from '../rpc/client';
import { describeError } from '../rpc/errors';
import { partitionMapFromProto, partitionMapToProto } from '../rpc/partition-map-proto';
import type { NodeHotspots, PartitionNodes } from './partitions';

const CALL_MS = 30_000;
const HOTSPOTS_CALL_MS = 2_000;
const EXPORT_BATCH = 1000;
const HOT_KEYS = 100;

/** The up nodes the controller can call, and where every node listens. */
export interface NodeDirectory {
  upNodes(): { id: string; client: pb.NodeServiceClient }[];
  /** The client of a node whose process runs, up or suspect: a loaded node that misses a Stats poll is still copied to. */
  clientOf(id: string): pb.NodeServiceClient | undefined;
  addresses(): pb.Peer[];
}

function positionRange(range: KeyRange): pb.PositionRange {
  return { start: range.start, end: range.end ?? Buffer.alloc(0), endIsOpen: range.end === null };
}

export class NodePartitions implements PartitionNodes {
  constructor(
    private readonly dir: NodeDirectory,
    private readonly token: string,
  ) {}

  private client(id: string): pb.NodeServiceClient {
    const c = this.dir.clientOf(id);
    if (!c) throw new Error(`node ${id} is not running`);
    return c;
  }

  upNodeIds(): string[] {
    return this.dir.upNodes().map((n) => n.id);
  }

  async pushMap(map: PartitionMap, nodeIds: readonly string[]): Promise<string[]> {
    const msg = partitionMapToProto(map, this.dir.addresses());
    const failures: string[] = [];
    await Promise.all(nodeIds.map(async (id) => {
      try {
        const c = this.client(id);
        const res = await unary(c, c.updatePartitionMap, { map: msg }, { token: this.token, timeoutMs: CALL_MS });
        if (res.version < map.version) failures.push(`${id}: it kept version ${res.version}`);
      } catch (err) {
        failures.push(`${id}: ${describeError(err)}`);
      }
    }));
    return failures;
  }

  /** The maps the nodes kept from an earlier run (each node stores the newest it was sent). */
  async storedMaps(nodeIds: readonly string[]): Promise<PartitionMap[]> {
    const maps = await Promise.all(nodeIds.map(async (id) => {
      const c = this.client(id);
      const res = await unary(c, c.getPartitionMap, {}, { token: this.token, timeoutMs: CALL_MS });
      return res.map ? partitionMapFromProto(res.map) : undefined;
    }));
    return maps.filter((m): m is PartitionMap => m !== undefined);
  }

  /** Every entry of `from` in `ranges`, batch by batch; `each` returning false stops the stream. */
  private async exportRanges(from: string, ranges: readonly KeyRange[], each: (entries: pb.StoredEntry[]) => Promise<boolean>): Promise<void> {
    const c = this.client(from);
    const call: ClientReadableStream<pb.ExportRangeResponse> = openStream(
      c, c.exportRange, { partitionIds: [], ranges: ranges.map(positionRange), batchSize: EXPORT_BATCH }, { token: this.token, timeoutMs: 10 * 60_000 },
    );
    await new Promise<void>((resolve, reject) => {
      let stopped = false;
      let chain = Promise.resolve();
      call.on('data', (m: pb.ExportRangeResponse) => {
        call.pause();
        chain = chain.then(async () => {
          if (stopped) return;
          if (!(await each(m.entries))) {
            stopped = true;
            call.cancel();
            resolve();
            return;
          }
          call.resume();
        }).catch((err: unknown) => {
          stopped = true;
          call.cancel();
          reject(err instanceof Error ? err : new Error(String(err)));
        });
      });
      call.on('error', (err) => {
        if (!stopped) reject(new Error(`ExportRange on ${from}: ${describeError(err)}`));
      });
      call.on('end', () => void chain.then(() => resolve()));
    });
  }

  async copyRanges(from: string, to: string, ranges: readonly KeyRange[]): Promise<number> {
    const target = this.client(to);
    let copied = 0;
    await this.exportRanges(from, ranges, async (entries) => {
      if (entries.length === 0) return true;
      try {
        // Counted as the target applied them: the same entry streamed from a second replica, or
        // again by the catching-up pass, is not a second entry copied.
        copied += (await unary(target, target.ingestEntries, { entries }, { token: this.token, timeoutMs: CALL_MS })).applied;
      } catch (err) {
        throw new Error(`IngestEntries on ${to}: ${describeError(err)}`);
      }
      return true;
    });
    return copied;
  }

  async handOver(from: string, map: PartitionMap, ranges: readonly KeyRange[]): Promise<number> {
    let applied = 0;
    await this.exportRanges(from, ranges, async (entries) => {
      const byReplica = new Map<string, pb.StoredEntry[]>();
      for (const e of entries) {
        for (const r of preferenceList(map, map.locate(placementKeyOf(Buffer.from(e.key))).id)) {
          if (r === from) continue;
          let list = byReplica.get(r);
          if (!list) byReplica.set(r, (list = []));
          list.push(e);
        }
      }
      for (const [to, list] of byReplica) {
        const target = this.client(to);
        try {
          applied += (await unary(target, target.ingestEntries, { entries: list }, { token: this.token, timeoutMs: CALL_MS })).applied;
        } catch (err) {
          throw new Error(`IngestEntries on ${to}: ${describeError(err)}`);
        }
      }
      return true;
    });
    return applied;
  }

  async dropRanges(node: string, mapVersion: number, ranges: readonly KeyRange[]): Promise<number> {
    const c = this.client(node);
    const res = await unary(c, c.dropRanges, { mapVersion, ranges: ranges.map(positionRange) }, { token: this.token, timeoutMs: 10 * 60_000 });
    return res.dropped;
  }

  async samplePartitionKeys(node: string, range: KeyRange, _map: PartitionMap, limit: number): Promise<Buffer[]> {
    const keys = new Map<string, Buffer>();
    await this.exportRanges(node, [range], async (entries) => {
      for (const e of entries) {
        if (e.deleted) continue;
        const pk = placementKeyOf(Buffer.from(e.key));
        keys.set(pk.toString('hex'), pk);
      }
      return keys.size < limit;
    });
    return [...keys.values()];
  }

  async hotspots(node: string): Promise<NodeHotspots> {
    const c = this.client(node);
    // Counters in memory: a node that does not answer at once is hung, and is left out of the sums.
    const res = await unary(c, c.getHotspots, { limit: HOT_KEYS }, { token: this.token, timeoutMs: HOTSPOTS_CALL_MS });
    const keys: HotKey[] = res.keys.map((k) => ({ key: Buffer.from(k.key), count: k.count, error: k.error }));
    return { partitions: new Map(res.partitions.map((p) => [p.id, p.ops])), keys };
  }

  async resetMetrics(node: string): Promise<void> {
    const c = this.client(node);
    await unary(c, c.resetMetrics, {}, { token: this.token, timeoutMs: CALL_MS });
  }

  /** Hints per target held by each up node (for Describe and the Hints view). */
  async hintCounts(node: string): Promise<{ target: string; count: number; oldestAgeMs: number }[]> {
    const c = this.client(node);
    const res = await unary(c, c.listHints, { limit: 1000 }, { token: this.token, timeoutMs: CALL_MS });
    const oldest = new Map<string, number>();
    for (const h of res.hints) oldest.set(h.target, Math.max(oldest.get(h.target) ?? 0, h.ageMs));
    return res.counts.map((h) => ({ target: h.target, count: h.count, oldestAgeMs: oldest.get(h.target) ?? 0 }));
  }

  /**
   * Copies the current value of `key` to each salted variant. The key is stored as it was
   * written: raw (the CLI's and a plain client's keys) or as a partition key without clustering
   * part; reading only the second form copied nothing for raw keys.
   */
  async copyRow(map: PartitionMap, key: Buffer, variants: readonly Buffer[]): Promise<number> {
    const up = this.upNodeIds();
    const replicas = preferenceList(map, map.locate(key).id);
    const reader = replicas.find((r) => up.includes(r)) ?? up[0];
    if (reader === undefined) return 0;
    const c = this.client(reader);
    const asRaw = await unary(c, c.get, { key }, { token: this.token, timeoutMs: CALL_MS });
    const raw = asRaw.found && asRaw.version !== undefined;
    const got = raw ? asRaw : await unary(c, c.get, { key: Buffer.alloc(0), partitionKey: key }, { token: this.token, timeoutMs: CALL_MS });
    if (!got.found || !got.version) return 0;
    let copied = 0;
    for (const variant of variants) {
      const entry: pb.StoredEntry = { key: raw ? variant : encodeCompositeKey(variant), value: got.value, deleted: false, version: got.version };
      const targets = preferenceList(map, map.locate(variant).id).filter((r) => up.includes(r));
      const results = await Promise.allSettled(targets.map((t) => {
        const tc = this.client(t);
        return unary(tc, tc.ingestEntries, { entries: [entry] }, { token: this.token, timeoutMs: CALL_MS });
      }));
      if (results.some((r) => r.status === 'fulfilled')) copied++;
    }
    return copied;
  }
}
