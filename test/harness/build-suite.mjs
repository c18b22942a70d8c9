// Compiles the extension test suite (test/suite/**/*.ts) to CommonJS under out/test/suite,
// one file per entry so mocha can add each test file. The extension host resolves `vscode`
// itself, and mocha stays a real node_modules package (its CommonJS build, since mocha 12's
// main entry is an ES module).
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const suiteOut = join(root, 'out/test/suite');

const mochaCjs = {
  name: 'mocha-cjs',
  setup(build) {
    build.onResolve({ filter: /^mocha$/ }, () => ({ path: 'mocha/lib/mocha.cjs', external: true }));
  },
};

/** Builds the suite and returns the path of its entry (index.js exporting run()). */
export async function buildSuite() {
  const dir = join(root, 'test/suite');
  const entries = readdirSync(dir).filter((f) => f === 'index.ts' || f.endsWith('.test.ts')).map((f) => join(dir, f));
  rmSync(suiteOut, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: entries,
    outdir: suiteOut,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode'],
    plugins: [mochaCjs],
    logLevel: 'warning',
  });
  return join(suiteOut, 'index.js');
}
