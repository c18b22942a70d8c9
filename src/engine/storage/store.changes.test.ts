// Store.write and Store.purge report each key they change with the version it held before and
// the one it holds after (ChangeReport). Views derived from the store (the Merkle trees) keep no
// copy of the keys and follow these reports alone, so a report must be exact: a model built only
// from reports must equal the store after any interleaving of batches (repeated keys, stale
// versions, tombstones), purges and flushes, and each report's `before` must be what the model
// held, i.e. what the store held.

import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { FaultFileSystem } from './fault-fs';
import { Store } from './store';
import { compareVersions, isPurgeMarker, type Entry } from './types';

const DIR = '/changes/db';
const KEYS = Array.from({ length: 16 }, (_, i) => Buffer.from(`key-${i}`));
const ORIGINS = ['n1', 'n2'];

type Write = { key: number; ts: number; origin: number; del: boolean };
type Command =
  | { kind: 'write'; ops: Write[]; logged: boolean }
  | { kind: 'purge'; keys: number[] }
  | { kind: 'flush' };

const write: fc.Arbitrary<Write> = fc.record({
  key: fc.nat(KEYS.length - 1),
  // A narrow range: many ops lose to the stored version and must not be reported.
  ts: fc.integer({ min: 1, max: 30 }),
  origin: fc.nat(ORIGINS.length - 1),
  del: fc.boolean(),
});
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('write' as const), ops: fc.array(write, { minLength: 1, maxLength: 8 }), logged: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('purge' as const), keys: fc.array(fc.nat(KEYS.length - 1), { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

const id = (k: Buffer): string => k.toString('latin1');
const same = (a: Entry | undefined, b: Entry | undefined): boolean =>
  a === undefined || b === undefined ? a === b : compareVersions(a, b) === 0 && (a.value === null) === (b.value === null);

describe('Store change reports', () => {
  it('report every change exactly: a model fed only by reports equals the store', async () => {
    await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), async (commands) => {
      // No compaction: it drops tombstones without a write, which no report tells (the Merkle trees
      // record live versions only for that reason), and the model here follows tombstones too.
      const store = await Store.open(DIR, { fs: new FaultFileSystem(), sync: 'none', memtableBytes: 1024, autoCompact: false });
      const model = new Map<string, Entry>();
      const report = (key: Buffer, before: Entry | undefined, after: Entry | undefined): void => {
        assert.ok(same(model.get(id(key)), before), `before of ${id(key)} is what the store held`);
        assert.ok(!same(before, after), 'only changes are reported');
        if (after === undefined) model.delete(id(key));
        else model.set(id(key), after);
      };
      let mark = 0;
      try {
        for (const c of commands) {
          if (c.kind === 'flush') await store.flush();
          else if (c.kind === 'purge') await store.purge(c.keys.map((k) => KEYS[k]), report);
          else {
            const ops = c.ops.map((w): Entry => ({ key: KEYS[w.key], value: w.del ? null : Buffer.from(`v${w.ts}`), ts: w.ts, origin: ORIGINS[w.origin] }));
            await store.write(ops, c.logged ? { logMark: ++mark } : undefined, report);
          }
          for (const k of KEYS) {
            const stored = store.get(k);
            assert.ok(same(model.get(id(k)), stored && !isPurgeMarker(stored) ? stored : undefined), `${id(k)}: model ${JSON.stringify(model.get(id(k)))} vs store ${JSON.stringify(stored)}`);
          }
        }
      } finally {
        await store.close();
      }
    }), { numRuns: 150 });
  });
});
