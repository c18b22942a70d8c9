// The consistency mode a data folder's cluster stores its values in, and in crdt mode the CRDT
// type of each key, kept beside its member list (members-file.ts) and written the same way: one
// checksummed file replaced atomically. Each mode stores values its own way (LWW values, sibling
// sets, CRDT states), and each CRDT type its own state, so a folder started again in another mode
// read its keys as not found, and a key given another type (or dropped from `crdt`) failed every
// read or read as its raw encoded state. A start compares the spec with this record; a folder from
// before the record has none, and a record from before the types holds only the mode.

import { join } from 'node:path';
import { NodeFileSystem } from '../storage/node-fs';
import type { FileSystem } from '../storage/types';
import { CONSISTENCY_MODES, CRDT_TYPES, type ConsistencyMode, type CrdtType } from '../spec/types';
import { damagedRecord, readFolderRecord, writeFolderRecord } from './folder-record';

export const MODE_FILE = 'cluster-mode';

export interface ModeRecord {
  readonly consistencyMode: ConsistencyMode;
  /** Key -> CRDT type; undefined in a record written before the types were kept (nothing to check). */
  readonly crdt?: Readonly<Record<string, CrdtType>>;
}

const realFs = new NodeFileSystem();

/** What `dataDir` records; undefined when it records nothing (a new folder, or one from before the record). */
export function readMode(dataDir: string, fs: FileSystem = realFs): ModeRecord | undefined {
  const file = join(dataDir, MODE_FILE);
  const record = readFolderRecord(fs, file, 'consistency mode record');
  if (record === undefined) return undefined;
  const mode = record.consistencyMode;
  if (!CONSISTENCY_MODES.includes(mode as ConsistencyMode)) {
    throw damagedRecord(file, `the consistency mode record holds ${JSON.stringify(mode)}, not one of ${CONSISTENCY_MODES.join(', ')}`);
  }
  if (record.crdt === undefined) return { consistencyMode: mode as ConsistencyMode };
  return { consistencyMode: mode as ConsistencyMode, crdt: readTypes(file, record.crdt) };
}

function readTypes(file: string, value: unknown): Record<string, CrdtType> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw damagedRecord(file, `the consistency mode record's crdt holds ${JSON.stringify(value)}, not an object mapping keys to a CRDT type`);
  }
  const entries = Object.entries(value);
  for (const [key, type] of entries) {
    if (!CRDT_TYPES.includes(type as CrdtType)) {
      throw damagedRecord(file, `the consistency mode record gives CRDT key ${JSON.stringify(key)} the type ${JSON.stringify(type)}, not one of ${CRDT_TYPES.join(', ')}`);
    }
  }
  // fromEntries defines own properties, so a key named "__proto__" stays a key.
  return Object.fromEntries(entries) as Record<string, CrdtType>;
}

/** Durable once it returns. */
export function writeMode(dataDir: string, record: ModeRecord, fs: FileSystem = realFs): void {
  writeFolderRecord(fs, join(dataDir, MODE_FILE), { ...record });
}

/**
 * Each recorded CRDT key whose type `requested` (a spec's crdt setting) changes or drops, said as
 * `"key": recorded gcounter, requested pncounter`; keys only `requested` names are new and fine.
 */
export function changedCrdtKeys(recorded: Readonly<Record<string, CrdtType>>, requested: Readonly<Record<string, CrdtType>>): string[] {
  return Object.entries(recorded).flatMap(([key, type]) => {
    const now = Object.hasOwn(requested, key) ? requested[key] : undefined;
    if (now === type) return [];
    return [`${JSON.stringify(key)}: recorded ${type}, requested ${now ?? 'none (dropped from crdt, so it would read as a plain value)'}`];
  });
}
