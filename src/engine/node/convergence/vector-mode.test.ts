// The vector mode's store-level merge (VectorMode.resolve behind a real ObservedStore over a real
// Store): whatever order, and however often, the versions of a key reach a replica — deltas of
// writes, whole sets sent by repairs — it ends on the same sibling set, the join of everything.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { VectorClock } from '../../clock/vector-clock';
import { causalContext, encodeSiblings, mergeSiblings } from '../../clock/vector-clock-siblings';
import { Store } from '../../storage';
import type { Entry } from '../../storage/types';
import { ObservedStore } from './observed-store';
import { siblingsOf, VectorMode, type Sibling } from './vector-mode';

interface Replica {
  id: string;
  store: Store;
  observed: ObservedStore;
  mode: VectorMode;
  clock: { now: number };
}

async function openReplica(dir: string, id: string): Promise<Replica> {
  const store = await Store.open(path.join(dir, id), { sync: 'none' });
  const observed = new ObservedStore(store);
  const clock = { now: 0 };
  const mode = new VectorMode({ nodeId: id, read: (k) => observed.get(k), tick: () => ++clock.now });
  observed.resolveWith((ops) => mode.resolve(ops));
  return { id, store, observed, mode, clock };
}

/** Applies a version as any write path does: the clock observes it, the store merges it. */
async function deliver(r: Replica, e: Entry): Promise<void> {
  r.clock.now = Math.max(r.clock.now, e.ts);
  await r.observed.write([e]);
}

const stepArb = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), at: fc.nat(2), blind: fc.boolean(), del: fc.boolean(), value: fc.nat(9) }),
  fc.record({ kind: fc.constant('sync' as const), from: fc.nat(2), to: fc.nat(2) }),
);

function shuffle<T>(items: T[], seeds: number[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = (seeds[i % seeds.length] ?? 0) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('vector mode: the store merges sibling sets', () => {
  let dir: string;
  let writers: Replica[];
  let targets: Replica[];
  let run = 0;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ringdb-vector-mode-'));
    writers = await Promise.all(['a', 'b', 'c'].map((id) => openReplica(dir, id)));
    targets = await Promise.all(['x', 'y'].map((id) => openReplica(dir, id)));
  });
  after(async () => {
    for (const r of [...writers, ...targets]) await r.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends on the join of every version whatever the delivery order and duplication', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 30 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 30 }), fc.boolean(),
        async (steps, orderX, orderY, duplicate) => {
          const key = Buffer.from(`k${run++}`);
          const sent: Entry[] = [];
          for (const s of steps) {
            if (s.kind === 'write') {
              const w = writers[s.at];
              const context = s.blind ? VectorClock.EMPTY : causalContext(w.mode.siblings(key));
              const { version, delta } = w.mode.newVersion(key, s.del ? null : Buffer.from([s.value]), context);
              const op: Entry = { key, value: delta, ts: ++w.clock.now, origin: w.id };
              await w.observed.write([op]);
              w.mode.settle(key, version);
              sent.push(op);
            } else {
              const whole = writers[s.from].observed.get(key);
              if (whole) {
                await deliver(writers[s.to], whole);
                sent.push(whole);
              }
            }
          }
          const all = writers.reduce<Sibling[]>((acc, w) => mergeSiblings(acc, w.mode.siblings(key)), []);
          const expected = encodeSiblings(all);
          const delivered = duplicate ? [...sent, ...sent] : sent;
          for (const e of shuffle(delivered, orderX)) await deliver(targets[0], e);
          for (const e of shuffle(delivered, orderY)) await deliver(targets[1], e);
          const stored = (r: Replica) => encodeSiblings(siblingsOf(r.observed.get(key)));
          assert.deepEqual(stored(targets[0]), expected);
          assert.deepEqual(stored(targets[1]), expected);
          if (all.length > 0) assert.deepEqual(targets[0].observed.get(key)?.value, expected);
          // Re-sending what is already merged changes nothing: the resolver drops it.
          const before = targets[0].observed.get(key);
          if (sent.length > 0) await deliver(targets[0], sent[0]);
          assert.deepEqual(targets[0].observed.get(key), before);
        }),
      { numRuns: 150 },
    );
  });

  it('hands out distinct dots to writes that race on one node', async () => {
    const [a] = writers;
    const key = Buffer.from('raced');
    const made = [1, 2, 3].map((v) => a.mode.newVersion(key, Buffer.from([v]), VectorClock.EMPTY));
    const counters = made.map((m) => m.version.dot.counter);
    assert.equal(new Set(counters).size, 3, `distinct dots: ${counters.join(', ')}`);
    for (const m of made) {
      await a.observed.write([{ key, value: m.delta, ts: ++a.clock.now, origin: a.id }]);
      a.mode.settle(key, m.version);
    }
    assert.equal(siblingsOf(a.observed.get(key)).length, 3);
    const next = a.mode.newVersion(key, Buffer.from('x'), causalContext(a.mode.siblings(key)));
    assert.ok(next.version.dot.counter > Math.max(...counters));
    a.mode.settle(key, next.version);
    // A data move purges the key here (the range left) and later brings it back: the siblings
    // that held this node's dots are gone, yet a new write must not reuse one of them.
    await a.observed.purge([key]);
    assert.equal(a.mode.siblings(key).length, 0);
    const afterPurge = a.mode.newVersion(key, Buffer.from('y'), VectorClock.EMPTY);
    assert.ok(afterPurge.version.dot.counter > next.version.dot.counter, `dot ${afterPurge.version.dot.counter} reused after a purge`);
  });
});
