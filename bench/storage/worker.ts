// One engine, every workload, in a process of its own (so peak RSS is the engine's own).
// Prints one JSON line with ops/s per workload; progress goes to stderr.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../lib/zipf';
import { ENGINE_NAMES, openEngine, type BenchEngine, type EngineName } from './engines';

const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const BATCH = 1000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Seeded, so every engine sees the same key order. */
function prng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

function keyOf(i: number): Buffer {
  return Buffer.from(`k${i.toString().padStart(KEY_BYTES - 1, '0')}`, 'latin1');
}

function shuffled(n: number, rand: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** A pool of random (incompressible) values, so no engine profits from compression. */
function valuePool(rand: () => number): Buffer[] {
  return Array.from({ length: 1024 }, () => {
    const b = Buffer.allocUnsafe(VALUE_BYTES);
    for (let i = 0; i < VALUE_BYTES; i++) b[i] = (rand() * 256) | 0;
    return b;
  });
}

function progress(label: string, done: number, total: number): void {
  if (done % 50_000 === 0 || done === total) process.stderr.write(`\r  ${label} ${done}/${total}   `);
}

async function timed(label: string, ops: number, body: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await body();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stderr.write(`\r  ${label}: ${(ops / seconds).toFixed(0)} ops/s (${seconds.toFixed(2)} s)\n`);
  return ops / seconds;
}

async function withDb<T>(name: EngineName, body: (db: BenchEngine) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const db = await openEngine(name, dir);
  try {
    return await body(db);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const engine = arg('engine', 'ringdb') as EngineName;
  if (!ENGINE_NAMES.includes(engine)) throw new Error(`--engine must be one of ${ENGINE_NAMES.join(', ')}, got ${engine}`);
  const n = Number(arg('ops', '500000'));
  const rand = prng(42);
  const values = valuePool(rand);
  const order = shuffled(n, rand);
  const readOrder = shuffled(n, prng(7));
  const result: Record<string, number> = {};
  process.stderr.write(`${engine}:\n`);

  await withDb(engine, async (db) => {
    result.fillseq = await timed('fillseq', n, async () => {
      for (let i = 0; i < n; i++) {
        await db.put(keyOf(i), values[i & 1023]);
        progress('fillseq', i + 1, n);
      }
    });
  });

  await withDb(engine, async (db) => {
    result.fillrandom = await timed('fillrandom', n, async () => {
      for (let i = 0; i < n; i++) {
        await db.put(keyOf(order[i]), values[i & 1023]);
        progress('fillrandom', i + 1, n);
      }
    });
    result.readrandom = await timed('readrandom', n, async () => {
      let found = 0;
      for (let i = 0; i < n; i++) {
        if ((await db.get(keyOf(readOrder[i]))) !== undefined) found++;
        progress('readrandom', i + 1, n);
      }
      if (found !== n) throw new Error(`${engine} readrandom found ${found} of ${n} keys`);
    });
    result.scan = await timed('scan', n, async () => {
      const seen = await db.scanAll();
      if (seen !== n) throw new Error(`${engine} scan saw ${seen} of ${n} entries`);
    });
    result.mixed = await timed('mixed 50/50', n, async () => {
      const mix = prng(99);
      for (let i = 0; i < n; i++) {
        const k = keyOf(readOrder[(i * 7) % n]);
        if (mix() < 0.5) await db.get(k);
        else await db.put(k, values[i & 1023]);
        progress('mixed', i + 1, n);
      }
    });
  });

  await withDb(engine, async (db) => {
    result.fillrandomBatch = await timed(`fillrandom batch ${BATCH}`, n, async () => {
      for (let i = 0; i < n; i += BATCH) {
        const batch: Array<[Buffer, Buffer]> = [];
        for (let j = i; j < Math.min(n, i + BATCH); j++) batch.push([keyOf(order[j]), values[j & 1023]]);
        await db.putBatch(batch);
        progress('fillrandom batch', Math.min(n, i + BATCH), n);
      }
    });
  });

  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ engine, ops: n, opsPerSec: result, peakRssMiB: Math.round(peakRssMiB) }) + '\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
