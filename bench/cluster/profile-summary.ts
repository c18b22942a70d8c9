// Summarizes the .cpuprofile files `run.ts --profile <dir>` leaves behind: per process, the share
// of samples that were idle, garbage collection and the rest, and the functions with the most
// self time. Usage: node --import tsx bench/cluster/profile-summary.ts <dir> [--top 15] [--json] [--inclusive]
// [--callers <function>] (whose code the named function's self time was spent for: the nearest
// caller in src/, since Buffer copies, allocations and writes are runtime functions called from
// many places).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  wallSec: number;
  /** Share of samples per category, in percent. */
  idlePct: number;
  gcPct: number;
  busyPct: number;
  /** Top functions by self time, as percent of busy samples. */
  top: { fn: string; where: string; selfPctOfBusy: number }[];
  /** Self time per source file (or runtime category), as percent of busy samples. */
  files: { file: string; selfPctOfBusy: number }[];
  /** Top functions by total time (self plus callees), as percent of busy samples. */
  inclusive: { fn: string; where: string; totalPctOfBusy: number }[];
  /** With `callersOf`: that function's self time by nearest caller in src/, as percent of busy samples. */
  callers?: { fn: string; where: string; selfPctOfBusy: number }[];
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A minimal source-map reader: generated (line, column) -> original "file:line" (bundles are minified). */
class SourceMap {
  /** Per generated line: segments [genCol, source, origLine], sorted by genCol. */
  private readonly lines: number[][][] = [];

  constructor(private readonly sources: string[], mappings: string) {
    let src = 0;
    let origLine = 0;
    for (const line of mappings.split(';')) {
      const segs: number[][] = [];
      let genCol = 0;
      for (const seg of line.split(',')) {
        if (!seg) continue;
        const v = decodeVlq(seg);
        genCol += v[0];
        if (v.length >= 4) {
          src += v[1];
          origLine += v[2];
          segs.push([genCol, src, origLine]);
        }
      }
      this.lines.push(segs);
    }
  }

  /** The bundle's map beside it, or (the bundle copy being gone after the run) in `profileDir`. */
  static forFile(file: string, profileDir: string): SourceMap | undefined {
    const mapFile = [`${file}.map`, join(profileDir, `${basename(file)}.map`)].find((f) => existsSync(f));
    if (!mapFile) return undefined;
    const m = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[]; mappings: string };
    // Sources are relative to dist/engine ("../../src/..."): show them from the repository root.
    return new SourceMap(m.sources.map((s) => s.replace(/^(\.\.\/)+/, '')), m.mappings);
  }

  lookup(line: number, col: number): string | undefined {
    const segs = this.lines[line];
    if (!segs || segs.length === 0) return undefined;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid][0] <= col) lo = mid;
      else hi = mid - 1;
    }
    const s = segs[lo];
    return s[0] <= col ? `${this.sources[s[1]]}:${s[2] + 1}` : undefined;
  }
}

function decodeVlq(seg: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of seg) {
    const digit = B64.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    out.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return out;
}

const maps = new Map<string, SourceMap | undefined>();

