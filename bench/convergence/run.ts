// Convergence benchmark: `npx tsx bench/convergence/run.ts [--keys 100000]`; prints JSON.
//
// 1. Merkle anti-entropy: two real node processes whose stores hold the same `keys` keys except
//    D of them (half newer on each side; only the stores differ, so pull sync cannot help), for
//    D = 1, 100, 10,000. One Repair round on n1: wall time seen by the caller, keys moved, bytes
//    on the wire, and the bytes of a full copy of the data for comparison.
// 2. Read cache: gets/s of the same hot keys against a node with cacheSize 0 and one with
//    cacheSize 100,000, in the same run, one after the other, over the same gRPC path.

import { unary } from '../../src/engine/rpc';
import type { Entry } from '../../src/engine/storage/types';
import { call, startPair, stopPair } from '../../src/engine/node/convergence/test-pair';

const args = process.argv.slice(2);
const KEYS = Number(args[args.indexOf('--keys') + 1] ?? 0) || 100_000;
const DIVERGENT = [1, 100, 10_000].filter((d) => d <= KEYS);
const HOT_KEYS = 1000;
const GETS = 20_000;
const CONCURRENCY = 64;

const keyOf = (i: number) => Buffer.from(`key-${String(i).padStart(7, '0')}`);
const base = (): Entry[] => Array.from({ length: KEYS }, (_, i) => ({ key: keyOf(i), value: Buffer.from(`value-${i}-${'x'.repeat(20)}`), ts: 1 + i, origin: 'seed' }));

async function repairRun(divergent: number): Promise<Record<string, number>> {
  const n1 = base();
  const n2 = base();
  for (let d = 0; d < divergent; d++) {
    const side = d % 2 === 0 ? n1 : n2;
    side.push({ key: keyOf(d * Math.floor(KEYS / divergent)), value: Buffer.from(`fresh-${d}`), ts: 10_000_000, origin: d % 2 === 0 ? 'n1' : 'n2' });
  }
  const fullCopyBytes = n1.reduce((n, e) => n + e.key.length + (e.value?.length ?? 0) + 8 + e.origin.length, 0);
  const pair = await startPair([n1, n2], { antiEntropyIntervalMs: 3_600_000 });
  try {
    const started = process.hrtime.bigint();
    const report = await call(pair, 0, (c) => c.repair, { peers: [] });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const r = report.peers[0];
    if (!r.ok) throw new Error(`repair failed: ${r.error}`);
    return {
      divergentKeys: divergent, repairMs: Math.round(ms), keysMoved: r.keysSent + r.keysReceived, bucketsCompared: r.bucketsCompared,
      rangesCompared: r.rangesCompared, bytesOnWire: r.bytesSent + r.bytesReceived, fullCopyBytes,
    };
  } finally {
    await stopPair(pair);
  }
}

async function getsPerSecond(cacheSize: number): Promise<Record<string, number>> {
  const hot: Entry[] = Array.from({ length: HOT_KEYS }, (_, i) => ({ key: keyOf(i), value: Buffer.from(`hot-${i}-${'y'.repeat(100)}`), ts: 1, origin: 'seed' }));
  const pair = await startPair([[...base(), ...hot.map((e) => ({ ...e, ts: KEYS + 10 }))]], { antiEntropyIntervalMs: 3_600_000, cacheSize });
  try {
    const node = pair.nodes[0];
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < GETS) {
        const i = next++;
        await unary(node.client, node.client.get, { key: keyOf(i % HOT_KEYS) }, { token: pair.token, timeoutMs: 30_000 });
      }
    }));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const s = await call(pair, 0, (c) => c.convergenceStats, {});
    return { cacheSize, gets: GETS, getsPerSecond: Math.round(GETS / seconds), cacheHits: s.cacheHits, cacheMisses: s.cacheMisses };
  } finally {
    await stopPair(pair);
  }
}

async function main(): Promise<void> {
  const repair = [];
  for (const d of DIVERGENT) repair.push(await repairRun(d));
  const cache = { uncached: await getsPerSecond(0), cached: await getsPerSecond(100_000) };
  process.stdout.write(`${JSON.stringify({ keys: KEYS, repair, cache }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
