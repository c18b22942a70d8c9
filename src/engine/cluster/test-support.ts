// Test support for process tests: bundles the controller, node and CLI entries once per test run
// (as `npm run build` does), so each spawned process starts in milliseconds instead of compiling
// TypeScript, and gives each test a fresh data folder that is removed on every exit path.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { build } from 'esbuild';
import { placementKeyOf } from '../codec/stored-key';
import * as pb from '../gen/ringdb/v1/node';
import { clientArgs, openStream, unary } from '../rpc/client';

export interface Bundles {
  controller: string;
  node: string;
  cli: string;
  router: string;
}

let bundles: Promise<Bundles> | undefined;

/** Bundles the three process entries into one temp folder (the controller finds node.js beside it). */
export function engineBundles(): Promise<Bundles> {
  bundles ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'ringdb-bundle-'));
    process.on('exit', () => rmSync(out, { recursive: true, force: true }));
    const src = join(__dirname, '..');
    const entries = { controller: join(src, 'cluster', 'main.ts'), node: join(src, 'node', 'main.ts'), cli: join(src, 'cli', 'main.ts'), router: join(src, 'client', 'router-main.ts') };
    await build({
      entryPoints: entries, outdir: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'error',
    });
    return { controller: join(out, 'controller.js'), node: join(out, 'node.js'), cli: join(out, 'cli.js'), router: join(out, 'router.js') };
  })();
  return bundles;
}

export function tempDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ringdb-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls until `pid` no longer exists; false if it still does after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves with the first value `probe` returns within `timeoutMs`, else rejects naming `what`. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`${what} did not happen within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The partition keys a node stores (live rows), read on that node alone with ExportRange over the whole ring. */
export async function storedPartitionKeys(address: string, token: string): Promise<Set<string>> {
  const raw = new pb.NodeServiceClient(...clientArgs(address));
  const call: ClientReadableStream<pb.ExportRangeResponse> = openStream(raw, raw.exportRange,
    { partitionIds: [], ranges: [{ start: Buffer.alloc(20), end: Buffer.alloc(0), endIsOpen: true }], batchSize: 1000 }, { token });
  const keys = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      call.on('data', (m: pb.ExportRangeResponse) => {
        for (const e of m.entries) if (!e.deleted) keys.add(placementKeyOf(Buffer.from(e.key)).toString());
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
  } finally {
    raw.close();
  }
  return keys;
}

/** A node's partitioning counters (hints held, delivered, expired ...), read from its Stats. */
export async function partitionStats(address: string, token: string): Promise<pb.PartitionStats> {
  const raw = new pb.NodeServiceClient(...clientArgs(address));
  try {
    const res = await unary(raw, raw.stats, {}, { token, timeoutMs: 10_000 });
    if (!res.stats?.partitioning) throw new Error(`${address} answered Stats without partitioning counters`);
    return res.stats.partitioning;
  } finally {
    raw.close();
  }
}
