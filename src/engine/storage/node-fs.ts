import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FileSystem } from './types';

/** The real file system behind the storage port. */
export class NodeFileSystem implements FileSystem {
  open(file: string, flags: 'r' | 'r+' | 'w' | 'wx' | 'a'): number {
    return fs.openSync(file, flags);
  }

  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): number {
    return fs.readSync(fd, buffer, offset, length, position);
  }

  write(fd: number, data: Buffer, position?: number): void {
    let written = 0;
    while (written < data.length) {
      const at = position === undefined ? null : position + written;
      written += fs.writeSync(fd, data, written, data.length - written, at);
    }
  }

  fsync(fd: number): void {
    fs.fdatasyncSync(fd);
  }

  fsyncAsync(fd: number): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  close(fd: number): void {
    fs.closeSync(fd);
  }

  size(fd: number): number {
    return fs.fstatSync(fd).size;
  }

  truncate(file: string, length: number): void {
    fs.truncateSync(file, length);
  }

  exists(file: string): boolean {
    return fs.existsSync(file);
  }

  readFile(file: string): Buffer {
    return fs.readFileSync(file);
  }

  rename(from: string, to: string): void {
    fs.renameSync(from, to);
  }

  unlink(file: string): void {
    fs.unlinkSync(file);
  }

  readdir(dir: string): string[] {
    return fs.readdirSync(dir);
  }

  mkdirp(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
  }

  fsyncDir(dir: string): void {
    const fd = fs.openSync(path.resolve(dir), 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  async fsyncDirAsync(dir: string): Promise<void> {
    const handle = await fs.promises.open(path.resolve(dir), 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
