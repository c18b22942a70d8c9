// Logged writes (Store.write with a logMark) skip the WAL: the caller's log is their write-ahead
// log, and flushedLogMark tells it from where to replay after a crash. A model caller keeps its
// log in memory (it never loses it), hands each batch over in log order, saves the reported mark
// now and then, and after every reopen or power cut replays its log from the saved mark, as
// the node does. Whatever the interleaving of logged writes, WAL writes, background and explicit
// flushes, reopens and cuts (also in the middle of a flush), the store must then hold the
// Last-Write-Wins winner of everything logged or acknowledged.

import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { FaultFileSystem } from './fault-fs';
import { Store } from './store';
import type { StoreOpenOptions } from './store-input';
import { compareVersions, type Entry } from './types';

const DIR = '/logged/db';
const KEYS = Array.from({ length: 24 }, (_, i) => Buffer.from(`key-${i}`));
const ORIGINS = ['n1', 'n2'];

type Write = { key: number; ts: number; origin: number };
type Command =
  | { kind: 'logged'; ops: Write[] }
  | { kind: 'wal'; ops: Write[] }
  | { kind: 'yield' }
  | { kind: 'flush' }
  | { kind: 'save' }
  | { kind: 'reopen' }
  | { kind: 'cut'; after: number; batches: Write[][] };

const write: fc.Arbitrary<Write> = fc.record({
  key: fc.nat(KEYS.length - 1),
  // A narrow range: many writes lose to a stored version, so some batches store nothing.
  ts: fc.integer({ min: 1, max: 40 }),
  origin: fc.nat(ORIGINS.length - 1),
});
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('logged' as const), ops: fc.array(write, { minLength: 1, maxLength: 6 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wal' as const), ops: fc.array(write, { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'yield' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'save' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  // The machine stops after `after` more file-system changes while logged batches arrive (so
  // inside a rotation or a flush they start, or not at all), then restarts.
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('cut' as const), after: fc.nat(20), batches: fc.array(fc.array(write, { minLength: 1, maxLength: 6 }), { maxLength: 8 }) }),
  },
);

/** A version's content follows from its identity (key, ts, origin), as an op's does: a repeat is the same write. */
const entry = (w: Write): Entry => ({
  key: KEYS[w.key],
  value: w.ts % 6 === 0 ? null : Buffer.from(`${w.key}/${w.ts}/${w.origin}`),
  ts: w.ts,
  origin: ORIGINS[w.origin],
});

class Caller {
  /** The caller's write-ahead log: never lost. */
  readonly log: Entry[] = [];
  /** WAL writes the store acknowledged. */
  readonly acked: Entry[] = [];
  /** The replay point as the caller last saved it (the node's state file). */
  saved = 0;
  /** The log end when the store last opened: everything before was replayed through the WAL. */
  openedAt = 0;
  /** The highest mark handed over since open. */
  handed = 0;

  /** Appends `ops` to the log and hands them to the store. */
  logged(store: Store, ops: Entry[]): Promise<boolean[]> {
    this.log.push(...ops);
    this.handed = this.log.length;
    return store.write(ops, { logMark: this.log.length });
  }

  reported(store: Store): number {
    return Math.max(this.openedAt, store.flushedLogMark);
  }

  /** Replays the log from the saved point through the WAL, as Replica.replayIntoStore does. */
  async open(options: StoreOpenOptions): Promise<Store> {
    const store = await Store.open(DIR, options);
    for (let at = this.saved; at < this.log.length; at += 5) await store.write(this.log.slice(at, at + 5));
    this.openedAt = this.log.length;
    this.handed = 0;
    assert.equal(store.flushedLogMark, 0, 'a reopened store reports no mark of its own');
    return store;
  }

  /** Every key holds the LWW winner of all it was given. */
  check(store: Store, where: string): void {
    for (const key of KEYS) {
      const candidates = [...this.log, ...this.acked].filter((e) => e.key.equals(key));
      const expected = candidates.reduce<Entry | undefined>((w, e) => (w === undefined || compareVersions(e, w) > 0 ? e : w), undefined);
      const got = store.get(key);
      assert.deepEqual(got && { ...got }, expected && { ...expected }, `${where}: ${key.toString()}`);
    }
  }
}

