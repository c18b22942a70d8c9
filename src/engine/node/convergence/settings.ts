// The node config's convergence settings, filled by the controller from the cluster spec (all
// optional): consistencyMode ('lww' default, 'vector' for siblings, 'crdt'), crdt (key name -> CRDT type), cacheSize (read cache entries, 0 = off),
// indexFields (JSON fields with a secondary index) and globalIndexFields (with a global index).
// Checked with the rest of the node config.

import { parseCrdtConfig } from '../../crdt/registry';
import type { CrdtName } from '../../crdt/types';

export type NodeConsistencyMode = 'lww' | 'vector' | 'crdt';

export interface ConvergenceSettings {
  consistencyMode?: NodeConsistencyMode;
  crdt?: Record<string, CrdtName>;
  /** Read cache entries; 0 = off. */
  cacheSize?: number;
  /** JSON fields with a local secondary index. */
  indexFields?: string[];
  /** JSON fields with a global index, partitioned by the indexed value (node/indexes/global-index.ts). */
  globalIndexFields?: string[];
}

export const CONVERGENCE_FIELDS = ['consistencyMode', 'crdt', 'cacheSize', 'indexFields', 'globalIndexFields'] as const;
const MAX_CACHE_SIZE = 10_000_000;

/** Appends a problem per bad field, naming it and what is accepted. */
export function checkConvergenceSettings(problems: string[], raw: Record<string, unknown>): void {
  const mode = raw.consistencyMode;
  if (mode !== undefined && mode !== 'lww' && mode !== 'vector' && mode !== 'crdt') {
    problems.push(`consistencyMode must be 'lww', 'vector' or 'crdt', got ${JSON.stringify(mode)}`);
  }
  const size = raw.cacheSize;
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > MAX_CACHE_SIZE)) {
    problems.push(`cacheSize must be an integer from 0 (off) to ${MAX_CACHE_SIZE}, got ${JSON.stringify(size)}`);
  }
  for (const name of ['indexFields', 'globalIndexFields'] as const) {
    const fields = raw[name];
    if (fields !== undefined && (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string' || f.length === 0))) {
      problems.push(`${name} must be an array of non-empty field names, got ${JSON.stringify(fields)}`);
    } else if (fields !== undefined && new Set(fields).size !== fields.length) {
      problems.push(`${name} lists a field twice (list each once), got ${JSON.stringify(fields)}`);
    }
  }
  try {
    parseCrdtConfig(raw.crdt);
  } catch (err) {
    problems.push((err as Error).message);
  }
}
