// The storage engine's public surface: what the node layer and tools import.

export { Store, type ChangeReport, type WriteOptions } from './store';
export { DEFAULT_STORE_OPTIONS, MAX_BATCH_BYTES, MAX_ORIGIN_BYTES, type StoreOpenOptions } from './store-input';
export { DEFAULT_COMPACTION_CONFIG, type CompactionConfig } from './compaction-policy';
export { writeAtomicFile, readAtomicFile } from './atomic-file';
export { FaultFileSystem, SimulatedCrashError } from './fault-fs';
export { NodeFileSystem } from './node-fs';
export { ClosedError, CorruptionError, InvalidArgumentError, LockedError, StorageError } from './errors';
export {
  compareVersions,
  DEFAULT_MAX_VALUE_BYTES,
  MAX_KEY_BYTES,
  type Entry,
  type FileSystem,
  type ScanOptions,
  type SSTableInfo,
  type StoreCounters,
  type StoreOptions,
  type StoreSnapshot,
  type SyncPolicy,
} from './types';
