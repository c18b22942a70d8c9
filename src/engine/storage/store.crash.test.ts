// Crash safety: an acknowledged write survives any crash. Two ways in: a real child process
// killed with SIGKILL at random points (real files, real fsync), and the fault-injecting file
// system, which stops the "machine" after exactly n file-system mutations and then drops
// everything not fsynced, for every n of a workload that flushes and compacts.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LockedError } from './errors';
import { FaultFileSystem } from './fault-fs';
import { Store } from './store';
import type { StoreOpenOptions } from './store-input';
import type { SyncPolicy } from './types';

const CHILD = path.join(__dirname, 'store-crash-child.ts');
const REPO = path.resolve(__dirname, '../../..');

/** mulberry32: reproducible random kill points; the seed is in every failure message. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function startChild(mode: 'write' | 'hold', dir: string, round: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, mode, dir, String(round)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Feeds the child's stdout lines to `onLine` until it exits; resolves with its stderr. */
function follow(child: ChildProcess, onLine: (line: string) => void): Promise<string> {
  let rest = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', () => resolve(stderr)));
}

describe('Store crash safety', function () {
  this.timeout(120_000);
  const children: ChildProcess[] = [];
  let dir: string;

  beforeEach(() => {
    dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'ringdb-crash-'));
  });

  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    nodeFs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write when a writing process is SIGKILLed at random points, many times', async () => {
    const seed = Number(process.env.RINGDB_CRASH_SEED ?? Date.now() % 1_000_000);
    const rand = random(seed);
    /** The last acknowledged state of each key: a value, or null for a delete. */
    const acked = new Map<string, string | null>();
    let flushedOrCompacted = 0;
    for (let round = 0; round < 8; round++) {
      const killAt = 10 + Math.floor(rand() * 400);
      const child = startChild('write', dir, round);
      children.push(child);
      let acks = 0;
      const done = follow(child, (line) => {
        const [tag, key, value] = line.split(' ');
        if (tag !== 'ack') return;
        acked.set(key, value === '-' ? null : value);
        if (++acks === killAt) child.kill('SIGKILL');
      });
      const stderr = await done;
      assert.equal(child.signalCode, 'SIGKILL', `seed ${seed} round ${round}: the child died on its own: ${stderr}`);

      const store = await Store.open(dir);
      try {
        for (const [key, value] of acked) {
          const got = store.get(Buffer.from(key));
          // A delete may be a tombstone or, once compaction dropped it, nothing at all. A key with
          // seq % 7 === 3 is deleted by its lane's next batch, which may be durable yet unacknowledged.
          const deletable = value === null || Number(key.split('-')[2]) % 7 === 3;
          if (deletable && (got === undefined || got.value === null)) continue;
          assert.ok(got, `seed ${seed} round ${round}: acknowledged ${key} is missing`);
          assert.equal(got.value === null ? null : got.value.toString(), value, `seed ${seed} round ${round}: ${key}`);
        }
        flushedOrCompacted = store.snapshot().sstables.length;
      } finally {
        await store.close();
      }
    }
    assert.ok(acked.size > 300, 'the children acknowledged writes');
    assert.ok(flushedOrCompacted > 0, 'the kills landed on a store with SSTables');
  });

  it('refuses a folder another live process holds, and takes over the lock of a killed one', async () => {
    const child = startChild('hold', dir, 0);
    children.push(child);
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const exited = follow(child, (line) => line === 'open' && opened());
    await isOpen;
    await assert.rejects(Store.open(dir), (err: unknown) => err instanceof LockedError && err.holderPid === child.pid && /already open/.test(err.message));
    child.kill('SIGKILL');
    await exited;
    const store = await Store.open(dir);
    await store.close();
  });
});

interface Written {
  /** ts -> value (null: delete) of every write attempted on a key. */
  attempts: Map<number, string | null>;
  /** Highest ts acknowledged for the key. */
  ackedTs: number;
}

