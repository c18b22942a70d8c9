// `ringdb` (dist/engine/cli.js): parse, run one command, print human text or --json, and exit
// with a code a script can branch on: 0 ok, 1 the operation failed, 2 bad usage or input,
// 3 no cluster running in the data folder.

import { ClusterSpecError, LaunchError, NoClusterError, RingDbError } from '../client';
import { downPhrase, readDownMarks } from '../cluster/down-file';
import { commandHelp, generalHelp, parseArgs, UsageError, type Parsed } from './args';
import { COMMANDS, EXIT, runCommand, type Io } from './commands';
import { CONVERGENCE_COMMANDS, isConvergenceCommand, runConvergenceCommand } from './convergence-commands';
import { forScripts } from './json-output';
import { isVectorCommand, runVectorCommand, VECTOR_COMMANDS } from './vector-commands';

const ALL_COMMANDS = [...COMMANDS, ...CONVERGENCE_COMMANDS, ...VECTOR_COMMANDS];

function print(json: boolean, text: string, value: unknown): void {
  if (json) process.stdout.write(`${JSON.stringify(forScripts(value))}\n`);
  else if (text) process.stdout.write(`${text}\n`);
}

/** `dir`: the --dir the command was given, which the advice to start must repeat or it names another folder. */
function failure(err: unknown, dir?: string): { code: number; message: string; kind: string } {
  if (err instanceof UsageError) {
    const help = err.command ? `; see \`ringdb ${err.command} --help\`` : '; see `ringdb --help`';
    return { code: EXIT.usage, message: `${err.message}${help}`, kind: 'usage' };
  }
  if (err instanceof ClusterSpecError) return { code: EXIT.usage, message: `invalid cluster spec:\n  ${err.message.split('\n').join('\n  ')}`, kind: 'invalid-spec' };
  if (err instanceof NoClusterError) return { code: EXIT.noCluster, message: noClusterMessage(err, dir), kind: 'no-cluster' };
  if (err instanceof RingDbError) {
    // NOT_FOUND only ever answers a node or partition the command named: the input was wrong.
    const badInput = err.code === 'invalid-argument' || err.code === 'not-found';
    return { code: badInput ? EXIT.usage : EXIT.failed, message: err.message, kind: err.code };
  }
  if (err instanceof LaunchError) return { code: EXIT.failed, message: err.message, kind: 'launch' };
  return { code: EXIT.failed, message: err instanceof Error ? err.message : String(err), kind: 'internal' };
}

/**
 * A folder whose controller crashed while nodes were killed on purpose: a plain `ringdb start`,
 * the advice for any folder without a cluster, would start them too, so the way back as it was
 * comes first. A record that cannot be read leaves the advice as it is (the start names it).
 */
function noClusterMessage(err: NoClusterError, dir: string | undefined): string {
  const withDir = dir === undefined ? '' : ` --dir ${/^[\w./-]+$/.test(dir) ? dir : JSON.stringify(dir)}`;
  const plain = err.message.replace(/`ringdb start`$/, `\`ringdb start${withDir}\``);
  let marks;
  try {
    marks = readDownMarks(err.dataDir);
  } catch {
    return plain;
  }
  const ids = Object.keys(marks);
  if (!ids.length) return plain;
  const said = ids.length === 1 ? `${ids[0]} was down on purpose (${downPhrase(marks[ids[0]])})`
    : `${ids.map((id) => `${id} (${downPhrase(marks[id])})`).join(', ')} were down on purpose`;
  const base = err.message.replace(/; start one with `ringdb start`$/, '');
  return `${base}; ${said}: \`ringdb start --resume${withDir}\` brings the cluster back as it was, with ${ids.join(', ')} still down; \`ringdb start${withDir}\` starts every node`;
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv, ALL_COMMANDS);
  } catch (err) {
    const f = failure(err);
    if (json) print(true, '', { error: f.kind, message: f.message });
    process.stderr.write(`ringdb: ${f.message}\n`);
    return f.code;
  }
  if (parsed.help) {
    const cmd = ALL_COMMANDS.find((c) => c.name === parsed.command);
    process.stdout.write(`${cmd ? commandHelp(cmd) : generalHelp(ALL_COMMANDS)}\n`);
    return EXIT.ok;
  }
  const io: Io = {
    progress: (line) => {
      if (!json) process.stderr.write(`${line}\n`);
    },
    line: (text, value) => print(json, text, value),
    interrupted: new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
    }),
  };
  try {
    const result = isConvergenceCommand(parsed.command) ? await runConvergenceCommand(parsed, io)
      : isVectorCommand(parsed.command) ? await runVectorCommand(parsed)
        : await runCommand(parsed, io);
    if (!json && result.notice) process.stderr.write(`ringdb: ${result.notice}\n`);
    if (result.code === EXIT.ok || !json) {
      if (result.code === EXIT.ok) print(json, result.human, result.json);
      else process.stderr.write(`ringdb: ${result.human}\n`);
    } else {
      print(true, '', result.json);
    }
    return result.code;
  } catch (err) {
    const dir = parsed.options.get('dir');
    const f = failure(err, typeof dir === 'string' ? dir : undefined);
    if (json) print(true, '', { error: f.kind, message: f.message });
    process.stderr.write(`ringdb: ${f.message}\n`);
    return f.code;
  }
}

/**
 * Exits once stdout and stderr have handed everything to the OS: writes to a pipe are
 * asynchronous, and exiting at once cut `ringdb get big | wc -c` at 64 KiB with exit code 0.
 * The exit itself is needed: gRPC channels and the SIGINT listener would keep the process alive.
 */
function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let pending = 2;
  // A reader that went away (`| head`) ends the wait too: what it did not read is not lost data.
  const done = (): void => void (--pending === 0 && process.exit(code));
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => undefined);
    stream.write('', done);
  }
}

main(process.argv.slice(2)).then(exitWhenFlushed, (err: unknown) => {
  process.stderr.write(`ringdb: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  exitWhenFlushed(EXIT.failed);
});
