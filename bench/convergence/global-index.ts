// Global versus secondary index lookups: `npx tsx bench/convergence/global-index.ts [--docs 2000]`;
// prints JSON. 5 real node processes, N=3 R=2, `color` in both indexFields and globalIndexFields;
// `docs` JSON documents over docs/10 colors (10 keys each). The same lookups run once through the
// global index (one partition's R replicas read, each hit checked with a quorum read) and once
// through the secondary indexes (every node asked), sequentially, from one node.

import { IndexKind } from '../../src/engine/gen/ringdb/v1/convergence';
import { waitFor } from '../../src/engine/node/test-harness';
import { Nodes } from '../../src/engine/node/indexes/test-nodes';

const args = process.argv.slice(2);
const DOCS = Number(args[args.indexOf('--docs') + 1] ?? 0) || 2000;
const COLORS = Math.max(1, Math.floor(DOCS / 10));
const LOOKUPS = Math.min(COLORS, 200);

async function main(): Promise<void> {
  const c = await Nodes.start(5, 3, { indexFields: ['color'], globalIndexFields: ['color'] });
  try {
    const ids = c.ids();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < DOCS) {
        const i = next++;
        await c.put(ids[i % ids.length], `doc-${i}`, Buffer.from(JSON.stringify({ color: `c${i % COLORS}`, i })));
      }
    }));
    await waitFor('every entry delivered', async () => {
      for (const id of ids) if (((await c.callConv(id, (x) => x.convergenceStats, {})).globalIndex?.entriesPending ?? 1) > 0) return false;
      return true;
    }, 120_000);
    const result: Record<string, unknown> = { docs: DOCS, colors: COLORS, keysPerLookup: 10, lookups: LOOKUPS };
    for (const [name, kind] of [['global', IndexKind.INDEX_KIND_GLOBAL], ['secondary', IndexKind.INDEX_KIND_SECONDARY]] as const) {
      const started = process.hrtime.bigint();
      let nodes = 0;
      for (let v = 0; v < LOOKUPS; v++) {
        const r = await c.query('n1', 'color', `c${v}`, kind);
        if (r.keys.length !== 10) throw new Error(`${name} lookup of c${v} found ${r.keys.length} keys, expected 10`);
        nodes += r.nodes.length;
      }
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      result[name] = { msPerLookup: +(ms / LOOKUPS).toFixed(2), lookupsPerSecond: Math.round(LOOKUPS / (ms / 1000)), indexNodesAskedPerLookup: nodes / LOOKUPS };
    }
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await c.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
