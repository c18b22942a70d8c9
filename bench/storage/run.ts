// bench/storage: RingDB's LSM store against classic-level (LevelDB) and lmdb, in one run.
// Each engine runs in its own process; prints one JSON document with ops/s, RingDB's ratio to
// each peer per workload, and peak RSS. Usage: npm run bench:storage [-- --ops 500000]
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ENGINE_NAMES } from './engines';

const opsIndex = process.argv.indexOf('--ops');
const ops = opsIndex >= 0 ? process.argv[opsIndex + 1] : '500000';

interface WorkerResult {
  engine: string;
  ops: number;
  opsPerSec: Record<string, number>;
  peakRssMiB: number;
}

const results: Record<string, WorkerResult> = {};
for (const engine of ENGINE_NAMES) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'worker.ts'), '--engine', engine, '--ops', ops], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) {
    console.error(`bench worker for ${engine} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  results[engine] = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as WorkerResult;
}

const ours = results.ringdb.opsPerSec;
const ratios: Record<string, Record<string, number>> = {};
for (const peer of ENGINE_NAMES.filter((e) => e !== 'ringdb')) {
  ratios[`ringdb/${peer}`] = Object.fromEntries(
    Object.keys(ours).map((w) => [w, Number((ours[w] / results[peer].opsPerSec[w]).toFixed(2))]),
  );
}

const report = {
  benchmark: 'storage',
  keyBytes: 16,
  valueBytes: 100,
  ops: Number(ops),
  durability: 'OS-buffered writes, no fsync (ringdb sync=none, classic-level sync=false, lmdb noSync)',
  machine: { cpus: cpus().length, node: process.version },
  opsPerSec: Object.fromEntries(ENGINE_NAMES.map((e) => [e, roundAll(results[e].opsPerSec)])),
  ratios,
  peakRssMiB: Object.fromEntries(ENGINE_NAMES.map((e) => [e, results[e].peakRssMiB])),
};
console.log(JSON.stringify(report, null, 2));

function roundAll(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)]));
}
