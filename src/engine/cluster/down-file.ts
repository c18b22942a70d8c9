// The nodes a cluster keeps down on purpose (fault injection: KillNode), kept in its data folder
// beside its member list and written the same way (folder-record.ts). A controller that crashed
// and is started again to resume the cluster would otherwise start every member, undoing the
// kill a person made to watch hints pile up or a partition go without a replica. The mark goes
// when the node is restarted or removed, or when the person stops or starts the whole cluster.
// A mark also keeps the hints the node held for other nodes: they wait on its disk while it is
// down, and no one can ask a node that is not running for them, so without the mark a resumed
// controller would list none of them.

import { join } from 'node:path';
import { NodeFileSystem } from '../storage/node-fs';
import type { FileSystem } from '../storage/types';
import { NODE_ID_PATTERN } from '../spec/types';
import { damagedRecord, readFolderRecord, writeFolderRecord } from './folder-record';

export const DOWN_FILE = 'cluster-down';

/** Hints a node down on purpose holds for one target, as the controller last knew them. */
export interface HeldHints {
  readonly target: string;
  readonly count: number;
  /** Unix ms of the oldest; 0 = unknown. */
  readonly oldestUnixMs: number;
}

export interface DownMark {
  /** What took it down: only KillNode today (no RPC stops a single node and leaves it stopped). */
  readonly how: 'killed';
  readonly atUnixMs: number;
  /**
   * Where it served: peers keep it under this address, so they hold hints and log cursors for it.
   * Empty when it was killed before it first served; a resume then lists it at a free port.
   */
  readonly address: string;
  /**
   * The hints it held, by target, from its last ListHints answer before it went down. Absent in
   * records written before marks kept them, and when the controller never had an answer from it.
   */
  readonly hints?: readonly HeldHints[];
}

export type DownMarks = Readonly<Record<string, DownMark>>;

const realFs = new NodeFileSystem();

/**
 * The marks `dataDir` records, by node id; empty when there is no record. A mark whose hints
 * cannot be read is kept without them, told to `onUnreadHints`: the hints are only the
 * controller's last count, and the node reports its own once restarted, but dropping the mark
 * would start a node a person took down.
 */
export function readDownMarks(dataDir: string, fs: FileSystem = realFs, onUnreadHints: (nodeId: string, detail: string) => void = () => {}): DownMarks {
  const file = join(dataDir, DOWN_FILE);
  const record = readFolderRecord(fs, file, 'record of nodes down on purpose');
  if (record === undefined) return {};
  const nodes = record.nodes;
  if (typeof nodes !== 'object' || nodes === null || Array.isArray(nodes)) {
    throw damagedRecord(file, `the record of nodes down on purpose holds ${JSON.stringify(nodes)}, not an object mapping node ids to marks`);
  }
  const marks: [string, DownMark][] = [];
  for (const [id, mark] of Object.entries(nodes)) {
    const m = mark as Partial<DownMark> | null;
    if (!NODE_ID_PATTERN.test(id) || typeof m !== 'object' || m === null || m.how !== 'killed'
      || !Number.isSafeInteger(m.atUnixMs) || typeof m.address !== 'string') {
      throw damagedRecord(file, `the record of nodes down on purpose holds ${JSON.stringify(id)}: ${JSON.stringify(mark)}, not a node id with {"how":"killed","atUnixMs":<ms>,"address":"host:port"} and optionally ${HINTS_SHAPE}`);
    }
    const readable = m.hints === undefined || isHeldHints(m.hints);
    if (!readable) onUnreadHints(id, `the record of nodes down on purpose holds hints for ${id} that are not ${HINTS_SHAPE}: ${JSON.stringify(m.hints)}; ${id} stays down without them, and reports its own hints once restarted`);
    const held = readable ? m.hints?.map((h) => ({ target: h.target, count: h.count, oldestUnixMs: h.oldestUnixMs })) : undefined;
    marks.push([id, { how: m.how, atUnixMs: m.atUnixMs as number, address: m.address, ...(held ? { hints: held } : {}) }]);
  }
  // fromEntries defines own properties, so an id can never reach the prototype.
  return Object.fromEntries(marks);
}

const HINTS_SHAPE = '"hints":[{"target":<node id>,"count":<n>,"oldestUnixMs":<ms>}]';

function isHeldHints(value: unknown): value is HeldHints[] {
  return Array.isArray(value) && value.every((h: Partial<HeldHints> | null) => typeof h === 'object' && h !== null
    && typeof h.target === 'string' && NODE_ID_PATTERN.test(h.target)
    && Number.isSafeInteger(h.count) && (h.count as number) > 0
    && Number.isSafeInteger(h.oldestUnixMs) && (h.oldestUnixMs as number) >= 0);
}

/** Durable once it returns. */
export function writeDownMarks(dataDir: string, marks: DownMarks, fs: FileSystem = realFs): void {
  writeFolderRecord(fs, join(dataDir, DOWN_FILE), { nodes: marks });
}

/**
 * How a mark says a node went down: "killed by KillNode at 2026-11-28T04:31:07Z". UTC with its
 * date: the reason outlives the day of the kill, and the person reading it (VS Code on another
 * machine, a CLI in another zone) may not share the controller's zone.
 */
export function downPhrase(mark: DownMark): string {
  return `killed by KillNode at ${new Date(mark.atUnixMs).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}
