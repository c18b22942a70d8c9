// The benchmark scripts end to end, at the smallest size that still runs every part (real
// clusters, real ports): they are not part of the suite otherwise, and a change to the engine or
// its client could break them unseen. What is checked is what the reports claim, not a speed.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { engineBundles } from '../../src/engine/cluster/test-support';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

async function bench(script: string, args: string[]): Promise<Record<string, unknown>> {
  const bundles = dirname((await engineBundles()).controller);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'cluster', script), ...args, '--no-etcd', '--bundles', bundles],
    { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

interface Counters { localPuts: number; replicatedApplied: number; opsSent: number }
interface Workload {
  errors: number; opsPerSec: number; batchSize: number | null; replicationLag?: { samples: number; notReplicated: number }; nodeCounters: Counters;
  cpu: { machineCores: number; coresUsed: Record<string, number>; otherCoresUsed: number }; cpuMicrosPerOp: { serverSide: number };
}
interface Ratio { value: number | null; met: boolean | null }
interface ClientTargets {
  replicatedPutsPerSec: number; singleNodePutsPerSec: number; replicatedVsSingle: Ratio; replicationLagP99Ms: Ratio;
  independentPutsPerSec: number; freeReplicationVsSingle: number; replicatedVsFreeReplication: number; ceilingVsSingle: number;
}

describe('benchmark scripts (smallest runs)', function () {
  this.timeout(180_000);

  it('bench:cluster runs the issue-3 suite: every write reaches both peers, and the targets follow from the figures', async () => {
    const report = await bench('run.ts', ['--suite', 'issue3', '--seconds', '1', '--sync', 'none']);
    const scenarios = report.scenarios as { id: string; workloads: Workload[] }[];
    assert.deepEqual(scenarios.map((s) => s.id), ['ringdb-3-replicated-none', 'ringdb-1-single-none', 'ringdb-3-independent-none']);
    for (const { id, workloads } of scenarios) {
      assert.equal(workloads.length, 2, `${id}: the unary and the batched client`);
      for (const w of workloads) {
        assert.equal(w.errors, 0, id);
        assert.ok(w.opsPerSec > 0, `${id}: ${w.opsPerSec} ops/s`);
        const c = w.nodeCounters;
        if (id.startsWith('ringdb-3-replicated')) {
          assert.ok(c.localPuts > 0);
          assert.equal(c.replicatedApplied, 2 * c.localPuts, `${id}: each write applied on both peers`);
          assert.ok(w.replicationLag && w.replicationLag.samples > 0 && w.replicationLag.notReplicated === 0, `${id}: lag measured for every write`);
        } else {
          assert.equal(c.opsSent, 0, `${id}: a single node ships nothing`);
          assert.equal(c.replicatedApplied, 0, `${id}: nothing reaches a node but the client's writes`);
        }
      }
    }
    const targets = (report.targets as Record<string, Record<string, ClientTargets>>)['sync=none'];
    for (const client of ['batched', 'unary']) {
      const t = targets[client];
      const ratio = t.replicatedPutsPerSec / t.singleNodePutsPerSec;
      assert.ok(Math.abs((t.replicatedVsSingle.value as number) - ratio) < 0.01, `${client}: ${t.replicatedVsSingle.value} against ${ratio}`);
      assert.equal(t.replicatedVsSingle.met, ratio >= 0.5);
      assert.equal(t.replicationLagP99Ms.met, (t.replicationLagP99Ms.value as number) < 100);
      const third = t.independentPutsPerSec / 3;
      assert.ok(Math.abs(t.freeReplicationVsSingle - third / t.singleNodePutsPerSec) < 0.01, `${client}: ${t.freeReplicationVsSingle}`);
      assert.ok(Math.abs(t.replicatedVsFreeReplication - t.replicatedPutsPerSec / third) < 0.01, `${client}: ${t.replicatedVsFreeReplication}`);
      const workload = (id: string): Workload => scenarios.find((s) => s.id === id)?.workloads.find((w) => (w.batchSize !== null) === (client === 'batched')) as Workload;
      const { cpu } = workload('ringdb-3-replicated-none');
      const ceiling = ((cpu.machineCores - cpu.coresUsed.client - cpu.otherCoresUsed) * 1e6) / (3 * workload('ringdb-1-single-none').cpuMicrosPerOp.serverSide);
      assert.ok(Math.abs(t.ceilingVsSingle - ceiling / t.singleNodePutsPerSec) < 0.01, `${client}: ceiling ${t.ceilingVsSingle} against ${ceiling / t.singleNodePutsPerSec}`);
    }
  });

  it('bench:restart restarts a node and the whole cluster and times them until a preloaded key is served', async () => {
    const report = await bench('restart.ts', ['--keys', '3000', '--repeats', '1']);
    const ringdb = report.ringdb as { n1Holds: { retainedLogOps: number; memtableEntries: number }; nodeRestarts: { servesMs: number }[]; clusterRestarts: { stopMs: number; servesMs: number }[] };
    assert.equal(ringdb.n1Holds.retainedLogOps, 3000, 'n1 logged every preloaded key');
    assert.equal(ringdb.nodeRestarts.length, 1);
    assert.equal(ringdb.clusterRestarts.length, 1);
    for (const r of [...ringdb.nodeRestarts, ...ringdb.clusterRestarts]) assert.ok(r.servesMs > 0 && r.servesMs < 60_000, `${r.servesMs} ms`);
    assert.equal(report.peer, null, 'no etcd asked for');
  });
});
