// How long a node, and then a whole cluster, holding a preloaded key space takes to serve again
// after a graceful restart: RingDB (3 nodes, full mesh, as issue 3's replicated scenario) beside
// a 3-member etcd cluster holding the same keys, in the same run. A node's restart is its log
// recovery, its memtable replay and its Merkle trees (built in slices while it already serves);
// an etcd member's is its WAL and snapshot replay and rejoining the Raft group.
// Prints one JSON document on stdout; progress goes to stderr.
//
//   npm run bench:restart [-- --keys 1000000] [--repeats 2] [--no-etcd] [--bundles DIR]

import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_SPEC } from '../../src/engine/spec/defaults';
import { intArg } from './args';
import { installSignalHandlers } from './cleanup';
import { EtcdCluster, etcdVersion } from './etcd';
import { keyOf } from './measure';
import { RingCluster, snapshotBundles, type RingNodeHandle } from './ringdb';
import { etcdTarget, ringTarget } from './scenarios';
import { DATASET_PREFIX, KEY_BYTES, preload, VALUE_BYTES } from './workloads';

interface Options {
  keys: number;
  repeats: number;
  etcd: boolean;
  bundles: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { keys: 1_000_000, repeats: 2, etcd: true, bundles: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--keys': o.keys = intArg(flag, argv[++i], 1_000, 10_000_000); break;
      case '--repeats': o.repeats = intArg(flag, argv[++i], 1, 20); break;
      case '--no-etcd': o.etcd = false; break;
      case '--bundles': o.bundles = resolve(argv[++i] ?? ''); break;
      default: throw new Error(`unknown option ${flag}; accepted: --keys N, --repeats N, --no-etcd, --bundles DIR`);
    }
  }
  return o;
}

