// Starting a controller process, the way a language client starts its server: the extension owns
// the child (it dies when the extension closes its stdin), while `ringdb start` launches it
// detached so it outlives the CLI. Node processes always die with their controller.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { readTokenFile } from '../rpc/auth';
import { ControllerClient } from './controller-client';
import { LaunchError } from './errors';
import { CONTROLLER_LOG, findController, isProcessAlive, readStateFile, TOKEN_FILE } from './state-file';

export const CONTROLLER_READY = 'RINGDB_CONTROLLER_READY';

export interface LaunchOptions {
  /** Data folder of the cluster (created if missing); relative paths resolve against the cwd. */
  dataDir: string;
  /** The controller entry: dist/engine/controller.js, or src/engine/cluster/main.ts (run through tsx). */
  controllerScript?: string;
  /** The node entry the controller spawns; by default the one beside the controller script. */
  nodeScript?: string;
  /** Outlive this process (the CLI's `start`); output then goes to `<dataDir>/controller.log`. */
  detached?: boolean;
  /** Every line the controller prints besides its ready line (not called when detached). */
  onOutput?: (line: string) => void;
  readyTimeoutMs?: number;
  /** How often the controller asks each node for stats (and so how often `stats` events come). */
  statsIntervalMs?: number;
}

export interface ControllerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ControllerHandle {
  address: string;
  port: number;
  pid: number;
  /** Absolute data folder. */
  dataDir: string;
  token: string;
  client: ControllerClient;
  /** Resolves when the controller process has exited. */
  exited: Promise<ControllerExit>;
  /**
   * False for a controller someone else launched (`connectController`): its owner decides when it
   * ends, so a client that goes away only closes its connection (stop() still stops it).
   */
  launched: boolean;
  /** Stops the controller and with it every node; SIGKILL after `graceMs` (default 15 s). */
  stop(graceMs?: number): Promise<ControllerExit>;
}

/** The controller entry beside this module: bundled (dist/engine, dist/) or from sources. */
export function defaultControllerScript(): string {
  const candidates = [join(__dirname, 'controller.js'), join(__dirname, 'engine', 'controller.js'), join(__dirname, '..', 'cluster', 'main.ts')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new LaunchError(`cannot find the controller script (looked for ${candidates.join(', ')}); pass controllerScript or run \`npm run build\``);
  return found;
}

/** Node arguments to run `script`: TypeScript sources go through tsx, bundles run as they are. */
export function scriptArgs(script: string): string[] {
  return script.endsWith('.ts') ? ['--import', 'tsx', script] : [script];
}

/** Inside desktop VS Code, process.execPath is Electron: this makes it (and the nodes the controller
 *  spawns with the same executable and environment) run as plain Node, as language servers do. */
function nodeEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
}

function controllerArgs(opts: LaunchOptions, dataDir: string): string[] {
  const script = resolve(opts.controllerScript ?? defaultControllerScript());
  const args = [...scriptArgs(script), '--data-dir', dataDir];
  if (opts.nodeScript) args.push('--node-script', resolve(opts.nodeScript));
  if (opts.detached) args.push('--detached');
  if (opts.statsIntervalMs !== undefined) args.push('--stats-interval-ms', String(opts.statsIntervalMs));
  return args;
}

function exitOf(child: ChildProcess): Promise<ControllerExit> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => res({ code, signal }));
  });
}

