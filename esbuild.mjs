// One build script for every bundle: the extension (vscode external) and each engine process.
// `node esbuild.mjs --watch` rebuilds on change; `--metafile` prints bundle sizes.
import * as esbuild from 'esbuild';
import { existsSync, statSync } from 'node:fs';

const watch = process.argv.includes('--watch');

/** Bundles to build: [entry, outfile, externals]. An engine entry that does not exist yet is an error. */
// The extension loads the engine client (gRPC and all) only when a cluster starts: it is a bundle
// of its own, so activation parses a small file. The extension's import of it stays a runtime require.
const engineClientAsSibling = {
  name: 'engine-client-as-sibling',
  setup(build) {
    build.onResolve({ filter: /^@ringdb\/engine\/client$/ }, () => ({ path: './engine-client.js', external: true }));
  },
};

const bundles = [
  { entry: 'src/extension/extension.ts', out: 'dist/extension.js', external: ['vscode'], plugins: [engineClientAsSibling] },
  { entry: 'src/engine/client/index.ts', out: 'dist/engine-client.js' },
  { entry: 'src/engine/node/main.ts', out: 'dist/engine/node.js' },
  { entry: 'src/engine/cluster/main.ts', out: 'dist/engine/controller.js' },
  { entry: 'src/engine/cli/main.ts', out: 'dist/engine/cli.js' },
  { entry: 'src/engine/client/router-main.ts', out: 'dist/engine/router.js' },
].filter((b) => existsSync(b.entry));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  minify: !watch,
  keepNames: true,
  logLevel: 'warning',
};

if (watch) {
  const contexts = await Promise.all(bundles.map((b) =>
    esbuild.context({ ...common, entryPoints: [b.entry], outfile: b.out, external: b.external ?? [], plugins: b.plugins ?? [] })));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`watching ${bundles.length} bundles`);
} else {
  await Promise.all(bundles.map((b) =>
    esbuild.build({ ...common, entryPoints: [b.entry], outfile: b.out, external: b.external ?? [], plugins: b.plugins ?? [] })));
  for (const b of bundles) console.log(`${b.out.padEnd(28)} ${(statSync(b.out).size / 1024).toFixed(1)} KiB`);
}
