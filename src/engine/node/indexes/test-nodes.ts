// Tests and benches only: real node processes with a ConvergenceService client each, wired as
// a full mesh with one partition map (16 partitions), restartable with other settings, and the
// global index questions the tests ask (lookups, each replica's stored entries, partition reads).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ConvergenceServiceClient, IndexKind, type QueryIndexResponse, type ReadGlobalIndexResponse,
} from '../../gen/ringdb/v1/convergence';
import { createPartitionMap, preferenceList, type PartitionMap } from '../../partitioning';
import { clientArgs, unary, type UnaryMethod } from '../../rpc';
import { partitionMapToProto } from '../../rpc/partition-map-proto';
import type { NodeConfig } from '../config';
import { killNodes, spawnNode, type TestNode } from '../test-harness';
import { indexPartitionKey } from './global-keys';

const b = (s: string) => Buffer.from(s);

export class Nodes {
  readonly nodes = new Map<string, TestNode>();
  readonly conv = new Map<string, ConvergenceServiceClient>();
  map!: PartitionMap;
  private constructor(readonly dir: string, readonly token: string) {}

  static async start(n: number, replicationFactor: number, settings: Partial<NodeConfig>): Promise<Nodes> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ringdb-global-index-'));
    const token = randomBytes(24).toString('hex');
    writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
    const c = new Nodes(dir, token);
    try {
      const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
      for (const id of ids) {
        mkdirSync(path.join(dir, id));
        await c.spawn({
          id, dataDir: path.join(dir, id), host: '127.0.0.1', port: 0, tokenFile: path.join(dir, 'token'), peers: [], topology: null,
          storage: { sync: 'batch', syncIntervalMs: 2, memtableBytes: 4 * 1024 * 1024 },
          // Merkle rounds an hour apart: what converges here, the index maintenance converged.
          heartbeatIntervalMs: 200, antiEntropyIntervalMs: 3_600_000, logLevel: 'info', readQuorum: 2, writeQuorum: 2, replicationFactor, newMember: true, ...settings,
        });
      }
      const peers = ids.map((id) => ({ id, address: c.node(id).address }));
      for (const id of ids) {
        c.node(id).config = { ...c.node(id).config, peers: peers.filter((p) => p.id !== id) };
        await c.call(id, (x) => x.updateMembership, { peers, topology: {} });
      }
      c.map = createPartitionMap({ replicationFactor, numPartitions: 16 }, ids);
      const proto = partitionMapToProto(c.map, peers);
      for (const id of ids) assert.equal((await c.call(id, (x) => x.updatePartitionMap, { map: proto })).accepted, true);
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  private async spawn(config: NodeConfig): Promise<void> {
    const node = await spawnNode(config, path.join(this.dir, `${config.id}.json`));
    this.nodes.set(config.id, node);
    this.conv.get(config.id)?.close();
    this.conv.set(config.id, new ConvergenceServiceClient(...clientArgs(node.address)));
  }

  node(id: string): TestNode {
    return this.nodes.get(id) as TestNode;
  }

  ids(): string[] {
    return [...this.nodes.keys()];
  }

  call<Req, Res>(id: string, method: (c: TestNode['client']) => UnaryMethod<Req, Res>, req: Req): Promise<Res> {
    const { client } = this.node(id);
    return unary(client, method(client), req, { token: this.token, timeoutMs: 15_000 });
  }

  callConv<Req, Res>(id: string, method: (c: ConvergenceServiceClient) => UnaryMethod<Req, Res>, req: Req): Promise<Res> {
    const c = this.conv.get(id) as ConvergenceServiceClient;
    return unary(c, method(c), req, { token: this.token, timeoutMs: 30_000 });
  }

  async kill(id: string): Promise<void> {
    const n = this.node(id);
    n.client.close();
    const exited = new Promise((r) => n.proc.once('exit', r));
    n.proc.kill('SIGKILL');
    await exited;
  }

  async restart(id: string, changes: Partial<NodeConfig> = {}): Promise<void> {
    const old = this.node(id);
    await this.spawn({ ...old.config, ...changes, port: old.port });
  }

  async stop(): Promise<void> {
    for (const c of this.conv.values()) c.close();
    await killNodes(this.nodes.values());
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- what the tests ask ----

  query(id: string, field: string, value: string, kind = IndexKind.INDEX_KIND_UNSPECIFIED): Promise<QueryIndexResponse> {
    return this.callConv(id, (x) => x.queryIndex, { field, value, localOnly: false, kind });
  }

  async keys(id: string, field: string, value: string): Promise<string[]> {
    return (await this.query(id, field, value)).keys.map((k) => k.toString());
  }

  put(id: string, key: string, value: Buffer, w?: number) {
    return this.call(id, (x) => x.put, { key: b(key), value, ...(w === undefined ? {} : { w }) });
  }

  /** The replicas of the partition holding (field, value)'s entries. */
  indexReplicas(field: string, value: string): string[] {
    return preferenceList(this.map, this.map.locate(indexPartitionKey(field, value)).id);
  }

  /** Each index replica's (or each of `nodes`') stored entry for `key` under (field, value): "live", "deleted" or "absent". */
  async storedEntries(field: string, value: string, key: string, nodes = this.indexReplicas(field, value)): Promise<string[]> {
    return Promise.all(nodes.map(async (id) => {
      const page: ReadGlobalIndexResponse = await this.callConv(id, (x) => x.readGlobalIndex, { field, value, after: Buffer.alloc(0), limit: 0 });
      const e = page.entries.find((x) => Buffer.from(x.key).toString() === key);
      return e ? (e.deleted ? 'deleted' : 'live') : 'absent';
    }));
  }

  async partitionReads(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const id of this.ids()) out.set(id, (await this.callConv(id, (x) => x.convergenceStats, {})).globalIndex?.partitionReads ?? 0);
    return out;
  }
}