async function waitFor<T>(what: string, timeoutMs: number, step: () => T | undefined, failed: () => string | undefined): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = step();
    if (v !== undefined) return v;
    const failure = failed();
    if (failure) throw new LaunchError(failure);
    if (Date.now() > until) throw new LaunchError(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function handle(dataDir: string, address: string, pid: number, exited: Promise<ControllerExit>, kill: (signal: NodeJS.Signals) => void,
  politeStop: () => void, launched = true): ControllerHandle {
  const token = readTokenFile(join(dataDir, TOKEN_FILE));
  const client = new ControllerClient({ address, token });
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return {
    address, port, pid, dataDir, token, client, exited, launched,
    async stop(graceMs = 15_000) {
      client.close();
      politeStop();
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Spawns a controller for `opts.dataDir` and resolves once it serves. */
export async function launchController(opts: LaunchOptions): Promise<ControllerHandle> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const args = controllerArgs(opts, dataDir);
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  return opts.detached ? launchDetached(dataDir, args, timeoutMs) : launchAttached(dataDir, args, timeoutMs, opts.onOutput);
}

async function launchAttached(dataDir: string, args: string[], timeoutMs: number, onOutput?: (line: string) => void): Promise<ControllerHandle> {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true, env: nodeEnv() });
  const exited = exitOf(child);
  let ready: { port: number; pid: number } | undefined;
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const recent: string[] = [];
  const onLine = (line: string): void => {
    if (!ready && line.startsWith(`${CONTROLLER_READY} `)) {
      try {
        ready = JSON.parse(line.slice(CONTROLLER_READY.length + 1)) as { port: number; pid: number };
        return;
      } catch {
        // Not our ready line after all: treat it as output.
      }
    }
    recent.push(line);
    if (recent.length > 20) recent.shift();
    onOutput?.(line);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  // The controller exits when this pipe closes; an EPIPE after it died is expected, not a crash.
  child.stdin!.on('error', () => undefined);
  let exit: ControllerExit | undefined;
  void exited.then((e) => (exit = e));
  try {
    const r = await waitFor('the controller ready line', timeoutMs, () => ready, () => {
      if (spawnError) return `cannot start the controller: ${spawnError.message}`;
      if (exit) return `the controller exited (${exit.signal ?? `code ${exit.code}`}) before serving:\n${recent.join('\n')}`;
      return undefined;
    });
    return handle(dataDir, `127.0.0.1:${r.port}`, child.pid!, exited, (s) => child.kill(s), () => child.stdin!.end());
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** Resolves once `pid` is gone: a process that is not our child has no exit event to wait on. */
function exitOfPid(pid: number, exitOf: () => ControllerExit = () => ({ code: null, signal: null })): Promise<ControllerExit> {
  return new Promise<ControllerExit>((res) => {
    const poll = setInterval(() => {
      if (!isProcessAlive(pid)) {
        clearInterval(poll);
        res(exitOf());
      }
    }, 100);
    poll.unref();
  });
}

/**
 * A handle on the controller already serving `dataDir` (`ringdb start`, another editor window),
 * from its state and token files: the same client API as a launched one. NoClusterError when
 * none serves. Its exit code is unknown (it is not our child): `exited` gives nulls.
 */
export function connectController(dataDir: string): ControllerHandle {
  const dir = resolve(dataDir);
  const { state } = findController(dir);
  const signal = (s: NodeJS.Signals): void => {
    if (isProcessAlive(state.pid)) process.kill(state.pid, s);
  };
  return handle(dir, state.address, state.pid, exitOfPid(state.pid), signal, () => signal('SIGTERM'), false);
}

/** The text a file gained past `offset` (at most 64 KiB of it). */
function appendedSince(file: string, offset: number): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const length = Math.min(64 * 1024, Math.max(0, fstatSync(fd).size - offset));
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, offset);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

async function launchDetached(dataDir: string, args: string[], timeoutMs: number): Promise<ControllerHandle> {
  const logFd = openSync(join(dataDir, CONTROLLER_LOG), 'a', 0o600);
  // Earlier runs' lines stay in the log: only what this one appends can say why it exited.
  const logStart = fstatSync(logFd).size;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { stdio: ['ignore', logFd, logFd], detached: true, windowsHide: true, env: nodeEnv() });
  } finally {
    closeSync(logFd);
  }
  child.unref();
  const pid = child.pid;
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  if (pid === undefined) throw new LaunchError('cannot start the controller process');
  const exited = exitOfPid(pid, () => ({ code: child.exitCode, signal: child.signalCode }));
  const state = await waitFor('the controller state file', timeoutMs, () => {
    try {
      const s = readStateFile(dataDir);
      return s.pid === pid ? s : undefined;
    } catch {
      return undefined;
    }
  }, () => {
    if (spawnError) return `cannot start the controller: ${spawnError.message}`;
    if (!isProcessAlive(pid) || child.exitCode !== null) {
      // Its last line says why (another start won the race for the folder, a bad argument …).
      const said = appendedSince(join(dataDir, CONTROLLER_LOG), logStart).split('\n').map((l) => l.trim()).filter(Boolean);
      const why = said.find((l) => l.startsWith('controller: ')) ?? said[0];
      return `the controller exited before serving${why ? `: ${why}` : ''}; see ${join(dataDir, CONTROLLER_LOG)}`;
    }
    return undefined;
  });
  const signal = (s: NodeJS.Signals): void => {
    if (isProcessAlive(pid)) process.kill(pid, s);
  };
  return handle(dataDir, state.address, pid, exited, signal, () => signal('SIGTERM'));
}

/**
 * Stops the controller that serves `dataDir`, whoever launched it (`ringdb stop`, or the editor
 * taking over a folder a CLI cluster serves): StopCluster stops its nodes, then SIGTERM ends it.
 * Resolves with the nodes it stopped once the process is gone; NoClusterError when none serves.
 */
export async function stopController(dataDir: string, graceMs = 15_000): Promise<{ stopped: string[]; notRunning: string[]; controllerPid: number }> {
  const { state, token } = findController(dataDir);
  const c = new ControllerClient({ address: state.address, token });
  let stopped: string[];
  let members: string[];
  try {
    members = (await c.describe()).nodes.map((n) => n.id);
    stopped = await c.stopCluster();
  } finally {
    c.close();
  }
  // Members already down (killed, crashed) are not in StopCluster's answer: named, not left out.
  const notRunning = members.filter((id) => !stopped.includes(id));
  if (isProcessAlive(state.pid)) process.kill(state.pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (isProcessAlive(state.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (isProcessAlive(state.pid)) throw new LaunchError(`the controller (pid ${state.pid}) did not exit after SIGTERM`);
  return { stopped, notRunning, controllerPid: state.pid };
}
