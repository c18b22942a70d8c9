// The spec a data folder's cluster last started with, kept beside its members and mode
// (folder-record.ts). `ringdb start` on the folder without a spec of its own starts that cluster
// again: with the defaults instead, a folder started with replicationFactor 2 came back with 3,
// and keys read as missing on their new replicas until a repair.

import { join } from 'node:path';
import { NodeFileSystem } from '../storage/node-fs';
import type { FileSystem } from '../storage/types';
import { validateClusterSpec } from '../spec/validate';
import type { ClusterSpec } from '../spec/types';
import { damagedRecord, readFolderRecord, writeFolderRecord } from './folder-record';

export const SPEC_RECORD_FILE = 'cluster-spec';

const realFs = new NodeFileSystem();

/** The spec `dataDir` last started with; undefined for a new folder or one from before the record. */
export function readRecordedSpec(dataDir: string, fs: FileSystem = realFs): ClusterSpec | undefined {
  const file = join(dataDir, SPEC_RECORD_FILE);
  const record = readFolderRecord(fs, file, 'recorded cluster spec');
  if (record === undefined) return undefined;
  try {
    return validateClusterSpec(record.spec);
  } catch (err) {
    throw damagedRecord(file, `the recorded cluster spec is not a valid spec: ${(err as Error).message}`);
  }
}

/** Durable once it returns. */
export function writeRecordedSpec(dataDir: string, spec: ClusterSpec, fs: FileSystem = realFs): void {
  writeFolderRecord(fs, join(dataDir, SPEC_RECORD_FILE), { spec });
}
