// Test harness: real node processes on real ports in a temporary folder, for tests only (the
// controller is the real supervisor). Builds the node bundle once with esbuild, spawns each
// node with stdin as a pipe, waits for its ready line, wires membership with UpdateMembership,
// and cleans up processes and files on every exit path.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { NodeServiceClient, type Destinations } from '../gen/ringdb/v1/node';
import { clientArgs, unary, type UnaryMethod } from '../rpc';
import { NODE_READY_PREFIX, type NodeConfig } from './config';

let bundle: Promise<string> | undefined;

/** Bundles src/engine/node/main.ts once per test run. */
export function nodeBundle(): Promise<string> {
  bundle ??= (async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'ringdb-node-bundle-')), 'node.js');
    await build({ entryPoints: [path.join(__dirname, 'main.ts')], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'error' });
    process.once('exit', () => rmSync(path.dirname(out), { recursive: true, force: true }));
    return out;
  })();
  return bundle;
}

export interface TestNode {
  id: string;
  port: number;
  address: string;
  pid: number;
  proc: ChildProcess;
  config: NodeConfig;
  client: NodeServiceClient;
  output: string[];
}

export interface ClusterOptions {
  topology?: Record<string, string[]> | null;
  storage?: NodeConfig['storage'];
  heartbeatIntervalMs?: number;
  antiEntropyIntervalMs?: number;
  /** Periodic Merkle rounds; antiEntropyIntervalMs when absent. */
  merkleIntervalMs?: number;
  replicationBacklogOps?: number;
}

/** SIGKILLs every node still running (closing its client first) and waits for each to exit. */
export async function killNodes(nodes: Iterable<TestNode>): Promise<void> {
  await Promise.all([...nodes].map(async (n) => {
    n.client.close();
    if (n.proc.exitCode === null && n.proc.signalCode === null) {
      const exited = new Promise((r) => n.proc.once('exit', r));
      n.proc.kill('SIGKILL');
      await exited;
    }
  }));
}

/** Spawns the node process for `config` and resolves once it printed its ready line. */
export async function spawnNode(config: NodeConfig, configFile: string): Promise<TestNode> {
  writeFileSync(configFile, JSON.stringify(config));
  const proc = spawn(process.execPath, [await nodeBundle(), '--config', configFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  const output: string[] = [];
  proc.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const ready = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`node ${config.id} not ready in 20 s:\n${output.join('')}`)), 20_000);
    proc.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const line = buffered.split('\n').find((l) => l.startsWith(NODE_READY_PREFIX));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(NODE_READY_PREFIX.length)) as { port: number; pid: number });
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node ${config.id} exited (${code ?? signal}) before ready:\n${output.join('')}`));
    });
  });
  const address = `127.0.0.1:${ready.port}`;
  return { id: config.id, port: ready.port, address, pid: ready.pid, proc, config, client: new NodeServiceClient(...clientArgs(address)), output };
}

export class TestCluster {
  readonly nodes = new Map<string, TestNode>();
  private constructor(
    readonly dir: string,
    readonly token: string,
    private readonly topology: Record<string, string[]> | null,
  ) {}

  /** Starts `n` nodes n1..nN and introduces them to each other. */
  static async start(n: number, options: ClusterOptions = {}): Promise<TestCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ringdb-cluster-'));
    const token = randomBytes(24).toString('hex');
    writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
    const cluster = new TestCluster(dir, token, options.topology ?? null);
    try {
      const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
      await Promise.all(ids.map(async (id) => {
        mkdirSync(path.join(dir, id));
        const config: NodeConfig = {
          id, dataDir: path.join(dir, id), host: '127.0.0.1', port: 0, tokenFile: path.join(dir, 'token'), peers: [], topology: null,
          storage: options.storage ?? { sync: 'batch', syncIntervalMs: 2, memtableBytes: 4 * 1024 * 1024 },
          heartbeatIntervalMs: options.heartbeatIntervalMs ?? 100, antiEntropyIntervalMs: options.antiEntropyIntervalMs ?? 500, logLevel: 'info', newMember: true,
          ...(options.replicationBacklogOps === undefined ? {} : { replicationBacklogOps: options.replicationBacklogOps }),
          ...(options.merkleIntervalMs === undefined ? {} : { merkleIntervalMs: options.merkleIntervalMs }),
        };
        cluster.nodes.set(id, await spawnNode(config, cluster.configFile(id)));
      }));
      await cluster.wire();
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  node(id: string): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  call<Req, Res>(id: string, method: (c: NodeServiceClient) => UnaryMethod<Req, Res>, request: Req, token = this.token): Promise<Res> {
    const { client } = this.node(id);
    return unary(client, method(client), request, { token, timeoutMs: 15_000 });
  }

  /** Starts one more node and introduces every node to it (as the controller's AddNode does). */
  async addNode(id: string): Promise<TestNode> {
    const template = this.nodes.values().next().value as TestNode;
    mkdirSync(path.join(this.dir, id));
    const node = await spawnNode({ ...template.config, id, dataDir: path.join(this.dir, id), port: 0, peers: [] }, this.configFile(id));
    this.nodes.set(id, node);
    await this.wire();
    return node;
  }

  /** Stops a node with SIGTERM (its graceful shutdown) and waits for it to exit. */
  terminate(id: string): Promise<void> {
    return this.signal(id, 'SIGTERM');
  }

  /** Sends `peers` (ids of running nodes) to `id` as its whole membership, as the controller does. */
  async introduce(id: string, peers: readonly string[]): Promise<void> {
    const list = [id, ...peers].map((p) => ({ id: p, address: this.node(p).address }));
    await this.call(id, (c) => c.updateMembership, { peers: list, topology: {} });
  }

  /** SIGKILLs a node (a crash: no shutdown code runs). */
  kill(id: string): Promise<void> {
    return this.signal(id, 'SIGKILL');
  }

  private async signal(id: string, signal: NodeJS.Signals): Promise<void> {
    const n = this.node(id);
    n.client.close();
    const exited = new Promise((r) => n.proc.once('exit', r));
    n.proc.kill(signal);
    await exited;
  }

  /**
   * Restarts a stopped node on its old port, with the full membership in its config, or with
   * none (`alone`) as a cluster start gives it before the controller sends the membership.
   */
  async restart(id: string, { alone = false } = {}): Promise<TestNode> {
    const old = this.node(id);
    const restarted = await spawnNode({ ...old.config, port: old.port, newMember: false, ...(alone ? { peers: [], awaitMembership: true } : {}) }, this.configFile(id));
    this.nodes.set(id, restarted);
    return restarted;
  }

  /** Kills every node and removes the folder. */
  async stop(): Promise<void> {
    await killNodes(this.nodes.values());
    rmSync(this.dir, { recursive: true, force: true });
  }

  private configFile(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  /** Tells every node about every other (and the topology), and records it for restarts. */
  private async wire(): Promise<void> {
    const peers = [...this.nodes.values()].map((n) => ({ id: n.id, address: n.address }));
    const topology: Record<string, Destinations> = {};
    for (const [k, v] of Object.entries(this.topology ?? {})) topology[k] = { nodeIds: v };
    for (const n of this.nodes.values()) {
      n.config = { ...n.config, peers: peers.filter((p) => p.id !== n.id), topology: this.topology };
      await this.call(n.id, (c) => c.updateMembership, { peers, topology });
    }
  }
}

/** Polls `check` until it returns true; rejects with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
