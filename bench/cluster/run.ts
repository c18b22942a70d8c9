// bench/cluster: RingDB as a replicated cluster, beside a single node and a 3-member etcd cluster,
// in one run. Prints one JSON document on stdout (progress on stderr).
//   npm run build && npm run bench:cluster [-- --seconds 10 --sync batch,none --no-etcd]
// Options: --seconds N (per workload, default 10), --sync list of always|batch|none (default
// batch,none), --in-flight N (default 64), --batch-size N (default 1000), --batches-in-flight N
// (default 4), --only id,id (scenario ids), --no-etcd, --profile DIR (CPU profiles of the
// controller and every node, written to DIR when they stop; see profile-summary.ts),
// --lag-poll-ms N (Stats poll interval of the replication-lag tracker, default 100), --suite
// issue3|extended|issue4|all (default issue3; extended adds gets, Zipf keys and AddNode during
// load on 3 nodes; issue4 runs 5 nodes with N=3, W=2/R=2 and W=1/R=1),
// --bundles DIR (controller.js and node.js to run; default dist/engine, copied at start),
// --clients put,batchPut (issue 3's clients to run, default both; one alone profiles cleanly),
// --backlog-ops N (the replicated scenario's replicationBacklogOps; default the spec's own).

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { SyncPolicy } from '../../src/engine/client';
import { DEFAULT_SPEC } from '../../src/engine/spec/defaults';
import { intArg } from './args';
import { installSignalHandlers } from './cleanup';
import { etcdVersion } from './etcd';
import { REPO_ROOT, snapshotBundles } from './ringdb';
import { runScenario, type Scenario, type ScenarioResult } from './scenarios';
import { evaluateTargets } from './targets';
import { KEY_BYTES, VALUE_BYTES, type WorkloadSpec } from './workloads';

interface Options {
  seconds: number;
  syncs: SyncPolicy[];
  inFlight: number;
  batchSize: number;
  batchesInFlight: number;
  only: string[] | null;
  etcd: boolean;
  profileDir: string | null;
  lagPollMs: number;
  suites: Suite[];
  bundles: string | undefined;
  clients: ('put' | 'batchPut')[];
  backlogOps: number | undefined;
}

type Suite = 'issue3' | 'extended' | 'issue4';

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 10, syncs: ['batch', 'none'], inFlight: 64, batchSize: 1000, batchesInFlight: 4, only: null, etcd: true, profileDir: null, lagPollMs: 100, suites: ['issue3'], bundles: undefined, clients: ['put', 'batchPut'], backlogOps: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--seconds': o.seconds = intArg(flag, argv[++i], 1, 600); break;
      case '--in-flight': o.inFlight = intArg(flag, argv[++i], 1, 1024); break;
      case '--batch-size': o.batchSize = intArg(flag, argv[++i], 1, 100_000); break;
      case '--batches-in-flight': o.batchesInFlight = intArg(flag, argv[++i], 1, 64); break;
      case '--no-etcd': o.etcd = false; break;
      case '--bundles': o.bundles = resolve(argv[++i] ?? ''); break;
      case '--suite': {
        const v = argv[++i];
        if (v !== 'issue3' && v !== 'extended' && v !== 'issue4' && v !== 'all') throw new Error(`--suite takes issue3, extended, issue4 or all; got ${JSON.stringify(v)}`);
        o.suites = v === 'all' ? ['issue3', 'extended', 'issue4'] : [v];
        break;
      }
      case '--clients': {
        const list = (argv[++i] ?? '').split(',');
        if (list.some((c) => c !== 'put' && c !== 'batchPut')) throw new Error(`--clients takes a comma-separated list of put, batchPut; got ${JSON.stringify(argv[i])}`);
        o.clients = list as Options['clients'];
        break;
      }
      case '--backlog-ops': o.backlogOps = intArg(flag, argv[++i], 0, 10_000_000); break;
      case '--lag-poll-ms': o.lagPollMs = intArg(flag, argv[++i], 1, 10_000); break;
      case '--profile': o.profileDir = resolve(argv[++i] ?? 'bench-profiles'); break;
      case '--only': o.only = (argv[++i] ?? '').split(',').filter(Boolean); break;
      case '--sync': {
        const list = (argv[++i] ?? '').split(',');
        const bad = list.filter((s) => s !== 'always' && s !== 'batch' && s !== 'none');
        if (bad.length || list.length === 0) throw new Error(`--sync takes a comma-separated list of always, batch, none; got ${JSON.stringify(argv[i])}`);
        o.syncs = list as SyncPolicy[];
        break;
      }
      default: throw new Error(`unknown option ${flag}; accepted: --seconds, --sync, --in-flight, --batch-size, --batches-in-flight, --only, --no-etcd, --profile, --lag-poll-ms, --suite, --bundles, --clients, --backlog-ops`);
    }
  }
  return o;
}

