// How one key's copies on several nodes compare, for `ringdb where` and VS Code's Get and Where Is
// Key: one rule for both, so the terminal and the editor never disagree about which copy is stale.

import type { Version } from './types';

/** LWW order: timestamp, then origin (as the nodes compare versions). */
export function compareVersions(a: Version, b: Version): number {
  return a.ts - b.ts || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0);
}

/** One node's own copy of a key as far as versions go. */
export interface CopyAnswer {
  /** It answered from its own copy (a value, a tombstone or nothing); false: down, not asked, or an error. */
  answered: boolean;
  version: Version | undefined;
}

/**
 * `newest`: holds the newest version any node answered with, and every replica answered;
 * `newest heard`: the same while a replica gave no answer (its copy may be newer);
 * `stale`: an older version; `missing`: no version while another node has one;
 * '': not answered, or no node has a version.
 */
export type CopyVerdict = 'newest' | 'newest heard' | 'stale' | 'missing' | '';

export interface CopyVerdicts {
  /** The newest version among the answers. */
  newest: Version | undefined;
  verdicts: CopyVerdict[];
}

/** Each copy's verdict; `allHeard`: every replica of the key answered. */
export function copyVerdicts(copies: readonly CopyAnswer[], allHeard: boolean): CopyVerdicts {
  let newest: Version | undefined;
  for (const c of copies) if (c.answered && c.version && (!newest || compareVersions(c.version, newest) > 0)) newest = c.version;
  const verdicts = copies.map((c): CopyVerdict => {
    if (!c.answered || newest === undefined) return '';
    if (c.version && compareVersions(c.version, newest) === 0) return allHeard ? 'newest' : 'newest heard';
    return c.version ? 'stale' : 'missing';
  });
  return { newest, verdicts };
}
