// Reading the end of a node's log file without loading a large file whole.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Bytes read from the end of the file at most; enough for 10,000 ordinary log lines. */
const TAIL_WINDOW = 4 * 1024 * 1024;

/** The last `n` lines of `file`; [] when it does not exist yet. */
export function tailLines(file: string, n: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - TAIL_WINDOW);
    const buf = Buffer.alloc(size - start);
    let off = 0;
    while (off < buf.length) {
      const r = readSync(fd, buf, off, buf.length - off, start + off);
      if (r === 0) break;
      off += r;
    }
    const lines = buf.subarray(0, off).toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    // A window that starts mid-file starts mid-line: drop that partial line.
    if (start > 0) lines.shift();
    return n === 0 ? [] : lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}
