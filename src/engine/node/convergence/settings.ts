// The node config's convergence settings, filled by the controller from the cluster spec (all
// optional): consistencyMode ('lww' default, 'crdt'; 'vector' is accepted by the spec but not
// yet served) and crdt (key name -> CRDT type). Checked with the rest of the node config.

import { parseCrdtConfig } from '../../crdt/registry';
import type { CrdtName } from '../../crdt/types';

export type NodeConsistencyMode = 'lww' | 'vector' | 'crdt';

export interface ConvergenceSettings {
  consistencyMode?: NodeConsistencyMode;
  crdt?: Record<string, CrdtName>;
}

export const CONVERGENCE_FIELDS = ['consistencyMode', 'crdt'] as const;

/** Appends a problem per bad field, naming it and what is accepted. */
export function checkConvergenceSettings(problems: string[], raw: Record<string, unknown>): void {
  const mode = raw.consistencyMode;
  if (mode !== undefined && mode !== 'lww' && mode !== 'vector' && mode !== 'crdt') {
    problems.push(`consistencyMode must be 'lww', 'vector' or 'crdt', got ${JSON.stringify(mode)}`);
  }
  try {
    parseCrdtConfig(raw.crdt);
  } catch (err) {
    problems.push((err as Error).message);
  }
}
