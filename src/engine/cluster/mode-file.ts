// The consistency mode a data folder's cluster stores its values in, kept beside its member list
// (members-file.ts) and written the same way: one checksummed file replaced atomically. Each mode
// stores values its own way (LWW values, sibling sets, CRDT states), so a folder started again in
// another mode read its keys as not found while its indexes still listed them. A start compares
// the spec's mode with this record; a folder from before the record existed has none and starts.

import { join } from 'node:path';
import { NodeFileSystem } from '../storage/node-fs';
import type { FileSystem } from '../storage/types';
import { CONSISTENCY_MODES, type ConsistencyMode } from '../spec/types';
import { damagedRecord, readFolderRecord, writeFolderRecord } from './folder-record';

export const MODE_FILE = 'cluster-mode';

const realFs = new NodeFileSystem();

/** The mode recorded in `dataDir`; undefined when none is (a new folder, or one from before the record). */
export function readMode(dataDir: string, fs: FileSystem = realFs): ConsistencyMode | undefined {
  const file = join(dataDir, MODE_FILE);
  const record = readFolderRecord(fs, file, 'consistency mode record');
  if (record === undefined) return undefined;
  const mode = record.consistencyMode;
  if (!CONSISTENCY_MODES.includes(mode as ConsistencyMode)) {
    throw damagedRecord(file, `the consistency mode record holds ${JSON.stringify(mode)}, not one of ${CONSISTENCY_MODES.join(', ')}`);
  }
  return mode as ConsistencyMode;
}

/** Durable once it returns. */
export function writeMode(dataDir: string, mode: ConsistencyMode, fs: FileSystem = realFs): void {
  writeFolderRecord(fs, join(dataDir, MODE_FILE), { consistencyMode: mode });
}
