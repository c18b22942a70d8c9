// Starts the pinned code-server (tools/code-server) on a free loopback port with every folder
// it writes (XDG dirs, user data, extensions) inside one temporary run folder.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MARKER } from './processes.mjs';
import { root } from './build-suite.mjs';

export const codeServerEntry = join(root, 'tools/code-server/node_modules/code-server/out/node/entry.js');

/** A fresh run folder: xdg/, user-data/ (with quiet settings), extensions/, workspace/. */
export function makeRunFolder(prefix = 'ringdb-vscode-') {
  return runFolder(mkdtempSync(join(tmpdir(), prefix)));
}

/** The same layout in `dir` (kept between runs: `npm start` uses .ringdb/editor). */
export function runFolder(dir) {
  const paths = {
    dir,
    xdg: join(dir, 'xdg'),
    userData: join(dir, 'user-data'),
    extensions: join(dir, 'extensions'),
    workspace: join(dir, 'workspace'),
    report: join(dir, 'report.jsonl'),
    logs: join(dir, 'code-server.log'),
  };
  for (const p of [paths.xdg, paths.extensions, paths.workspace, join(paths.userData, 'User')]) mkdirSync(p, { recursive: true });
  writeFileSync(join(paths.userData, 'User/settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'extensions.ignoreRecommendations': true,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'security.workspace.trust.enabled': false,
    'window.restoreWindows': 'none',
    'workbench.colorTheme': 'Default Dark Modern',
  }, null, 2));
  return paths;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts code-server and resolves once /healthz answers. Its own process group (detached) so
 * that stop() reaches the extension host and everything below it; env gets the run marker.
 * With `logFd` (an open file) its output goes there and this process may exit while it runs on.
 */
export async function startCodeServer(paths, { env = {}, folder = paths.workspace, logStream, logFd, port: wanted } = {}) {
  if (!existsSync(codeServerEntry)) {
    throw new Error(`code-server is not installed (${codeServerEntry} missing): run bash scripts/install-vscode-host.sh`);
  }
  const port = wanted ?? await freePort();
  const args = [codeServerEntry, '--config', '/dev/null', '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--user-data-dir', paths.userData, '--extensions-dir', paths.extensions, folder];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(paths.xdg, 'config'),
      XDG_DATA_HOME: join(paths.xdg, 'data'),
      XDG_CACHE_HOME: join(paths.xdg, 'cache'),
      [MARKER]: paths.dir,
      ...env,
    },
  });
  if (logStream && logFd === undefined) { child.stdout.pipe(logStream); child.stderr.pipe(logStream); }
  let exited = null;
  child.once('exit', (code, signal) => { exited = { code, signal }; });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`code-server exited before it was ready (${JSON.stringify(exited)}); see ${paths.logs}`);
    if (Date.now() > until) throw new Error(`code-server did not answer ${url}/healthz within 60 s; see ${paths.logs}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (logFd !== undefined) child.unref();
  return {
    url,
    port,
    child,
    /** Ends the whole process group: SIGTERM, then SIGKILL after a grace period. */
    async stop(graceMs = 3000) {
      if (exited) return;
      try { process.kill(-child.pid, 'SIGTERM'); } catch { return; }
      const deadline = Date.now() + graceMs;
      while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    },
  };
}

/** The workbench URL that opens `folder` with an extension under development and, optionally, its tests. */
export function workbenchUrl(server, folder, { extensionPath, testsPath } = {}) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [];
  if (extensionPath) payload.push(['extensionDevelopmentPath', remote(extensionPath)]);
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  const q = new URLSearchParams({ folder });
  if (payload.length) q.set('payload', JSON.stringify(payload));
  return `${server.url}/?${q}`;
}
