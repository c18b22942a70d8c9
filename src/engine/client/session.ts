// Read-your-writes for one user, as the original driver offered (`driver.put(user, ...)`): a
// session remembers the version of each key it wrote, and a read that comes back older (R < N, a
// replica that has not received the write yet) asks every replica, then waits for replication,
// before giving up and saying so (`stale: true`). Sessions are cheap; keep one per user.

import type { Driver, RoutedGet } from './driver';
import { keyFields } from './driver';
import { compareVersions } from './copy-verdicts';
import type { Bytes } from './node-client';
import type { KeyRef, ReadOptions, Version, WriteOptions, WriteResult } from './types';

const DEFAULT_MAX_WAIT_MS = 2000;
const POLL_MS = 50;

export interface SessionReadOptions extends ReadOptions {
  /** How long to wait for a replica that has this session's writes (default 2000 ms). */
  maxWaitMs?: number;
}

export interface SessionGet extends RoutedGet {
  /** True when no replica had this session's last write of the key within maxWaitMs. */
  stale: boolean;
  /** Reads it took (1 = the first answer already had the session's write). */
  reads: number;
}


function identity(key: KeyRef): string {
  const f = keyFields(key);
  return `${f.key.toString('hex')}/${f.partitionKey?.toString('hex') ?? ''}/${f.clusteringKey?.toString('hex') ?? '-'}`;
}

export class Session {
  private readonly written = new Map<string, Version>();

  constructor(
    private readonly driver: Driver,
    readonly user: string,
  ) {}

  private remember(key: KeyRef, v: Version): void {
    const id = identity(key);
    const known = this.written.get(id);
    if (!known || compareVersions(v, known) > 0) this.written.set(id, v);
  }

  async put(key: KeyRef, value: Bytes, opts: WriteOptions = {}): Promise<WriteResult> {
    const r = await this.driver.put(key, value, opts);
    this.remember(key, r.version);
    return r;
  }

  async delete(key: KeyRef, opts: WriteOptions = {}): Promise<WriteResult> {
    const r = await this.driver.delete(key, opts);
    this.remember(key, r.version);
    return r;
  }

  /** The version this session last wrote for `key`, if any. */
  lastWrite(key: KeyRef): Version | undefined {
    return this.written.get(identity(key));
  }

  async get(key: KeyRef, opts: SessionReadOptions = {}): Promise<SessionGet> {
    const wanted = this.lastWrite(key);
    const has = (r: RoutedGet): boolean => !wanted || (r.version !== undefined && compareVersions(r.version, wanted) >= 0);
    let r = await this.driver.get(key, opts);
    let reads = 1;
    if (has(r)) return { ...r, stale: false, reads };
    // Every replica answers, so the newest copy anywhere wins; then give replication time.
    const all = { ...opts, r: this.driver.partitionMap.replicationFactor };
    const until = Date.now() + (opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
    for (;;) {
      r = await this.driver.get(key, all);
      reads++;
      if (has(r)) return { ...r, stale: false, reads };
      if (Date.now() >= until) return { ...r, stale: true, reads };
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
