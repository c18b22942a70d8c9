// The folder lock: one holder per folder within a process, a live holder in another process
// refuses the lock, and a lock left by a dead process is taken over.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LockedError } from './errors';
import { DirLock, LOCK_FILE } from './lock';
import { NodeFileSystem } from './node-fs';

describe('DirLock', () => {
  let dir: string;
  const fs = new NodeFileSystem();

  beforeEach(() => {
    dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'ringdb-lock-'));
  });

  afterEach(() => nodeFs.rmSync(dir, { recursive: true, force: true }));

  it('allows one holder per folder in a process, across file-system instances, until released', () => {
    const lock = DirLock.acquire(fs, dir);
    assert.equal(nodeFs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim(), String(process.pid));
    assert.throws(() => DirLock.acquire(new NodeFileSystem(), dir), (e: unknown) => e instanceof LockedError && e.holderPid === process.pid);
    lock.release();
    assert.equal(nodeFs.existsSync(path.join(dir, LOCK_FILE)), false);
    DirLock.acquire(fs, dir).release();
  });

  it('refuses a lock whose holder is alive in another process', () => {
    nodeFs.writeFileSync(path.join(dir, LOCK_FILE), `${process.ppid}\n`);
    assert.throws(() => DirLock.acquire(fs, dir), (e: unknown) => e instanceof LockedError && e.holderPid === process.ppid && /stop that process/.test(e.message));
  });

  it('takes over a lock left by a process that died, or an empty one', () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    nodeFs.writeFileSync(path.join(dir, LOCK_FILE), `${dead}\n`);
    DirLock.acquire(fs, dir).release();
    nodeFs.writeFileSync(path.join(dir, LOCK_FILE), '');
    DirLock.acquire(fs, dir).release();
  });
});
