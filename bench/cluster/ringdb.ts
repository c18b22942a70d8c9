// A RingDB cluster for one scenario: a controller launched through the public client API
// (attached, so it dies with the benchmark), StartCluster with the scenario's spec in a fresh
// temp folder, one NodeClient per node, and a stop that leaves no process and no folder behind.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchController, NodeClient, type ClusterSpec, type ControllerHandle } from '../../src/engine/client';
import { register } from './cleanup';

export const REPO_ROOT = resolve(__dirname, '..', '..');
const CONTROLLER_SCRIPT = join(REPO_ROOT, 'dist', 'engine', 'controller.js');
const NODE_SCRIPT = join(REPO_ROOT, 'dist', 'engine', 'node.js');

export interface RingNodeHandle {
  id: string;
  address: string;
  pid: number;
  client: NodeClient;
}

/** Fails early, naming the command, when the bundles the benchmark runs are missing. */
export function checkBundles(): void {
  for (const f of [CONTROLLER_SCRIPT, NODE_SCRIPT]) {
    if (!existsSync(f)) throw new Error(`${f} is missing; run \`npm run build\` (node scripts/proto.mjs && node esbuild.mjs) first`);
  }
}

export class RingCluster {
  private constructor(
    readonly spec: Partial<ClusterSpec>,
    readonly nodes: RingNodeHandle[],
    readonly controllerPid: number,
    readonly dataDir: string,
    private readonly stopFn: () => Promise<void>,
  ) {}

  /** Starts a controller and a cluster with `spec` (dataDir is always a fresh temp folder). */
  static async start(label: string, spec: Partial<ClusterSpec>): Promise<RingCluster> {
    const dataDir = mkdtempSync(join(tmpdir(), `ringdb-bench-${label}-`));
    let handle: ControllerHandle | undefined;
    let nodes: RingNodeHandle[] = [];
    const stop = register(`ringdb cluster ${label}`, async () => {
      for (const n of nodes) n.client.close();
      if (!handle) return;
      try {
        await handle.client.stopCluster({ timeoutMs: 30_000 });
      } finally {
        await handle.stop(15_000);
      }
    }, () => [...nodes.map((n) => n.pid), ...(handle ? [handle.pid] : [])], [dataDir]);
    try {
      handle = await launchController({
        dataDir,
        controllerScript: CONTROLLER_SCRIPT,
        nodeScript: NODE_SCRIPT,
        onOutput: (line) => process.stderr.write(`  [controller ${label}] ${line}\n`),
      });
      const cluster = await handle.client.startCluster({ ...spec, dataDir });
      const token = handle.token;
      nodes = cluster.nodes.map((n) => ({
        id: n.id,
        address: n.address,
        pid: n.pid,
        client: new NodeClient({ address: n.address, token, nodeId: n.id }),
      }));
      if (nodes.length !== spec.nodes) throw new Error(`asked for ${spec.nodes} nodes, the controller started ${nodes.length}`);
      await Promise.all(nodes.map((n) => n.client.ping({ timeoutMs: 10_000 })));
      return new RingCluster(spec, nodes, handle.pid, dataDir, stop);
    } catch (err) {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  pids(): Record<string, number> {
    return { controller: this.controllerPid, ...Object.fromEntries(this.nodes.map((n) => [n.id, n.pid])) };
  }

  async stop(): Promise<void> {
    await this.stopFn();
  }
}