function mapped(url: string, line: number, col: number, profileDir: string): string | undefined {
  if (!url.startsWith('file://') && !url.startsWith('/')) return undefined;
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (!maps.has(file)) maps.set(file, SourceMap.forFile(file, profileDir));
  return maps.get(file)?.lookup(line, col);
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

export function summarize(file: string, topN: number, callersOf?: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  let total = 0;
  let idle = 0;
  let gc = 0;
  const perFn = new Map<string, { fn: string; where: string; us: number }>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const labelOf = (n: ProfileNode): { fn: string; where: string } => {
    const { url, lineNumber, columnNumber } = n.callFrame;
    const where = url ? (mapped(url, lineNumber, columnNumber, dirname(file)) ?? `${shortUrl(url)}:${lineNumber + 1}:${columnNumber + 1}`) : '';
    return { fn: n.callFrame.functionName || '(anonymous)', where };
  };
  // Each function counts once per sample however deep it recurses.
  const perFnTotal = new Map<string, { fn: string; where: string; us: number }>();
  const perCaller = new Map<string, { fn: string; where: string; us: number }>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    total += us;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    if (name === '(garbage collector)') gc += us;
    const label = labelOf(n);
    const key = `${label.fn}@${label.where}`;
    const e = perFn.get(key) ?? { ...label, us: 0 };
    e.us += us;
    perFn.set(key, e);
    if (name === callersOf) {
      let caller: { fn: string; where: string } = { fn: '(no caller in src/)', where: '' };
      for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
        const l = labelOf(byId.get(at)!);
        if (l.where.startsWith('src/')) {
          caller = l;
          break;
        }
      }
      const k = `${caller.fn}@${caller.where}`;
      const c = perCaller.get(k) ?? { ...caller, us: 0 };
      c.us += us;
      perCaller.set(k, c);
    }
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (!node) break;
      const l = labelOf(node);
      const k = `${l.fn}@${l.where}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const t = perFnTotal.get(k) ?? { ...l, us: 0 };
      t.us += us;
      perFnTotal.set(k, t);
    }
  }
  const busy = total - idle;
  const pct = (v: number, of: number): number => (of > 0 ? Math.round((v / of) * 1000) / 10 : 0);
  const perFile = new Map<string, number>();
  for (const e of perFn.values()) {
    const file = e.where ? e.where.replace(/:\d+(:\d+)?$/, '') : e.fn;
    perFile.set(file, (perFile.get(file) ?? 0) + e.us);
  }
  const files = [...perFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN)
    .map(([file, us]) => ({ file, selfPctOfBusy: pct(us, busy) }));
  const top = [...perFn.values()].sort((a, b) => b.us - a.us).slice(0, topN)
    .map((e) => ({ fn: e.fn, where: e.where, selfPctOfBusy: pct(e.us, busy) }));
  const inclusive = [...perFnTotal.values()].filter((e) => e.fn !== '(root)').sort((a, b) => b.us - a.us).slice(0, topN)
    .map((e) => ({ fn: e.fn, where: e.where, totalPctOfBusy: pct(e.us, busy) }));
  const callers = callersOf === undefined ? undefined : [...perCaller.values()].sort((a, b) => b.us - a.us).slice(0, topN)
    .map((e) => ({ fn: e.fn, where: e.where, selfPctOfBusy: pct(e.us, busy) }));
  return {
    inclusive,
    ...(callers ? { callers } : {}),
    file: basename(file),
    wallSec: Math.round((p.endTime - p.startTime) / 1e5) / 10,
    idlePct: pct(idle, total),
    gcPct: pct(gc, total),
    busyPct: pct(busy, total),
    top,
    files,
  };
}

function main(): void {
  const args = process.argv.slice(2);
  // The directory is the argument that is neither a flag nor a flag's value.
  const dir = args.find((a, i) => !a.startsWith('--') && !['--top', '--callers'].includes(args[i - 1]));
  if (!dir) {
    process.stderr.write('usage: profile-summary.ts <dir> [--top 15] [--json] [--inclusive] [--callers <function>]\n');
    process.exit(2);
  }
  const topAt = args.indexOf('--top');
  const topN = topAt >= 0 ? Number(args[topAt + 1]) : 15;
  const callersAt = args.indexOf('--callers');
  const callersOf = callersAt >= 0 ? args[callersAt + 1] : undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const summaries = files.map((f) => summarize(join(dir, f), topN, callersOf));
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`);
    return;
  }
  for (const s of summaries) {
    process.stdout.write(`\n${s.file}: ${s.wallSec} s; busy ${s.busyPct}% (gc ${s.gcPct}%), idle ${s.idlePct}%\n`);
    process.stdout.write('  by function (self time, % of busy):\n');
    for (const t of s.top) process.stdout.write(`  ${String(t.selfPctOfBusy).padStart(5)}%  ${t.fn}  ${t.where}\n`);
    if (args.includes('--inclusive')) {
      process.stdout.write('  by function (total time with callees, % of busy):\n');
      for (const t of s.inclusive) process.stdout.write(`  ${String(t.totalPctOfBusy).padStart(5)}%  ${t.fn}  ${t.where}\n`);
    }
    if (s.callers) {
      process.stdout.write(`  ${callersOf}'s self time by nearest caller in src/ (% of busy):\n`);
      for (const c of s.callers) process.stdout.write(`  ${String(c.selfPctOfBusy).padStart(5)}%  ${c.fn}  ${c.where}\n`);
    }
    process.stdout.write('  by file:\n');
    for (const f of s.files) process.stdout.write(`  ${String(f.selfPctOfBusy).padStart(5)}%  ${f.file}\n`);
  }
}

if (process.argv[1] && basename(process.argv[1]).startsWith('profile-summary')) main();
