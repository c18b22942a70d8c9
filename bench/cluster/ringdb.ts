// A RingDB cluster for one scenario: a controller launched through the public client API
// (attached, so it dies with the benchmark), StartCluster with the scenario's spec in a fresh
// temp folder, one NodeClient per node, and a stop that leaves no process and no folder behind.

import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchController, NodeClient, type ClusterSpec, type ControllerHandle } from '../../src/engine/client';
import { guardProcess, killNow, register } from './cleanup';

export const REPO_ROOT = resolve(__dirname, '..', '..');
const BUNDLES = ['controller.js', 'node.js'];

/** Where the bundles run from: a private copy, so a rebuild of the shared dist/ during a run
 *  cannot mix two versions of the engine in one cluster. */
let bundleDir: string | undefined;

export interface RingNodeHandle {
  id: string;
  address: string;
  pid: number;
  client: NodeClient;
}

/**
 * Copies controller.js and node.js (with source maps) from `from` (default dist/engine) to a temp
 * folder used for the whole run; fails early, naming the command, when they are missing.
 * Returns what was copied, for the report.
 */
export function snapshotBundles(from = join(REPO_ROOT, 'dist', 'engine')): { from: string; builtAt: string; builtFrom: string | null } {
  for (const f of BUNDLES) {
    if (!existsSync(join(from, f))) throw new Error(`${join(from, f)} is missing; run \`npm run build\` (node scripts/proto.mjs && node esbuild.mjs) first`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ringdb-bench-bundles-'));
  const guard = guardProcess([], [dir]);
  register('bundle snapshot', async () => killNow(guard), () => [guard], [dir]);
  for (const f of BUNDLES) {
    copyFileSync(join(from, f), join(dir, f));
    if (existsSync(join(from, `${f}.map`))) copyFileSync(join(from, `${f}.map`), join(dir, `${f}.map`));
  }
  bundleDir = dir;
  const builtAt = new Date(Math.max(...BUNDLES.map((f) => statSync(join(from, f)).mtimeMs))).toISOString();
  // build-committed.sh leaves the commit it built; a plain `npm run build` is the working tree.
  const marker = join(from, 'BUILT_FROM');
  const builtFrom = existsSync(marker) ? `commit ${readFileSync(marker, 'utf8').trim()}` : 'working tree';
  return { from, builtAt, builtFrom };
}

function bundle(name: string): string {
  if (!bundleDir) throw new Error('snapshotBundles() must run before a cluster starts');
  return join(bundleDir, name);
}

/** A move under load copies every range twice and drops it: its duration is measured, not cut off. */
const TOPOLOGY_CALL_MS = 15 * 60_000;

/** A client for a node the controller reports running. */
function nodeHandle(n: { id: string; address: string; pid: number }, token: string): RingNodeHandle {
  return { id: n.id, address: n.address, pid: n.pid, client: new NodeClient({ address: n.address, token, nodeId: n.id }) };
}

export class RingCluster {
  private constructor(
    readonly spec: Partial<ClusterSpec>,
    readonly nodes: RingNodeHandle[],
    private readonly controller: ControllerHandle,
    readonly dataDir: string,
    private readonly stopFn: () => Promise<void>,
  ) {}

  /** Starts a controller and a cluster with `spec` (dataDir is always a fresh temp folder). */
  static async start(label: string, spec: Partial<ClusterSpec>): Promise<RingCluster> {
    const dataDir = mkdtempSync(join(tmpdir(), `ringdb-bench-${label}-`));
    let handle: ControllerHandle | undefined;
    let nodes: RingNodeHandle[] = [];
    let guard = 0;
    const stop = register(`ringdb cluster ${label}`, async () => {
      for (const n of nodes) n.client.close();
      try {
        if (handle) await handle.client.stopCluster({ timeoutMs: 30_000 });
      } finally {
        await handle?.stop(15_000);
        if (guard) killNow(guard);
      }
    }, () => [...nodes.map((n) => n.pid), ...(handle ? [handle.pid] : []), ...(guard ? [guard] : [])], [dataDir]);
    try {
      handle = await launchController({
        dataDir,
        controllerScript: bundle('controller.js'),
        nodeScript: bundle('node.js'),
        onOutput: (line) => process.stderr.write(`  [controller ${label}] ${line}\n`),
      });
      // The nodes die with the controller (their stdin); the guard removes the folder after a SIGKILL of us.
      guard = guardProcess([handle.pid], [dataDir]);
      const cluster = await handle.client.startCluster({ ...spec, dataDir });
      const token = handle.token;
      nodes = cluster.nodes.map((n) => nodeHandle(n, token));
      if (nodes.length !== spec.nodes) throw new Error(`asked for ${spec.nodes} nodes, the controller started ${nodes.length}`);
      await Promise.all(nodes.map((n) => n.client.ping({ timeoutMs: 10_000 })));
      return new RingCluster(spec, nodes, handle, dataDir, stop);
    } catch (err) {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  pids(): Record<string, number> {
    return { controller: this.controller.pid, ...Object.fromEntries(this.nodes.map((n) => [n.id, n.pid])) };
  }

  /** AddNode through the controller; the new node is stopped with the cluster. */
  async addNode(): Promise<RingNodeHandle> {
    const info = await this.controller.client.addNode({ timeoutMs: TOPOLOGY_CALL_MS });
    const node = nodeHandle(info, this.controller.token);
    this.nodes.push(node);
    return node;
  }

  /**
   * RestartNode through the controller: a graceful stop, then a start on the same folder, which
   * answers once the node answers Ping. The handle is replaced in place (new pid and address).
   */
  async restartNode(id: string): Promise<RingNodeHandle> {
    const at = this.nodes.findIndex((n) => n.id === id);
    if (at < 0) throw new Error(`no node ${id} in this cluster`);
    const info = await this.controller.client.restartNode(id, { timeoutMs: TOPOLOGY_CALL_MS });
    this.nodes[at].client.close();
    this.nodes[at] = nodeHandle(info, this.controller.token);
    return this.nodes[at];
  }

  /**
   * StopCluster, then StartCluster on the same folder: every node recovers from its files.
   * Resolves with how long the stop took; the handles follow the new processes.
   */
  async restartAll(): Promise<{ stopMs: number }> {
    for (const n of this.nodes) n.client.close();
    const t0 = performance.now();
    await this.controller.client.stopCluster({ timeoutMs: TOPOLOGY_CALL_MS });
    const stopMs = performance.now() - t0;
    const started = await this.controller.client.startCluster({ ...this.spec, dataDir: this.dataDir }, { timeoutMs: TOPOLOGY_CALL_MS });
    this.nodes.splice(0, this.nodes.length, ...started.nodes.map((n) => nodeHandle(n, this.controller.token)));
    return { stopMs };
  }

  /** Rebalance through the controller (partitions move between the running nodes). */
  async rebalance(): Promise<void> {
    await this.controller.client.rebalance({ timeoutMs: TOPOLOGY_CALL_MS });
  }

  async stop(): Promise<void> {
    await this.stopFn();
  }
}
