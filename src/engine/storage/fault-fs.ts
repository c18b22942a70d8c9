// An in-memory FileSystem that models what survives a power cut, after LevelDB's
// fault_injection_test: file contents survive only up to their last fsync, and a create,
// rename or unlink only once its folder is fsynced. crash() throws away everything else, so
// crash recovery can be tested deterministically at any point of a workload.
// Folders themselves are durable as soon as they are created (the store makes them once).

import * as path from 'node:path';
import { forgetLocks } from './lock';
import type { FileSystem } from './types';

/** `seq` orders every unsynced change across all files, so a crash can keep a prefix of them. */
type Op = { kind: 'write'; at: number; data: Buffer; seq: number } | { kind: 'truncate'; length: number; seq: number };

class Inode {
  data = Buffer.alloc(0);
  length = 0;
  /** Contents as of the last fsync: durable[0 .. durableLength). */
  durable = Buffer.alloc(0);
  durableLength = 0;
  /** Changes since the last fsync, replayed onto `durable` by the next one. */
  unsynced: Op[] = [];

  view(): Buffer {
    return this.data.subarray(0, this.length);
  }

  writeAt(at: number, chunk: Buffer, seq: number): void {
    const end = at + chunk.length;
    if (end > this.data.length) {
      const grown = Buffer.alloc(Math.max(end, this.data.length * 2));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    if (at > this.length) this.data.fill(0, this.length, at);
    chunk.copy(this.data, at);
    this.length = Math.max(this.length, end);
    this.unsynced.push({ kind: 'write', at, data: Buffer.from(chunk), seq });
  }

  truncate(length: number, seq: number): void {
    if (length > this.length) this.writeAt(this.length, Buffer.alloc(length - this.length), seq);
    this.length = length;
    this.unsynced.push({ kind: 'truncate', length, seq });
  }

  sync(): void {
    this.persist(this.unsynced);
    this.unsynced = [];
  }

  /** Makes `ops` durable, in order. */
  persist(ops: Op[]): void {
    for (const op of ops) {
      if (op.kind === 'truncate') {
        if (op.length > this.durableLength) this.ensureDurable(op.length).fill(0, this.durableLength, op.length);
        this.durableLength = op.length;
        continue;
      }
      const end = op.at + op.data.length;
      const d = this.ensureDurable(end);
      if (op.at > this.durableLength) d.fill(0, this.durableLength, op.at);
      op.data.copy(d, op.at);
      this.durableLength = Math.max(this.durableLength, end);
    }
  }

  /** The unsynced changes numbered below `keep`, and the `keep`-th cut to `tornBytes` bytes. */
  keptChanges(keep: number, tornBytes: number): Op[] {
    const out: Op[] = [];
    for (const op of this.unsynced) {
      if (op.seq < keep) out.push(op);
      else if (op.seq === keep && op.kind === 'write') out.push({ ...op, data: op.data.subarray(0, Math.min(tornBytes, op.data.length)) });
    }
    return out;
  }

  private ensureDurable(size: number): Buffer {
    if (size > this.durable.length) {
      const grown = Buffer.alloc(Math.max(size, this.durable.length * 2));
      this.durable.copy(grown, 0, 0, this.durableLength);
      this.durable = grown;
    }
    return this.durable;
  }

  dropUnsynced(): void {
    this.data = Buffer.from(this.durable.subarray(0, this.durableLength));
    this.length = this.durableLength;
    this.unsynced = [];
  }
}

interface Descriptor {
  inode: Inode;
  append: boolean;
  readable: boolean;
  writable: boolean;
}

function fsError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** Thrown by every call once the scheduled crash point has passed. */
export class SimulatedCrashError extends Error {
  readonly code = 'ESIMCRASH';
  constructor() {
    super('simulated crash: the file system is down until crash() is called');
  }
}

export class FaultFileSystem implements FileSystem {
  /** Folder -> name -> inode, as the running system sees it. */
  private live = new Map<string, Map<string, Inode>>();
  /** The same as of each folder's last fsync. */
  private durable = new Map<string, Map<string, Inode>>();
  private fds = new Map<number, Descriptor>();
  private nextFd = 3;
  private nextSeq = 0;
  /** Sequence number of the first change made since the last crash. */
  private firstUnsynced = 0;
  private opsUntilCrash = Infinity;
  private down = false;
  /** Counts mutating calls, to pick crash points. */
  mutations = 0;

  /**
   * After `n` more mutating calls (write, fsync, rename, unlink, truncate, create) every call
   * throws SimulatedCrashError, as if the machine stopped there; crash() then restarts it.
   */
  crashAfter(n: number): void {
    this.opsUntilCrash = n;
  }

  /**
   * Loses everything not made durable by fsync / fsyncDir, closes every descriptor, forgets
   * locks. With `keep`, the disk had also written back the first `keep.writes` file changes
   * made since the last crash (counting synced ones, which survive anyway) and `keep.tornBytes`
   * bytes of the next: the in-order write-back a torn append comes from. Folder entries still
   * need their fsync.
   */
  crash(keep?: { writes: number; tornBytes: number }): void {
    this.live = new Map();
    for (const [dir, names] of this.durable) {
      this.live.set(dir, new Map(names));
      for (const inode of names.values()) {
        if (keep) inode.persist(inode.keptChanges(this.firstUnsynced + keep.writes, keep.tornBytes));
        inode.dropUnsynced();
      }
    }
    this.firstUnsynced = this.nextSeq;
    this.fds = new Map();
    this.down = false;
    this.opsUntilCrash = Infinity;
    forgetLocks(this);
  }