/** Concurrent puts, deletes and batches over 30 keys with increasing timestamps, ~8 in flight. */
async function workload(store: Store, log: Map<string, Written>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  const track = (key: string, ts: number, value: string | null): Written => {
    let w = log.get(key);
    if (!w) log.set(key, (w = { attempts: new Map(), ackedTs: -1 }));
    w.attempts.set(ts, value);
    return w;
  };
  const ack = (w: Written, ts: number) => () => void (w.ackedTs = Math.max(w.ackedTs, ts));
  for (let i = 0; i < 240; i++) {
    const key = `k${(i * 7) % 30}`;
    const ts = i + 1;
    let p: Promise<unknown>;
    if (i % 11 === 10) {
      const w = track(key, ts, null);
      p = store.delete(Buffer.from(key), ts, 'n1').then(ack(w, ts));
    } else if (i % 13 === 12) {
      const other = `k${(i * 3) % 30}`;
      const w1 = track(key, ts, `b${i}`);
      const w2 = other === key ? w1 : track(other, ts, `c${i}`);
      const ops = [{ key: Buffer.from(key), value: Buffer.from(`b${i}`), ts, origin: 'n1' }];
      if (other !== key) ops.push({ key: Buffer.from(other), value: Buffer.from(`c${i}`), ts, origin: 'n1' });
      p = store.write(ops).then(() => {
        ack(w1, ts)();
        ack(w2, ts)();
      });
    } else {
      const value = `v${i}-${'x'.repeat(i % 50)}`;
      const w = track(key, ts, value);
      p = store.put(Buffer.from(key), Buffer.from(value), ts, 'n1').then(ack(w, ts));
    }
    const settled = p.catch(() => undefined);
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    if (inFlight.size >= 8) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

function checkRecovered(store: Store, log: Map<string, Written>, where: string): void {
  for (const [key, w] of log) {
    const got = store.get(Buffer.from(key));
    if (w.ackedTs < 0) {
      if (got) assert.ok(w.attempts.has(got.ts), `${where}: ${key} holds a version never written`);
      continue;
    }
    // Compaction may drop a tombstone (the acknowledged one or a later one that survived) once nothing older lies below it.
    if (!got && [...w.attempts].some(([ts, value]) => ts >= w.ackedTs && value === null)) continue;
    assert.ok(got, `${where}: ${key} lost its acknowledged version ts=${w.ackedTs}`);
    assert.ok(got.ts >= w.ackedTs, `${where}: ${key} went back from acknowledged ts=${w.ackedTs} to ts=${got.ts}`);
    assert.ok(w.attempts.has(got.ts), `${where}: ${key} holds a version never written (ts=${got.ts})`);
    const value = got.value === null ? null : got.value.toString();
    assert.equal(value, w.attempts.get(got.ts), `${where}: ${key} at ts=${got.ts}`);
  }
}

describe('Store crash recovery on the fault-injecting file system', function () {
  this.timeout(120_000);

  for (const sync of ['always', 'batch'] as SyncPolicy[]) {
    it(`keeps every acknowledged write when the machine stops after any number of file operations (sync '${sync}')`, async () => {
      const options = (fs: FaultFileSystem): StoreOpenOptions => ({
        fs,
        sync,
        syncIntervalMs: 1,
        memtableBytes: 1024,
        blockBytes: 256,
        compaction: { l0Trigger: 2, baseLevelBytes: 2048, levelMultiplier: 2, maxLevels: 4, targetFileBytes: 1024 },
      });
      // A dry run measures how many mutations the workload makes.
      const dry = new FaultFileSystem();
      const dryStore = await Store.open('/db', options(dry));
      const before = dry.mutations;
      await workload(dryStore, new Map());
      await dryStore.close();
      const total = dry.mutations - before;
      assert.ok(total > 100, 'the workload touches the disk');

      const step = Math.max(1, Math.floor(total / 60));
      for (let n = 0; n <= total; n += step) {
        const fs = new FaultFileSystem();
        const store = await Store.open('/db', options(fs));
        const log = new Map<string, Written>();
        fs.crashAfter(n);
        await workload(store, log);
        fs.crash();
        const reopened = await Store.open('/db', options(fs));
        try {
          checkRecovered(reopened, log, `crash after ${n} of ${total} mutations`);
          // The recovered store keeps working and survives a clean reopen.
          await reopened.put(Buffer.from('after'), Buffer.from('crash'), 10_000, 'n1');
        } finally {
          await reopened.close();
        }
        const again = await Store.open('/db', options(fs));
        checkRecovered(again, log, `reopen after crash at ${n}`);
        assert.equal(again.get(Buffer.from('after'))?.value?.toString(), 'crash');
        await again.close();
      }
    });
  }

  it('keeps every acknowledged write when the disk wrote back part of the unsynced appends, the last one torn', async () => {
    const rand = random(7);
    const options = (fs: FaultFileSystem): StoreOpenOptions => ({ fs, sync: 'always', memtableBytes: 1024, blockBytes: 256, compaction: { l0Trigger: 2 } });
    let torn = 0;
    for (let round = 0; round < 100; round++) {
      const fs = new FaultFileSystem();
      const store = await Store.open('/db', options(fs));
      const log = new Map<string, Written>();
      fs.crashAfter(20 + Math.floor(rand() * 400));
      await workload(store, log);
      // Tear one of the last few changes: the unsynced ones are at the end.
      const keep = { writes: Math.max(0, fs.changesSinceCrash - 1 - Math.floor(rand() * 2)), tornBytes: Math.floor(rand() * 48) };
      fs.crash(keep);
      const reopened = await Store.open('/db', options(fs));
      try {
        checkRecovered(reopened, log, `round ${round}, keeping ${keep.writes} unsynced writes, ${keep.tornBytes} bytes of the next`);
        torn += Number(reopened.snapshot().walBytes > 0);
      } finally {
        await reopened.close();
      }
    }
    assert.ok(torn > 0, 'some rounds recovered a WAL');
  });

  it('loses nothing acknowledged when the power fails while writes are still in flight', async () => {
    const fs = new FaultFileSystem();
    const store = await Store.open('/db', { fs, sync: 'always', memtableBytes: 2048 });
    const log = new Map<string, Written>();
    const running = workload(store, log);
    // Let some writes through, then cut the power with the rest queued.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    fs.crashAfter(0);
    await running;
    fs.crash();
    const reopened = await Store.open('/db', { fs });
    checkRecovered(reopened, log, 'power cut mid-flight');
    assert.ok([...log.values()].some((w) => w.ackedTs >= 0), 'some writes were acknowledged before the cut');
    await reopened.close();
  });
});
