// The data-folder lock: a LOCK file created exclusively and holding the owner's pid and, where
// /proc tells it, the owner's start time. A lock whose pid is no longer running was left by a
// crash (SIGKILL skips cleanup) and is taken over; so is one whose pid now belongs to another
// process (a reboot or a container restart reuses pids: such a lock held a node waiting 30 s
// for "process 1" and then failed its start). Within one process a second open of the same
// folder is refused through a registry, since the pid in the file would be our own.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LockedError } from './errors';
import { NodeFileSystem } from './node-fs';
import type { FileSystem } from './types';

export const LOCK_FILE = 'LOCK';

/** Folders this process holds, per file system: every NodeFileSystem shares the real disk, a simulated one has its own namespace. */
const held = new WeakMap<object, Set<string>>();
const REAL_DISK = {};

function heldBy(fs: FileSystem): Set<string> {
  const key = fs instanceof NodeFileSystem ? REAL_DISK : fs;
  let set = held.get(key);
  if (!set) held.set(key, (set = new Set()));
  return set;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When `pid` started (clock ticks since boot, /proc/<pid>/stat field 22); undefined where there is no /proc. */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The holder a LOCK file names: its pid, and its start time when it was written with one. */
function readHolder(fs: FileSystem, file: string): { pid: number | undefined; started: string | undefined } {
  try {
    const [pidText, started] = fs.readFile(file).toString('utf8').trim().split(/\s+/);
    const pid = Number.parseInt(pidText, 10);
    return { pid: Number.isSafeInteger(pid) && pid > 0 ? pid : undefined, started };
  } catch {
    return { pid: undefined, started: undefined };
  }
}

/** Whether `pid` runs Node.js (a RingDB process), where /proc tells; undefined where it does not. */
function runsNode(pid: number): boolean | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => /(^|\/)node(js)?(\d+)?$/.test(a) || a.endsWith('.js'));
  } catch {
    return undefined;
  }
}

/**
 * Whether the process the lock names still runs: the same pid, and the same start time when the
 * lock has one (a lock without, written by hand or by an older RingDB, counts only a Node.js process).
 */
function holderRuns(holder: { pid: number | undefined; started: string | undefined }): boolean {
  if (holder.pid === undefined || holder.pid === process.pid || !isRunning(holder.pid)) return false;
  if (holder.started === undefined) return runsNode(holder.pid) ?? true;
  const now = processStartTicks(holder.pid);
  return now === undefined || now === holder.started;
}

export class DirLock {
  private released = false;

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
  ) {}

  /** Takes the lock on `dir` or throws LockedError naming the holder. */
  static acquire(fs: FileSystem, dir: string): DirLock {
    const key = path.resolve(dir);
    const mine = heldBy(fs);
    if (mine.has(key)) throw new LockedError(dir, process.pid);
    const file = path.join(dir, LOCK_FILE);
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = fs.open(file, 'wx');
        try {
          const started = processStartTicks(process.pid);
          fs.write(fd, Buffer.from(started === undefined ? `${process.pid}\n` : `${process.pid} ${started}\n`), 0);
          fs.fsync(fd);
        } finally {
          fs.close(fd);
        }
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new LockedError(dir, readHolder(fs, file).pid);
          throw err;
        }
        const holder = readHolder(fs, file);
        // An unreadable pid is a lock whose owner died between creating and filling it.
        if (holderRuns(holder)) throw new LockedError(dir, holder.pid);
        fs.unlink(file);
      }
    }
    mine.add(key);
    return new DirLock(fs, dir);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    heldBy(this.fs).delete(path.resolve(this.dir));
    try {
      this.fs.unlink(path.join(this.dir, LOCK_FILE));
    } catch {
      // Already gone (a simulated crash dropped it): nothing left to release.
    }
  }
}

/** Forgets every lock this process holds on `fs`: a simulated machine crash kills their holders. */
export function forgetLocks(fs: FileSystem): void {
  held.delete(fs);
}