async function run(commands: Command[]): Promise<void> {
  const fs = new FaultFileSystem();
  const options: StoreOpenOptions = {
    fs,
    sync: 'always',
    memtableBytes: 1024,
    blockBytes: 128,
    // No compaction: it may drop a tombstone, after which a replayed older write lands (see store.model.test.ts).
    compaction: { l0Trigger: 1_000_000 },
  };
  const caller = new Caller();
  let store = await caller.open(options);
  let lastReported = 0;
  try {
    for (const [i, c] of commands.entries()) {
      switch (c.kind) {
        case 'logged':
          await caller.logged(store, c.ops.map(entry));
          break;
        case 'wal': {
          const ops = c.ops.map(entry);
          await store.write(ops);
          caller.acked.push(...ops);
          break;
        }
        case 'yield':
          for (let n = 0; n < 4; n++) await new Promise((resolve) => setImmediate(resolve));
          break;
        case 'flush':
          await store.flush();
          assert.equal(caller.reported(store), Math.max(caller.openedAt, caller.handed), 'after a flush every handed-over mark is reported');
          break;
        case 'save':
          caller.saved = caller.reported(store);
          break;
        case 'reopen':
          // A clean close does not flush: logged writes in memtables are dropped and replayed.
          caller.saved = caller.reported(store);
          await store.close();
          store = await caller.open(options);
          caller.check(store, `reopen at command ${i}`);
          break;
        case 'cut':
          fs.crashAfter(c.after);
          // Once the machine is down the store refuses writes; the log has them all the same.
          for (const batch of c.batches) await caller.logged(store, batch.map(entry)).catch(() => undefined);
          for (let n = 0; n < 6; n++) await new Promise((resolve) => setImmediate(resolve));
          // The caller may have saved the mark at any moment up to the cut: the latest is the riskiest.
          caller.saved = caller.reported(store);
          await store.close().catch(() => undefined);
          fs.crash();
          store = await caller.open(options);
          caller.check(store, `power cut at command ${i}`);
          break;
      }
      const reported = caller.reported(store);
      assert.ok(reported >= lastReported || c.kind === 'reopen' || c.kind === 'cut', 'the reported mark never goes back while open');
      assert.ok(reported <= Math.max(caller.openedAt, caller.handed), 'no mark is reported before it was handed over');
      lastReported = reported;
    }
    caller.saved = caller.reported(store);
    await store.close();
    store = await caller.open(options);
    caller.check(store, 'final reopen');
  } finally {
    await store.close().catch(() => undefined);
  }
}

describe('Store logged writes (the caller\'s log as write-ahead log)', function () {
  this.timeout(120_000);

  it('loses nothing when the caller replays its log from the reported mark, across flushes, reopens and power cuts', async () => {
    await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 120 }), run), { numRuns: 300 });
  });

  it('keeps a rewritten logged write (values the log does not hold) in the WAL, and still counts its mark', async () => {
    const fs = new FaultFileSystem();
    let store = await Store.open(DIR, { fs, sync: 'always' });
    try {
      const merged = { key: KEYS[0], value: Buffer.from('merged'), ts: 3, origin: 'n1' };
      assert.deepEqual(await store.write([merged], { logMark: 4, rewritten: true }), [true]);
      assert.ok(store.snapshot().walBytes > 0, 'the merged state is in the WAL');
      fs.crash();
      store = await Store.open(DIR, { fs, sync: 'always' });
      assert.equal(store.get(KEYS[0])?.value?.toString(), 'merged', 'a crash keeps it without any replay');
      await store.write([{ ...merged, key: KEYS[1] }], { logMark: 6, rewritten: true });
      await store.flush();
      assert.equal(store.flushedLogMark, 6);
    } finally {
      await store.close();
    }
  });

  it('writes no WAL record for a logged write, and reports its mark only once it is in a table', async () => {
    const fs = new FaultFileSystem();
    const store = await Store.open(DIR, { fs, sync: 'always' });
    try {
      const ops = [{ key: KEYS[0], value: Buffer.from('v'), ts: 1, origin: 'n1' }];
      assert.deepEqual(await store.write(ops, { logMark: 7 }), [true]);
      assert.equal(store.snapshot().walBytes, 0);
      assert.equal(store.flushedLogMark, 0, 'in the memtable only');
      assert.deepEqual(store.get(KEYS[0])?.value, ops[0].value);
      const unlogged = { key: KEYS[1], value: Buffer.from('w'), ts: 1, origin: 'n1' };
      await store.write([unlogged]);
      assert.deepEqual(store.get(KEYS[1])?.value, unlogged.value);
      await store.flush();
      assert.equal(store.flushedLogMark, 7);
      assert.equal(store.snapshot().sstables.length, 1);
      // A logged batch that stores nothing (it loses LWW) still reports its mark at the next flush.
      assert.deepEqual(await store.write([{ ...ops[0], ts: 0 }], { logMark: 9 }), [false]);
      await store.flush();
      assert.equal(store.flushedLogMark, 9);
    } finally {
      await store.close();
    }
  });
});
