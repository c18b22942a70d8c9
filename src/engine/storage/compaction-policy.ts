// Leveled compaction (LevelDB style), as a pure function from the table layout to the next task.
// No I/O and no state: the store applies the task, and tests drive it by simulation.
//
// L0 holds flushed memtables, which overlap each other; it is compacted (all of it, with every
// overlapping L1 table) once it holds `l0Trigger` tables. Each level Ln (n >= 1) holds tables with
// disjoint key ranges and may hold baseLevelBytes * multiplier^(n-1) bytes; the level furthest over
// its budget gives up one table, merged with the tables of Ln+1 it overlaps. Why leveled and not
// size-tiered: see SSTABLE_FORMAT.md ("Compaction").

import type { SSTableInfo } from './types';

export interface CompactionConfig {
  /** L0 table count that starts an L0 -> L1 compaction (LevelDB: 4). */
  l0Trigger: number;
  /** Size budget of L1 in bytes. */
  baseLevelBytes: number;
  /** Each level below L1 may hold this many times the level above (LevelDB: 10). */
  levelMultiplier: number;
  /** Number of levels, L0 included; the last one has no budget (LevelDB: 7). */
  maxLevels: number;
  /** Size at which the compaction job should cut its output into a new table. */
  targetFileBytes: number;
}

export const DEFAULT_COMPACTION_CONFIG: Readonly<CompactionConfig> = Object.freeze({
  l0Trigger: 4,
  baseLevelBytes: 10 * 1024 * 1024,
  levelMultiplier: 10,
  maxLevels: 7,
  targetFileBytes: 2 * 1024 * 1024,
});

export interface CompactionTask {
  /** Tables to merge: from the input level, then the overlapping ones of the output level. */
  inputs: SSTableInfo[];
  outputLevel: number;
  /** No table below the output level overlaps the inputs, so no older version can resurface: tombstones may go. */
  dropTombstones: boolean;
  /** Why this task was chosen, for logs and the UI. */
  reason: string;
  /**
   * One input with nothing to merge it with and nothing to drop from it: the store may move it to
   * `outputLevel` by a manifest edit instead of rewriting it (LevelDB's trivial move). Rewriting
   * it gives the same result, at the cost of the I/O.
   */
  trivialMove: boolean;
}

/** Byte budget of level `level` (>= 1); the last level has none. */
export function levelMaxBytes(level: number, config: CompactionConfig): number {
  if (level >= config.maxLevels - 1) return Number.POSITIVE_INFINITY;
  return config.baseLevelBytes * config.levelMultiplier ** (level - 1);
}

/** The most urgent compaction, or undefined when every level is within its budget. */
export function pickCompaction(levels: SSTableInfo[][], config: CompactionConfig): CompactionTask | undefined {
  checkConfig(config);
  let bestScore = 1;
  let bestLevel = -1;
  let bestReason = '';
  const l0 = levels[0] ?? [];
  if (l0.length >= config.l0Trigger) {
    bestScore = l0.length / config.l0Trigger;
    bestLevel = 0;
    bestReason = `L0 holds ${l0.length} tables (trigger ${config.l0Trigger})`;
  }
  for (let level = 1; level < Math.min(levels.length, config.maxLevels - 1); level++) {
    const bytes = totalBytes(levels[level]);
    const score = bytes / levelMaxBytes(level, config);
    // Strictly greater: ties go to the shallower level, whose data is newer and more read.
    if (score > bestScore || (bestLevel < 0 && score >= 1)) {
      bestScore = score;
      bestLevel = level;
      bestReason = `L${level} holds ${bytes} bytes (budget ${levelMaxBytes(level, config)})`;
    }
  }
  if (bestLevel < 0) return undefined;
  const outputLevel = bestLevel + 1;
  const below = levels[outputLevel] ?? [];
  const picked = bestLevel === 0 ? l0.slice() : [pickTable(levels[bestLevel], below)];
  const range = keyRange(picked);
  const overlapping = below.filter((t) => overlaps(t, range.min, range.max));
  const inputs = [...picked, ...overlapping];
  const dropTombstones = !deeperOverlap(levels, outputLevel, inputs);
  return {
    inputs,
    outputLevel,
    dropTombstones,
    reason: bestReason,
    trivialMove: inputs.length === 1 && !(dropTombstones && inputs[0].tombstones > 0),
  };
}

