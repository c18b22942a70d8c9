// The extension test suite's entry, loaded by VS Code in the extension host (both launchers:
// test/run-code-server.mjs and test/run-electron.mjs). Runs every *.test.js beside it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';
import { reporterFor } from './reporter';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, grep: process.env.RINGDB_TEST_GREP });
  mocha.reporter(reporterFor(process.env.RINGDB_TEST_REPORT));
  // Files run in name order: the numbered prefixes give the cluster lifecycle its sequence.
  for (const f of readdirSync(__dirname).filter((n) => n.endsWith('.test.js')).sort()) mocha.addFile(join(__dirname, f));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      if (failures) reject(new Error(`${failures} extension test(s) failed`));
      else resolve();
    });
  });
}