/** Issue 3's configurations: a replicated 3-node cluster and a single node per sync policy, and etcd. */
function issue3Scenarios(o: Options, withEtcd: boolean): Scenario[] {
  const maxMs = o.seconds * 1000;
  const all: WorkloadSpec[] = [
    { kind: 'put', inFlight: o.inFlight, maxRequests: 2_000_000, maxMs },
    { kind: 'batchPut', inFlight: o.batchesInFlight, batchSize: o.batchSize, maxRequests: 100_000, maxMs },
  ];
  const workloads = all.filter((w) => w.kind !== 'get' && o.clients.includes(w.kind));
  const list: Scenario[] = [];
  for (const sync of o.syncs) {
    const storage = { ...DEFAULT_SPEC.storage, sync };
    list.push({
      system: 'ringdb', id: `ringdb-3-replicated-${sync}`, lagPollMs: o.lagPollMs, workloads,
      description: `RingDB, 3 nodes on loopback, full-mesh multi-leader replication (W=1: a write is acknowledged once durable on the node that took it, replication is asynchronous as issue 3 specifies, bounded by backpressure), storage.sync=${sync}; clients spread requests over all 3 nodes`,
      spec: { nodes: 3, storage, topology: null, writeQuorum: 1, readQuorum: 1, ...(o.backlogOps === undefined ? {} : { replicationBacklogOps: o.backlogOps }) },
    });
    list.push({
      system: 'ringdb', id: `ringdb-1-single-${sync}`, lagPollMs: o.lagPollMs, workloads,
      description: `RingDB, 1 node, no peers (replication off), storage.sync=${sync}`,
      spec: { nodes: 1, storage, topology: null },
    });
    // What three full copies could reach on this machine with replication free: three nodes
    // sharing the cores as the replicated ones do, each storing only the writes sent to it.
    list.push({
      system: 'ringdb', id: `ringdb-3-independent-${sync}`, lagPollMs: 0, workloads, instances: 3,
      description: `RingDB, 3 separate single-node clusters (3 controllers, no replication between them), storage.sync=${sync}; clients spread requests over the 3 nodes as over the replicated cluster's: a third of its puts/s is what the replicated cluster would do if replicating cost nothing`,
      spec: { nodes: 1, storage, topology: null },
    });
  }
  if (withEtcd) {
    list.push({
      system: 'etcd', id: 'etcd-3', members: 3,
      description: `etcd 3-member cluster on loopback (Debian etcd-server, default fsync durability) through the etcd3 npm client`,
      workloads: [{ kind: 'put', inFlight: o.inFlight, maxRequests: 2_000_000, maxMs }],
    });
  }
  return list;
}

/**
 * Reads, skewed keys and a membership change on the same 3-node mesh and single node (one sync
 * policy, the first given): gets/s uniform and Zipf over a preloaded key space, Zipf batched
 * puts (overwrites of hot keys), and batched puts while AddNode brings a 4th node in (the new
 * node catches up through anti-entropy while the load goes on; the timeline shows the dip).
 */
