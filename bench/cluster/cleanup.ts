// Every process the benchmark starts is stopped on every exit path: a normal end and a thrown
// error (the scenarios' finally blocks), SIGINT/SIGTERM/SIGHUP (the handlers below run the same
// stoppers), and process exit (a last synchronous SIGKILL of whatever is still registered).
// A SIGKILL of the benchmark itself cannot run handlers: the RingDB controller and its nodes then
// exit because their stdin pipe closes, and guard processes (below) kill each etcd member and
// remove the temp folders.

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

interface Resource {
  name: string;
  /** Graceful stop; must not throw. */
  stop: () => Promise<void>;
  /** Process ids to SIGKILL if the graceful stop never ran (or did not finish in time). */
  pids: () => number[];
  /** Folders to remove at the very end. */
  dirs: string[];
}

const resources = new Set<Resource>();
let installed = false;

export function killNow(pid: number): void {
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
  let stopping: Promise<void> | undefined;
  const r: Resource = {
    name,
    pids,
    dirs,
    stop: () => (stopping ??= (async () => {
      try {
        await stop();
      } catch (err) {
        process.stderr.write(`stopping ${name} failed: ${(err as Error).message}\n`);
        // Left registered: the exit path SIGKILLs whatever of it still runs.
        return;
      }
      // Not r.pids() after this: those processes are gone and their ids may be reused.
      resources.delete(r);
      for (const d of r.dirs) rmSync(d, { recursive: true, force: true });
    })()),
  };
  resources.add(r);
  return () => r.stop();
}

// Runs inside the guard process: when the benchmark's pipe closes, SIGKILLs the guarded pids,
// waits a moment for them to go, and removes the folders.
const GUARD_SOURCE = `
const { rmSync } = require('node:fs');
const { pids, dirs } = JSON.parse(process.argv[1]);
let done = false;
const finish = () => {
  if (done) return;
  done = true;
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  setTimeout(() => {
    for (const d of dirs) { try { rmSync(d, { recursive: true, force: true }); } catch {} }
    process.exit(0);
  }, 2000);
};
process.stdin.on('end', finish);
process.stdin.on('error', finish);
process.stdin.resume();
`;

/**
 * Starts a small process that, when this process dies however it dies (its stdin is a pipe from
 * us), SIGKILLs `pids` and removes `dirs`. Returns the guard's pid; stop it with the resource
 * (SIGKILL, so it does nothing) once the graceful stop has run.
 */
export function guardProcess(pids: number[], dirs: string[]): number {
  const guard = spawn(process.execPath, ['-e', GUARD_SOURCE, JSON.stringify({ pids, dirs })], { stdio: ['pipe', 'ignore', 'ignore'] });
  guard.stdin.on('error', () => undefined);
  // Neither the child nor its pipe may keep the benchmark alive.
  guard.unref();
  (guard.stdin as unknown as { unref?: () => void }).unref?.();
  if (guard.pid === undefined) throw new Error('cannot start a guard process');
  return guard.pid;
}
