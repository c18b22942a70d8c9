// Renders a bench/cluster JSON report as the Markdown tables of the README.
// Usage: node --import tsx bench/cluster/table.ts report.json

import { readFileSync } from 'node:fs';
import type { ScenarioResult } from './scenarios';
import type { ClientTargets } from './targets';

interface Report {
  startedAt: string;
  machine: { cpus: number; loadAvg1mAtStart: number };
  engine?: { bundlesBuiltFrom?: string };
  etcd: string | null;
  scenarios: ScenarioResult[];
  targets: Record<string, Record<string, ClientTargets>>;
}

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : String(v));

function main(): void {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: table.ts <report.json>\n');
    process.exit(2);
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
  const out: string[] = [];
  out.push(`Run ${r.startedAt}, engine build: ${r.engine?.bundlesBuiltFrom ?? '?'}, ${r.etcd ?? 'no etcd'}, ${r.machine.cpus} cores, load average ${r.machine.loadAvg1mAtStart} at start.`, '');
  out.push('| scenario | workload | ops/s | ops/s until on every replica | p50 ms | p99 ms | lag p50 / p99 ms | final lag ms | polled lag p99 ms (resolution) | CPU µs/op (server side) | our cores | other work (cores) |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of r.scenarios) {
    for (const w of s.workloads) {
      const lag = w.replicationLag;
      out.push(`| ${s.id} | ${w.workload} | ${w.opsPerSec} | ${fmt(w.opsPerSecReplicated)} | ${fmt(w.latencyMs.p50)} | ${fmt(w.latencyMs.p99)} | ${lag ? `${fmt(lag.p50Ms)} / ${fmt(lag.p99Ms)}` : '–'} | ${fmt(lag?.finalLagMs)} | ${lag?.polled ? `${fmt(lag.polled.p99Ms)} (${fmt(lag.polled.effectivePollMs)})` : '–'} | ${fmt(w.cpuMicrosPerOp.all)} (${fmt(w.cpuMicrosPerOp.serverSide)}) | ${w.cpu.totalCoresUsed} | ${fmt(w.cpu.otherCoresUsed)} |`);
    }
  }
  out.push('', '| sync | client | replicated/single (>= 0.5) | replicated/etcd (>= 10) | lag p99 ms (< 100) | with replication free: (independent ÷ 3)/single | replicated/(independent ÷ 3) | ceiling: each copy at the single node’s CPU per put |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [sync, perClient] of Object.entries(r.targets)) {
    for (const [client, t] of Object.entries(perClient)) {
      const mark = (met: boolean | null): string => (met === null ? '' : met ? ' ✓' : ' ✗');
      out.push(`| ${sync} | ${client} | ${fmt(t.replicatedVsSingle.value)}${mark(t.replicatedVsSingle.met)} | ${fmt(t.replicatedVsEtcd.value)}${mark(t.replicatedVsEtcd.met)} | ${fmt(t.replicationLagP99Ms.value)}${mark(t.replicationLagP99Ms.met)} | ${fmt(t.freeReplicationVsSingle)} | ${fmt(t.replicatedVsFreeReplication)} | ${fmt(t.ceilingVsSingle)} |`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main();
