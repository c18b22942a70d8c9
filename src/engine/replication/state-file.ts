// Small replication state (acknowledgement cursors, the store's replay point) kept in one
// checksummed file replaced atomically (storage/atomic-file.ts). It is rewritten at most a
// few times a second, never per op.

import { readAtomicFile, writeAtomicFileAsync } from '../storage/atomic-file';
import { CorruptionError } from '../storage/errors';
import type { FileSystem } from '../storage/types';

export interface ReplicationState {
  /** destination id -> LSN below which every op bound for it was acknowledged. */
  cursors: Record<string, number>;
  /** Ops from this LSN on may be missing from the store after a crash and are re-applied on open. */
  storeReplayLsn: number;
}

export function readStateFile(fs: FileSystem, file: string): ReplicationState {
  const payload = readAtomicFile(fs, file);
  if (payload === undefined) return { cursors: {}, storeReplayLsn: 0 };
  let parsed: ReplicationState;
  try {
    parsed = JSON.parse(payload.toString('utf8')) as ReplicationState;
  } catch {
    throw new CorruptionError(file, 16, 'replication state is not valid JSON');
  }
  const cursorsOk = typeof parsed.cursors === 'object' && parsed.cursors !== null &&
    Object.values(parsed.cursors).every((v) => Number.isSafeInteger(v) && v >= 0);
  if (!cursorsOk || !Number.isSafeInteger(parsed.storeReplayLsn)) {
    throw new CorruptionError(file, 16, 'replication state lacks cursors or storeReplayLsn');
  }
  return parsed;
}

/** Durable once it resolves; one write at a time per file (see writeAtomicFileAsync). */
export function writeStateFile(fs: FileSystem, file: string, state: ReplicationState): Promise<void> {
  return writeAtomicFileAsync(fs, file, Buffer.from(JSON.stringify(state), 'utf8'));
}
