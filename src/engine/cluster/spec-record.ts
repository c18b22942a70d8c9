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

/** The recorded spec's shape in one line, for the note that a start is using it. */
export function recordedSpecSummary(s: ClusterSpec): string {
  return `replicationFactor ${s.replicationFactor}, writeQuorum ${s.writeQuorum}, readQuorum ${s.readQuorum}, consistencyMode ${s.consistencyMode}`;
}

/**
 * What changes for the folder's keys when a start's spec has another replicationFactor than the
 * one the folder last ran with (undefined when it is the same): said before the change surprises.
 */
export function replicationFactorChange(recorded: ClusterSpec, next: ClusterSpec): string | undefined {
  if (recorded.replicationFactor === next.replicationFactor) return undefined;
  return `replicationFactor ${recorded.replicationFactor} -> ${next.replicationFactor} for this folder: ${next.replicationFactor > recorded.replicationFactor
    ? 'keys get more replicas, which receive their values from anti-entropy (Merkle rounds), or at once with `ringdb repair`'
    : 'keys keep fewer replicas; a node drops what it no longer replicates when it starts'}`;
}
