// A cluster this window launched stops with the window (a reload included). The next window
// says so once, with the way back, instead of showing "no cluster" as if none had run.
import { formatDuration } from '../common/format';

export const STOPPED_WITH_WINDOW_KEY = 'ringdb.stoppedWithWindow';

export interface StoppedWithWindow {
  dataDir: string;
  nodes: number;
  atUnixMs: number;
}

export function isStoppedWithWindow(v: unknown): v is StoppedWithWindow {
  const o = v as Partial<StoppedWithWindow> | undefined;
  return typeof o === 'object' && o !== null && typeof o.dataDir === 'string' && typeof o.nodes === 'number' && typeof o.atUnixMs === 'number';
}

export function stoppedNote(s: StoppedWithWindow, nowUnixMs: number): string {
  const ago = formatDuration(Math.max(0, nowUnixMs - s.atUnixMs));
  return `RingDB: the ${s.nodes}-node cluster in ${s.dataDir} was stopped when the window that ran it closed or reloaded (${ago} ago); `
    + 'its data is kept, and Start Cluster starts it again with that data.';
}