const ms = (t: number): number => Math.round(t);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Retries a get of `key` on `node` until it finds the key (at most 120 s); resolves when it does. */
async function servesKey(node: RingNodeHandle, key: Buffer): Promise<void> {
  const until = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await node.client.get(key, { timeoutMs: 2_000 })).found) return;
    } catch {
      // Not serving yet.
    }
    if (Date.now() > until) throw new Error(`${node.id} did not serve a get of a preloaded key within 120 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function ringdb(o: Options, probe: Buffer): Promise<Record<string, unknown>> {
  const spec = { nodes: 3, storage: { ...DEFAULT_SPEC.storage, sync: 'batch' as const }, topology: null, writeQuorum: 1, readQuorum: 1 };
  const cluster = await RingCluster.start('restart', spec);
  try {
    process.stderr.write(`ringdb: preloading ${o.keys} keys over 3 nodes...\n`);
    const t0 = performance.now();
    await preload(ringTarget(cluster, 100), o.keys);
    const preloadSec = (performance.now() - t0) / 1000;
    const stats = await cluster.nodes[0].client.stats();
    const held = {
      sstables: stats.storage.sstables.length,
      sstableBytes: stats.storage.sstables.reduce((a, t) => a + t.sizeBytes, 0),
      memtableEntries: stats.storage.memtableEntries,
      retainedLogOps: stats.logNextLsn - stats.logFirstLsn,
    };
    const nodeRestarts: { controllerMs: number; servesMs: number }[] = [];
    for (let r = 0; r < o.repeats; r++) {
      const t = performance.now();
      const node = await cluster.restartNode('n1');
      const up = performance.now();
      await servesKey(node, probe);
      nodeRestarts.push({ controllerMs: ms(up - t), servesMs: ms(performance.now() - t) });
      process.stderr.write(`  ringdb: n1 restarted, serving after ${nodeRestarts[r].servesMs} ms\n`);
    }
    const clusterRestarts: { stopMs: number; servesMs: number }[] = [];
    for (let r = 0; r < o.repeats; r++) {
      const t = performance.now();
      const { stopMs } = await cluster.restartAll();
      await Promise.all(cluster.nodes.map((n) => servesKey(n, probe)));
      clusterRestarts.push({ stopMs: ms(stopMs), servesMs: ms(performance.now() - t - stopMs) });
      process.stderr.write(`  ringdb: cluster stopped in ${ms(stopMs)} ms, every node serving ${clusterRestarts[r].servesMs} ms after the start\n`);
    }
    return {
      system: '3 RingDB nodes, full mesh, storage.sync=batch', preloadSec: Math.round(preloadSec * 10) / 10,
      n1Holds: held, nodeRestarts, clusterRestarts,
    };
  } finally {
    await cluster.stop();
  }
}

async function etcd(o: Options, probe: Buffer): Promise<Record<string, unknown>> {
  const cluster = await EtcdCluster.start(3);
  try {
    process.stderr.write(`etcd: preloading ${o.keys} keys (transactions of 128 puts)...\n`);
    const t0 = performance.now();
    await preload(etcdTarget(cluster, 3), o.keys);
    const preloadSec = (performance.now() - t0) / 1000;
    const first = cluster.names()[0];
    const nodeRestarts: { stopMs: number; servesMs: number }[] = [];
    for (let r = 0; r < o.repeats; r++) {
      const { stopMs, serveMs } = await cluster.restartMember(first, probe);
      nodeRestarts.push({ stopMs: ms(stopMs), servesMs: ms(stopMs + serveMs) });
      process.stderr.write(`  etcd: ${first} restarted, serving after ${nodeRestarts[r].servesMs} ms\n`);
    }
    const clusterRestarts: { stopMs: number; servesMs: number }[] = [];
    for (let r = 0; r < o.repeats; r++) {
      const { stopMs, serveMs } = await cluster.restartAll(probe);
      clusterRestarts.push({ stopMs: ms(stopMs), servesMs: ms(serveMs) });
      process.stderr.write(`  etcd: cluster stopped in ${ms(stopMs)} ms, every member serving ${clusterRestarts[r].servesMs} ms after the start\n`);
    }
    return { system: '3 etcd members, default durability', preloadSec: Math.round(preloadSec * 10) / 10, nodeRestarts, clusterRestarts };
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  installSignalHandlers();
  const bundles = snapshotBundles(o.bundles);
  const probe = keyOf(DATASET_PREFIX, o.keys - 1);
  const started = new Date();
  const load = loadavg();
  const ring = await ringdb(o, probe);
  const version = o.etcd ? etcdVersion() : undefined;
  const peer = version ? await etcd(o, probe) : null;
  const medianOf = (r: Record<string, unknown> | null, kind: 'nodeRestarts' | 'clusterRestarts'): number | null =>
    r ? median((r[kind] as { servesMs: number }[]).map((x) => x.servesMs)) : null;
  const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100);
  process.stdout.write(`${JSON.stringify({
    benchmark: 'restart',
    startedAt: started.toISOString(),
    durationSec: Math.round((Date.now() - started.getTime()) / 1000),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, loadAvg1mAtStart: Number(load[0].toFixed(2)) },
    workload: {
      keys: o.keys, keyBytes: KEY_BYTES, valueBytes: VALUE_BYTES, repeats: o.repeats,
      measured: 'nodeRestarts: from the graceful stop of one node (RestartNode through the controller; SIGTERM for an etcd member) until it, asked alone, returns a preloaded key. clusterRestarts: every node stopped at once (StopCluster; SIGTERM to every member), then started on the same folders: stopMs, and servesMs from the start until every node returns the key',
    },
    engine: { bundles: bundles.from, bundlesBuiltFrom: bundles.builtFrom, bundlesBuiltAt: bundles.builtAt },
    etcd: version ?? null,
    notes: o.etcd && !version ? ['etcd skipped: /usr/bin/etcd is not installed (bench/cluster/install-etcd.sh installs it)'] : [],
    ringdb: ring,
    peer,
    ratios: {
      nodeRestartRingdbOverEtcd: ratio(medianOf(ring, 'nodeRestarts'), medianOf(peer, 'nodeRestarts')),
      clusterRestartRingdbOverEtcd: ratio(medianOf(ring, 'clusterRestarts'), medianOf(peer, 'clusterRestarts')),
    },
  }, null, 2)}\n`);
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench/cluster/restart failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
