// The folder lock: one holder per folder within a process, a live holder in another process
// refuses the lock, and a lock left by a dead process is taken over.

import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LockedError } from './errors';
import { DirLock, LOCK_FILE, processStartTicks } from './lock';
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
    assert.equal(nodeFs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim(), `${process.pid} ${processStartTicks(process.pid)}`);
    assert.throws(() => DirLock.acquire(new NodeFileSystem(), dir), (e: unknown) => e instanceof LockedError && e.holderPid === process.pid);
    lock.release();
    assert.equal(nodeFs.existsSync(path.join(dir, LOCK_FILE)), false);
    DirLock.acquire(fs, dir).release();
  });

  /** A live process for a test to name in a lock; killed after it. */
  const live: ChildProcess[] = [];
  const running = (command: string, args: string[]): number => {
    const child = spawn(command, args, { stdio: 'ignore' });
    live.push(child);
    return child.pid!;
  };
  afterEach(() => {
    for (const c of live.splice(0)) c.kill('SIGKILL');
  });

  it('refuses a lock whose holder is alive in another process', () => {
    const holder = running(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    nodeFs.writeFileSync(path.join(dir, LOCK_FILE), `${holder} ${processStartTicks(holder)}\n`);
    assert.throws(() => DirLock.acquire(fs, dir), (e: unknown) => e instanceof LockedError && e.holderPid === holder && /stop that process/.test(e.message));
    // A lock without a start time (an older RingDB's) naming a live Node.js process is held too.
    nodeFs.writeFileSync(path.join(dir, LOCK_FILE), `${holder}\n`);
    assert.throws(() => DirLock.acquire(fs, dir), (e: unknown) => e instanceof LockedError && e.holderPid === holder);
  });

  it('takes over a lock whose pid now belongs to another process (pids are reused after a reboot)', () => {
    const node = running(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    nodeFs.writeFileSync(path.join(dir, LOCK_FILE), `${node} 1\n`);
    DirLock.acquire(fs, dir).release();
    const notNode = running('sleep', ['60']);
    nodeFs.writeFileSync(path.join(dir, LOCK_FILE), `${notNode}\n`);
    DirLock.acquire(fs, dir).release();
  });

  it('takes over a lock left by a process that died, or an empty one', () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    nodeFs.writeFileSync(path.join(dir, LOCK_FILE), `${dead}\n`);
    DirLock.acquire(fs, dir).release();
    nodeFs.writeFileSync(path.join(dir, LOCK_FILE), '');
    DirLock.acquire(fs, dir).release();
  });
});
