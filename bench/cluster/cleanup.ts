// Every process the benchmark starts is stopped on every exit path: a normal end and a thrown
// error (the scenarios' finally blocks), SIGINT/SIGTERM/SIGHUP (the handlers below run the same
// stoppers), and process exit (a last synchronous SIGKILL of whatever is still registered).
// A SIGKILL of the benchmark itself cannot run handlers: the RingDB controller and its nodes then
// exit because their stdin pipe closes, and each etcd member has a guard process that does the same.

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

interface Resource {
  name: string;
  /** Graceful stop; must not throw. */
  stop: () => Promise<void>;
  /** Process ids to SIGKILL if the graceful stop never ran. */
  pids: () => number[];
  /** Folders to remove at the very end. */
  dirs: string[];
}

const resources = new Set<Resource>();
let installed = false;

function killNow(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function forceCleanup(): void {
  for (const r of resources) {
    for (const pid of r.pids()) killNow(pid);
    for (const d of r.dirs) rmSync(d, { recursive: true, force: true });
  }
  resources.clear();
}

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping every process the benchmark started\n`);
    const timer = setTimeout(() => {
      forceCleanup();
      process.exit(130);
    }, 20_000);
    void Promise.all([...resources].map((r) => r.stop()))
      .finally(() => {
        clearTimeout(timer);
        forceCleanup();
        process.exit(130);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', forceCleanup);
}

/** Registers a resource; the returned function stops it gracefully and unregisters it. */
export function register(name: string, stop: () => Promise<void>, pids: () => number[], dirs: string[] = []): () => Promise<void> {
  const r: Resource = {
    name,
    pids,
    dirs,
    stop: async () => {
      try {
        await stop();
      } catch (err) {
        process.stderr.write(`stopping ${name} failed: ${(err as Error).message}\n`);
      }
    },
  };
  resources.add(r);
  return async () => {
    if (!resources.has(r)) return;
    await r.stop();
    for (const pid of r.pids()) killNow(pid);
    for (const d of r.dirs) rmSync(d, { recursive: true, force: true });
    resources.delete(r);
  };
}

// Runs inside the guard process: SIGKILLs the guarded pid when the benchmark's pipe closes.
const GUARD_SOURCE = `
const pid = Number(process.argv[1]);
const kill = () => { try { process.kill(pid, 'SIGKILL'); } catch {} process.exit(0); };
process.stdin.on('end', kill);
process.stdin.on('error', kill);
process.stdin.resume();
setInterval(() => { try { process.kill(pid, 0); } catch { process.exit(0); } }, 1000);
`;

/**
 * Starts a small process that SIGKILLs `pid` when this process dies, however it dies (its stdin
 * is a pipe from us). Returns the guard's pid so it can be stopped with the resource.
 */
export function guardProcess(pid: number): number {
  const guard = spawn(process.execPath, ['-e', GUARD_SOURCE, String(pid)], { stdio: ['pipe', 'ignore', 'ignore'] });
  guard.stdin.on('error', () => undefined);
  // Neither the child nor its pipe may keep the benchmark alive.
  guard.unref();
  (guard.stdin as unknown as { unref?: () => void }).unref?.();
  if (guard.pid === undefined) throw new Error(`cannot start the guard process for pid ${pid}`);
  return guard.pid;
}
