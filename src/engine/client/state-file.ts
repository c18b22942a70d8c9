// The state file `<dataDir>/cluster-state.json` tells a CLI or an editor which controller serves a
// data folder. It is written atomically and carries a CRC-32C, so a torn or edited file is detected
// instead of sending the cluster token to whatever address it happens to name.

import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32c } from '../codec/crc32c';
import { readTokenFile } from '../rpc/auth';
import { NoClusterError } from './errors';

export const STATE_FILE = 'cluster-state.json';
export const TOKEN_FILE = 'token';
export const CONTROLLER_LOG = 'controller.log';
const FORMAT = 1;

export interface ControllerState {
  /** host:port of the controller's ControlService. */
  address: string;
  pid: number;
  startedAtUnixMs: number;
  /** Absolute data folder it serves. */
  dataDir: string;
  /** True when started by `ringdb start` (outlives its launcher). */
  detached: boolean;
}

/** Writes `data` to `file` so that a crash leaves either the old or the new file, never a mix. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    // A leftover temp file keeps its old mode on open; the token must never be readable by others.
    fchmodSync(fd, mode);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dirFd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

function checksum(state: ControllerState): number {
  return crc32c(Buffer.from(JSON.stringify([FORMAT, state.address, state.pid, state.startedAtUnixMs, state.dataDir, state.detached])));
}

export function writeStateFile(dataDir: string, state: ControllerState): void {
  writeFileAtomic(join(dataDir, STATE_FILE), `${JSON.stringify({ format: FORMAT, ...state, crc32c: checksum(state) }, null, 2)}\n`);
}

/** Removes the state file if it still names `pid` (a newer controller's file is left alone). */
export function removeStateFile(dataDir: string, pid: number): void {
  try {
    if (readStateFile(dataDir).pid === pid) unlinkSync(join(dataDir, STATE_FILE));
  } catch {
    // No file, or not ours: nothing to remove.
  }
}

/** The state in `dataDir`, whether or not its controller still runs; NoClusterError when absent or damaged. */
export function readStateFile(dataDir: string): ControllerState {
  const file = join(dataDir, STATE_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new NoClusterError(dataDir, missing ? undefined : `${file} is unreadable: ${(err as Error).message}`);
  }
  const o = raw as Partial<ControllerState & { format: number; crc32c: number }>;
  if (o.format !== FORMAT || typeof o.address !== 'string' || typeof o.pid !== 'number' || typeof o.startedAtUnixMs !== 'number' ||
      typeof o.dataDir !== 'string' || typeof o.detached !== 'boolean') {
    throw new NoClusterError(dataDir, `${file} is not a RingDB state file of format ${FORMAT}`);
  }
  const state: ControllerState = { address: o.address, pid: o.pid, startedAtUnixMs: o.startedAtUnixMs, dataDir: o.dataDir, detached: o.detached };
  if (o.crc32c !== checksum(state)) throw new NoClusterError(dataDir, `${file} fails its checksum; it was damaged or edited`);
  return state;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * A detached controller that died is a zombie until its new parent reaps it, and where that
 * parent (pid 1 in a container) never reaps, kill(pid, 0) keeps succeeding. Linux's /proc says
 * which it is; elsewhere the signal test stands.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** The live controller of `dataDir` and the cluster token; NoClusterError when none runs there. */
export function findController(dataDir: string): { state: ControllerState; token: string } {
  const state = readStateFile(dataDir);
  if (!isProcessAlive(state.pid)) throw new NoClusterError(dataDir, `its controller (pid ${state.pid}) is no longer running`);
  let token: string;
  try {
    token = readTokenFile(join(dataDir, TOKEN_FILE));
  } catch (err) {
    throw new NoClusterError(dataDir, (err as Error).message);
  }
  return { state, token };
}
