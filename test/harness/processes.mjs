// Finding and ending every process a test run started, including ones that were re-parented
// to init after their parent died: each carries the run's marker in its environment.
import { readdirSync, readFileSync } from 'node:fs';

export const MARKER = 'RINGDB_TEST_RUN';

function readProc(pid, file) {
  try { return readFileSync(`/proc/${pid}/${file}`, 'utf8'); } catch { return ''; }
}

function pids() {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** Live processes whose environment holds MARKER=value (zombies excluded). */
export function markedProcesses(value) {
  const needle = `${MARKER}=${value}\0`;
  return pids().filter((pid) => pid !== process.pid
    && readProc(pid, 'environ').includes(needle)
    && !/\) Z /.test(readProc(pid, 'stat')))
    .map((pid) => ({ pid, cmd: readProc(pid, 'cmdline').split('\0').join(' ').trim().slice(0, 160) }));
}

/** Sends `signal` to every marked process; returns how many there were. */
export function signalMarked(value, signal) {
  const found = markedProcesses(value);
  for (const { pid } of found) {
    try { process.kill(pid, signal); } catch { /* already gone */ }
  }
  return found.length;
}

/** SIGTERM, a grace period, then SIGKILL for whatever is left. */
export async function endMarked(value, graceMs = 3000) {
  if (!signalMarked(value, 'SIGTERM')) return;
  const until = Date.now() + graceMs;
  while (Date.now() < until && markedProcesses(value).length) await new Promise((r) => setTimeout(r, 100));
  signalMarked(value, 'SIGKILL');
}