function extendedScenarios(o: Options, withEtcd: boolean): Scenario[] {
  const maxMs = o.seconds * 1000;
  const sync = o.syncs[0];
  const storage = { ...DEFAULT_SPEC.storage, sync, syncIntervalMs: 5, memtableBytes: 4 * 1024 * 1024 };
  const space = 100_000;
  const uniform = { kind: 'uniform', keys: space } as const;
  const zipf = { kind: 'zipf', keys: space, theta: 0.99 } as const;
  const reads: WorkloadSpec[] = [
    { kind: 'get', inFlight: o.inFlight, keys: uniform, maxRequests: 2_000_000, maxMs },
    { kind: 'get', inFlight: o.inFlight, keys: zipf, maxRequests: 2_000_000, maxMs },
  ];
  const zipfWrites: WorkloadSpec = { kind: 'batchPut', inFlight: o.batchesInFlight, batchSize: o.batchSize, keys: zipf, maxRequests: 100_000, maxMs };
  const list: Scenario[] = [
    {
      system: 'ringdb', id: `ringdb-3-mesh-extended-${sync}`, lagPollMs: o.lagPollMs, preloadKeys: space,
      description: `RingDB, 3 nodes, full mesh, storage.sync=${sync}: gets and skewed writes over ${space} preloaded keys, then batched puts while AddNode joins a 4th node`,
      spec: { nodes: 3, storage, topology: null },
      workloads: (cluster) => [
        ...reads,
        zipfWrites,
        {
          kind: 'batchPut', inFlight: o.batchesInFlight, batchSize: o.batchSize, maxRequests: 100_000, maxMs: Math.max(maxMs, 8_000),
          during: { name: 'AddNode', atMs: Math.round(Math.min(3_000, maxMs / 3)), run: () => cluster.addNode() },
        },
      ],
    },
    {
      system: 'ringdb', id: `ringdb-1-extended-${sync}`, lagPollMs: o.lagPollMs, preloadKeys: space,
      description: `RingDB, 1 node, storage.sync=${sync}: gets and skewed writes over ${space} preloaded keys`,
      spec: { nodes: 1, storage, topology: null },
      workloads: [...reads, zipfWrites],
    },
  ];
  if (withEtcd) {
    list.push({
      system: 'etcd', id: 'etcd-3-extended', members: 3, preloadKeys: space,
      description: `etcd 3-member cluster: linearizable gets (the etcd3 client default) over ${space} preloaded keys`,
      workloads: reads,
    });
  }
  return list;
}

/**
 * Issue 4's configurations: 5 nodes with N=3 and W=2/R=2 or W=1/R=1, uniform and Zipf keys, puts
 * and gets, and batched puts while Rebalance, then AddNode, move partitions; beside the single node of the same
 * run (ringdb-1-extended). The spec fields are passed as they are; whether the engine acts on them
 * shows in `storedCopies` (about 3 copies per key with N=3, 5 with full replication). Replication
 * lag is not tracked: with N < nodes a node never sees the writes of keys it does not hold.
 */
