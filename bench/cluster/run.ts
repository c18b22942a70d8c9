// bench/cluster: RingDB as a replicated cluster, beside a single node and a 3-member etcd cluster,
// in one run. Prints one JSON document on stdout (progress on stderr).
//   npm run build && npm run bench:cluster [-- --seconds 10 --sync batch,none --no-etcd]
// Options: --seconds N (per workload, default 10), --sync list of always|batch|none (default
// batch,none), --in-flight N (default 64), --batch-size N (default 1000), --batches-in-flight N
// (default 4), --only id,id (scenario ids), --no-etcd, --profile DIR (CPU profiles of the
// controller and every node, written to DIR when they stop; see profile-summary.ts).

import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { SyncPolicy } from '../../src/engine/client';
import { installSignalHandlers } from './cleanup';
import { etcdVersion } from './etcd';
import { checkBundles } from './ringdb';
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
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 10, syncs: ['batch', 'none'], inFlight: 64, batchSize: 1000, batchesInFlight: 4, only: null, etcd: true, profileDir: null };
  const int = (flag: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--seconds': o.seconds = int(flag, argv[++i], 1, 600); break;
      case '--in-flight': o.inFlight = int(flag, argv[++i], 1, 1024); break;
      case '--batch-size': o.batchSize = int(flag, argv[++i], 1, 100_000); break;
      case '--batches-in-flight': o.batchesInFlight = int(flag, argv[++i], 1, 64); break;
      case '--no-etcd': o.etcd = false; break;
      case '--profile': o.profileDir = resolve(argv[++i] ?? 'bench-profiles'); break;
      case '--only': o.only = (argv[++i] ?? '').split(',').filter(Boolean); break;
      case '--sync': {
        const list = (argv[++i] ?? '').split(',');
        const bad = list.filter((s) => s !== 'always' && s !== 'batch' && s !== 'none');
        if (bad.length || list.length === 0) throw new Error(`--sync takes a comma-separated list of always, batch, none; got ${JSON.stringify(argv[i])}`);
        o.syncs = list as SyncPolicy[];
        break;
      }
      default: throw new Error(`unknown option ${flag}; accepted: --seconds, --sync, --in-flight, --batch-size, --batches-in-flight, --only, --no-etcd, --profile`);
    }
  }
  return o;
}

/** Issue 3's configurations: a replicated 3-node cluster and a single node per sync policy, and etcd. */
function issue3Scenarios(o: Options, withEtcd: boolean): Scenario[] {
  const maxMs = o.seconds * 1000;
  const workloads: WorkloadSpec[] = [
    { kind: 'put', inFlight: o.inFlight, maxRequests: 2_000_000, maxMs },
    { kind: 'batchPut', inFlight: o.batchesInFlight, batchSize: o.batchSize, maxRequests: 100_000, maxMs },
  ];
  const list: Scenario[] = [];
  for (const sync of o.syncs) {
    const storage = { sync, syncIntervalMs: 5, memtableBytes: 4 * 1024 * 1024 };
    list.push({
      system: 'ringdb', id: `ringdb-3-replicated-${sync}`, lagPollMs: 10, workloads,
      description: `RingDB, 3 nodes on loopback, full-mesh multi-leader replication, storage.sync=${sync}; clients spread requests over all 3 nodes`,
      spec: { nodes: 3, storage, topology: null },
    });
    list.push({
      system: 'ringdb', id: `ringdb-1-single-${sync}`, lagPollMs: 10, workloads,
      description: `RingDB, 1 node, no peers (replication off), storage.sync=${sync}`,
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

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  installSignalHandlers();
  checkBundles();
  if (o.profileDir) {
    // Inherited by the controller and, through it, by every node process.
    mkdirSync(o.profileDir, { recursive: true });
    process.env.RINGDB_BENCH_PROFILE_DIR = o.profileDir;
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${join(__dirname, 'profile-preload.cjs')}`.trim();
  }
  const etcd = o.etcd ? etcdVersion() : undefined;
  const notes: string[] = [];
  if (!o.etcd) notes.push('etcd skipped (--no-etcd)');
  else if (!etcd) notes.push('etcd skipped: /usr/bin/etcd is not installed (bench/cluster/install-etcd.sh installs Debian\'s etcd-server)');

  let scenarios = issue3Scenarios(o, etcd !== undefined);
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
    etcd: etcd ?? null,
    notes,
    ...(o.profileDir ? { profiles: o.profileDir } : {}),
    scenarios: results,
    targets: evaluateTargets(results),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench/cluster failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
