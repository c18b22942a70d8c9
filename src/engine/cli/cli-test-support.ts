// Running the bundled `ringdb` CLI as a user does, for the CLI test suites.
import { execFile } from 'node:child_process';

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
