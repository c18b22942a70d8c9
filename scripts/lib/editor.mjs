// RingDB in a real VS Code, shared by `npm start` (code-server left running in the background,
// state in .ringdb/editor) and `npm run demo` (in the foreground until Ctrl-C, state in a
// temporary folder): package the extension, install the .vsix into the pinned code-server,
// write a sample workspace with a cluster spec, start code-server, check its URL answers, stop it.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeServerEntry, startCodeServer } from '../../test/harness/code-server.mjs';
import { endMarked, markedProcesses } from '../../test/harness/processes.mjs';

export const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const INSTALL_CODE_SERVER = 'bash scripts/install-vscode-host.sh';
/** Where `npm start` keeps code-server's folders, its log, pid and URL files, and the sample workspace. */
export const EDITOR_DIR = join(root, '.ringdb', 'editor');
const PID_FILE = 'code-server.pid';
const URL_FILE = 'code-server.url';

export const codeServerInstalled = () => existsSync(codeServerEntry);

/** Runs a step of a script; a failure ends the script with what failed. */
export function step(prefix, title, cmd, args, env = {}) {
  console.log(`${prefix}: ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`${prefix}: "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}); fix that first.`);
    process.exit(1);
  }
}

/** Packages dist/ and media/ (what .vscodeignore lets through) into `vsix`, offline. */
export function packageExtension(prefix, vsix) {
  step(prefix, `packaging the extension into ${vsix.replace(`${root}/`, '')}`, 'npx',
    ['--no-install', 'vsce', 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', vsix]);
}

/** Installs `vsix` into the code-server folders of `paths` (replacing an older RingDB there). */
export function installExtension(prefix, paths, vsix) {
  // --config /dev/null and the XDG folders keep code-server from writing into the home folder.
  step(prefix, 'installing it into code-server', process.execPath, [codeServerEntry, '--config', '/dev/null', '--install-extension', vsix,
    '--force', '--extensions-dir', paths.extensions, '--user-data-dir', paths.userData], xdgEnv(paths));
}

const xdgEnv = (paths) => ({ XDG_CONFIG_HOME: join(paths.xdg, 'config'), XDG_DATA_HOME: join(paths.xdg, 'data'), XDG_CACHE_HOME: join(paths.xdg, 'cache') });

const SAMPLE_SPEC = `// RingDB cluster spec of the sample workspace: edit it, then run "RingDB: Start Cluster".
{
  // Three node processes, n1..n3, each with its own port and data folder under dataDir.
  "nodes": 3,
  "dataDir": ".ringdb/data",
  // Every key on every node; a write needs 2 acknowledgements, a read 2 answers.
  "replicationFactor": 3, "writeQuorum": 2, "readQuorum": 2,
  "heartbeatIntervalMs": 500,
  // JSON values with these fields can be found with "RingDB: Query Index".
  "indexFields": ["color"]
}
`;

const SAMPLE_README = `# RingDB sample workspace

1. Open the RingDB view (the ring icon in the activity bar) and click **Start Local Cluster**.
2. F1 → **RingDB: Put** (key \`user:1\`, value \`{"name":"Ada","color":"red"}\`), then **RingDB: Get**
   \`user:1\`: the value, its version and which replicas answered.
3. F1 → **RingDB: Query Index**, field \`color\`, value \`red\`: every key whose JSON value matches.
4. F1 → **RingDB: Open Replication Log** to watch writes replicate; **RingDB: Kill Node** on n3,
   write again, then **RingDB: Restart Node** and see it catch up.
5. **RingDB: Compact Node** and watch the SSTables view change.
`;

/** A workspace with a commented cluster spec (the extension's schema validates it); an edited one is kept. */
export function writeSampleWorkspace(dir) {
  mkdirSync(join(dir, '.ringdb'), { recursive: true });
  const spec = join(dir, '.ringdb', 'cluster.json');
  if (!existsSync(spec)) writeFileSync(spec, SAMPLE_SPEC);
  writeFileSync(join(dir, 'README.md'), SAMPLE_README);
  return dir;
}

/** Starts code-server on `workspace`; resolves with the URL to open once the workbench page answers. */
export async function openEditor(paths, workspace, { port, logStream, background = false } = {}) {
  const logFd = background ? openSync(paths.logs, 'a') : undefined;
  try {
    const server = await startCodeServer(paths, { folder: workspace, logStream, logFd, port });
    const url = `${server.url}/?folder=${encodeURIComponent(workspace)}`;
    const res = await fetch(url);
    if (!res.ok) {
      await server.stop();
      throw new Error(`code-server answered ${url} with HTTP ${res.status}; see ${paths.logs}`);
    }
    if (background) {
      writeFileSync(join(paths.dir, PID_FILE), `${server.child.pid}\n`);
      writeFileSync(join(paths.dir, URL_FILE), `${url}\n`);
    }
    return { server, url };
  } finally {
    if (logFd !== undefined) closeSync(logFd);
  }
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Ends a background code-server of `dir` (its whole process group: the extension host, and with
 * it any controller and node it started) and anything else carrying the folder's marker.
 * Returns the pid it stopped, if one ran.
 */
export async function stopEditor(dir = EDITOR_DIR, graceMs = 5000) {
  const pidFile = join(dir, PID_FILE);
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined;
  let stopped;
  if (pid && alive(pid)) {
    try { process.kill(-pid, 'SIGTERM'); } catch { /* already gone */ }
    const until = Date.now() + graceMs;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    try { process.kill(-pid, 'SIGKILL'); } catch { /* ended in time */ }
    stopped = pid;
  }
  if (markedProcesses(dir).length) await endMarked(dir);
  rmSync(pidFile, { force: true });
  rmSync(join(dir, URL_FILE), { force: true });
  return stopped;
}
