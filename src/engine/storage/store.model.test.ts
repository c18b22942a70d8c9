// Model test: random sequences of writes, reads, scans, flushes, compactions, reopens and
// simulated power cuts must agree at every step with a Map holding the Last-Write-Wins
// winner of each key. Memtables and tables are tiny so flushes and multi-level compactions
// happen within a few dozen writes.
//
// One liberty the model grants: compaction may drop a tombstone once nothing older lies
// below it, so where the model holds a tombstone the store may hold nothing at all (and a
// later write older than the dropped tombstone then lands: the model follows the store there).

import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { FaultFileSystem } from './fault-fs';
import { Store } from './store';
import type { StoreOpenOptions } from './store-input';
import { compareVersions, type Entry } from './types';

const DIR = '/model/db';
// Short keys that are prefixes of each other, bytes above 0x7f, and enough distinct keys to fill several tables.
const KEYS = ['a', 'b', 'ba', 'bab', 'e\u00ff', '\u00ff', ...Array.from({ length: 50 }, (_, i) => `k${String(i * 7).padStart(3, '0')}`)].map((k) =>
  Buffer.from(k, 'latin1'),
);
const ORIGINS = ['n1', 'n2', 'n3'];

type Op =
  | { kind: 'put'; key: number; value: number; ts: number; origin: number; pad: number }
  | { kind: 'delete'; key: number; ts: number; origin: number }
  | { kind: 'batch'; ops: { key: number; value: number | null; ts: number; origin: number }[] }
  | { kind: 'burst'; ops: { key: number; value: number; ts: number; origin: number }[] }
  | { kind: 'get'; key: number }
  | { kind: 'scan'; from: number; to: number; limit: number; tombstones: boolean }
  | { kind: 'iterate' }
  | { kind: 'flush' }
  | { kind: 'compact' }
  | { kind: 'reopen' }
  | { kind: 'crash' };

