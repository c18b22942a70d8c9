// Test support: real node processes whose stores are seeded before they start, wired as a full
// mesh, with a ConvergenceService client per node; everything is removed on stopPair.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConvergenceServiceClient } from '../../gen/ringdb/v1/convergence';
import { clientArgs, unary, type UnaryMethod } from '../../rpc';
import { Store } from '../../storage';
import type { Entry } from '../../storage/types';
import type { NodeConfig } from '../config';
import { spawnNode, type TestNode } from '../test-harness';

export interface Pair {
  dir: string;
  token: string;
  nodes: TestNode[];
  conv: ConvergenceServiceClient[];
}

/** Writes `entries` straight into a node's store folder (the node is not running). */
async function seed(dataDir: string, entries: Entry[]): Promise<void> {
  const store = await Store.open(path.join(dataDir, 'store'), { sync: 'none', memtableBytes: 64 * 1024 * 1024 });
  try {
    for (let i = 0; i < entries.length; i += 5000) await store.write(entries.slice(i, i + 5000));
  } finally {
    await store.close();
  }
}

/** Starts one node per element of `contents` (its store seeded with those entries) and wires them as a full mesh. */
export async function startPair(contents: Entry[][], settings: Partial<NodeConfig> & { antiEntropyIntervalMs: number }): Promise<Pair> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ringdb-convergence-'));
  const token = randomBytes(24).toString('hex');
  writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
  const pair: Pair = { dir, token, nodes: [], conv: [] };
  try {
    for (let i = 0; i < contents.length; i++) {
      const id = `n${i + 1}`;
      const dataDir = path.join(dir, id);
      mkdirSync(dataDir);
      await seed(dataDir, contents[i]);
      const config: NodeConfig = {
        id, dataDir, host: '127.0.0.1', port: 0, tokenFile: path.join(dir, 'token'), peers: [], topology: null,
        storage: { sync: 'batch', syncIntervalMs: 2, memtableBytes: 4 * 1024 * 1024 },
        heartbeatIntervalMs: 100, logLevel: 'info', newMember: true, ...settings,
      };
      const node = await spawnNode(config, path.join(dir, `${id}.json`));
      pair.nodes.push(node);
      pair.conv.push(new ConvergenceServiceClient(...clientArgs(node.address)));
    }
    const peers = pair.nodes.map((n) => ({ id: n.id, address: n.address }));
    for (const n of pair.nodes) await unary(n.client, n.client.updateMembership, { peers, topology: {} }, { token, timeoutMs: 10_000 });
    return pair;
  } catch (err) {
    await stopPair(pair);
    throw err;
  }
}

export async function stopPair(pair: Pair): Promise<void> {
  for (const c of pair.conv) c.close();
  await Promise.all(pair.nodes.map(async (n) => {
    n.client.close();
    if (n.proc.exitCode === null && n.proc.signalCode === null) {
      const exited = new Promise((r) => n.proc.once('exit', r));
      n.proc.kill('SIGKILL');
      await exited;
    }
  }));
  rmSync(pair.dir, { recursive: true, force: true });
}

export function call<Req, Res>(pair: Pair, i: number, method: (c: ConvergenceServiceClient) => UnaryMethod<Req, Res>, req: Req): Promise<Res> {
  const c = pair.conv[i];
  return unary(c, method(c), req, { token: pair.token, timeoutMs: 60_000 });
}


/**
 * SIGKILLs node `i`, empties its data folder and starts it on the same port as a controller
 * starts a node that lost its folder: not a new member, its peers in the membership that follows.
 */
export async function restartWithLostFolder(pair: Pair, i: number): Promise<void> {
  const old = pair.nodes[i];
  old.client.close();
  if (old.proc.exitCode === null && old.proc.signalCode === null) {
    const exited = new Promise((r) => old.proc.once('exit', r));
    old.proc.kill('SIGKILL');
    await exited;
  }
  rmSync(old.config.dataDir, { recursive: true, force: true });
  mkdirSync(old.config.dataDir);
  const node = await spawnNode({ ...old.config, port: old.port, newMember: false, awaitMembership: true }, path.join(pair.dir, `${old.id}.json`));
  pair.nodes[i] = node;
  const peers = pair.nodes.map((n) => ({ id: n.id, address: n.address }));
  await unary(node.client, node.client.updateMembership, { peers, topology: {} }, { token: pair.token, timeoutMs: 10_000 });
}