function issue4Scenarios(o: Options): Scenario[] {
  const maxMs = o.seconds * 1000;
  const sync = o.syncs[0];
  const storage = { ...DEFAULT_SPEC.storage, sync, syncIntervalMs: 5, memtableBytes: 4 * 1024 * 1024 };
  const space = 100_000;
  const uniform = { kind: 'uniform', keys: space } as const;
  const zipf = { kind: 'zipf', keys: space, theta: 0.99 } as const;
  const list: Scenario[] = [];
  for (const [w, r] of [[2, 2], [1, 1]] as const) {
    list.push({
      system: 'ringdb', id: `ringdb-5-n3-w${w}r${r}-${sync}`, lagPollMs: 0, preloadKeys: space,
      description: `RingDB, 5 nodes, replicationFactor 3, writeQuorum ${w}, readQuorum ${r}, storage.sync=${sync}, requests spread over all nodes (coordinators)`,
      spec: { nodes: 5, storage, topology: null, replicationFactor: 3, writeQuorum: w, readQuorum: r },
      workloads: (cluster) => [
        { kind: 'put', inFlight: o.inFlight, keys: uniform, maxRequests: 2_000_000, maxMs },
        { kind: 'batchPut', inFlight: o.batchesInFlight, batchSize: o.batchSize, keys: uniform, maxRequests: 100_000, maxMs },
        { kind: 'batchPut', inFlight: o.batchesInFlight, batchSize: o.batchSize, keys: zipf, maxRequests: 100_000, maxMs },
        { kind: 'get', inFlight: o.inFlight, keys: uniform, maxRequests: 2_000_000, maxMs },
        { kind: 'get', inFlight: o.inFlight, keys: zipf, maxRequests: 2_000_000, maxMs },
        // Topology changes under load (W=2 only): a rebalance of the 5 nodes, then a sixth node.
        ...(w === 2 ? (['Rebalance', 'AddNode'] as const).map((name) => ({
          kind: 'batchPut', inFlight: o.batchesInFlight, batchSize: o.batchSize, keys: uniform, maxRequests: 100_000, maxMs: Math.max(maxMs, 8_000),
          during: { name, atMs: Math.round(Math.min(3_000, maxMs / 3)), run: () => (name === 'Rebalance' ? cluster.rebalance() : cluster.addNode()) },
        } satisfies WorkloadSpec)) : []),
      ],
    });
  }
  return list;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  installSignalHandlers();
  const bundles = snapshotBundles(o.bundles);
  if (o.profileDir) {
    // Inherited by the controller and, through it, by every node process.
    mkdirSync(o.profileDir, { recursive: true });
    // The bundle copy is removed after the run; profile-summary.ts finds the source maps here.
    for (const f of ['controller.js.map', 'node.js.map']) {
      const map = join(o.bundles ?? join(REPO_ROOT, 'dist', 'engine'), f);
      if (existsSync(map)) copyFileSync(map, join(o.profileDir, f));
    }
    process.env.RINGDB_BENCH_PROFILE_DIR = o.profileDir;
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${join(__dirname, 'profile-preload.cjs')}`.trim();
  }
  const etcd = o.etcd ? etcdVersion() : undefined;
  const notes: string[] = [];
  if (!o.etcd) notes.push('etcd skipped (--no-etcd)');
  else if (!etcd) notes.push('etcd skipped: /usr/bin/etcd is not installed (bench/cluster/install-etcd.sh installs Debian\'s etcd-server)');

  let scenarios = [
    ...(o.suites.includes('issue3') ? issue3Scenarios(o, etcd !== undefined) : []),
    ...(o.suites.includes('extended') ? extendedScenarios(o, etcd !== undefined) : []),
    ...(o.suites.includes('issue4') ? issue4Scenarios(o) : []),
    // Issue 4 reports next to the single node of the same run.
    ...(o.suites.includes('issue4') && !o.suites.includes('extended') ? extendedScenarios(o, false).filter((s) => s.id.startsWith('ringdb-1-')) : []),
  ];
  if (o.only) scenarios = scenarios.filter((s) => o.only!.includes(s.id));
  const started = new Date();
  const load = loadavg();
  const results: ScenarioResult[] = [];
  for (const s of scenarios) results.push(await runScenario(s));

  const report = {
    benchmark: 'cluster',
    startedAt: started.toISOString(),
    durationSec: Math.round((Date.now() - started.getTime()) / 1000),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, loadAvg1mAtStart: Number(load[0].toFixed(2)) },
    workload: {
      keyBytes: KEY_BYTES, valueBytes: VALUE_BYTES, keys: 'unique per put, scrambled order',
      secondsPerWorkload: o.seconds, inFlight: o.inFlight, batchSize: o.batchSize, batchesInFlight: o.batchesInFlight,
      client: 'one benchmark process; RingDB through the engine client API (NodeClient), etcd through the etcd3 npm client',
    },
    engine: { repoHead: gitHead(), bundles: bundles.from, bundlesBuiltFrom: bundles.builtFrom, bundlesBuiltAt: bundles.builtAt },
    etcd: etcd ?? null,
    notes,
    ...(o.profileDir ? { profiles: o.profileDir } : {}),
    scenarios: results,
    targets: evaluateTargets(results),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

function gitHead(): string | null {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench/cluster failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
