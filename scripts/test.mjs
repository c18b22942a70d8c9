// `npm test`: protocol stubs, lint, typecheck, build, then every test suite.
// Ends with one line "tests: N passed, N failed" summing all suites; exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
const totals = { passes: 0, failures: 0, pending: 0 };
const failedSteps = [];

function run(name, cmd, args, env = {}) {
  if (only.length && !only.includes(name)) return true;
  const started = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const ok = r.status === 0;
  console.log(`=== ${name}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (!ok) failedSteps.push(name);
  return ok;
}

function suite(name, cmd, args, env = {}) {
  if (only.length && !only.includes(name)) return;
  const dir = mkdtempSync(join(tmpdir(), 'ringdb-stats-'));
  const statsFile = join(dir, 'stats.json');
  const ok = run(name, cmd, args, { ...env, RINGDB_TEST_STATS: statsFile });
  if (existsSync(statsFile)) {
    const s = JSON.parse(readFileSync(statsFile, 'utf8'));
    totals.passes += s.passes;
    totals.failures += s.failures;
    totals.pending += s.pending;
  } else if (!ok) {
    totals.failures += 1; // the suite died before reporting: count it as one failure
  }
  rmSync(dir, { recursive: true, force: true });
}

const npx = (bin, ...args) => ['npx', ['--no-install', bin, ...args]];

run('proto', 'node', ['scripts/proto.mjs']);
run('lint', ...npx('eslint', '--max-warnings', '0', '.'));
run('typecheck', ...npx('tsc', '-p', 'tsconfig.json'));
run('build', 'node', ['esbuild.mjs']);
suite('engine', ...npx('mocha', '--reporter', join(root, 'scripts/mocha-reporter.cjs')));
if (existsSync(join(root, 'test/run-code-server.mjs'))) suite('extension', 'node', ['test/run-code-server.mjs']);

const skipped = totals.pending ? `, ${totals.pending} skipped` : '';
if (failedSteps.length) console.log(`\nfailed steps: ${failedSteps.join(', ')}`);
console.log(`\ntests: ${totals.passes} passed, ${totals.failures} failed${skipped}`);
process.exit(failedSteps.length || totals.failures ? 1 : 0);
