// Test support: the in-memory fault-injecting file system, counting whole-file reads per path
// (how often a segment is read back shows whether a cache or a backoff works).

import { FaultFileSystem } from '../storage/fault-fs';

export class CountingFileSystem extends FaultFileSystem {
  readonly reads = new Map<string, number>();

  override readFile(file: string): Buffer {
    this.reads.set(file, (this.reads.get(file) ?? 0) + 1);
    return super.readFile(file);
  }
}