const key = fc.nat(KEYS.length - 1);
const ts = fc.nat(30);
const origin = fc.nat(ORIGINS.length - 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('put' as const), key, value: fc.nat(1000), ts, origin, pad: fc.nat(300) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key, ts, origin }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('batch' as const),
      ops: fc.array(fc.record({ key, value: fc.option(fc.nat(1000), { nil: null }), ts, origin }), { maxLength: 12 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('burst' as const), ops: fc.array(fc.record({ key, value: fc.nat(1000), ts, origin }), { maxLength: 8 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('get' as const), key }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('scan' as const), from: fc.nat(KEYS.length), to: fc.nat(KEYS.length), limit: fc.nat(12), tombstones: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'iterate' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
);

const hex = (b: Buffer): string => b.toString('hex');

class Model {
  readonly map = new Map<string, Entry>();

  /** Applies `e` if it wins; returns whether it did. */
  write(e: Entry): boolean {
    const cur = this.map.get(hex(e.key));
    if (cur && compareVersions(e, cur) <= 0) return false;
    this.map.set(hex(e.key), e);
    return true;
  }

  /** The store shows `actual` for `k`: it must be the model's version, or nothing where the model has a tombstone. */
  reconcile(k: Buffer, actual: Entry | undefined): void {
    const expected = this.map.get(hex(k));
    if (actual === undefined && expected?.value === null) {
      this.map.delete(hex(k));
      return;
    }
    assert.deepEqual(actual && { ...actual }, expected && { ...expected }, `version of key ${hex(k)}`);
  }

  sorted(tombstones: boolean): Entry[] {
    return [...this.map.values()].filter((e) => tombstones || e.value !== null).sort((a, b) => Buffer.compare(a.key, b.key));
  }
}

function valueOf(v: number, pad = 0): Buffer {
  return Buffer.concat([Buffer.from(`v${v}:`), Buffer.alloc(pad, v & 0xff)]);
}

async function runOps(ops: Op[]): Promise<void> {
  const fs = new FaultFileSystem();
  const options: StoreOpenOptions = {
    fs,
    sync: 'always',
    memtableBytes: 1024,
    blockBytes: 128,
    blockCacheBytes: 1024 * 1024,
    compaction: { l0Trigger: 2, baseLevelBytes: 2048, levelMultiplier: 2, maxLevels: 4, targetFileBytes: 1024 },
  };
  let store = await Store.open(DIR, options);
  const model = new Model();
  try {
    for (const op of ops) {
      switch (op.kind) {
        case 'put': {
          const k = KEYS[op.key];
          model.reconcile(k, store.get(k));
          const e: Entry = { key: k, value: valueOf(op.value, op.pad), ts: op.ts, origin: ORIGINS[op.origin] };
          assert.equal(await store.put(e.key, e.value!, e.ts, e.origin), model.write(e), 'put applied');
          break;
        }
        case 'delete': {
          const k = KEYS[op.key];
          model.reconcile(k, store.get(k));
          const e: Entry = { key: k, value: null, ts: op.ts, origin: ORIGINS[op.origin] };
          assert.equal(await store.delete(k, e.ts, e.origin), model.write(e), 'delete applied');
          break;
        }
        case 'batch':
        case 'burst': {
          for (const o of op.ops) model.reconcile(KEYS[o.key], store.get(KEYS[o.key]));
          const entries: Entry[] = op.ops.map((o) => ({ key: KEYS[o.key], value: o.value === null ? null : valueOf(o.value), ts: o.ts, origin: ORIGINS[o.origin] }));
          const results =
            op.kind === 'batch'
              ? await store.write(entries)
              : await Promise.all(entries.map((e) => (e.value === null ? store.delete(e.key, e.ts, e.origin) : store.put(e.key, e.value, e.ts, e.origin))));
          assert.deepEqual(results, entries.map((e) => model.write(e)), `${op.kind} results`);
          break;
        }
        case 'get':
          model.reconcile(KEYS[op.key], store.get(KEYS[op.key]));
          break;
        case 'scan': {
          const start = op.from < KEYS.length ? KEYS[op.from] : undefined;
          const end = op.to < KEYS.length ? KEYS[op.to] : undefined;
          const got = store.scan({ start, end, limit: op.limit, includeTombstones: op.tombstones });
          if (op.tombstones) {
            // The store may have dropped tombstones: check every entry it shows, then the live ones.
            for (const e of got) model.reconcile(e.key, e);
            const live = store.scan({ start, end, limit: op.limit });
            const expectedLive = model.sorted(false).filter((e) => (!start || Buffer.compare(e.key, start) >= 0) && (!end || Buffer.compare(e.key, end) < 0));
            assert.deepEqual(live.map((e) => ({ ...e })), expectedLive.slice(0, op.limit).map((e) => ({ ...e })), 'live scan');
            break;
          }
          const expected = model.sorted(false).filter((e) => (!start || Buffer.compare(e.key, start) >= 0) && (!end || Buffer.compare(e.key, end) < 0));
          assert.deepEqual(got.map((e) => ({ ...e })), expected.slice(0, op.limit).map((e) => ({ ...e })), 'scan');
          break;
        }
        case 'iterate': {
          // Start a lazy scan, change the store under it (flush and compact), then finish it:
          // it must yield the picture of the moment it started.
          const before = model.sorted(false).map((e) => ({ ...e }));
          const it = store.iterate()[Symbol.iterator]();
          const first = it.next();
          await store.put(KEYS[0], valueOf(9999), 31, 'n9');
          await store.compact();
          const seen = first.done ? [] : [first.value];
          for (let r = it.next(); !r.done; r = it.next()) seen.push(r.value);
          assert.deepEqual(seen.map((e) => ({ ...e })), before, 'iterate keeps its starting view');
          model.write({ key: KEYS[0], value: valueOf(9999), ts: 31, origin: 'n9' });
          break;
        }
        case 'flush':
          await store.flush();
          break;
        case 'compact':
          await store.compact();
          assert.ok(store.snapshot().sstables.every((t) => t.tombstones === 0), 'manual compaction drops tombstones');
          break;
        case 'reopen':
          await store.close();
          store = await Store.open(DIR, options);
          break;
        case 'crash':
          // Every write above was awaited under sync 'always', so all of it must survive.
          fs.crash();
          store = await Store.open(DIR, options);
          break;
      }
    }
    for (const e of model.sorted(true)) model.reconcile(e.key, store.get(e.key));
  } finally {
    await store.close().catch(() => undefined);
  }
}

describe('Store model (fast-check against a Map with Last-Write-Wins)', function () {
  this.timeout(120_000);

  it('agrees with the model at every step, across flushes, compactions, reopens and crashes', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 150 }), runOps), { numRuns: 60 });
  });

  it('agrees with the model on write-heavy sequences that build several levels', async () => {
    const writes = fc.array(
      fc.oneof(
        { weight: 20, arbitrary: opArb.filter((o) => o.kind === 'put' || o.kind === 'delete' || o.kind === 'batch') },
        { weight: 1, arbitrary: opArb },
      ),
      { minLength: 100, maxLength: 300 },
    );
    await fc.assert(fc.asyncProperty(writes, runOps), { numRuns: 15 });
  });
});