  /** File changes (writes, truncations) made since the last crash: the range `keep.writes` picks from. */
  get changesSinceCrash(): number {
    return this.nextSeq - this.firstUnsynced;
  }

  private mutate(): void {
    this.check();
    this.mutations++;
    if (this.opsUntilCrash-- <= 0) {
      this.down = true;
      throw new SimulatedCrashError();
    }
  }

  private check(): void {
    if (this.down) throw new SimulatedCrashError();
  }

  private split(file: string): [Map<string, Inode>, string] {
    const abs = path.resolve(file);
    const names = this.live.get(path.dirname(abs));
    if (!names) throw fsError('ENOENT', `no such directory: ${path.dirname(abs)}`);
    return [names, path.basename(abs)];
  }

  private descriptor(fd: number): Descriptor {
    this.check();
    const d = this.fds.get(fd);
    if (!d) throw fsError('EBADF', `bad file descriptor ${fd}`);
    return d;
  }

  open(file: string, flags: 'r' | 'r+' | 'w' | 'wx' | 'a'): number {
    this.check();
    const [names, name] = this.split(file);
    let inode = names.get(name);
    if (flags === 'wx' && inode) throw fsError('EEXIST', `file already exists: ${file}`);
    if ((flags === 'r' || flags === 'r+') && !inode) throw fsError('ENOENT', `no such file: ${file}`);
    if (!inode || flags === 'w' || flags === 'wx') {
      this.mutate();
      if (inode && flags === 'w') inode.truncate(0, this.nextSeq++);
      else names.set(name, (inode = new Inode()));
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { inode, append: flags === 'a', readable: flags === 'r' || flags === 'r+', writable: flags !== 'r' });
    return fd;
  }

  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): number {
    const d = this.descriptor(fd);
    if (!d.readable) throw fsError('EBADF', `descriptor ${fd} is not open for reading`);
    const view = d.inode.view();
    const n = Math.max(0, Math.min(length, view.length - position));
    view.copy(buffer, offset, position, position + n);
    return n;
  }

  write(fd: number, data: Buffer, position?: number): void {
    const d = this.descriptor(fd);
    if (!d.writable) throw fsError('EBADF', `descriptor ${fd} is not open for writing`);
    this.mutate();
    d.inode.writeAt(d.append || position === undefined ? d.inode.length : position, data, this.nextSeq++);
  }

  fsync(fd: number): void {
    const d = this.descriptor(fd);
    this.mutate();
    d.inode.sync();
  }

  fsyncAsync(fd: number): Promise<void> {
    return onLaterTurn(() => this.fsync(fd));
  }

  close(fd: number): void {
    this.descriptor(fd);
    this.fds.delete(fd);
  }

  size(fd: number): number {
    return this.descriptor(fd).inode.length;
  }

  truncate(file: string, length: number): void {
    const [names, name] = this.split(file);
    const inode = names.get(name);
    if (!inode) throw fsError('ENOENT', `no such file: ${file}`);
    this.mutate();
    inode.truncate(length, this.nextSeq++);
  }

  exists(file: string): boolean {
    this.check();
    const abs = path.resolve(file);
    if (this.live.has(abs)) return true;
    return this.live.get(path.dirname(abs))?.has(path.basename(abs)) ?? false;
  }

  readFile(file: string): Buffer {
    this.check();
    const [names, name] = this.split(file);
    const inode = names.get(name);
    if (!inode) throw fsError('ENOENT', `no such file: ${file}`);
    return Buffer.from(inode.view());
  }

  rename(from: string, to: string): void {
    const [srcNames, srcName] = this.split(from);
    const [dstNames, dstName] = this.split(to);
    const inode = srcNames.get(srcName);
    if (!inode) throw fsError('ENOENT', `no such file: ${from}`);
    this.mutate();
    srcNames.delete(srcName);
    dstNames.set(dstName, inode);
  }

  unlink(file: string): void {
    const [names, name] = this.split(file);
    if (!names.has(name)) throw fsError('ENOENT', `no such file: ${file}`);
    this.mutate();
    names.delete(name);
  }

  readdir(dir: string): string[] {
    this.check();
    const abs = path.resolve(dir);
    const names = this.live.get(abs);
    if (!names) throw fsError('ENOENT', `no such directory: ${dir}`);
    const subdirs = [...this.live.keys()].filter((d) => d !== abs && path.dirname(d) === abs).map((d) => path.basename(d));
    return [...names.keys(), ...subdirs].sort();
  }

  mkdirp(dir: string): void {
    this.check();
    for (let d = path.resolve(dir); !this.live.has(d); d = path.dirname(d)) {
      this.live.set(d, new Map());
      this.durable.set(d, new Map());
      if (d === path.dirname(d)) break;
    }
  }

  fsyncDir(dir: string): void {
    this.check();
    const abs = path.resolve(dir);
    const names = this.live.get(abs);
    if (!names) throw fsError('ENOENT', `no such directory: ${dir}`);
    this.mutate();
    this.durable.set(abs, new Map(names));
  }

  fsyncDirAsync(dir: string): Promise<void> {
    return onLaterTurn(() => this.fsyncDir(dir));
  }
}

/** Runs `sync` on a later event-loop turn, as the real asynchronous calls complete: writers keep going meanwhile. */
function onLaterTurn(sync: () => void): Promise<void> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        sync();
        resolve();
      } catch (err) {
        reject(err as Error);
      }
    }),
  );
}
