// The ids of a cluster's members, kept in its data folder so that a cluster started again there
// comes back with the nodes it last had. Without it a start brought up n1..nN of the spec: a node
// added later (n4) stayed down with the partitions it had taken, and after a RemoveNode a fresh
// node took the removed one's id, so acknowledged keys read as never written. One checksummed file
// replaced atomically (folder-record.ts), rewritten on every membership change.

import { join } from 'node:path';
import { NodeFileSystem } from '../storage/node-fs';
import type { FileSystem } from '../storage/types';
import { NODE_ID_PATTERN } from '../spec/types';
import { damagedRecord, readFolderRecord, writeFolderRecord } from './folder-record';

export const MEMBERS_FILE = 'cluster-members';

const realFs = new NodeFileSystem();

/** The member ids recorded in `dataDir`, in the order they were recorded; undefined when none are. */
export function readMembers(dataDir: string, fs: FileSystem = realFs): string[] | undefined {
  const file = join(dataDir, MEMBERS_FILE);
  const record = readFolderRecord(fs, file, 'member list');
  if (record === undefined) return undefined;
  const ids = record.members;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && NODE_ID_PATTERN.test(id)) || new Set(ids).size !== ids.length) {
    throw damagedRecord(file, 'the member list does not hold distinct node ids (n1, n2, ...)');
  }
  return ids as string[];
}

/** Durable once it returns. */
export function writeMembers(dataDir: string, ids: readonly string[], fs: FileSystem = realFs): void {
  writeFolderRecord(fs, join(dataDir, MEMBERS_FILE), { members: ids });
}
