// Running the bundled `ringdb` CLI as a user does, for the CLI test suites.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { engineBundles, tempDataDir } from '../cluster/test-support';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node <cli> ...args` in `cwd`; resolves with the exit code and output, never rejects. */
export function runCli(cli: string, cwd: string, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** The one JSON value a `--json` command prints. */
export function json<T>(r: CliRun): T {
  return JSON.parse(r.stdout) as T;
}

export interface CliSuite {
  /** The suite's temporary workspace (inside its hooks and tests). */
  readonly ws: { readonly dir: string };
  /** Runs the bundled CLI in `cwd`. */
  ringdb(cwd: string, ...args: string[]): Promise<CliRun>;
  /** Path of the bundled cli.js (for a test that spawns it itself). */
  cliPath(): string;
}

/**
 * The fixture every CLI suite shares, registered as hooks of the calling `describe`: the bundled
 * CLI and a temporary workspace before its tests, and afterwards a `ringdb stop` of whatever
 * cluster a failed test left running there, then the folder's removal.
 */
export function cliSuite(): CliSuite {
  let cli = '';
  let tmp: ReturnType<typeof tempDataDir> | undefined;
  const ringdb = (cwd: string, ...args: string[]): Promise<CliRun> => runCli(cli, cwd, ...args);
  const ws = {
    get dir(): string {
      if (!tmp) throw new Error('the CLI workspace exists only inside its suite');
      return tmp.dir;
    },
  };
  before(async () => {
    cli = (await engineBundles()).cli;
    tmp = tempDataDir();
  });
  after(async () => {
    if (!tmp) return;
    if (existsSync(join(tmp.dir, '.ringdb', 'data', 'cluster-state.json'))) await ringdb(tmp.dir, 'stop');
    tmp.remove();
  });
  return { ws, ringdb, cliPath: () => cli };
}
