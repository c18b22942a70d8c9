// The engines the storage benchmark compares, behind one small adapter so every workload
// runs the same code against each. Durability is equal across them: writes are handed to the
// OS without fsync (RingDB sync 'none', classic-level sync false, lmdb noSync).
import { ClassicLevel } from 'classic-level';
import { open as openLmdb } from 'lmdb';
import { Store } from '../../src/engine/storage';

export interface BenchEngine {
  put(key: Buffer, value: Buffer): Promise<unknown>;
  putBatch(entries: Array<[Buffer, Buffer]>): Promise<unknown>;
  /** Resolves to the value, or undefined when absent. */
  get(key: Buffer): Promise<Buffer | undefined> | Buffer | undefined;
  /** Visits every live entry in key order; returns how many. */
  scanAll(): Promise<number>;
  close(): Promise<void>;
}

export type EngineName = 'ringdb' | 'classic-level' | 'lmdb';
export const ENGINE_NAMES: EngineName[] = ['ringdb', 'classic-level', 'lmdb'];

export async function openEngine(name: EngineName, dir: string): Promise<BenchEngine> {
  switch (name) {
    case 'ringdb':
      return openRingdb(dir);
    case 'classic-level':
      return openClassicLevel(dir);
    case 'lmdb':
      return openLmdbEngine(dir);
  }
}

async function openRingdb(dir: string): Promise<BenchEngine> {
  const store = await Store.open(dir, { sync: 'none' });
  let ts = 0;
  return {
    put: (key, value) => store.put(key, value, ++ts, 'bench'),
    putBatch: (entries) => store.write(entries.map(([key, value]) => ({ key, value, ts: ++ts, origin: 'bench' }))),
    get: (key) => store.get(key)?.value ?? undefined,
    scanAll: async () => {
      let n = 0;
      for (const _ of store.iterate()) n++;
      return n;
    },
    close: () => store.close(),
  };
}

async function openClassicLevel(dir: string): Promise<BenchEngine> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return {
    put: (key, value) => db.put(key, value),
    putBatch: (entries) => db.batch(entries.map(([key, value]) => ({ type: 'put' as const, key, value }))),
    get: (key) => db.get(key),
    scanAll: async () => {
      let n = 0;
      for await (const _ of db.iterator()) n++;
      return n;
    },
    close: () => db.close(),
  };
}

async function openLmdbEngine(dir: string): Promise<BenchEngine> {
  const db = openLmdb<Buffer, Buffer>({ path: dir, noSync: true, encoding: 'binary', keyEncoding: 'binary' });
  return {
    put: (key, value) => db.put(key, value),
    putBatch: (entries) =>
      db.transaction(() => {
        for (const [key, value] of entries) db.put(key, value);
      }),
    get: (key) => db.get(key),
    scanAll: async () => {
      let n = 0;
      for (const _ of db.getRange({})) n++;
      return n;
    },
    close: () => db.close(),
  };
}