/** Everything into the bottom level in one merge (the "compact now" command): drops every tombstone and shadowed version. */
export function manualCompaction(levels: SSTableInfo[][]): CompactionTask | undefined {
  const inputs = levels.flat();
  if (inputs.length === 0) return undefined;
  let deepest = 0;
  for (let level = 0; level < levels.length; level++) if (levels[level].length > 0) deepest = level;
  const outputLevel = Math.max(1, deepest);
  if (inputs.length === 1 && deepest >= 1 && inputs[0].tombstones === 0) return undefined;
  return {
    inputs,
    outputLevel,
    dropTombstones: true,
    reason: `manual compaction of ${inputs.length} tables into L${outputLevel}`,
    trivialMove: false,
  };
}

/**
 * The table of a level that is cheapest to push down: least overlap with the level below per
 * byte it moves (RocksDB's kMinOverlappingRatio), which keeps write amplification low without
 * the per-level cursor LevelDB keeps. Ties go to the oldest table (lowest id).
 */
function pickTable(level: SSTableInfo[], below: SSTableInfo[]): SSTableInfo {
  let best = level[0];
  let bestRatio = Number.POSITIVE_INFINITY;
  for (const t of level) {
    let overlapBytes = 0;
    for (const b of below) if (overlaps(b, t.minKey, t.maxKey)) overlapBytes += b.bytes;
    const ratio = overlapBytes / Math.max(1, t.bytes);
    if (ratio < bestRatio || (ratio === bestRatio && t.id < best.id)) {
      best = t;
      bestRatio = ratio;
    }
  }
  return best;
}

function deeperOverlap(levels: SSTableInfo[][], outputLevel: number, inputs: SSTableInfo[]): boolean {
  const range = keyRange(inputs);
  for (let level = outputLevel + 1; level < levels.length; level++) {
    if (levels[level].some((t) => overlaps(t, range.min, range.max))) return true;
  }
  return false;
}

function keyRange(tables: SSTableInfo[]): { min: Buffer; max: Buffer } {
  let min = tables[0].minKey;
  let max = tables[0].maxKey;
  for (const t of tables) {
    if (Buffer.compare(t.minKey, min) < 0) min = t.minKey;
    if (Buffer.compare(t.maxKey, max) > 0) max = t.maxKey;
  }
  return { min, max };
}

function overlaps(t: SSTableInfo, min: Buffer, max: Buffer): boolean {
  return Buffer.compare(t.maxKey, min) >= 0 && Buffer.compare(t.minKey, max) <= 0;
}

function totalBytes(tables: SSTableInfo[]): number {
  let n = 0;
  for (const t of tables) n += t.bytes;
  return n;
}

function checkConfig(c: CompactionConfig): void {
  const bad = (field: string, accepted: string, value: number): never => {
    throw new RangeError(`compaction config ${field} must be ${accepted}, got ${value}`);
  };
  if (!Number.isInteger(c.l0Trigger) || c.l0Trigger < 1) bad('l0Trigger', 'an integer >= 1', c.l0Trigger);
  if (!(c.baseLevelBytes > 0)) bad('baseLevelBytes', 'a positive number of bytes', c.baseLevelBytes);
  if (!(c.levelMultiplier >= 2)) bad('levelMultiplier', 'a number >= 2', c.levelMultiplier);
  if (!Number.isInteger(c.maxLevels) || c.maxLevels < 2) bad('maxLevels', 'an integer >= 2', c.maxLevels);
  if (!(c.targetFileBytes > 0)) bad('targetFileBytes', 'a positive number of bytes', c.targetFileBytes);
}
