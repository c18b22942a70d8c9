// A small JSON record the controller keeps in a cluster's data folder (its members, its
// consistency mode): one checksummed file replaced atomically (storage/atomic-file.ts), so a
// crash leaves the old record or the new one, and damage is reported, never guessed around.

import { readAtomicFile, writeAtomicFile } from '../storage/atomic-file';
import { CorruptionError } from '../storage/errors';
import type { FileSystem } from '../storage/types';

/** Where a record's JSON starts in its file (after the checksummed header): damage is reported there. */
const PAYLOAD_OFFSET = 16;

/** The JSON object in `file`, undefined when there is no file; `what` names it in a damage report. */
export function readFolderRecord(fs: FileSystem, file: string, what: string): Record<string, unknown> | undefined {
  const payload = readAtomicFile(fs, file);
  if (payload === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new CorruptionError(file, PAYLOAD_OFFSET, `the ${what} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CorruptionError(file, PAYLOAD_OFFSET, `the ${what} is not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** A check of a record's contents failed: `detail` says what it holds instead. */
export function damagedRecord(file: string, detail: string): CorruptionError {
  return new CorruptionError(file, PAYLOAD_OFFSET, detail);
}

/** Durable once it returns. */
export function writeFolderRecord(fs: FileSystem, file: string, record: Record<string, unknown>): void {
  writeAtomicFile(fs, file, Buffer.from(JSON.stringify(record), 'utf8'));
}
