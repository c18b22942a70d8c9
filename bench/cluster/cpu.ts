// CPU time per process over a measurement window, from /proc/<pid>/stat (Linux; elsewhere the
// figures are null). Cores used = CPU seconds / wall seconds: on a 2-core machine a total near
// 2.0 means the run was CPU-bound, and the split shows which process spent it.

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { round2 } from './measure';

/** USER_HZ: 100 on every Linux the benchmark targets. */
const TICKS_PER_SEC = 100;

function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / TICKS_PER_SEC;
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat. */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    // user nice system idle iowait irq softirq steal
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return null;
  }
}

export interface CpuReport {
  machineCores: number;
  /** process label -> cores used during the window (CPU s / wall s). */
  coresUsed: Record<string, number | null>;
  /** Sum over the benchmark's processes (client and the system under test). */
  totalCoresUsed: number;
  /** Cores busy on the whole machine during the window (every process, ours and others'). */
  machineBusyCores: number | null;
  /** machineBusyCores minus ours: what other work on the shared machine took meanwhile. */
  otherCoresUsed: number | null;
}

/** Starts a window over `pids` (label -> pid) plus this process as "client". */
export function cpuWindow(pids: Record<string, number>): () => CpuReport {
  const all: Record<string, number> = { client: process.pid, ...pids };
  const start = Object.fromEntries(Object.entries(all).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const machineStart = machineTicks();
  const t0 = performance.now();
  return () => {
    const wallSec = (performance.now() - t0) / 1000;
    const coresUsed: Record<string, number | null> = {};
    let total = 0;
    for (const [label, pid] of Object.entries(all)) {
      const end = cpuSeconds(pid);
      const begin = start[label];
      if (end === null || begin === null) {
        coresUsed[label] = null;
        continue;
      }
      const cores = (end - begin) / wallSec;
      coresUsed[label] = round2(cores);
      total += cores;
    }
    const machineEnd = machineTicks();
    let machineBusyCores: number | null = null;
    if (machineStart && machineEnd && machineEnd.total > machineStart.total) {
      const share = (machineEnd.busy - machineStart.busy) / (machineEnd.total - machineStart.total);
      machineBusyCores = round2(share * cpus().length);
    }
    return {
      machineCores: cpus().length, coresUsed, totalCoresUsed: round2(total), machineBusyCores,
      otherCoresUsed: machineBusyCores === null ? null : round2(Math.max(0, machineBusyCores - total)),
    };
  };
}
