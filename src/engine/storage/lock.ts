// The data-folder lock: a LOCK file created exclusively and holding the owner's pid. A lock
// whose pid is no longer running was left by a crash (SIGKILL skips cleanup) and is taken
// over. Within one process a second open of the same folder is refused through a registry,
// since the pid in the file would be our own.

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

function readPid(fs: FileSystem, file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFile(file).toString('utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
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
          fs.write(fd, Buffer.from(`${process.pid}\n`), 0);
          fs.fsync(fd);
        } finally {
          fs.close(fd);
        }
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new LockedError(dir, readPid(fs, file));
          throw err;
        }
        const pid = readPid(fs, file);
        // An unreadable pid is a lock whose owner died between creating and filling it.
        if (pid !== undefined && pid !== process.pid && isRunning(pid)) throw new LockedError(dir, pid);
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
