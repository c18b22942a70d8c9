// Runs the same extension test suite in desktop VS Code through @vscode/test-electron 2.5, for
// machines that have it (it cannot download VS Code here: see ../shared/VSCODE-TESTING.md).
//   VSCODE_EXECUTABLE_PATH=/path/to/code node test/run-electron.mjs
import { runTests } from '@vscode/test-electron';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildSuite, root } from './harness/build-suite.mjs';
import { makeRunFolder } from './harness/code-server.mjs';
import { MARKER, endMarked } from './harness/processes.mjs';
import { followReport, readCounts, writeStats } from './harness/report.mjs';

const vscodeExecutablePath = process.env.VSCODE_EXECUTABLE_PATH;
if (!vscodeExecutablePath || !existsSync(vscodeExecutablePath)) {
  console.error(`run-electron: set VSCODE_EXECUTABLE_PATH to a desktop VS Code executable (got ${vscodeExecutablePath ?? 'nothing'}).`
    + '\nOn machines without one, run node test/run-code-server.mjs instead.');
  process.exit(2);
}
if (!existsSync(join(root, 'dist/extension.js'))) {
  console.error('run-electron: dist/extension.js is missing: run node esbuild.mjs first');
  process.exit(2);
}

const paths = makeRunFolder('ringdb-electron-');
let counts = { passes: 0, failures: 0, pending: 0 };
const stopFollowing = followReport(paths.report);
try {
  await runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath: root,
    extensionTestsPath: await buildSuite(),
    extensionTestsEnv: { RINGDB_TEST_REPORT: paths.report, [MARKER]: paths.dir, RINGDB_TEST_GREP: process.env.RINGDB_TEST_GREP ?? '' },
    launchArgs: [paths.workspace, '--disable-extensions', '--disable-workspace-trust',
      '--user-data-dir', paths.userData, '--extensions-dir', paths.extensions],
  });
} catch (err) {
  console.error(`run-electron: ${err instanceof Error ? err.message : err}`);
} finally {
  stopFollowing();
  counts = readCounts(paths.report);
  if (!counts.ended) counts.failures += 1;
  await endMarked(paths.dir);
  rmSync(paths.dir, { recursive: true, force: true });
}
writeStats(counts);
console.log(`\nextension (electron): ${counts.passes} passed, ${counts.failures} failed`);
process.exit(counts.failures ? 1 : 0);
