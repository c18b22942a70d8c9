// The convergence argument of global-index.ts, checked as a property over the pure derivation:
// whatever versions of a key exist, in whatever order each maintainer applies them, and in
// whatever order their facts reach an index replica, the replica holds a live entry under the
// winner's value, and a lookup's check (removal at the version it read) leaves exactly that one;
// once every replica has applied every version, no lookup is needed for that.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareVersions, type Entry } from '../../storage/types';
import { facts, removals } from './global-index';
import { decodeIndexEntryKey } from './global-keys';

const KEY = Buffer.from('k');
const FIELDS = ['color'];

/**
 * A data replica applying versions in `order`: all the facts of a version it applied while it
 * maintained the key (`maintaining[i]` for the i-th version it applied), the removals otherwise.
 */
function replicate(order: readonly Entry[], maintaining: readonly boolean[]): Entry[] {
  let stored: Entry | undefined;
  const out: Entry[] = [];
  for (const [i, v] of order.entries()) {
    if (stored && compareVersions(v, stored) <= 0) continue;
    const derive = maintaining[i] ? facts : removals;
    out.push(...derive(FIELDS, KEY, stored, v, () => assert.fail('no key is too long here')));
    stored = v;
  }
  return out;
}

/** An index replica: newest fact per entry key, an equal version keeping what is there (as the store does). */
function deliver(index: Map<string, Entry>, entries: readonly Entry[]): void {
  for (const e of entries) {
    const id = e.key.toString('latin1');
    const have = index.get(id);
    if (!have || compareVersions(e, have) > 0) index.set(id, e);
  }
}

const live = (index: Map<string, Entry>) => [...index.values()].filter((e) => e.value !== null).map((e) => decodeIndexEntryKey(e.key)?.value).sort();

const versionsArb = fc.uniqueArray(
  fc.record({ ts: fc.integer({ min: 1, max: 30 }), origin: fc.constantFrom('n1', 'n2', 'n3'), color: fc.constantFrom('red', 'blue', 'green', null) }),
  { minLength: 1, maxLength: 8, selector: (v) => `${v.ts}/${v.origin}` },
).map((vs) => vs.map((v): Entry => ({ key: KEY, value: v.color === null ? null : Buffer.from(JSON.stringify({ color: v.color })), ts: v.ts, origin: v.origin })));

/** Fisher-Yates driven by fast-check's stream, so a failing order shrinks and replays. */
const shuffler = (rand: fc.Stream<number>) => <T>(xs: readonly T[]): T[] => {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = (rand.next().value as number) % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};

describe('global index facts (property)', () => {
  it('converge to the LWW winner whatever the apply and delivery orders', () => {
    fc.assert(fc.property(versionsArb, fc.integer({ min: 0, max: 2 }), fc.infiniteStream(fc.nat()), (versions, extraMaintainers, rand) => {
      const shuffle = shuffler(rand);
      const winner = versions.reduce((w, v) => (compareVersions(v, w) > 0 ? v : w));
      // The primary replica applies every version eventually, in any order; stand-ins (while it
      // was down) applied any subset in any order.
      const derived = [replicate(shuffle(versions), versions.map(() => true))];
      for (let m = 0; m < extraMaintainers; m++) derived.push(replicate(shuffle(versions).slice(rand.next().value % versions.length), versions.map(() => true)));
      const all = derived.flat();

      const a = new Map<string, Entry>();
      const b = new Map<string, Entry>();
      deliver(a, all);
      deliver(b, shuffle([...all, ...shuffle(all)])); // another order, with duplicates
      assert.deepEqual([...a.entries()].sort(), [...b.entries()].sort(), 'the same index whatever the delivery order');

      const winnerColor = winner.value && (JSON.parse(winner.value.toString()) as { color: string }).color;
      if (winnerColor) assert.ok(live(a).includes(winnerColor), 'the winner\'s entry is live');
      // A lookup of any other value reads the winner and removes the entry at its version.
      for (const e of [...a.values()]) {
        const v = decodeIndexEntryKey(e.key)?.value;
        if (e.value !== null && v !== winnerColor) deliver(a, [{ key: e.key, value: null, ts: winner.ts, origin: winner.origin }]);
      }
      assert.deepEqual(live(a), winnerColor ? [winnerColor] : []);
    }), { numRuns: 2000 });
  });

  // Stand-ins took turns maintaining (the replicas before them were down now and then), and the
  // primary saw the newest version first: only the stand-ins' own removals end their puts.
  it('converge to exactly the winner\'s entry with no lookup once every replica applied every version', () => {
    fc.assert(fc.property(versionsArb, fc.array(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), { minLength: 2, maxLength: 2 }), fc.infiniteStream(fc.nat()), (versions, standIns, rand) => {
      const shuffle = shuffler(rand);
      const winner = versions.reduce((w, v) => (compareVersions(v, w) > 0 ? v : w));
      const all = [replicate(shuffle(versions), versions.map(() => true)), ...standIns.map((turns) => replicate(shuffle(versions), turns))].flat();
      const index = new Map<string, Entry>();
      deliver(index, shuffle(all));
      const winnerColor = winner.value && (JSON.parse(winner.value.toString()) as { color: string }).color;
      assert.deepEqual(live(index), winnerColor ? [winnerColor] : []);
    }), { numRuns: 2000 });
  });
});
